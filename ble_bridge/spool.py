"""The outgoing spool: a local SQLite file holding batches until the backend acknowledges them.

A batch gets its UUID when it is written and keeps it for good, so a batch sent, then
interrupted (crash, SIGKILL, power cut) before its acknowledgement was recorded, is sent again
under the same id and the backend answers `duplicate`: delivered exactly once. Writing a batch
and removing it are each one transaction with `synchronous=FULL`, so a kill at any instant
leaves every batch either wholly there or wholly gone. Batches the backend refuses as invalid
move to `dead_letters` with the server's answer; nothing is dropped silently.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ble_bridge.aggregate import Event, Sighting

MAX_SIGHTINGS = 500  # per batch: the backend refuses more (413 batch_too_large)
MAX_EVENTS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    sightings INTEGER NOT NULL,
    events INTEGER NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    seq: int
    batch_id: str
    created_at: str
    attempts: int
    body: dict[str, Any]  # {"batch_id", "sightings", "events"}; sent_at is added when sent


@dataclass(frozen=True, slots=True)
class DeadLetter:
    batch_id: str
    created_at: str
    failed_at: str
    status: int
    error: str
    sightings: int
    events: int


@dataclass(frozen=True, slots=True)
class SpoolStats:
    batches: int
    sightings: int
    events: int
    dead_letters: int
    oldest: str | None
    last_delivery_at: str | None
    last_error: str | None


class Spool:
    """One connection per process; open it with `Spool.open(path)` and close it when done."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> Spool:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a batch acknowledged to nobody but written here must survive a power cut too.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def add(
        self, sightings: Sequence[Sighting], events: Sequence[Event], created_at: datetime
    ) -> list[str]:
        """Spool an interval as one or more batches (500 + 500 at most each); their ids."""
        if not sightings and not events:
            return []
        ids = []
        with self._transaction() as conn:
            for start in range(0, max(len(sightings), len(events)), MAX_SIGHTINGS):
                part_s = sightings[start : start + MAX_SIGHTINGS]
                part_e = events[start : start + MAX_EVENTS]
                batch_id = str(uuid.uuid4())
                body = {
                    "batch_id": batch_id,
                    "sightings": [s.to_json() for s in part_s],
                    "events": [e.to_json() for e in part_e],
                }
                conn.execute(
                    "INSERT INTO batches (batch_id, created_at, sightings, events, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (batch_id, created_at.isoformat(), len(part_s), len(part_e), _dump(body)),
                )
                ids.append(batch_id)
        return ids

    def oldest(self) -> SpooledBatch | None:
        row = self._conn.execute(
            "SELECT seq, batch_id, created_at, attempts, body FROM batches ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return SpooledBatch(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def note_attempt(self, batch_id: str, error: str | None) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE batch_id = ?",
                (error, batch_id),
            )

    def acknowledge(self, batch_id: str, at: datetime) -> None:
        """The backend has the batch (accepted now or earlier): it leaves the spool."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
            self._set(conn, "last_delivery_at", at.isoformat())
            self._set(conn, "last_delivery_batch", batch_id)

    def dead_letter(self, batch_id: str, status: int, error: str, at: datetime) -> None:
        """The backend refused the batch as invalid: keep it aside with the reason."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO dead_letters "
                "(seq, batch_id, created_at, failed_at, status, error, body) "
                "SELECT seq, batch_id, created_at, ?, ?, ?, body FROM batches WHERE batch_id = ?",
                (at.isoformat(), status, error, batch_id),
            )
            conn.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT batch_id, created_at, failed_at, status, error, body FROM dead_letters "
            "ORDER BY seq"
        ).fetchall()
        out = []
        for batch_id, created_at, failed_at, status, error, body in rows:
            data = json.loads(body)
            out.append(
                DeadLetter(
                    batch_id,
                    created_at,
                    failed_at,
                    status,
                    error,
                    len(data.get("sightings", [])),
                    len(data.get("events", [])),
                )
            )
        return out

    def size(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM batches").fetchone()
        return int(row[0])

    def dead_letter_count(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM dead_letters").fetchone()
        return int(row[0])

    def stats(self) -> SpoolStats:
        batches, sightings, events, oldest = self._conn.execute(
            "SELECT count(*), coalesce(sum(sightings), 0), coalesce(sum(events), 0), "
            "min(created_at) FROM batches"
        ).fetchone()
        last_error = self._conn.execute(
            "SELECT last_error FROM batches WHERE last_error IS NOT NULL ORDER BY seq LIMIT 1"
        ).fetchone()
        return SpoolStats(
            batches=batches,
            sightings=sightings,
            events=events,
            dead_letters=self.dead_letter_count(),
            oldest=oldest,
            last_delivery_at=self.get("last_delivery_at"),
            last_error=last_error[0] if last_error else None,
        )

    def get(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        with self._transaction() as conn:
            self._set(conn, key, value)

    @staticmethod
    def _set(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def read_stats(path: Path) -> SpoolStats | None:
    """Stats of a spool file without creating one (for `anbao-bridge status`)."""
    if not path.exists():
        return None
    with closing(Spool.open(path)) as spool:
        return spool.stats()


def _dump(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
