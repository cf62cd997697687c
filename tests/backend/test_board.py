"""The supervisor's board: its snapshot on SQLite and PostgreSQL, and live events over SSE from
a real server process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from backend.events import Event, EventBus
from backend.services.rounds import LATE_GRACE, close_rounds
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, qr_checkpoint, run_in_db, running_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World, Any]]:
    settings = make_settings(tmp_path, database_url, jobs_enabled=False)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield client, world, settings


def test_the_board_shows_rounds_problems_reviews_and_each_guards_last_scan(app: Any) -> None:
    from datetime import datetime

    client, world, settings = app
    site = world.a.site.id
    admin = bearer(login(client, "admin_a", PASSWORD)["token"])
    guard = bearer(login(client, "guard_a", PASSWORD)["token"])
    sup = bearer(login(client, "supervisor_a", PASSWORD)["token"])
    cp = client.post(f"/api/sites/{site}/checkpoints", headers=admin, json={"name": "Gate"}).json()
    code = client.post(
        f"/api/sites/{site}/tags", headers=admin, json={"kind": "qr", "checkpoint_id": cp["id"]}
    ).json()["identifier"]
    tour = client.post(
        f"/api/sites/{site}/tours",
        headers=admin,
        json={
            "name": "All day",
            "days": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00",
            "end_time": "00:00",
            "every_minutes": 60,
            "window_minutes": 60,
            "stops": [cp["id"]],
        },
    ).json()
    manual = client.post(
        f"/api/sites/{site}/scans",
        headers=guard,
        json={"id": str(uuid.uuid4()), "site_id": site, "method": "manual", "code": code},
    ).json()
    board = client.get(f"/api/sites/{site}/board", headers=sup).json()
    assert [r["tour_id"] for r in board["rounds_in_progress"]] == [tour["id"]]
    assert [s["id"] for s in board["review_queue"]] == [manual["id"]]
    assert [(g["guard_name"], g["scan"]["id"]) for g in board["guards"]] == [
        ("Guard_A", manual["id"])
    ]
    assert board["rounds_with_problems"] == []
    # The board names what it lists, so a tablet needs no other lookup.
    assert board["checkpoint_names"] == {str(cp["id"]): "Gate"}
    assert board["guard_names"] == {str(manual["guard_id"]): "Guard_A"}
    # The round closes with its checkpoint missed (the manual scan was never accepted).
    closes = datetime.fromisoformat(board["rounds_in_progress"][0]["closes_at"])
    run_in_db(settings, lambda: close_rounds(closes + LATE_GRACE + timedelta(seconds=1)))
    after = client.get(f"/api/sites/{site}/board", headers=sup).json()
    assert [[s["status"] for s in r["stops"]] for r in after["rounds_with_problems"]] == [
        ["missed"]
    ]
    assert client.get(f"/api/sites/{site}/board", headers=guard).status_code == 403


def test_the_board_shows_what_guards_found_at_checklists(app: Any) -> None:
    client, world, _ = app
    site = world.a.site.id
    admin = bearer(login(client, "admin_a", PASSWORD)["token"])
    guard = bearer(login(client, "guard_a", PASSWORD)["token"])
    sup = bearer(login(client, "supervisor_a", PASSWORD)["token"])
    checklist = [
        {"key": "door", "label": "Fire door closed"},
        {"key": "lights", "label": "Lights on"},
        {"key": "remark", "label": "Remark", "kind": "note"},
    ]
    cp, code = qr_checkpoint(client, admin, site, "Stairwell", checklist=checklist)

    def scan(answers: dict[str, Any]) -> str:
        answer = client.post(
            f"/api/sites/{site}/scans",
            headers=guard,
            json={
                "id": str(uuid.uuid4()),
                "site_id": site,
                "method": "qr",
                "code": code,
                "answers": answers,
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    scan({"door": True, "lights": True, "remark": "  "})  # all well: nothing to tell
    failed = scan({"remark": "handle loose", "lights": False, "door": False})
    noted = scan({"door": True, "remark": "smell of smoke"})
    board = client.get(f"/api/sites/{site}/board", headers=sup).json()
    found = board["checklist_findings"]
    assert [f["scan"]["id"] for f in found] == [noted, failed]  # newest first
    # Named by the checklist's labels, in its order, whatever order the phone sent.
    assert found[1]["failed"] == ["Fire door closed", "Lights on"]
    assert found[1]["notes"] == [{"label": "Remark", "text": "handle loose"}]
    assert found[0]["failed"] == [] and found[0]["notes"][0]["text"] == "smell of smoke"
    assert board["checkpoint_names"][str(cp)] == "Stairwell"
    assert board["guard_names"][str(found[0]["scan"]["guard_id"])] == "Guard_A"


def test_a_listener_that_falls_behind_is_told_to_reload() -> None:
    async def scenario() -> list[str]:
        bus = EventBus()
        async with bus.listen(1) as slow, bus.listen(1) as fast:
            for i in range(300):
                bus.publish(Event(1, "scan.recorded", {"i": i}))
                if not fast.empty():
                    await fast.get()
            bus.publish(Event(2, "scan.recorded", {}))  # another site: nobody here hears it
            got = []
            while not slow.empty():
                item = await slow.get()
                got.append("reload" if item is None else item.name)
            assert bus.listener_count(1) == 1  # the slow one was dropped, the fast one stays
            return got[-1:]

    assert asyncio.run(scenario()) == ["reload"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/api/health", timeout=2).status_code == 200:
                return server, base
        except httpx2.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise AssertionError("the server did not start")


def _prepared_env(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANBAO_")}
    env.update(ANBAO_DATA_DIR=str(tmp_path), ANBAO_PWA_DIR=str(tmp_path / "none"))
    if database_url:
        env["ANBAO_DATABASE_URL"] = database_url
    for command in ("migrate", "demo"):
        subprocess.run(
            [sys.executable, "-m", "backend.cli", command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return env


def _token(base: str, user: str) -> dict[str, str]:
    answer = httpx2.post(
        f"{base}/api/auth/login", json={"username": user, "password": f"{user}-demo-1"}
    )
    return bearer(answer.json()["token"])


def _board_sees_a_scan(scan_base: str, board_base: str) -> None:
    """A guard scans through one server; the supervisor's board on another hears it."""
    admin, guard = _token(scan_base, "admin"), _token(scan_base, "guard")
    sup = _token(board_base, "supervisor")
    cp = httpx2.post(
        f"{scan_base}/api/sites/1/checkpoints",
        headers=admin,
        json={"name": f"Lobby {uuid.uuid4().hex[:4]}"},
    ).json()["id"]
    code = httpx2.post(
        f"{scan_base}/api/sites/1/tags", headers=admin, json={"kind": "qr", "checkpoint_id": cp}
    ).json()["identifier"]
    events: list[tuple[str, dict[str, Any]]] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx2.stream(
            "GET", f"{board_base}/api/sites/1/events", headers=sup, timeout=httpx2.Timeout(10.0)
        ) as stream:
            name = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
                    opened.set()
                    if name == "scan.recorded":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10), "the stream did not open"
    scan = httpx2.post(
        f"{scan_base}/api/sites/1/scans",
        headers=guard,
        json={"id": str(uuid.uuid4()), "site_id": 1, "method": "qr", "code": code},
    ).json()
    listener.join(10)
    assert [e[0] for e in events] == ["hello", "scan.recorded"]
    assert events[1][1]["id"] == scan["id"] and events[1][1]["checkpoint_id"] == cp


