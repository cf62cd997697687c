"""Live events for the supervisor board: published after a change commits, delivered to each
site's listeners (server-sent events). One process for now; several processes will relay
through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_QUEUE_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Event:
    site_id: int
    name: str  # e.g. "scan.recorded", "round.closed"
    data: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Queue[Event | None]]] = defaultdict(set)

    def publish(self, event: Event) -> None:
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
