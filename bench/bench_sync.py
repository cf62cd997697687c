"""Sync benchmarks (budgets in DESIGN.md), each a ratio measured in one run on this machine.

Pushes go through the whole HTTP path: a real uvicorn server (configured as `anbao serve` runs
it) in its own process on a SQLite file, sent to by a lean client over keep-alive connections.

- push ingest: 10,000 duty-log mutations pushed in batches of 500, one batch after the other,
  vs raw `sqlite3.executemany` of the same rows into one equivalent table (budget: ratio
  >= 0.2). Best of 5 rounds each, every round from new databases on both sides (the server's
  holding only the test world), as wall time and as CPU time (the server process's, read
  from /proc, against the baseline's: steadier on a shared machine). The server tunes its
  garbage collector after start-up as `anbao serve` does (`backend.app.prepare_to_serve`:
  `gc.freeze()` and a higher young-generation threshold); printed again without, to show the
  gain;
- one-mutation push: requests/s vs a bare Starlette JSON endpoint served by the same server
  (budget: ratio >= 0.4), with the server's CPU time per request for the push, the bare
  endpoint, and the bare endpoint plus authenticating the request (what every API call pays);
- pull: 100 changes from a database holding 1,000,000 change rows vs one holding 10,000
  (budget: ratio <= 1.3).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from backend.app import create_app, prepare_to_serve
from backend.credentials import authenticate_request
from backend.db import apply_migrations, bound, open_database
from backend.settings import Settings

MUTATIONS = 10_000
BATCH = 500
SINGLE_REQUESTS = 1_000  # one-mutation pushes per round, and as many bare requests
ROUNDS = 3
INGEST_ROUNDS = 5  # each on a new database: see measure_ingest
WARM_UP = 20  # mutations pushed, untimed, before each round's
CONNECTIONS = 4  # concurrent keep-alive connections for the requests/s comparison
REPO = Path(__file__).resolve().parents[1]


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
        log_level="WARNING",
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


# --- the server, in its own process ------------------------------------------------------------


async def _bare(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({"results": [{"id": m["id"], "status": "ok"} for m in body["mutations"]]})


async def _signed_in(request: Request) -> JSONResponse:
    """The bare endpoint plus what every API request pays first: finding who sent it."""
    actor = await authenticate_request(request)
    body = await request.json()
    results = [{"id": m["id"], "status": "ok"} for m in body["mutations"]]
    return JSONResponse({"user": actor.user_id, "results": results})


def serve(root: Path, port: int, freeze: bool = True) -> None:
    """Runs the app as `anbao serve` does, plus a bare Starlette JSON endpoint at /bare.

    `freeze` tunes the garbage collector after start-up as `anbao serve` does
    (`prepare_to_serve`: `gc.freeze()`, a higher young-generation threshold); without it, for
    comparison.
    """
    import uvicorn

    app = create_app(_settings(root))
    # Inside the app (its middleware and database), unlike /bare.
    app.router.routes.append(Route("/bench/signed-in", _signed_in, methods=["POST"]))
    bare = Starlette(routes=[Route("/bare", _bare, methods=["POST"])])

    async def both(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bare":
            await bare(scope, receive, send)
        else:
            await app(scope, receive, send)

    if freeze:
        prepare_to_serve()
    uvicorn.run(
        both,
        host="127.0.0.1",
        port=port,
        proxy_headers=True,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(root: Path, freeze: bool = True) -> Iterator[tuple[int, int]]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_sync", "serve", str(root), str(port)]
        + ([] if freeze else ["thaw"]),
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "bench server did not start:\n"
                        + (root / "server.log").read_text(errors="replace")[-3000:]
                    ) from None
                time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --- a lean HTTP/1.1 client: the client's own cost must not hide the server's -----------------


def _request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _send_all(port: int, requests: list[bytes], connections: int) -> list[tuple[int, bytes]]:
    """Sends each request once over `connections` keep-alive connections; answers in order."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    queue = list(range(len(requests)))[::-1]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
        try:
            while queue:
                i = queue.pop()
                answers[i] = await _exchange(reader, writer, requests[i])
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return answers


