"""Content parts for media: tell what bytes are by their format's signature, and build the part dicts
LiteLLM accepts for each kind (images, PDFs, audio), from bytes, files and URLs.

Parts built here:
    image  {'type': 'image_url', 'image_url': 'data:image/png;base64,...'}   (or the https URL)
    PDF    {'type': 'file', 'file': {'file_data': 'data:application/pdf;base64,...'}}
           {'type': 'file', 'file': {'file_id': 'https://.../doc.pdf'}}        (a URL)
    audio  {'type': 'input_audio', 'input_audio': {'data': '<base64>', 'format': 'wav' | 'mp3'}}
           {'type': 'file', 'file': {'file_id': 'https://.../a.mp3', 'format': 'audio/mp3'}}  (a URL)
    text   {'type': 'text', 'text': '...'}

Audio by URL (LiteLLM 1.106) reaches only Gemini as audio. lexi downloads nothing: the part names
the URL and its MIME type, and LiteLLM fetches it when it builds the request:
- Google AI Studio ('gemini/...'): LiteLLM downloads the URL and sends Gemini `inline_data` with the
  part's `format` as `mime_type` (the same 'audio/mp3' / 'audio/wav' it sends for audio bytes).
  LiteLLM refuses URLs that resolve to private or loopback addresses unless
  `litellm.user_url_allowed_hosts` lists the host.
- Vertex AI ('vertex_ai/gemini-...'): an https URL goes as `file_data` {mime_type, file_uri}, unfetched.
- OpenAI chat completions takes audio only as base64 `input_audio`: LiteLLM downloads the URL and
  sends it as a `file` part named my_file.pdf, which OpenAI rejects. Pass bytes or a Path instead.
- Anthropic takes no audio: LiteLLM turns the part into a `container_upload` block, which Anthropic
  rejects.
"""
from __future__ import annotations
import base64
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from .errors import UsageError

__all__ = ['sniff_mime', 'media_part', 'part_from_bytes', 'part_from_path', 'part_from_url', 'is_url',
           'audio_url_part', 'is_audio_part', 'text_part', 'ACCEPTED_KINDS']

ACCEPTED_KINDS = 'JPEG, PNG, GIF or WebP images, PDF documents, WAV or MP3 audio'
IMAGE_EXTS = {'.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif',
              '.webp': 'image/webp'}
AUDIO_URL_MIMES = {'.wav': 'audio/wav', '.mp3': 'audio/mp3'}  # what Gemini is told (its names for them)
AUDIO_FORMATS = {'audio/wav': 'wav', 'audio/mpeg': 'mp3'}


# MPEG audio Layer III (ISO 11172-3, 13818-3 and MPEG 2.5) frame headers: kbit/s by bitrate index and Hz by
# sample-rate index, for MPEG-1 and for MPEG-2/2.5. Index 0 of the bitrates is 'free format', which gives no
# frame length to check a second frame by, and is so rare that lexi does not take it.
_MP3_KBPS = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}   # by version bits


def _mp3_frame_length(data: bytes, at: int) -> int | None:
    """The length of the MP3 frame whose header starts at `at`, or None when no valid one does: 11 sync bits,
    a version that is not 'reserved', layer III (layers I and II are other formats; AAC's ADTS has layer 00), a
    bitrate index neither free (0) nor bad (15), a sample rate that is not reserved, emphasis not reserved."""
    h = bytes(data[at:at + 4])
    if len(h) < 4 or h[0] != 0xFF or h[1] & 0xE0 != 0xE0: return None
    version, layer, rate, hz = (h[1] >> 3) & 3, (h[1] >> 1) & 3, h[2] >> 4, (h[2] >> 2) & 3
    if version == 1 or layer != 1 or rate in (0, 15) or hz == 3 or h[3] & 3 == 2: return None
    kbps, per_frame = (_MP3_KBPS[1], 144) if version == 3 else (_MP3_KBPS[2], 72)
    return per_frame * kbps[rate] * 1000 // _MP3_HZ[version][hz] + ((h[2] >> 1) & 1)


def _is_mp3_frames(data: bytes, at: int = 0) -> bool:
    "A valid frame header at `at`, and another where it ends (when the bytes reach that far)."
    n = _mp3_frame_length(data, at)
    return n is not None and (len(data) < at + n + 4 or _mp3_frame_length(data, at + n) is not None)


def _is_mp3(data: bytes) -> bool:
    """MP3: MPEG Layer III frames, or an ID3v2 tag (version 2.2 to 2.4, its size in four 7-bit bytes) followed by
    them (the tag alone, when the bytes end there). The frames are looked for past the tag's declared size and any
    zero padding after it: the specification counts padding in the size, but some taggers write it after."""
    if bytes(data[:3]) != b'ID3': return _is_mp3_frames(data)
    if len(data) < 10 or data[3] not in (2, 3, 4) or data[4] == 0xFF or any(b & 0x80 for b in data[6:10]): return False
    size = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10])) + (10 if data[5] & 0x10 else 0)
    rest = bytes(data[size:]).lstrip(b'\x00')
    return not rest or _is_mp3_frames(rest)


