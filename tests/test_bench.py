"""The benchmarks still run (at a small size): `make bench` must not rot between runs."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def in_own_thread(work: Callable[[], T]) -> T:
    # The benchmarks run their own event loops, as `make bench` does; other tests (sync
    # Playwright) may leave one running in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def test_sync_benchmarks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import bench_sync

    monkeypatch.setattr(bench_sync, "MUTATIONS", 1000)
    (tmp_path / "push").mkdir()
    (tmp_path / "pull").mkdir()
    pushed, raw = in_own_thread(lambda: bench_sync.bench_push(tmp_path / "push"))
    assert pushed > 0 and raw > 0
    assert in_own_thread(lambda: bench_sync.bench_pull(tmp_path / "pull", 2000)) > 0


def test_image_benchmark_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import bench_images

    monkeypatch.setattr(bench_images, "SIZE", (800, 600))
    monkeypatch.setattr(bench_images, "REPEATS", 2)
    monkeypatch.setattr(bench_images, "PHOTOS", 4)
    monkeypatch.setattr(bench_images, "ROUNDS", 1)
    in_own_thread(bench_images.main)
    out = capsys.readouterr().out
    assert "ratio derive / naive" in out and "2 threads" in out and "2 processes" in out


def test_push_benchmark_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import bench_push

    monkeypatch.setattr(bench_push, "NOTICES", 60)
    monkeypatch.setattr(bench_push, "ROUNDS", 1)
    in_own_thread(bench_push.main)
    out = capsys.readouterr().out
    assert "60 notices" in out and "ratio" in out and "budget <= 2" in out


def test_tag_benchmark_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import bench_tags

    monkeypatch.setattr(bench_tags, "VERIFICATIONS", 2_000)
    in_own_thread(bench_tags.main)
    assert "ratio" in capsys.readouterr().out


def test_bridge_benchmark_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import bench_bridge

    monkeypatch.setattr(bench_bridge, "ADVERTISEMENTS", 50_000)
    bench_bridge.main()
    out = capsys.readouterr().out
    assert "50,000 advertisements" in out and "ratio" in out
    assert "sightings and events reported" in out and " 0 sightings" not in out
