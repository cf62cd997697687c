"""SQLite: copy the write-ahead log into the database from a background thread, not in a commit.

With SQLite's own automatic checkpoint, the commit that takes the log past 1,000 pages copies
them all into the database file and syncs it before its request can answer: a guard's push of
500 mutations now and then waits for work that is not its own. The server turns that off
(`wal_autocheckpoint` set high, a safety net only) and runs this instead: every `every`
seconds, once the log holds `min_bytes` or more, a PASSIVE checkpoint on a connection of its
own, in a worker thread. PASSIVE never blocks writers or readers; frames a reader still needs
stay in the log for the next round. Committed data is as durable either way: in WAL mode a
commit is done once it is in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("anbao.db")

# SQLite checkpoints by itself only past this many pages (64 MiB at 4 KiB pages): a safety net
# for a server whose checkpointer is stuck, and the limit for tools that run without one.
AUTOCHECKPOINT_PAGES = 16_384
EVERY_SECONDS = 1.0
MIN_BYTES = 4 * 1024 * 1024  # SQLite's own threshold: 1,000 pages of 4 KiB


@dataclass(frozen=True, slots=True)
class Checkpoint:
    busy: bool  # a writer or reader kept the checkpoint from finishing this time
    log_frames: int  # frames in the log
    copied_frames: int  # of those, now in the database file


class WalCheckpointer:
    def __init__(
        self, path: Path, every: float = EVERY_SECONDS, min_bytes: int = MIN_BYTES
    ) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.every = every
        self.min_bytes = min_bytes
        self.runs = 0
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one checkpoint at a time, whichever thread runs it
        self._task: asyncio.Task[None] | None = None

    def wal_bytes(self) -> int:
        try:
            return self.wal.stat().st_size
        except FileNotFoundError:
            return 0

    def checkpoint(self, mode: str = "PASSIVE") -> Checkpoint:
        """One checkpoint now, in the calling thread."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
            ((busy, frames, copied),) = self._conn.execute(
                f"PRAGMA wal_checkpoint({mode})"
            ).fetchall()
            self.runs += 1
        return Checkpoint(bool(busy), int(frames), int(copied))

    async def tick(self) -> Checkpoint | None:
        """Checkpoint in a worker thread if the log has grown past `min_bytes`."""
        if self.wal_bytes() < self.min_bytes:
            return None
        return await asyncio.to_thread(self.checkpoint)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.tick()
            except sqlite3.Error:
                log.exception("WAL checkpoint failed; trying again in %.1f s", self.every)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="wal-checkpoint")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
