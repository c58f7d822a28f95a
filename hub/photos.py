"""Holder photos: checked by their content, stored by their hash, served only to staff.

An upload is accepted only if its bytes are a JPEG or PNG of the type it claims, and the
file's structure decodes as that type: a PNG's chunks carry valid CRCs and its image data
inflates to exactly the size its header promises; a JPEG's segments are well formed, with
quantisation tables, a frame header and entropy-coded scan data up to the end-of-image
marker. A renamed PDF, a truncated file or an HTML page with an image name is refused.
This needs no imaging library (none is installed, and decoding untrusted images in a C
library is a risk of its own); the one thing it does not do is run the JPEG's Huffman
decoding, so a JPEG with corrupt entropy data but a sound structure would pass.

Files are named by their SHA-256, so the name says nothing about the holder and the same
photo uploaded twice is stored once. Written to a temporary name and renamed: a crash
leaves no half photo under a real name. Because the name is the content, a URL that
carries it may be cached (``cache_control``): a different photo is a different URL. The
URLs that name only a person or a card (/api/v1/people/{id}/photo, /api/v1/cards/{uid}/photo)
stay ``no-store``, since the photo behind them can change.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from hub.errors import BadInput, NotFound

MAX_BYTES = 2 * 1024 * 1024
MIN_SIDE = 64
MAX_SIDE = 6000
MAX_PIXELS = 24_000_000

TYPES = {"image/jpeg": "jpg", "image/png": "png"}
_ID = re.compile(r"^[0-9a-f]{64}\.(jpg|png)$")
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# samples per pixel by PNG colour type
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


@dataclass(frozen=True)
class Photo:
    photo_id: str
    content_type: str
    width: int
    height: int
    size: int


def _bad(message: str, rule: str = "photo_invalid") -> BadInput:
    return BadInput(message, field="photo", rule=rule)


def sniff(data: bytes) -> str | None:
    """The type the magic bytes say, or None."""
    if data.startswith(_PNG_SIG):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _check_png(data: bytes) -> tuple[int, int]:
    pos = len(_PNG_SIG)
    header = None
    idat: list[bytes] = []
    seen_end = False
    while pos < len(data):
        if pos + 12 > len(data):
            raise _bad("the PNG is truncated")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise _bad("the PNG is truncated")
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(ctype + body) != crc:
            raise _bad(f"the PNG's {ctype.decode('latin-1')} chunk is corrupt")
        if header is None and ctype != b"IHDR":
            raise _bad("the PNG does not start with its header")
        if ctype == b"IHDR":
            if length != 13 or header is not None:
                raise _bad("the PNG header is malformed")
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            seen_end = True
            pos += 12 + length
            break
        pos += 12 + length
    if header is None or not seen_end or not idat:
        raise _bad("the PNG is incomplete")
    if pos != len(data):
        raise _bad("the PNG has data after its end")
    width, height, depth, colour, compression, filt, interlace = header
    if colour not in _PNG_CHANNELS or depth not in _PNG_DEPTHS[colour] or compression or filt or interlace > 1:
        raise _bad("the PNG header has values no PNG decoder accepts")
    _check_size(width, height)
    row_bytes = (width * _PNG_CHANNELS[colour] * depth + 7) // 8
    if interlace == 0:
        expected = height * (1 + row_bytes)
    else:
        expected = 0
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            w = (width - x0 + dx - 1) // dx if width > x0 else 0
            h = (height - y0 + dy - 1) // dy if height > y0 else 0
            if w and h:
                expected += h * (1 + (w * _PNG_CHANNELS[colour] * depth + 7) // 8)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except zlib.error:
        raise _bad("the PNG's image data does not decompress") from None
    if len(raw) != expected or not inflater.eof:
        raise _bad("the PNG's image data is not the size its header says")
    if interlace == 0 and any(raw[i] > 4 for i in range(0, expected, 1 + row_bytes)):
        raise _bad("the PNG's rows use an unknown filter")
    return width, height


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _check_jpeg(data: bytes) -> tuple[int, int]:
    pos = 2
    size = None
    quant = huff = False
    scans = 0
    n = len(data)
    while True:
        if pos + 2 > n or data[pos] != 0xFF:
            raise _bad("the JPEG's segments are malformed or truncated")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise _bad("the JPEG is truncated")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            break
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            continue
        if marker in (0x00, 0xD8):
            raise _bad("the JPEG has a marker where none may be")
        if pos + 2 > n:
            raise _bad("the JPEG is truncated")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > n:
            raise _bad("the JPEG's segments are malformed or truncated")
        body = data[pos + 2 : pos + length]
        pos += length
        if marker in _SOF:
            if size is not None or len(body) < 6:
                raise _bad("the JPEG's frame header is malformed")
            _precision, height, width, comps = struct.unpack(">BHHB", body[:6])
            if comps not in (1, 3, 4) or len(body) != 6 + 3 * comps:
                raise _bad("the JPEG's frame header is malformed")
            size = (width, height)
        elif marker == 0xDB:
            quant = True
        elif marker == 0xC4:
            huff = True
        elif marker == 0xDA:
            if size is None or not quant:
                raise _bad("the JPEG has image data before its frame and tables")
            scans += 1
            start = pos
            # entropy-coded data runs to the next marker that is neither a stuffed 00 nor a restart
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    raise _bad("the JPEG's image data has no end")
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    pos += 2
                    continue
                if nxt == 0xFF:
                    pos += 1
                    continue
                break
            if pos == start:
                raise _bad("the JPEG's scan is empty")
    if size is None or scans == 0 or not huff:
        raise _bad("the JPEG is incomplete")
    if data[pos:].strip(b"\x00"):
        raise _bad("the JPEG has data after its end")
    _check_size(*size)
    return size


def _check_size(width: int, height: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise _bad(f"the photo must be at least {MIN_SIDE} x {MIN_SIDE} pixels", rule="photo_too_small")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise _bad(f"the photo must be at most {MAX_SIDE} pixels a side", rule="photo_too_large")


def check(data: bytes, claimed_type: str | None) -> tuple[str, int, int]:
    """The content type, width and height of an acceptable photo; BadInput saying why not."""
    if not data:
        raise _bad("the photo is empty", rule="photo_empty")
    if len(data) > MAX_BYTES:
        raise _bad(f"the photo is larger than {MAX_BYTES // 1024 // 1024} MB", rule="photo_too_large")
    claimed = (claimed_type or "").split(";")[0].strip().lower()
    if claimed == "image/jpg":
        claimed = "image/jpeg"
    if claimed not in TYPES:
        raise _bad("a photo must be image/jpeg or image/png", rule="photo_type")
    actual = sniff(data)
    if actual is None:
        raise _bad("this file is not an image", rule="photo_not_image")
    if actual != claimed:
        raise _bad(f"the file is {actual}, not {claimed} as claimed", rule="photo_type_mismatch")
    width, height = _check_png(data) if actual == "image/png" else _check_jpeg(data)
    return actual, width, height


def store_photo(photo_dir: Path, data: bytes, claimed_type: str | None) -> Photo:
    content_type, width, height = check(data, claimed_type)
    photo_id = f"{hashlib.sha256(data).hexdigest()}.{TYPES[content_type]}"
    photo_dir.mkdir(parents=True, exist_ok=True)
    target = photo_dir / photo_id
    if not target.exists():
        tmp = photo_dir / f".{photo_id}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    return Photo(photo_id, content_type, width, height, len(data))


def cache_control(max_age_s: int) -> str:
    """For a URL that names the photo's content: kept by the one browser that was shown it
    (``private``: no proxy keeps a copy), for at most ``max_age_s`` (a session's lifetime),
    never asked for again meanwhile (``immutable``: the bytes behind that name cannot change)."""
    return f"private, max-age={max(0, int(max_age_s))}, immutable"


def photo_path(photo_dir: Path, photo_id: str) -> tuple[Path, str]:
    """The file and content type of a stored photo; the id is checked, so no path escapes."""
    if not _ID.match(photo_id or ""):
        raise NotFound("no such photo", rule="unknown_photo")
    path = photo_dir / photo_id
    if not path.is_file():
        raise NotFound("no such photo", rule="unknown_photo")
    return path, "image/jpeg" if photo_id.endswith(".jpg") else "image/png"


def photo_dir_of(db_path: Path, configured: Path | None) -> Path:
    """hub.photo_dir, or ``photos`` beside the database."""
    return Path(configured) if configured else Path(db_path).resolve().parent / "photos"
