"""Media bytes are told by their formats' real signatures: every kind from real sample bytes, and near misses refused.

The samples are real files (samples/); the WebP files are Google's 1x1 lossy and lossless test images. Each
near miss differs from a real signature in the way the format's specification says makes it something else.
"""
import base64
from pathlib import Path

import pytest

from lexi._media import part_from_bytes, sniff_mime
from lexi.errors import UsageError
from lexi.msgs import mk_msg

SAMPLES = Path(__file__).parent.parent / 'samples'
MP3 = (SAMPLES / 'sample.mp3').read_bytes()        # an ID3v2.3 tag (size 0), then MPEG-1 Layer III frames
FRAMES = MP3[10:]                                  # the same audio without its tag: it starts with a frame header
WEBP_LOSSY = base64.b64decode('UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA')
WEBP_LOSSLESS = base64.b64decode('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==')

REAL = {'puppy.jpg': 'image/jpeg', 'sample.png': 'image/png', 'sample.gif': 'image/gif', 'solveit.pdf': 'application/pdf',
        'sample.wav': 'audio/wav', 'sample.mp3': 'audio/mpeg'}


@pytest.mark.parametrize('name', list(REAL))
def test_every_sample_is_told_by_its_signature(name):
    assert sniff_mime((SAMPLES / name).read_bytes()) == REAL[name]


@pytest.mark.parametrize('data', [WEBP_LOSSY, WEBP_LOSSLESS], ids=['lossy', 'lossless'])
def test_webp_is_told_by_its_riff_form_and_first_chunk(data):
    assert sniff_mime(data) == 'image/webp'


def test_mp3_without_a_tag_is_told_by_its_frame_headers():
    assert sniff_mime(FRAMES) == 'audio/mpeg'
    assert sniff_mime(FRAMES[:4]) == 'audio/mpeg'      # one header, nothing after it to check


def _with(data: bytes, at: int, byte: int) -> bytes:
    return data[:at] + bytes([byte]) + data[at + 1:]


JPG, PNG, GIF = ((SAMPLES / n).read_bytes() for n in ('puppy.jpg', 'sample.png', 'sample.gif'))
PDF, WAV = (SAMPLES / 'solveit.pdf').read_bytes(), (SAMPLES / 'sample.wav').read_bytes()
# bytes that look like a signature at a glance, and what makes each one something else
NEAR_MISSES = {
    'utf16-le-bom-text': '\ufeffHi there, this is text.'.encode('utf-16-le'),      # FF FE: a byte-order mark
    'utf16-be-bom-text': '\ufeffHi there'.encode('utf-16-be'),                      # FE FF
    'mpeg-layer-1-header': _with(FRAMES, 1, 0xFF),      # sync, MPEG-1, but layer I: not MP3
    'mpeg-layer-2-header': _with(FRAMES, 1, 0xFD),      # layer II (.mp2): not MP3
    'mpeg-reserved-version': _with(FRAMES, 1, 0xEB),    # version bits 01 are reserved
    'mpeg-bad-bitrate': _with(FRAMES, 2, 0xF0),         # bitrate index 1111 is 'bad'
    'mpeg-reserved-rate': _with(FRAMES, 2, 0x9C),       # sample-rate index 11 is reserved
    'mpeg-reserved-emphasis': _with(FRAMES, 3, 0xC6),   # emphasis 10 is reserved
    'mpeg-no-second-frame': FRAMES[:417] + b'\x00' * 64,  # one header, then no frame where the next must start
    'adts-aac': bytes.fromhex('fff15080') + b'\x00' * 40,  # sync with layer 00: AAC's ADTS, not MPEG audio
    'id3-text': b'ID3 tags describe MP3 files, this is a sentence about them.',
    'id3-bad-version': b'ID3\x09\x00\x00\x00\x00\x00\x00' + FRAMES,
    'id3-size-not-syncsafe': b'ID3\x03\x00\x00\x00\x00\x00\x80' + FRAMES,
    'id3-over-aac': b'ID3\x04\x00\x00\x00\x00\x00\x00' + bytes.fromhex('fff15080') + b'\x00' * 40,
    'png-line-endings-converted': PNG.replace(b'\r\n', b'\n', 1),   # what the signature's CR LF is there to catch
    'png-truncated-signature': PNG[:7],
    'gif-unknown-version': b'GIF88a' + GIF[6:],
    'jpeg-soi-without-marker': b'\xff\xd8\x00' + JPG[3:],
    'riff-avi': b'RIFF\x1a\x00\x00\x00AVI LIST' + b'\x00' * 12,
    'riff-webp-unknown-chunk': WEBP_LOSSLESS[:12] + b'JUNK' + WEBP_LOSSLESS[16:],
    'pdf-word-in-text': b'%PDF is how a PDF file starts.',
    'pdf-no-version': b'%PDF-\n1 0 obj',
    'postscript': b'%!PS-Adobe-3.0\n',
    'empty': b'',
}


@pytest.mark.parametrize('case', list(NEAR_MISSES))
def test_near_misses_are_not_taken_for_media(case):
    assert sniff_mime(NEAR_MISSES[case]) is None


def test_utf16_text_is_a_usage_error_not_audio():
    with pytest.raises(UsageError, match='cannot tell what'):
        mk_msg(['Read this', 'Hello'.encode('utf-16')])   # FF FE, then the text


def test_frames_are_found_after_a_padded_tag():
    tag = b'ID3\x04\x00\x00' + bytes([0, 0, 0, 8]) + b'\x00' * 8   # a tag of 8 bytes, all padding
    assert sniff_mime(tag + FRAMES) == 'audio/mpeg'
    assert part_from_bytes(tag + FRAMES)['input_audio']['format'] == 'mp3'
    assert sniff_mime(MP3[:10] + b'\x00' * 8 + FRAMES) == 'audio/mpeg'   # padding a tagger wrote past the size
    assert sniff_mime(MP3[:10]) == 'audio/mpeg'                          # the tag alone: bytes cut after it
