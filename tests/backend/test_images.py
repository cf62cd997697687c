"""The photo pipeline on real images made here: sizes, EXIF orientations, formats, metadata
stripped; and every bad file refused cleanly (truncated, bomb, ZIP polyglot, not an image)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from backend import images
from backend.errors import (
    AnbaoError,
    ContentTypeMismatch,
    HeicUnsupported,
    ImageTooLarge,
    ImageUnreadable,
    PolyglotRefused,
    UnsupportedImage,
)
from backend.images import ImageKind

ROOT = Path(__file__).resolve().parents[2]
RED, BLUE, GREEN = (230, 20, 20), (20, 20, 230), (20, 200, 20)
# What undoes each EXIF orientation's display transform: the camera stored the picture so.
_STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright(width: int, height: int) -> Image.Image:
    """A scene as the guard saw it: red in the top-left corner, blue bottom-right, a gradient."""
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(im)
    bw, bh = max(2, width // 5), max(2, height // 5)
    draw.rectangle((0, 0, bw, bh), fill=RED)
    draw.rectangle((width - bw, height - bh, width, height), fill=BLUE)
    return im


def photo_bytes(
    width: int = 800,
    height: int = 600,
    *,
    orientation: int = 1,
    fmt: str = "JPEG",
    gps: bool = True,
    quality: int = 90,
) -> bytes:
    """The scene as a phone would store it: pixels turned, an EXIF orientation tag to turn them
    back, and the metadata a camera writes (maker, GPS position)."""
    im = upright(width, height)
    undo = _STORED[orientation]
    stored = im.transpose(undo) if undo is not None else im
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "AcmePhone"
    exif[0x0110] = "Model-X"
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 1.5), 3: "E", 4: (121.0, 28.0, 2.5)}
    out = io.BytesIO()
    extra = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    stored.save(out, fmt, exif=exif.tobytes(), **extra)
    return out.getvalue()


def derive_bytes(tmp_path: Path, data: bytes, kind: ImageKind) -> images.Derived:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return images.derive(path, kind)


def colour_at(data: bytes, fx: float, fy: float) -> tuple[int, ...]:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    pixel = im.getpixel((int(fx * (im.width - 1)), int(fy * (im.height - 1))))
    assert isinstance(pixel, tuple)
    return pixel


def near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 60) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(("width", "height"), [(2400, 1800), (900, 1600), (320, 200)])
def test_display_and_thumbnail_are_upright_and_bounded(
    tmp_path: Path, orientation: int, width: int, height: int
) -> None:
    data = photo_bytes(width, height, orientation=orientation)
    out = derive_bytes(tmp_path, data, ImageKind.jpeg)
    # The original's size as meant to be seen, whatever the camera stored.
    assert (out.width, out.height) == (width, height)
    for blob, side, size in (
        (out.display, 1600, out.display_size),
        (out.thumb, 320, out.thumb_size),
    ):
        shown = Image.open(io.BytesIO(blob))
        assert shown.format == "JPEG" and shown.size == size
        assert max(shown.size) == min(side, max(width, height))  # never enlarged
        assert abs(shown.width / shown.height - width / height) < 0.02
        assert near(colour_at(blob, 0.03, 0.03), RED), (orientation, "top-left is not red")
        assert near(colour_at(blob, 0.97, 0.97), BLUE), (orientation, "bottom-right not blue")


def test_a_twelve_megapixel_photo(tmp_path: Path) -> None:
    # Held upright: the sensor stores 4000 × 3000 and the tag says to turn it.
    data = photo_bytes(3000, 4000, orientation=6)
    assert Image.open(io.BytesIO(data)).size == (4000, 3000)
    out = derive_bytes(tmp_path, data, ImageKind.jpeg)
    assert (out.width, out.height) == (3000, 4000)
    assert out.display_size == (1200, 1600) and out.thumb_size == (240, 320)
    assert near(colour_at(out.display, 0.02, 0.02), RED)


def test_derivatives_carry_no_metadata(tmp_path: Path) -> None:
    original = photo_bytes(1200, 900, orientation=6)
    assert b"AcmePhone" in original and Image.open(io.BytesIO(original)).getexif()
    out = derive_bytes(tmp_path, original, ImageKind.jpeg)
    for blob in (out.display, out.thumb):
        im = Image.open(io.BytesIO(blob))
        assert not im.getexif(), "EXIF left in a derivative"
        assert "icc_profile" not in im.info and "xmp" not in im.info and "exif" not in im.info
        assert b"AcmePhone" not in blob and b"Model-X" not in blob
        assert b"Exif\x00\x00" not in blob


@pytest.mark.parametrize(
    ("fmt", "kind", "mode"),
    [
        ("PNG", ImageKind.png, "RGBA"),
        ("PNG", ImageKind.png, "P"),
        ("PNG", ImageKind.png, "I;16"),
        ("WEBP", ImageKind.webp, "RGB"),
        ("JPEG", ImageKind.jpeg, "L"),
        ("JPEG", ImageKind.jpeg, "CMYK"),
    ],
)
def test_other_formats_and_modes(tmp_path: Path, fmt: str, kind: ImageKind, mode: str) -> None:
    base = upright(1000, 700)
    if mode == "RGBA":
        im = base.convert("RGBA")
        im.putpixel((999, 0), (0, 0, 0, 0))
        im.paste((0, 0, 0, 0), (500, 0, 1000, 100))  # a transparent band: white when flattened
    elif mode == "P":
        im = base.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode == "I;16":
        im = base.convert("L").point(lambda v: v * 256).convert("I;16")
    else:
        im = base.convert(mode)
    out = io.BytesIO()
    im.save(out, fmt)
    data = out.getvalue()
    assert images.sniff(data[:64]) == kind
    derived = derive_bytes(tmp_path, data, kind)
    assert derived.display_size == (1000, 700) and derived.thumb_size == (320, 224)
    if mode == "RGBA":
        assert near(colour_at(derived.display, 0.9, 0.05), (255, 255, 255), 10)
    if mode in ("RGBA", "P", "RGB", "CMYK"):
        assert near(colour_at(derived.display, 0.03, 0.03), RED, 70)


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_heic_from_an_iphone(tmp_path: Path, orientation: int) -> None:
    assert images.heic_available(), "pillow-heif is a dependency and decodes HEIC here"
    undo = _STORED[orientation]
    scene = upright(1200, 900)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    (scene.transpose(undo) if undo else scene).save(out, "HEIF", quality=80, exif=exif.tobytes())
    data = out.getvalue()
    assert images.sniff(data[:64]) == ImageKind.heic
    derived = derive_bytes(tmp_path, data, ImageKind.heic)
    assert (derived.width, derived.height) == (1200, 900)
    assert derived.display_size == (1200, 900)
    assert near(colour_at(derived.display, 0.03, 0.03), RED)
    assert near(colour_at(derived.display, 0.97, 0.97), BLUE)


def test_heic_is_refused_clearly_without_a_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "heic_available", lambda: False)
    head = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    with pytest.raises(HeicUnsupported) as caught:
        images.identify(head, None)
    assert caught.value.status == 415 and caught.value.code == "heic_unsupported"


# --- type by content -----------------------------------------------------------------------


def test_the_type_comes_from_the_bytes_and_the_header_must_agree() -> None:
    jpeg, png = photo_bytes(40, 30), photo_bytes(40, 30, fmt="PNG")
    assert images.identify(jpeg[:64], None) == ImageKind.jpeg
    assert images.identify(jpeg[:64], images.declared_kind("image/jpeg; charset=x")) == "jpeg"
    assert images.declared_kind("application/octet-stream") is None
    assert images.declared_kind("") is None
    with pytest.raises(ContentTypeMismatch) as wrong:
        images.identify(png[:64], images.declared_kind("image/jpeg"))
    assert wrong.value.details == {"declared": "image/jpeg", "found": "image/png"}
    for bad in ("text/html", "application/zip", "image/svg+xml", "application/json"):
        with pytest.raises(ContentTypeMismatch):
            images.declared_kind(bad)
    for blob, seems in (
        (b"GIF89a" + bytes(60), "gif"),
        (b"%PDF-1.7\n" + bytes(60), "pdf"),
        (b"PK\x03\x04" + bytes(60), "zip"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>", "unknown"),
        (b"", "unknown"),
    ):
        with pytest.raises(UnsupportedImage) as refused:
            images.identify(blob[:64], None)
        assert refused.value.details == {"kind": seems}


# --- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0.5, 0.9, -2])
def test_a_truncated_jpeg_is_unreadable(tmp_path: Path, keep: float) -> None:
    data = photo_bytes(2000, 1500)
    cut = data[: int(len(data) * keep)] if keep > 0 else data[:keep]  # -2: only EOI missing
    with pytest.raises(ImageUnreadable):
        derive_bytes(tmp_path, cut, ImageKind.jpeg)


def png_bomb(width: int, height: int) -> bytes:
    """A real PNG of zeros: a few hundred kilobytes that would decode to width × height bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    squeeze = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + a grey row
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (20_000, 20_000)])
def test_a_png_decompression_bomb_is_refused_before_decoding(
    tmp_path: Path, width: int, height: int
) -> None:
    # 100 M pixels passes Pillow's default limit with a mere warning; ours refuses it. 400 M is
    # past Pillow's own hard limit too.
    bomb = png_bomb(width, height)
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageTooLarge) as caught:
        derive_bytes(tmp_path, bomb, ImageKind.png)
    assert caught.value.status == 422 and caught.value.details["max_pixels"] == images.MAX_PIXELS


