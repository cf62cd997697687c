"""Scheduled jobs: run periodically inside each app process, at most once at a time across
processes (a PostgreSQL advisory lock taken for the job's transaction; SQLite has one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from backend.db import bound
from backend.events import Event, EventBus
from backend.services import bridge, notices, parcels, rounds
from backend.services.changes import compact
from backend.services.retention import purge as purge_personal_data
from backend.settings import Settings

log = logging.getLogger("anbao.jobs")


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    # Returns how many things it handled; may publish live events on the bus.
    run: Callable[[Settings, EventBus], Awaitable[int]]
    # Shares its work out across processes itself (row locks): every process runs it, outside
    # any transaction of the runner's.
    shared: bool = False


async def compact_changes(settings: Settings, _bus: EventBus) -> int:
    retention = timedelta(days=settings.sync_tombstone_retention_days)
    return await compact(datetime.now(UTC), retention)


async def generate_rounds(_settings: Settings, _bus: EventBus) -> int:
    now = datetime.now(UTC)
    await rounds.expire_hotspots(now)
    return await rounds.generate_rounds(now)


async def close_rounds(_settings: Settings, bus: EventBus) -> int:
    closed = await rounds.close_rounds(datetime.now(UTC))
    for rnd in closed:
        missed = [s["checkpoint_id"] for s in rnd.stops if s["status"] == "missed"]
        bus.publish(
            Event(
                rnd.site_id,
                "round.closed",
                {
                    "round_id": rnd.id,
                    "tour_id": rnd.tour_id,
                    "missed": missed,
                    "late": [s["checkpoint_id"] for s in rnd.stops if s["status"] == "late"],
                },
            )
        )
    return len(closed)


async def purge_sightings(settings: Settings, _bus: EventBus) -> int:
    return await bridge.purge_sightings(settings)


async def purge_visitors(settings: Settings, _bus: EventBus) -> int:
    retention = timedelta(days=settings.visitor_retention_days)
    counts = await purge_personal_data(datetime.now(UTC), retention)
    return sum(sum(c.values()) for c in counts.values())


async def send_notices(settings: Settings, _bus: EventBus) -> int:
    report = await notices.Sender(settings, settings.sealer()).run()
    if report.delivered_refs:
        await parcels.mark_notified(report.delivered_refs, datetime.now(UTC))
    return report.attempted


async def parcel_reminders(settings: Settings, _bus: EventBus) -> int:
    return await parcels.send_reminders(settings, datetime.now(UTC))


JOBS = [
    Job("compact_changes", timedelta(hours=6), compact_changes),
    Job("generate_rounds", timedelta(minutes=15), generate_rounds),
    Job("close_rounds", timedelta(minutes=2), close_rounds),
    Job("send_notices", timedelta(seconds=2), send_notices, shared=True),
    Job("parcel_reminders", timedelta(hours=1), parcel_reminders),
    Job("purge_sightings", timedelta(hours=24), purge_sightings),
    Job("purge_visitors", timedelta(hours=6), purge_visitors),
]


@contextlib.asynccontextmanager
async def exclusive(name: str) -> AsyncIterator[bool]:
    """A transaction in which this process holds the job's lock, or knows another does."""
    async with in_transaction() as conn:
        if conn.capabilities.dialect != "postgres":
            yield True
            return
        key = zlib.crc32(name.encode())
        _, rows = await conn.execute_query("SELECT pg_try_advisory_xact_lock($1) AS ok", [key])
        yield bool(rows[0]["ok"])


async def run_once(job: Job, settings: Settings, bus: EventBus | None = None) -> int | None:
    """Run the job if no other process is running it; None when it was skipped."""
    if job.shared:
        return await job.run(settings, bus or EventBus())
    async with exclusive(job.name) as mine:
        if not mine:
            return None
        return await job.run(settings, bus or EventBus())


class JobRunner:
    def __init__(
        self, ctx: TortoiseContext, settings: Settings, jobs: list[Job], bus: EventBus
    ) -> None:
        self.ctx, self.settings, self.jobs, self.bus = ctx, settings, jobs, bus
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self.jobs]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    async def _loop(self, job: Job) -> None:
        period = job.every.total_seconds()
        # A first run soon after start, spread so that processes started together differ.
        await asyncio.sleep(random.uniform(0.05, 0.2) * period)
        while True:
            try:
                with bound(self.ctx):
                    handled = await run_once(job, self.settings, self.bus)
                if handled:
                    log.info("job %s handled %d", job.name, handled)
            except Exception:
                log.exception("job %s failed; it runs again next period", job.name)
            await asyncio.sleep(period)
