"""The spool: batches keep their id across restarts, leave only when acknowledged, split at
the backend's limits, dead letters keep the server's reason, and a SIGKILL at any instant
loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ble_bridge.aggregate import Event, EventType, Sighting
from ble_bridge.frames import TagKind
from ble_bridge.spool import Spool, read_stats

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def sighting(i: int) -> Sighting:
    at = T0 + timedelta(seconds=i)
    return Sighting(
        "C0:00:00:00:00:01", TagKind.ADDRESS, f"tag{i}", at, at, -60, 1, None, None, None
    )


def event(i: int) -> Event:
    return Event(uuid.uuid4(), EventType.PRESENT, TagKind.ADDRESS, "C0:00:00:00:00:01", "", T0)


def test_batches_keep_their_id_across_a_restart_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool.open(path)
    (first,) = spool.add([sighting(1)], [], T0)
    (second,) = spool.add([sighting(2)], [event(1)], T0 + timedelta(seconds=10))
    assert spool.add([], [], T0) == []  # a quiet interval spools nothing
    spool.close()

    spool = Spool.open(path)  # the bridge restarted
    oldest = spool.oldest()
    assert oldest is not None and oldest.batch_id == first
    assert oldest.body["batch_id"] == first
    assert oldest.body["sightings"][0]["ident"] == "tag1"
    spool.note_attempt(first, "connection refused")
    assert spool.stats().last_error == "connection refused"
    spool.acknowledge(first, T0 + timedelta(minutes=1))
    oldest = spool.oldest()
    assert oldest is not None and oldest.batch_id == second
    assert len(oldest.body["events"]) == 1
    stats = spool.stats()
    assert (stats.batches, stats.sightings, stats.events) == (1, 1, 1)
    assert stats.last_delivery_at == (T0 + timedelta(minutes=1)).isoformat()
    spool.close()


def test_an_interval_is_split_at_500_sightings_and_500_events(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "s.sqlite3")
    ids = spool.add([sighting(i) for i in range(1201)], [event(i) for i in range(510)], T0)
    assert len(ids) == 3 and len(set(ids)) == 3
    sizes = []
    while (batch := spool.oldest()) is not None:
        sizes.append((len(batch.body["sightings"]), len(batch.body["events"])))
        spool.acknowledge(batch.batch_id, T0)
    assert sizes == [(500, 500), (500, 10), (201, 0)]
    spool.close()


def test_a_refused_batch_becomes_a_dead_letter_with_the_reason(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "s.sqlite3")
    (bad,) = spool.add([sighting(1)], [], T0)
    (good,) = spool.add([sighting(2)], [], T0)
    spool.dead_letter(bad, 422, '{"error": {"code": "validation_failed"}}', T0)
    oldest = spool.oldest()
    assert oldest is not None and oldest.batch_id == good  # the rest goes on
    (dead,) = spool.dead_letters()
    assert (dead.batch_id, dead.status, dead.sightings) == (bad, 422, 1)
    assert "validation_failed" in dead.error
    assert spool.dead_letter_count() == 1 and spool.size() == 1
    spool.close()


def test_stats_of_a_missing_spool_do_not_create_it(tmp_path: Path) -> None:
    assert read_stats(tmp_path / "none.sqlite3") is None
    assert not (tmp_path / "none.sqlite3").exists()


def test_sigkill_at_any_instant_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spooled: dict[str, int] = {}  # batch id -> sightings, as printed after the commit
    acked: set[str] = set()
    acking: set[str] = set()  # announced before the commit: may or may not have happened
    rng = random.Random(8)
    for run in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bridge.spool_worker", str(path), str(run)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(rng.randint(5, 60)):
            line = proc.stdout.readline()
            assert line, "the worker died on its own"
            what, batch_id, *rest = line.split()
            if what == "spooled":
                spooled[batch_id] = int(rest[0])
            else:
                (acked if what == "acked" else acking).add(batch_id)
        time.sleep(rng.random() / 50)  # land the kill anywhere, mid-transaction included
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for line in proc.stdout:  # what it printed before dying
            what, batch_id, *rest = line.split()
            if what == "spooled":
                spooled[batch_id] = int(rest[0])
            else:
                (acked if what == "acked" else acking).add(batch_id)
        proc.stdout.close()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = conn.execute("SELECT batch_id, sightings, body FROM batches").fetchall()
    conn.close()
    present = {batch_id for batch_id, _, _ in rows}
    assert not present & acked, "an acknowledged batch came back"
    assert set(spooled) - acking <= present, "a spooled batch was lost"
    for batch_id, count, body in rows:
        data = json.loads(body)
        assert data["batch_id"] == batch_id
        assert len(data["sightings"]) == count  # whole, never half written
    # at most the batch being written at each kill is there without its line having been read
    assert len(present - set(spooled)) <= 12
    assert len(acking - acked) <= 12