def test_just_under_the_pixel_limit_is_fine(tmp_path: Path) -> None:
    side = int(images.MAX_PIXELS**0.5) - 1
    derived = derive_bytes(tmp_path, png_bomb(side, side), ImageKind.png)
    assert derived.display_size == (1600, 1600)


def a_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def test_a_jpeg_with_a_zip_appended_is_refused(tmp_path: Path) -> None:
    polyglot = photo_bytes(600, 400) + a_zip()
    # Really both: Pillow shows the picture, zipfile lists the archive.
    assert Image.open(io.BytesIO(polyglot)).size == (600, 400)
    assert zipfile.ZipFile(io.BytesIO(polyglot)).namelist() == ["payload.html"]
    with pytest.raises(PolyglotRefused):
        derive_bytes(tmp_path, polyglot, ImageKind.jpeg)


def test_a_zip_hidden_inside_a_jpeg_segment_is_refused(tmp_path: Path) -> None:
    jpeg, archive = photo_bytes(600, 400), a_zip()
    # A comment segment (FF FE) right after SOI carrying the archive's local header and data.
    segment = b"\xff\xfe" + struct.pack(">H", len(archive) + 2) + archive
    polyglot = jpeg[:2] + segment + jpeg[2:]
    assert Image.open(io.BytesIO(polyglot)).size == (600, 400)
    assert images.find_archive(write(tmp_path, polyglot)) == 6  # SOI, marker, length
    with pytest.raises(PolyglotRefused):
        derive_bytes(tmp_path, polyglot, ImageKind.jpeg)
    # Only a central directory (no local headers) is enough too.
    central = archive[archive.index(b"PK\x01\x02") :]
    with pytest.raises(PolyglotRefused):
        derive_bytes(tmp_path, photo_bytes(300, 200) + central, ImageKind.jpeg)


