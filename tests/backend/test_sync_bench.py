"""The sync benchmarks' server-side parts still run (at a tiny size): `make bench` must not rot.

tests/test_bench.py runs the ingest and pull benches; this runs the one-mutation comparison and
the ingest against a server left with Python's default garbage collector settings (`anbao serve`
tunes them).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def in_own_thread(work: Callable[[], T]) -> T:
    # The benchmarks run their own event loops, as `make bench` does.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def test_one_mutation_pushes_are_compared_with_a_bare_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import bench_sync

    monkeypatch.setattr(bench_sync, "SINGLE_REQUESTS", 40)
    figures = in_own_thread(lambda: bench_sync.measure_single(tmp_path, rounds=1))
    for rate in (figures.push, figures.bare, figures.signed_in):
        assert rate.per_second > 0
        assert rate.cpu is None or rate.cpu >= 0


def test_ingest_runs_against_a_frozen_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import bench_sync

    monkeypatch.setattr(bench_sync, "MUTATIONS", 600)
    figures = in_own_thread(lambda: bench_sync.measure_ingest(tmp_path, rounds=1, freeze=False))
    assert figures.push_wall > 0 and figures.raw_wall > 0
    assert "ratio" in bench_sync._ingest_line("", figures)
