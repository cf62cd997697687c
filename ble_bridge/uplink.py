"""Delivers spooled batches to the backend, oldest first, and sends heartbeats.

- backend unreachable (refused, timeout, 5xx): the batch stays spooled; retry with backoff;
- 401/403: `TokenRejected` propagates, the daemon stops and says why;
- any other 4xx: the batch moves to the dead letters with the server's error, and delivery
  goes on with the next one (one bad batch never blocks the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ble_bridge import __version__
from ble_bridge.adapter import AdapterState
from ble_bridge.api import BackendClient, Refused, Unreachable
from ble_bridge.backoff import Backoff
from ble_bridge.scanner import utc_now
from ble_bridge.spool import Spool

log = logging.getLogger("anbao_bridge.uplink")


@dataclass(frozen=True, slots=True)
class Delivered:
    batches: int
    duplicates: int
    dead_letters: int


class Uplink:
    def __init__(
        self,
        client: BackendClient,
        spool: Spool,
        *,
        retry_max_seconds: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.spool = spool
        self._clock = clock
        self.backoff = Backoff(initial=1.0, maximum=retry_max_seconds)
        self.reachable: bool | None = None  # unknown until the first attempt

    async def deliver(self) -> Delivered:
        """Send every spooled batch; raises Unreachable (batch kept) or TokenRejected."""
        batches = duplicates = dead = 0
        while (batch := self.spool.oldest()) is not None:
            body = {**batch.body, "sent_at": self._clock().isoformat()}
            try:
                ack = await self.client.post_batch(body)
            except Unreachable as exc:
                self.reachable = False
                self.spool.note_attempt(batch.batch_id, exc.message)
                raise
            except Refused as exc:
                self.reachable = True
                error = json.dumps(exc.body, ensure_ascii=False) if exc.body else exc.message
                self.spool.dead_letter(batch.batch_id, exc.status or 0, error, self._clock())
                log.error(
                    "batch %s refused by the backend (%s); kept as a dead letter",
                    batch.batch_id,
                    exc.message,
                )
                dead += 1
                continue
            self.reachable = True
            # Acknowledged only after the server said so: a crash before this line resends
            # the same batch id and the backend answers "duplicate".
            self.spool.acknowledge(batch.batch_id, self._clock())
            batches += 1
            duplicates += ack.status == "duplicate"
        return Delivered(batches, duplicates, dead)

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Deliver whenever `wake` is set; back off while the backend is unreachable."""
        last_problem = ""
        while not stop.is_set():
            try:
                done = await self.deliver()
            except Unreachable as exc:
                delay = self.backoff.next(floor=exc.retry_after)
                # Said once per outage (and when the reason changes), not at every retry.
                level = logging.DEBUG if exc.message == last_problem else logging.WARNING
                last_problem = exc.message
                log.log(
                    level,
                    "backend unreachable (%s); %d batch(es) spooled, retrying with backoff",
                    exc.message,
                    self.spool.size(),
                )
                await _wait_any(stop, None, delay)
                continue
            recovered = bool(last_problem)
            last_problem = ""
            self.backoff.reset()
            if recovered or done.dead_letters:
                log.info(
                    "backend reachable: delivered %d batch(es) (%d it already had), "
                    "%d dead letter(s)",
                    done.batches,
                    done.duplicates,
                    done.dead_letters,
                )
            elif done.batches:
                log.debug("delivered %d batch(es)", done.batches)
            await _wait_any(stop, wake, None)
            wake.clear()


def heartbeat_body(
    adapter: AdapterState, passive: bool, spool: Spool, at: datetime
) -> dict[str, object]:
    return {
        "sent_at": at.isoformat(),
        "version": __version__,
        "adapter": adapter.to_json(passive),
        "spool_size": spool.size(),
        "dead_letters": spool.dead_letter_count(),
    }


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float | None) -> None:
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