def test_pk_bytes_that_are_no_zip_record_are_not_mistaken(tmp_path: Path) -> None:
    # "PK\x03\x04" turns up in about one photo in a thousand by chance: without a plausible
    # record after it, the photo is fine.
    jpeg = photo_bytes(600, 400)
    junk = b"PK\x03\x04" + bytes([0xFF] * 26) + b"PK\x05\x06\x01\x00" + bytes(16)
    segment = b"\xff\xfe" + struct.pack(">H", len(junk) + 2) + junk
    assert images.find_archive(write(tmp_path, jpeg[:2] + segment + jpeg[2:])) is None
    derive_bytes(tmp_path, jpeg[:2] + segment + jpeg[2:], ImageKind.jpeg)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "probe"
    path.write_bytes(data)
    return path


def _small(fmt: str) -> bytes:
    images.heic_available()  # registers the HEIF codec with Pillow
    out = io.BytesIO()
    upright(96, 64).save(out, fmt)
    return out.getvalue()


_SMALL = {
    "jpeg": photo_bytes(96, 64, quality=80),
    "png": photo_bytes(96, 64, fmt="PNG"),
    "webp": _small("WEBP"),
    "heic": _small("HEIF"),
}


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(sorted(_SMALL)),
    cut=st.integers(min_value=0, max_value=5000),
    flips=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=6),
)
def test_damaged_files_give_a_clean_refusal_or_a_picture(
    tmp_path: Path, which: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(_SMALL[which])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    data = data[: max(1, len(data) - cut)] if cut else data
    path = write(tmp_path, bytes(data))
    try:
        kind = images.identify(bytes(data[:64]), None)
        images.derive(path, kind)
    except AnbaoError as exc:
        assert 400 <= exc.status < 500, exc


_PROBE = """
import json, sys
from pathlib import Path
from PIL import Image
from backend import images


def peak_kib():
    # The high-water mark of this process's memory (ru_maxrss would include the forking parent).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])


images.configure()
path = Path(sys.argv[2])
before = peak_kib()
if sys.argv[1] == "derive":
    size = images.derive(path, images.ImageKind.jpeg).display_size
else:  # the naive way: decode it all, then resize
    with Image.open(path) as im:
        size = im.resize((1600, 1067)).size
print(json.dumps({"kib": peak_kib() - before, "display": size}))
"""


def _peak(how: str, path: Path) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, how, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    report = json.loads(run.stdout)
    assert report["display"] == [1600, 1067]
    return int(report["kib"])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_a_big_jpeg_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    """Memory, measured in fresh processes: a 24-MP JPEG is 72 MB of pixels decoded whole;
    draft mode decodes a quarter of them."""
    big = tmp_path / "big.jpg"
    big.write_bytes(photo_bytes(6000, 4000, quality=85))
    ours, naive = _peak("derive", big), _peak("naive", big)
    print(
        f"24-MP JPEG, peak memory growth: derive {ours / 1024:.1f} MiB, "
        f"naive {naive / 1024:.1f} MiB"
    )
    assert ours < 72 * 1024 < naive
    assert ours < naive / 2
