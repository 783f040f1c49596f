"""Regenerate the tiny media samples in this folder with the standard library only.

    python samples/make_samples.py

puppy.jpg    16x16 baseline JPEG (a warm gradient with a dark spot; hand-rolled encoder below)
sample.png   16x16 RGB PNG (zlib + struct)
sample.gif   8x8 GIF89a with a 4-colour palette (uncompressed-style LZW codes)
solveit.pdf  one-page PDF whose text names its author ("Author: Lexi Sample")
sample.wav   0.25 s, 8 kHz, 16-bit mono 440 Hz tone (wave module)
sample.mp3   MPEG-1 Layer III, 44.1 kHz, 128 kbit/s, 20 silent frames behind an ID3v2 tag

The file names puppy.jpg and solveit.pdf match the examples in lexi's docs.
"""
from __future__ import annotations
import math
import struct
import wave
import zlib
from pathlib import Path

HERE = Path(__file__).parent
W = H = 16


def pixel(x, y):
    "RGB colour of the test picture at (x, y)."
    r, g, b = 200 - 4 * y, 120 + 6 * x, 60 + 3 * (x + y)
    if (x - 10) ** 2 + (y - 6) ** 2 < 9: r, g, b = 40, 30, 20
    return r, g, b


# ---------------------------------------------------------------- PNG
def png_bytes() -> bytes:
    def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    rows = b''.join(b'\x00' + bytes(c for x in range(W) for c in pixel(x, y)) for y in range(H))
    ihdr = struct.pack('>IIBBBBB', W, H, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(rows, 9)) + chunk(b'IEND', b'')


