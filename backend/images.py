"""Photos in, derivatives out: type by content, refusal of bombs, archives and broken files,
EXIF orientation applied, display image and thumbnail re-encoded without metadata (pure Pillow;
no database, no event loop: callers run `derive` in a worker thread)."""

from __future__ import annotations

import functools
import io
import mmap
import re
import struct
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import Image

from backend.errors import (
    ContentTypeMismatch,
    HeicUnsupported,
    ImageTooLarge,
    ImageUnreadable,
    PolyglotRefused,
    UnsupportedImage,
)

# Pillow's own decompression-bomb limit, set on purpose rather than left at its default (89 M
# pixels, and an error only past twice that). A 48-MP phone photo passes; a 50-MP image is
# 150 MB decoded in RGB, the most one worker may hold. Images past it warn, and the warning is
# turned into an error (`configure`), so a bomb is refused before its pixels are decoded.
MAX_PIXELS = 50_000_000
DISPLAY_SIDE = 1600
THUMB_SIDE = 320
DISPLAY_QUALITY = 82
THUMB_QUALITY = 75
DERIVED_TYPE = "image/jpeg"


class ImageKind(StrEnum):
    jpeg = "jpeg"
    png = "png"
    webp = "webp"
    heic = "heic"


CONTENT_TYPES = {
    ImageKind.jpeg: "image/jpeg",
    ImageKind.png: "image/png",
    ImageKind.webp: "image/webp",
    ImageKind.heic: "image/heic",
}
# What a client may declare for each kind (browsers and phones differ in the spelling).
DECLARED = {
    "image/jpeg": ImageKind.jpeg,
    "image/jpg": ImageKind.jpeg,
    "image/pjpeg": ImageKind.jpeg,
    "image/png": ImageKind.png,
    "image/webp": ImageKind.webp,
    "image/heic": ImageKind.heic,
    "image/heif": ImageKind.heic,
}
# Declaring nothing in particular leaves the decision to the content.
UNDECLARED = {"", "application/octet-stream"}
_PILLOW_FORMAT = {
    ImageKind.jpeg: "JPEG",
    ImageKind.png: "PNG",
    ImageKind.webp: "WEBP",
    ImageKind.heic: "HEIF",
}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
SNIFF_BYTES = 64


def sniff(head: bytes) -> ImageKind | None:
    """The kind of image the first bytes announce (magic numbers only: never a name or header)."""
    if head.startswith(b"\xff\xd8\xff"):
        return ImageKind.jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageKind.png
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageKind.webp
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {
            head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)
        }
        if brands & _HEIC_BRANDS:
            return ImageKind.heic
    return None


def describe(head: bytes) -> str:
    """A short name for what a refused file seems to be, for the error's details."""
    for magic, name in (
        (b"GIF8", "gif"),
        (b"%PDF", "pdf"),
        (b"PK\x03\x04", "zip"),
        (b"BM", "bmp"),
        (b"II*\x00", "tiff"),
        (b"MM\x00*", "tiff"),
    ):
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return "avif" if b"avif" in head[:64] else "iso-media"
    return "unknown"


def declared_kind(content_type: str) -> ImageKind | None:
    """What a Content-Type header claims; None when it leaves the decision to the content.
    Anything else (not an image type we take) is refused before a byte is read."""
    value = content_type.split(";")[0].strip().lower()
    if value in UNDECLARED:
        return None
    if value in DECLARED:
        return DECLARED[value]
    raise ContentTypeMismatch(value, declared=value[:100])


def identify(head: bytes, declared: ImageKind | None) -> ImageKind:
    """The kind of an upload from its first bytes, held against what its header declared."""
    kind = sniff(head)
    if kind is None:
        what = describe(head)
        raise UnsupportedImage(what, kind=what)
    if declared is not None and declared != kind:
        raise ContentTypeMismatch(
            f"declared {declared}, found {kind}",
            declared=CONTENT_TYPES[declared],
            found=CONTENT_TYPES[kind],
        )
    if kind == ImageKind.heic and not heic_available():
        raise HeicUnsupported("no HEIC decoder")
    return kind


@functools.cache
def heic_available() -> bool:
    """Whether HEIC (iPhone) photos can be decoded here: pillow-heif registers the codec."""
    try:
        import pillow_heif
    except ImportError:  # pragma: no cover - pillow-heif is a dependency; a broken wheel is not
        return False
    pillow_heif.register_heif_opener()
    return True