def test_a_scan_reaches_the_supervisors_open_board_live(tmp_path: Path) -> None:
    server, base = _serve(_prepared_env(tmp_path))
    try:
        _board_sees_a_scan(base, base)
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.postgres
def test_a_board_on_one_process_hears_a_scan_made_through_another(tmp_path: Path) -> None:
    from tests.support import _pg_admin, _pg_url, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    name = f"anbao_board_{os.getpid()}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    servers = []
    try:
        env = _prepared_env(tmp_path, _pg_url(name))
        one, base_one = _serve(env)
        servers.append(one)
        two, base_two = _serve(env)
        servers.append(two)
        _board_sees_a_scan(base_one, base_two)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_board_lists_open_high_severity_incidents_until_resolved(app: Any) -> None:
    client, world, _ = app
    site = world.a.site.id
    guard = bearer(login(client, "guard_a", PASSWORD)["token"])
    sup = bearer(login(client, "supervisor_a", PASSWORD)["token"])

    def report(severity: str) -> str:
        incident_id = str(uuid.uuid4())
        r = client.post(
            f"/api/sites/{site}/incidents",
            headers=guard,
            json={
                "id": incident_id,
                "type": "fire_hazard",
                "severity": severity,
                "description": f"Smoke in the bike shed ({severity})",
            },
        )
        assert r.status_code == 201, r.text
        return incident_id

    high, _low = report("high"), report("low")
    board = client.get(f"/api/sites/{site}/board", headers=sup).json()
    assert [i["id"] for i in board["incidents"]] == [high]
    r = client.post(f"/api/incidents/{high}/resolve", headers=sup, json={"note": "Put out"})
    assert r.status_code == 200, r.text
    assert client.get(f"/api/sites/{site}/board", headers=sup).json()["incidents"] == []


def test_a_bus_nobody_listens_to_is_quiet_and_a_listener_ends_that() -> None:
    async def scenario() -> list[bool]:
        bus = EventBus()
        seen = [bus.quiet]
        async with bus.listen(7) as queue:
            seen.append(bus.quiet)
            bus.publish(Event(7, "duty_log.added", {"id": "x"}))
            assert (await queue.get()).name == "duty_log.added"  # type: ignore[union-attr]
        seen.append(bus.quiet)
        return seen

    # A push with nobody listening skips making its events (backend/services/sync.py).
    assert asyncio.run(scenario()) == [True, False, True]
