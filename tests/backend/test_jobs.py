"""Scheduled jobs on SQLite and PostgreSQL: they run, and never twice at once across processes."""

from __future__ import annotations

import asyncio
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from backend.jobs import JOBS, Job, run_once
from backend.models.sync import Change, ChangeOp
from backend.services.changes import record_change
from tests.factories import make_world
from tests.support import make_settings, run_in_db


def test_compaction_job_drops_superseded_changes(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)

    async def scenario() -> tuple[int | None, list[str]]:
        from tortoise.transactions import in_transaction

        world = await make_world()
        async with in_transaction():
            for version in ("v1", "v2", "v3"):
                await record_change(
                    world.a.site.id, "duty_log", "e1", ChangeOp.upsert, {"v": version}
                )
        (job,) = [j for j in JOBS if j.name == "compact_changes"]
        handled = await run_once(job, settings)
        left = [c.data["v"] for c in await Change.all()]
        return handled, left

    handled, left = run_in_db(settings, scenario)
    assert handled == 2 and left == ["v3"]


def test_a_job_held_by_another_process_is_skipped(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    runs: list[datetime] = []

    async def count(_settings: object, _bus: object) -> int:
        runs.append(datetime.now(UTC))
        return 1

    job = Job("test_job", timedelta(hours=1), count)

    async def scenario() -> list[int | None]:
        results = [await run_once(job, settings)]
        if not database_url.startswith("postgres"):
            return results  # one process on SQLite: nothing to contend with
        # Another process holds the job's lock: this one must not run it.
        other = await asyncpg.connect(database_url)
        try:
            await other.execute("SELECT pg_advisory_lock($1)", zlib.crc32(b"test_job"))
            results.append(await run_once(job, settings))
            await other.execute("SELECT pg_advisory_unlock($1)", zlib.crc32(b"test_job"))
        finally:
            await other.close()
        results.append(await run_once(job, settings))
        return results

    results = run_in_db(settings, scenario)
    if database_url.startswith("postgres"):
        assert results == [1, None, 1] and len(runs) == 2
    else:
        assert results == [1] and len(runs) == 1


def test_jobs_start_and_stop_with_the_app(sqlite_url: str, tmp_path: Path) -> None:
    from tests.support import running_app

    with running_app(make_settings(tmp_path, sqlite_url)) as client:
        tasks = {t.get_name() for t in client.portal.call(asyncio.all_tasks)}  # type: ignore[union-attr]
        assert "compact_changes" in tasks
    off = make_settings(tmp_path, sqlite_url, jobs_enabled=False)
    with running_app(off) as client:
        tasks = {t.get_name() for t in client.portal.call(asyncio.all_tasks)}  # type: ignore[union-attr]
        assert "compact_changes" not in tasks