@functools.cache
def configure() -> None:
    """Pillow's process-wide limits, set once, deliberately (see MAX_PIXELS)."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)


# --- archives hidden in images ------------------------------------------------------------

_ZIP_SIGNATURE = re.compile(rb"PK(?:\x03\x04|\x01\x02|\x05\x06)")
_ZIP_METHODS = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 18, 19, 93, 94, 95, 96, 97, 98, 99}


def _plausible_zip_record(kind: bytes, record: bytes) -> bool:
    """Whether the bytes after a `PK` signature parse as that ZIP record; four bytes alone turn
    up by chance in about one photo in a thousand, a whole record practically never."""
    if kind == b"\x03\x04" and len(record) >= 30:  # local file header
        version, _flags, method = struct.unpack_from("<HHH", record, 4)
        name_len = struct.unpack_from("<H", record, 26)[0]
        return bool((version & 0xFF) <= 63 and method in _ZIP_METHODS and 0 < name_len <= 4096)
    if kind == b"\x01\x02" and len(record) >= 46:  # central directory entry
        needed, _flags, method = struct.unpack_from("<HHH", record, 6)
        name_len = struct.unpack_from("<H", record, 28)[0]
        return bool((needed & 0xFF) <= 63 and method in _ZIP_METHODS and 0 < name_len <= 4096)
    if kind == b"\x05\x06" and len(record) >= 22:  # end of central directory
        disk, cd_disk, here, total = struct.unpack_from("<HHHH", record, 4)
        return bool(disk == 0 and cd_disk == 0 and here == total)
    return False


def find_archive(path: Path) -> int | None:
    """The offset of a ZIP structure (local header, central directory or its end record) inside
    the file, wherever it is; None when there is none. A file that is both an image and an
    archive is refused: the original is kept and served as evidence, so it must be one thing."""
    with path.open("rb") as f:
        if f.seek(0, 2) == 0:
            return None
        # Mapped, not read: the page cache holds the bytes, the heap stays small.
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for found in _ZIP_SIGNATURE.finditer(data):
                at = found.start()
                if _plausible_zip_record(data[at + 2 : at + 4], data[at : at + 46]):
                    return at
    return None


# --- derivatives ---------------------------------------------------------------------------

# EXIF orientation (1 = as stored) → the transposition that shows the picture upright.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# What Pillow raises on a damaged file; its warnings too, where they are made errors (`-W error`,
# the tests): a damaged file is a clean refusal either way, never a server error.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, Warning)


@dataclass(frozen=True, slots=True)
class Derived:
    kind: ImageKind
    width: int  # of the original as it is meant to be seen (EXIF orientation applied)
    height: int
    display: bytes  # JPEG, long side <= DISPLAY_SIDE, no metadata
    display_size: tuple[int, int]
    thumb: bytes  # JPEG, long side <= THUMB_SIDE, no metadata
    thumb_size: tuple[int, int]


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= side:
        return w, h
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _plain(im: Image.Image) -> Image.Image:
    """RGB or L, transparency flattened onto white: what a JPEG can hold."""
    if im.mode in ("RGB", "L"):
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if im.mode == "1":
        return im.convert("L")
    if im.mode.startswith(("I", "F")):  # 16-bit or float grey: keep the top 8 bits
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return im.convert("RGB")


def _jpeg(im: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # A fresh image carries no EXIF, XMP, ICC or comment from the original.
    im.info = {}
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def derive(path: Path, kind: ImageKind, max_pixels: int = MAX_PIXELS) -> Derived:
    """Decode the original once (a JPEG at reduced scale where that still covers the display
    size) and make the display image and the thumbnail from it.

    Raises ImageTooLarge for a decompression bomb, ImageUnreadable for a truncated or corrupt
    file, HeicUnsupported when HEIC cannot be decoded here."""
    configure()
    at = find_archive(path)
    if at is not None:
        raise PolyglotRefused(f"a ZIP structure at byte {at}")
    if kind == ImageKind.heic and not heic_available():
        raise HeicUnsupported("no HEIC decoder")
    try:
        im = Image.open(path, formats=[_PILLOW_FORMAT[kind]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc), max_pixels=max_pixels) from exc
    except _DECODE_ERRORS as exc:
        raise ImageUnreadable(str(exc)) from exc
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise ImageTooLarge(f"{w}x{h}", max_pixels=max_pixels)
        try:
            orientation = int(im.getexif().get(0x0112, 1))
        except _DECODE_ERRORS:
            orientation = 1  # unreadable EXIF: shown as stored
        if kind == ImageKind.jpeg:
            # DCT scaling in libjpeg: 1/2, 1/4 or 1/8 of the pixels are decoded, as long as the
            # result still covers the display size.
            im.draft("RGB" if im.mode in ("RGB", "YCbCr") else None, _fit((w, h), DISPLAY_SIDE))
        try:
            im.load()
            frame = _plain(im)
        except _DECODE_ERRORS as exc:
            raise ImageUnreadable(str(exc)) from exc
    if frame.mode == "P":  # pragma: no cover - _plain never leaves a palette
        frame = frame.convert("RGB")
    display = frame.resize(
        _fit(frame.size, DISPLAY_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    if orientation in _ORIENTATION:
        # Turned after the downscale: a fifth of the pixels to move.
        display = display.transpose(_ORIENTATION[orientation])
    thumb = display.resize(
        _fit(display.size, THUMB_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    shown = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    return Derived(
        kind=kind,
        width=shown[0],
        height=shown[1],
        display=_jpeg(display, DISPLAY_QUALITY),
        display_size=display.size,
        thumb=_jpeg(thumb, THUMB_QUALITY),
        thumb_size=thumb.size,
    )