# ---------------------------------------------------------------- GIF
def gif_bytes() -> bytes:
    size, palette = 8, [(255, 255, 255), (200, 60, 40), (40, 120, 200), (0, 0, 0)]
    idx = [((x // 4) + 2 * (y // 4)) % 4 for y in range(size) for x in range(size)]
    # LZW with 2-bit minimum code size: emit a clear code before every 2 pixels so codes stay 3 bits wide.
    codes, bits, nbits = [], 0, 0
    for i in range(0, len(idx), 2): codes += [4] + idx[i:i + 2]
    codes.append(5)
    out = bytearray()
    for c in codes:
        bits |= c << nbits; nbits += 3
        while nbits >= 8: out.append(bits & 0xFF); bits >>= 8; nbits -= 8
    if nbits: out.append(bits & 0xFF)
    data = b''.join(bytes([len(out[i:i + 255])]) + out[i:i + 255] for i in range(0, len(out), 255)) + b'\x00'
    head = b'GIF89a' + struct.pack('<HHBBB', size, size, 0xF1, 0, 0) + bytes(c for rgb in palette for c in rgb)
    image = b'\x2c' + struct.pack('<HHHHB', 0, 0, size, size, 0) + b'\x02' + data
    return head + image + b'\x3b'


# ---------------------------------------------------------------- JPEG (baseline, 4:4:4)
def _zigzag():
    order = sorted(((x, y) for x in range(8) for y in range(8)),
                   key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 else p[0]))
    return [y * 8 + x for x, y in order]


def _fdct(block):
    out = []
    for v in range(8):
        for u in range(8):
            cu, cv = (math.sqrt(.5) if u == 0 else 1), (math.sqrt(.5) if v == 0 else 1)
            s = sum(block[y * 8 + x] * math.cos((2 * x + 1) * u * math.pi / 16) * math.cos((2 * y + 1) * v * math.pi / 16)
                    for y in range(8) for x in range(8))
            out.append(.25 * cu * cv * s)
    return out


def _category(v): return 0 if v == 0 else abs(v).bit_length()


def _vbits(v, n): return v if v >= 0 else v + (1 << n) - 1


class _Bits:
    def __init__(self): self.acc, self.n, self.out = 0, 0, bytearray()
    def put(self, code, n):
        for i in range(n - 1, -1, -1):
            self.acc = (self.acc << 1) | ((code >> i) & 1); self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF: self.out.append(0)
                self.acc, self.n = 0, 0
    def flush(self):
        while self.n: self.put(1, 1)
        return bytes(self.out)


# Fixed-length Huffman tables (every code the same length) are valid and keep the encoder short.
DC_SYMS = list(range(12))
AC_SYMS = [0x00, 0xF0] + [(r << 4) | s for r in range(16) for s in range(1, 11)]


def _dht(cls_id, syms, length):
    counts = [0] * 16; counts[length - 1] = len(syms)
    body = bytes([cls_id]) + bytes(counts) + bytes(syms)
    return b'\xff\xc4' + struct.pack('>H', len(body) + 2) + body


def jpeg_bytes(q: int = 4) -> bytes:
    zz = _zigzag()
    dc_code = {s: (i, 4) for i, s in enumerate(DC_SYMS)}
    ac_code = {s: (i, 8) for i, s in enumerate(AC_SYMS)}
    ycc = {}
    for y in range(H):
        for x in range(W):
            r, g, b = pixel(x, y)
            ycc[x, y] = (.299 * r + .587 * g + .114 * b, 128 - .168736 * r - .331264 * g + .5 * b,
                         128 + .5 * r - .418688 * g - .081312 * b)
    bits, pred = _Bits(), [0, 0, 0]
    for by in range(0, H, 8):
        for bx in range(0, W, 8):
            for comp in range(3):
                coefs = _fdct([ycc[bx + i % 8, by + i // 8][comp] - 128 for i in range(64)])
                qz = [int(round(coefs[k] / q)) for k in zz]
                diff, pred[comp] = qz[0] - pred[comp], qz[0]
                n = _category(diff); bits.put(*dc_code[n]); bits.put(_vbits(diff, n), n)
                run = 0
                for v in qz[1:]:
                    if v == 0: run += 1; continue
                    while run > 15: bits.put(*ac_code[0xF0]); run -= 16
                    n = _category(v); bits.put(*ac_code[(run << 4) | n]); bits.put(_vbits(v, n), n); run = 0
                if run: bits.put(*ac_code[0x00])
    app0 = b'\xff\xe0' + struct.pack('>H5sBBBHHBB', 16, b'JFIF\x00', 1, 1, 0, 1, 1, 0, 0)
    dqt = b'\xff\xdb' + struct.pack('>H', 67) + b'\x00' + bytes([q] * 64)
    sof = b'\xff\xc0' + struct.pack('>HBHHB', 17, 8, H, W, 3) + bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    dht = _dht(0x00, DC_SYMS, 4) + _dht(0x10, AC_SYMS, 8)
    sos = b'\xff\xda' + struct.pack('>HB', 12, 3) + bytes([1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return b'\xff\xd8' + app0 + dqt + sof + dht + sos + bits.flush() + b'\xff\xd9'


# ---------------------------------------------------------------- PDF
def pdf_bytes() -> bytes:
    text = "BT /F1 18 Tf 72 720 Td (lexi sample document) Tj 0 -28 Td (Author: Lexi Sample) Tj ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
            "/Contents 4 0 R >>",
            f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            "<< /Title (lexi sample) /Author (Lexi Sample) >>"]
    out, offsets = bytearray(b'%PDF-1.4\n'), []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out)); out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b''.join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ---------------------------------------------------------------- audio
def write_wav(path: Path, rate: int = 8000, secs: float = .25):
    frames = b''.join(struct.pack('<h', int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(rate * secs)))
    with wave.open(str(path), 'wb') as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(frames)


def mp3_bytes(frames: int = 20) -> bytes:
    # Frame header: sync, MPEG-1, Layer III, no CRC; 128 kbit/s, 44.1 kHz, no padding; mono.
    header = bytes([0xFF, 0xFB, 0x90, 0xC4])
    size = 144 * 128000 // 44100  # 417 bytes per frame
    frame = header + bytes(size - 4)  # all-zero side info and main data: a silent frame
    tag = b'ID3' + bytes([3, 0, 0]) + bytes(4)  # ID3v2.3 header with no frames
    return tag + frame * frames


def main():
    (HERE / 'puppy.jpg').write_bytes(jpeg_bytes())
    (HERE / 'sample.png').write_bytes(png_bytes())
    (HERE / 'sample.gif').write_bytes(gif_bytes())
    (HERE / 'solveit.pdf').write_bytes(pdf_bytes())
    write_wav(HERE / 'sample.wav')
    (HERE / 'sample.mp3').write_bytes(mp3_bytes())


if __name__ == '__main__': main()