_PDF = re.compile(rb'%PDF-\d\.\d')
_WEBP_CHUNKS = (b'VP8 ', b'VP8L', b'VP8X')   # the first chunk of a WebP file is one of these (lossy, lossless, extended)


def sniff_mime(data: bytes) -> str | None:
    "MIME type of `data` from its format's signature, or None when it is none of the kinds lexi sends."
    head = bytes(data[:16])
    if head.startswith(b'\xff\xd8\xff'): return 'image/jpeg'                 # SOI, then the next marker
    if head.startswith(b'\x89PNG\r\n\x1a\n'): return 'image/png'
    if head[:6] in (b'GIF87a', b'GIF89a'): return 'image/gif'
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP' and head[12:16] in _WEBP_CHUNKS: return 'image/webp'
    if head[:4] == b'RIFF' and head[8:12] == b'WAVE': return 'audio/wav'
    if _PDF.match(head): return 'application/pdf'                               # '%PDF-' and the version, e.g. 1.7
    if _is_mp3(data): return 'audio/mpeg'
    return None


def media_part(data: bytes, mime: str) -> dict:
    "The LiteLLM content part carrying `data` of type `mime` inline (base64)."
    b64 = base64.b64encode(bytes(data)).decode('ascii')
    if mime.startswith('image/'): return {'type': 'image_url', 'image_url': f'data:{mime};base64,{b64}'}
    if mime == 'application/pdf': return {'type': 'file', 'file': {'file_data': f'data:{mime};base64,{b64}'}}
    if mime in AUDIO_FORMATS: return {'type': 'input_audio', 'input_audio': {'data': b64, 'format': AUDIO_FORMATS[mime]}}
    raise UsageError(f"lexi cannot send media of type {mime!r}; it sends {ACCEPTED_KINDS}.")


def part_from_bytes(data: bytes, what: str = 'these bytes') -> dict:
    "A content part for raw media bytes, whose kind is told by their format's signature."
    mime = sniff_mime(data)
    if mime is None:
        start = bytes(data[:8])
        raise UsageError(f"lexi cannot tell what {what} are (they start with {start!r}); pass {ACCEPTED_KINDS}, "
                         "or send text as a str.")
    return media_part(data, mime)


def part_from_path(path: Path) -> dict:
    "A content part for the media file at `path` (its bytes are read and sniffed)."
    try: data = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        raise UsageError(f"cannot read {str(path)!r} ({e.strerror}); pass the path of a media file or its bytes.") from e
    if sniff_mime(data) is None and path.suffix.lower() in {'.txt', '.md', '.csv', '.json', '.py', '.html'}:
        raise UsageError(f"{str(path)!r} looks like text: pass its text instead, e.g. Path({str(path)!r}).read_text().")
    return part_from_bytes(data, what=f"the bytes of {str(path)!r}")


def is_url(s: str) -> bool:
    "True if `s` is a bare http(s) URL (nothing but the URL)."
    if not s.startswith(('http://', 'https://')) or any(c.isspace() for c in s): return False
    return bool(urlparse(s).netloc)


def part_from_url(url: str) -> dict:
    "A content part referring to media at `url`, its kind told by the URL path's extension."
    ext = PurePosixPath(urlparse(url).path).suffix.lower()
    if ext in IMAGE_EXTS: return {'type': 'image_url', 'image_url': url}
    if ext == '.pdf': return {'type': 'file', 'file': {'file_id': url}}
    if ext in AUDIO_URL_MIMES: return audio_url_part(url, AUDIO_URL_MIMES[ext])
    raise UsageError(f"lexi cannot tell what kind of media {url} is from its extension; download it and pass the "
                     f"bytes or a Path ({ACCEPTED_KINDS}), or send the URL as text inside a sentence "
                     "or a {'type': 'text', 'text': url} part.")


def audio_url_part(url: str,  # http(s) URL of the audio
                   mime: str  # its MIME type, e.g. 'audio/mp3' or 'audio/wav'
                   ) -> dict:
    "A part referring to audio at `url`: Gemini gets it as audio; see the module docstring for others."
    return {'type': 'file', 'file': {'file_id': url, 'format': mime}}


def is_audio_part(p) -> bool:
    "True for an `input_audio` part or a `file` part whose `format` is an audio MIME type."
    if not isinstance(p, Mapping): return False
    if p.get('type') == 'input_audio': return True
    f = p.get('file')
    return p.get('type') == 'file' and isinstance(f, Mapping) and str(f.get('format') or '').startswith('audio/')


def text_part(s: str) -> dict:
    return {'type': 'text', 'text': s}
