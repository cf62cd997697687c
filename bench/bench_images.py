"""Photo pipeline benchmark (budget in DESIGN.md), ratios measured in one run on this machine:

- one 12-megapixel JPEG (4000 × 3000 as the sensor stores it, EXIF orientation 6: a phone held
  upright) to its display image (long side 1600) and thumbnail (320) through `images.derive`,
  vs a naive open / resize / save of the same file to the same two sizes (budget: ratio
  <= 0.35). The naive way is shown twice: turning the full image upright first (what it needs
  to give the same pictures) and without turning (wrong pictures, cheaper);
- throughput with both cores: photos per second through `derive` with one worker thread, two
  threads and two processes (Pillow decodes, resizes and encodes outside the GIL).
"""

from __future__ import annotations

import io
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from backend import images

SIZE = (4000, 3000)
REPEATS = 9
PHOTOS = 24
ROUNDS = 5


def make_photo(path: Path, size: tuple[int, int], seed: int = 12) -> None:
    """Something like a photo: light, shapes with edges, sensor noise; about 4 MB at 12 MP."""
    rng = random.Random(seed)
    w, h = size
    scene = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    draw = ImageDraw.Draw(scene)
    for _ in range(300):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(8, max(9, w // 8))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + r, y + r), fill=colour)
    noise = Image.effect_noise((w, h), 40).convert("RGB")
    photo = Image.blend(scene, noise, 0.2)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "BenchPhone"
    photo.save(path, "JPEG", quality=90, exif=exif.tobytes())


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(size))
    return round(size[0] * scale), round(size[1] * scale)


def naive(path: Path, upright: bool = True) -> None:
    """What most code does: decode everything, turn it, resize twice from the full image."""
    with Image.open(path) as opened:
        im = ImageOps.exif_transpose(opened) if upright else opened
        assert im is not None
        for side in (images.DISPLAY_SIDE, images.THUMB_SIDE):
            im.resize(_fit(im.size, side)).save(io.BytesIO(), "JPEG")


def derive(path: Path) -> None:
    images.derive(path, images.ImageKind.jpeg)


def _timed(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def compare(path: Path) -> dict[str, float]:
    """Median seconds of each way, interleaved so that load on the machine hits all alike."""
    ways: dict[str, Callable[[], None]] = {
        "derive": lambda: derive(path),
        "naive": lambda: naive(path),
        "naive_not_upright": lambda: naive(path, upright=False),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for name, work in ways.items():
        work()  # warm: files in the page cache, codecs loaded
        del name
    for _ in range(REPEATS):
        for name, work in ways.items():
            times[name].append(_timed(work))
    return {name: statistics.median(values) for name, values in times.items()}


def throughput(path: Path, pools: dict[str, Executor]) -> dict[str, float]:
    """Photos per second through `derive` in each pool: the best of ROUNDS interleaved rounds,
    so that other work on the machine costs each pool alike and the best shows what it can do."""
    for pool in pools.values():
        list(pool.map(derive, [path] * 4))  # workers started and warm before the clock
    best = dict.fromkeys(pools, 0.0)
    for _ in range(ROUNDS):
        for name, pool in pools.items():
            start = time.perf_counter()
            list(pool.map(derive, [path] * PHOTOS))
            best[name] = max(best[name], PHOTOS / (time.perf_counter() - start))
    return best


def main() -> None:
    images.configure()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        make_photo(path, SIZE)
        megapixels = SIZE[0] * SIZE[1] / 1e6
        size_mb = path.stat().st_size / 1e6
        t = compare(path)
        ratio = t["derive"] / t["naive"]
        verdict = "met" if ratio <= 0.35 else "NOT met"
        print(
            f"photo {SIZE[0]}x{SIZE[1]} ({megapixels:.0f} MP, {size_mb:.1f} MB JPEG, orientation 6)"
            f" to display + thumbnail: derive {t['derive'] * 1000:.0f} ms; naive open/resize/save"
            f" {t['naive'] * 1000:.0f} ms upright, {t['naive_not_upright'] * 1000:.0f} ms not;"
            f" ratio derive / naive {ratio:.2f} (budget <= 0.35: {verdict})"
            f", vs the naive way left sideways {t['derive'] / t['naive_not_upright']:.2f}"
        )
        spawn = multiprocessing.get_context("spawn")  # no fork of a process with threads
        pools: dict[str, Executor] = {
            "1 thread": ThreadPoolExecutor(1),
            "2 threads": ThreadPoolExecutor(2),
            "2 processes": ProcessPoolExecutor(2, mp_context=spawn),
        }
        try:
            rate = throughput(path, pools)
        finally:
            for pool in pools.values():
                pool.shutdown()
        one = rate["1 thread"]
        print(
            f"throughput, best of {ROUNDS} rounds of {PHOTOS} photos: 1 thread {one:.1f}/s, "
            f"2 threads {rate['2 threads']:.1f}/s (ratio {rate['2 threads'] / one:.2f}), "
            f"2 processes {rate['2 processes']:.1f}/s (ratio {rate['2 processes'] / one:.2f})"
        )


if __name__ == "__main__":
    main()