def _login(port: int, device_uid: str) -> str:
    body = {
        "username": "guard_a",
        "password": "test-password-1",
        "device": {"uid": device_uid, "name": "bench"},
    }
    ((status, answer),) = asyncio.run(
        _send_all(port, [_request("/api/auth/login", orjson.dumps(body), {})], 1)
    )
    assert status == 200, answer
    return str(orjson.loads(answer)["token"])


def _mutation(site_id: int, i: int, now: str) -> dict[str, Any]:
    return {
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


def _mutations(site_id: int, count: int | None = None) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [_mutation(site_id, i, now) for i in range(MUTATIONS if count is None else count)]


def _push_requests(token: str, device_uid: str, batches: list[list[dict[str, Any]]]) -> list[bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    return [
        _request("/api/sync/push", orjson.dumps({"device_id": device_uid, "mutations": b}), headers)
        for b in batches
    ]


def _all_applied(answers: list[tuple[int, bytes]]) -> bool:
    return all(
        status == 200 and all(r["status"] == "applied" for r in orjson.loads(body)["results"])
        for status, body in answers
    )


# --- push ingest --------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), or None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _raw_executemany(root: Path, mutations: list[dict[str, Any]], name: str) -> tuple[float, float]:
    """Wall and CPU seconds to write the same rows into one equivalent table, plain sqlite3."""
    conn = sqlite3.connect(root / f"{name}.sqlite3")
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
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(rows), BATCH):
        with conn:
            conn.executemany("INSERT INTO duty_log_raw VALUES (?,?,?,?,?,?,?)", rows[i : i + BATCH])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return wall, cpu


def _floor_executemany(
    path: str, mutations: list[dict[str, Any]], first_seq: int
) -> tuple[float, float]:
    """Wall and CPU seconds for the database work a push cannot avoid: the same three rows per
    mutation it writes (the entry, its change-feed row, the idempotency record with the stored
    result) into the app's own tables, foreign keys on, one executemany per table per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    ((user_id,),) = conn.execute("SELECT id FROM users WHERE username = 'guard_a'").fetchall()
    now = datetime.now(UTC).isoformat(" ")
    entries, changes, applied = [], [], []
    for i, m in enumerate(mutations):
        a = m["args"]
        out = {
            "id": a["id"],
            "site_id": 1,
            "zone_id": None,
            "author_id": user_id,
            "author_name": "Guard_A",
            "category": a["category"],
            "text": a["text"],
            "client_time": m["client_time"],
            "server_time": now,
        }
        data = orjson.dumps(out).decode()
        entries.append((a["id"], 1, None, user_id, None, a["category"], a["text"], now, now))
        changes.append((1, first_seq + i, "duty_log", a["id"], "upsert", "staff", data, now))
        applied.append((m["id"], user_id, None, m["name"], "applied", "", data, now, now, 0))
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(mutations), BATCH):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO duty_log_entries (id, site_id, zone_id, author_id, device_id, category, "
            "text, client_time, server_time) VALUES (?,?,?,?,?,?,?,?,?)",
            entries[i : i + BATCH],
        )
        conn.executemany(
            "INSERT INTO changes (site_id, seq, entity, entity_id, op, audience, data, at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            changes[i : i + BATCH],
        )
        conn.executemany(
            "INSERT INTO applied_mutations (id, user_id, device_id, name, status, code, result, "
            "client_time, server_time, clock_skew_seconds) VALUES (?,?,?,?,?,?,?,?,?,?)",
            applied[i : i + BATCH],
        )
        conn.execute("COMMIT")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return wall, cpu


@dataclass(frozen=True, slots=True)
class IngestFigures:
    # Best of the rounds (the least disturbed on a shared machine), each side on its own.
    push_wall: float
    raw_wall: float
    push_cpu: float | None  # the server process's CPU time, where it can be read
    raw_cpu: float
    floor_wall: float  # the push's own three rows per mutation, written by plain sqlite3
    floor_cpu: float


def measure_ingest(root: Path, rounds: int = INGEST_ROUNDS, freeze: bool = True) -> IngestFigures:
    """Pushes MUTATIONS through the server in batches, `rounds` times (fresh ids each time),
    alternating with the raw baseline and the floor.

    Every round starts each side from the same state: the server on a database of its own
    holding only the test world (started afresh, so its start-up is not timed), the baseline
    and the floor on new files. A server kept across rounds would push each round into tables
    already holding the earlier rounds' rows, while the baseline's table is always new.
    """
    push_wall: list[float] = []
    push_cpu: list[float] = []
    raw_wall: list[float] = []
    raw_cpu: list[float] = []
    floor_wall: list[float] = []
    floor_cpu: list[float] = []
    for round_ in range(rounds):
        served, floor_db = root / f"server{round_}", root / f"floor{round_}"
        for path in (served, floor_db):
            path.mkdir()
            _prepare(_settings(path))
        mutations = _mutations(1)
        with running_server(served, freeze) as (port, pid):
            uid = str(uuid.uuid4())
            token = _login(port, uid)
            # Untimed, as a running server has pushes behind it: a first one fills its caches.
            warm_up = asyncio.run(
                _send_all(port, _push_requests(token, uid, [_mutations(1, WARM_UP)]), 1)
            )
            assert _all_applied(warm_up), warm_up[0]
            # The bodies are made before the clock starts: encoding them is the phone's work.
            batches = [mutations[i : i + BATCH] for i in range(0, len(mutations), BATCH)]
            requests = _push_requests(token, uid, batches)
            cpu = _cpu_seconds(pid)
            start = time.perf_counter()
            answers = asyncio.run(_send_all(port, requests, 1))
            push_wall.append(time.perf_counter() - start)
            cpu_after = _cpu_seconds(pid)
            if cpu is not None and cpu_after is not None:
                push_cpu.append(cpu_after - cpu)
            assert _all_applied(answers), answers[0]
        wall, cpu_raw = _raw_executemany(root, mutations, f"raw{round_}")
        raw_wall.append(wall)
        raw_cpu.append(cpu_raw)
        wall, cpu_floor = _floor_executemany(str(floor_db / "anbao.sqlite3"), mutations, 1)
        floor_wall.append(wall)
        floor_cpu.append(cpu_floor)
    return IngestFigures(
        min(push_wall),
        min(raw_wall),
        min(push_cpu) if push_cpu else None,
        min(raw_cpu),
        min(floor_wall),
        min(floor_cpu),
    )


def bench_push(root: Path) -> tuple[float, float]:
    """Seconds to push MUTATIONS through the server in batches, and for the raw baseline."""
    figures = measure_ingest(root)
    return figures.push_wall, figures.raw_wall


# --- one-mutation pushes vs a bare endpoint -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float  # requests/s, median of the rounds
    cpu: float | None  # server CPU seconds per request, median of the rounds


@dataclass(frozen=True, slots=True)
class SingleFigures:
    push: Rate
    bare: Rate
    signed_in: Rate  # the bare endpoint plus authenticating the request


def _rate(port: int, pid: int, requests: list[bytes]) -> tuple[float, float | None, list[Any]]:
    cpu = _cpu_seconds(pid)
    start = time.perf_counter()
    answers = asyncio.run(_send_all(port, requests, CONNECTIONS))
    rate = len(requests) / (time.perf_counter() - start)
    cpu_after = _cpu_seconds(pid)
    per_request = (
        (cpu_after - cpu) / len(requests) if cpu is not None and cpu_after is not None else None
    )
    return rate, per_request, answers


def _median_rate(samples: list[tuple[float, float | None]]) -> Rate:
    cpus = [c for _, c in samples if c is not None]
    return Rate(statistics.median(r for r, _ in samples), statistics.median(cpus) if cpus else None)


def measure_single(root: Path, rounds: int = ROUNDS) -> SingleFigures:
    """One-mutation pushes, the bare endpoint and the signed-in one, in interleaved rounds on
    one server, each request with the same body."""
    settings = _settings(root)
    _prepare(settings)
    samples: dict[str, list[tuple[float, float | None]]] = {"push": [], "bare": [], "signed": []}
    with running_server(root) as (port, pid):
        uid = str(uuid.uuid4())
        token = _login(port, uid)
        auth = {"Authorization": f"Bearer {token}"}
        now = datetime.now(UTC).isoformat()
        for round_ in range(rounds + 1):  # round 0 warms up and is not counted
            count = SINGLE_REQUESTS if round_ else max(20, SINGLE_REQUESTS // 10)
            singles = [[_mutation(1, i, now)] for i in range(count)]
            bodies = [orjson.dumps({"device_id": uid, "mutations": m}) for m in singles]
            kinds = {
                "bare": [_request("/bare", b, {}) for b in bodies],
                "signed": [_request("/bench/signed-in", b, auth) for b in bodies],
                "push": _push_requests(token, uid, singles),
            }
            for kind, requests in kinds.items():
                rate, cpu, answers = _rate(port, pid, requests)
                if kind == "push":
                    assert _all_applied(answers), answers[0]
                else:
                    assert all(status == 200 for status, _ in answers), answers[0]
                if round_:
                    samples[kind].append((rate, cpu))
    return SingleFigures(
        _median_rate(samples["push"]),
        _median_rate(samples["bare"]),
        _median_rate(samples["signed"]),
    )


# --- pull ---------------------------------------------------------------------------------------


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


def _ratio(part: float | None, whole: float | None) -> str:
    return f"{part / whole:.3f}" if part and whole else "n/a"


def _us(seconds: float | None) -> str:
    return f"{seconds * 1e6:,.0f} us" if seconds is not None else "n/a"


def _ingest_line(label: str, f: IngestFigures) -> str:
    return (
        f"push ingest{label}: {MUTATIONS} mutations in batches of {BATCH} through the server "
        f"{f.push_wall:.3f} s ({MUTATIONS / f.push_wall:,.0f}/s), raw executemany "
        f"{f.raw_wall:.3f} s: ratio {f.raw_wall / f.push_wall:.3f} (budget >= 0.2); CPU "
        f"seconds: server {f.push_cpu or 0:.3f}, raw {f.raw_cpu:.3f}: ratio "
        f"{_ratio(f.raw_cpu, f.push_cpu)}; the push's own 3 rows per mutation by plain sqlite3 "
        f"(the floor): {f.floor_wall:.3f} s, {f.floor_cpu:.3f} CPU s, so at best ratio "
        f"{f.raw_wall / f.floor_wall:.2f} (best of {INGEST_ROUNDS} rounds each, every round on "
        "new databases)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as a:
        print(_ingest_line("", measure_ingest(Path(a))))
    with tempfile.TemporaryDirectory() as a:
        print(
            _ingest_line(
                " (server with Python's default GC settings)", measure_ingest(Path(a), freeze=False)
            )
        )
    with tempfile.TemporaryDirectory() as a:
        single = measure_single(Path(a))
    push, bare, signed = single.push, single.bare, single.signed_in
    print(
        f"one-mutation push: {push.per_second:,.0f} requests/s, a bare Starlette JSON endpoint "
        f"on the same server {bare.per_second:,.0f}/s ({CONNECTIONS} connections): ratio "
        f"{push.per_second / bare.per_second:.3f} (budget >= 0.4); server CPU per request: "
        f"bare {_us(bare.cpu)}, bare + authenticating the request {_us(signed.cpu)} "
        f"({signed.per_second:,.0f}/s), push {_us(push.cpu)} (median of {ROUNDS} rounds)"
    )
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        small = bench_pull(Path(a), 10_000)
        big = bench_pull(Path(b), 1_000_000)
    print(
        f"pull 100 changes: 10k rows {small * 1000:.2f} ms, 1M rows {big * 1000:.2f} ms; "
        f"ratio {big / small:.2f} (budget <= 1.3)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(Path(sys.argv[2]), int(sys.argv[3]), freeze=sys.argv[4:5] != ["thaw"])
    else:
        main()
