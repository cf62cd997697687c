"""Live events for the supervisor board: published after a change commits, delivered to each
site's listeners (server-sent events). With several app processes on PostgreSQL, every event
is also relayed through LISTEN/NOTIFY so that a board connected to any process sees it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

log = logging.getLogger("anbao.events")
_QUEUE_LIMIT = 256
CHANNEL = "anbao_events"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; bigger events travel as a bare
# "reload" for that site, which makes boards fetch the snapshot.
_NOTIFY_LIMIT = 7900


@dataclass(frozen=True, slots=True)
class Event:
    site_id: int
    name: str  # e.g. "scan.recorded", "round.closed"
    data: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Queue[Event | None]]] = defaultdict(set)
        self._origin = uuid.uuid4().hex
        self._outbox: asyncio.Queue[Event] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._conn: asyncpg.Connection | None = None

    async def relay_through(self, dsn: str) -> None:
        """Share events with the other processes on this PostgreSQL database."""
        self._conn = await asyncpg.connect(dsn)
        await self._conn.add_listener(CHANNEL, self._heard)
        self._outbox = asyncio.Queue()
        self._tasks.append(asyncio.create_task(self._send(), name="events-relay"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _send(self) -> None:
        assert self._outbox is not None and self._conn is not None
        while True:
            event = await self._outbox.get()
            body = {
                "origin": self._origin,
                "site_id": event.site_id,
                "name": event.name,
                "data": event.data,
                "at": event.at.isoformat(),
            }
            payload = orjson.dumps(body).decode()
            if len(payload.encode()) > _NOTIFY_LIMIT:
                payload = orjson.dumps({**body, "name": "reload", "data": {}}).decode()
            try:
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except (OSError, asyncpg.PostgresError):
                log.exception("could not relay an event; boards elsewhere will miss it")

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            body = orjson.loads(payload)
            if body["origin"] == self._origin:
                return  # delivered here already
            event = Event(
                int(body["site_id"]),
                str(body["name"]),
                dict(body["data"]),
                datetime.fromisoformat(body["at"]),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event on %s", CHANNEL)
            return
        self._deliver(event)

    @property
    def quiet(self) -> bool:
        """Nobody would hear an event now: no listener here, no other process to relay to.
        A publisher with many events may skip making them."""
        return self._outbox is None and not any(self._listeners.values())

    def publish(self, event: Event) -> None:
        self._deliver(event)
        if self._outbox is not None:
            self._outbox.put_nowait(event)

    def _deliver(self, event: Event) -> None:
        for queue in list(self._listeners.get(event.site_id, ())):
            if queue.full():
                # A listener that stopped reading must not hold the others back: it is told
                # to reload (None) and dropped.
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)
                self._listeners[event.site_id].discard(queue)
                continue
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def listen(self, site_id: int) -> AsyncIterator[asyncio.Queue[Event | None]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=_QUEUE_LIMIT)
        self._listeners[site_id].add(queue)
        try:
            yield queue
        finally:
            self._listeners[site_id].discard(queue)

    def listener_count(self, site_id: int) -> int:
        return len(self._listeners.get(site_id, ()))
