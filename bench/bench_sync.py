"""Sync benchmarks (budgets in DESIGN.md), each a ratio measured in one run on this machine:

- push ingest: 10,000 duty-log mutations pushed in batches of 500 through the real app on a
  SQLite file, vs raw `sqlite3.executemany` of the same rows into an equivalent table
  (budget: ratio >= 0.2);
- pull: 100 changes from a database holding 1,000,000 change rows vs one holding 10,000
  (budget: ratio <= 1.3).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from backend.app import create_app
from backend.db import apply_migrations, bound, open_database
from backend.settings import Settings

MUTATIONS = 10_000
BATCH = 500


def _settings(root: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=root,
        secret_key="bench",
        pwa_dir=root / "none",
        database_url=f"sqlite://{root / 'anbao.sqlite3'}",
        sync_max_batch=BATCH,
        max_body_bytes=8 * 1024 * 1024,
        sync_page_size=100,
        jobs_enabled=False,
    ).with_secret()


def _prepare(settings: Settings) -> None:
    async def go() -> None:
        from tests.factories import make_world

        ctx = await open_database(settings)
        try:
            await apply_migrations(ctx)
            with bound(ctx):
                await make_world()
        finally:
            await ctx.close_connections()

    asyncio.run(go())


def _mutations(site_id: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": str(uuid.uuid4()),
            "name": "duty_log.add",
            "client_time": now,
            "args": {
                "id": str(uuid.uuid4()),
                "site_id": site_id,
                "category": "patrol",
                "text": f"第 {i} 次巡查：B1 车库正常 / round {i}: car park B1 quiet",
            },
        }
        for i in range(MUTATIONS)
    ]


def bench_push(root: Path) -> tuple[float, float]:
    settings = _settings(root)
    _prepare(settings)
    mutations = _mutations(1)
    with TestClient(create_app(settings)) as client:
        uid = str(uuid.uuid4())
        login = client.post(
            "/api/auth/login",
            json={
                "username": "guard_a",
                "password": "test-password-1",
                "device": {"uid": uid, "name": "bench"},
            },
        ).json()
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {login['token']}"}
        start = time.perf_counter()
        for i in range(0, MUTATIONS, BATCH):
            response = client.post(
                "/api/sync/push",
                headers=headers,
                json={"device_id": uid, "mutations": mutations[i : i + BATCH]},
            )
            assert response.status_code == 200, response.text
            assert all(r["status"] == "applied" for r in response.json()["results"])
        pushed = time.perf_counter() - start

    raw_path = root / "raw.sqlite3"
    conn = sqlite3.connect(raw_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE duty_log_raw (id TEXT PRIMARY KEY, mutation_id TEXT UNIQUE, site_id INT, "
        "category TEXT, text TEXT, client_time TEXT, server_time TEXT)"
    )
    now = datetime.now(UTC).isoformat()
    rows = [
        (m["args"]["id"], m["id"], 1, "patrol", m["args"]["text"], m["client_time"], now)
        for m in mutations
    ]
    start = time.perf_counter()
    for i in range(0, MUTATIONS, BATCH):
        with conn:
            conn.executemany("INSERT INTO duty_log_raw VALUES (?,?,?,?,?,?,?)", rows[i : i + BATCH])
    raw = time.perf_counter() - start
    conn.close()
    return pushed, raw


def _fill_changes(settings: Settings, total: int, sites: int) -> None:
    path = settings.resolved_database_url.removeprefix("sqlite://")
    conn = sqlite3.connect(path)
    per_site = total // sites
    payload = json.dumps({"text": "巡查正常 all quiet", "category": "patrol"})
    now = datetime.now(UTC).isoformat()
    with conn:
        conn.execute("DELETE FROM changes")
        for site in range(1, sites + 1):
            conn.executemany(
                "INSERT INTO changes (site_id, seq, entity, entity_id, op, audience, data, at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    (site, seq, "duty_log", str(uuid.uuid4()), "upsert", "staff", payload, now)
                    for seq in range(1, per_site + 1)
                ),
            )
    conn.execute("ANALYZE")
    conn.close()


def bench_pull(root: Path, total: int) -> float:
    settings = _settings(root)
    _prepare(settings)
    # Site 1 is the guard's; the other sites' rows are there to make the table big.
    _fill_changes(settings, total, sites=10)
    from backend.services.changes import encode_cursor

    per_site = total // 10
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/api/auth/login", json={"username": "guard_a", "password": "test-password-1"}
        ).json()
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {login['token']}"}
        cursor = encode_cursor({1: per_site // 2})
        timings = []
        for _ in range(300):
            start = time.perf_counter()
            page = client.get(
                "/api/sync/pull", params={"cursor": cursor, "limit": 100}, headers=headers
            ).json()
            timings.append(time.perf_counter() - start)
            assert len(page["changes"]) == 100
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory() as a:
        pushed, raw = bench_push(Path(a))
    print(
        f"push ingest: {MUTATIONS} mutations in batches of {BATCH}: {pushed:.2f} s "
        f"({MUTATIONS / pushed:,.0f}/s); raw executemany {raw:.3f} s; "
        f"ratio {raw / pushed:.3f} (budget >= 0.2)"
    )
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        small = bench_pull(Path(a), 10_000)
        big = bench_pull(Path(b), 1_000_000)
    print(
        f"pull 100 changes: 10k rows {small * 1000:.2f} ms, 1M rows {big * 1000:.2f} ms; "
        f"ratio {big / small:.2f} (budget <= 1.3)"
    )


if __name__ == "__main__":
    main()
