"""End to end on SQLite and PostgreSQL: `anbao-bridge` processes against the real backend app
on a real port, with the fake BlueZ. The bridge pairs an extinguisher beacon, then runs while
the backend is down, then up behind a link that loses the answer to a batch the backend has
applied; the bridge is SIGKILLed right then and restarted → every batch, and so every
sighting, is in the database exactly once, and the equipment shows what the beacon said."""

from __future__ import annotations

import json
import signal
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.app import create_app
from backend.models.bridge import BridgeBatch, BridgeState, Sighting
from backend.settings import Settings
from tests.bridge import adverts
from tests.bridge.fake_backend import Link, Server
from tests.bridge.fake_bluez import FakeBluez, FakeTag
from tests.bridge.procs import BridgeCli, wait_for
from tests.factories import PASSWORD, World, make_world
from tests.support import make_settings, run_in_db

NAMESPACE, INSTANCE = "a1b2c3d4e5f6a7b8c9d0", "0000000000e1"
EXTINGUISHER = "C0:00:00:00:00:E1"


def call(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
    request = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body else None
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@dataclass
class Real:
    settings: Settings
    world: World
    backend: Server
    link: Link
    proxy: Server

    def admin(self) -> str:
        data = call(
            "POST",
            self.backend.url + "/api/auth/login",
            body={"username": "admin_a", "password": PASSWORD},
        )
        return str(data["token"])


@pytest.fixture
def real(database_url: str, tmp_path: Path) -> Iterator[Real]:
    settings = make_settings(tmp_path, database_url, jobs_enabled=False)
    world = run_in_db(settings, make_world)
    backend = Server(create_app(settings)).start()
    link = Link(backend.url)
    proxy = Server(link.app()).start()
    try:
        yield Real(settings, world, backend, link, proxy)
    finally:
        link.let_go()
        proxy.stop()
        backend.stop()


def test_backend_down_then_up_and_sigkill_mid_upload_deliver_every_sighting_once(
    bluez: FakeBluez, real: Real, tmp_path: Path
) -> None:
    site = real.world.a.site.id
    admin = real.admin()
    item = call(
        "POST",
        f"{real.backend.url}/api/sites/{site}/fire-equipment",
        admin,
        {"name": "3F 灭火器 2", "type": "extinguisher"},
    )
    bluez.add_adapter()
    bluez.put_tag(
        FakeTag(
            EXTINGUISHER,
            rssi=-68,
            cycle=[
                ({}, {adverts.EDDYSTONE_UUID: adverts.eddystone_uid(NAMESPACE, INSTANCE)}),
                ({}, {adverts.EDDYSTONE_UUID: adverts.eddystone_tlm(2100, 19.5, 7, 70)}),
            ],
        )
    )
    bluez.put_tag(
        FakeTag(
            "C0:00:00:00:00:B1",
            {adverts.APPLE_COMPANY_ID: adverts.ibeacon(uuid.UUID(int=0xB1), 1, 2)},
        )
    )
    (tmp_path / "bridge").mkdir()
    cli = BridgeCli(
        tmp_path / "bridge", bluez.bus_address, real.proxy.url, real.world.a.bridge_token
    )
    try:
        paired = cli.run("pair", "--address", EXTINGUISHER, "--target", f"equipment:{item['id']}")
        assert paired.returncode == 0, paired.stderr
        assert f"bound eddystone_uid {NAMESPACE}{INSTANCE}" in paired.stdout

        real.proxy.stop()  # the backend is out of reach when the bridge starts
        real.backend.stop()
        first = cli.start("run")
        wait_for(lambda: len(cli.spooled()) >= 3, what="batches spooled while the backend is down")

        real.backend.start()
        real.link.hold()  # the next answer to a batch is lost on the way back
        real.proxy.start()
        wait_for(lambda: real.link.held, what="a batch applied by the backend")
        first.send_signal(signal.SIGKILL)
        first.wait()
        real.link.let_go()
        (in_flight,) = real.link.held
        left = cli.spooled()
        assert left[0] == in_flight  # the bridge never heard back: still spooled

        second = cli.start("run")
        wait_for(
            lambda: not cli.spooled() and real.link.answers[-1][0] != in_flight, what="drained"
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, cli.log()
    finally:
        cli.stop_all()

    replies = {
        (batch_id, status, json.loads(body).get("status"))
        for batch_id, status, body in real.link.answers
    }
    assert (in_flight, 200, "accepted") in replies and (in_flight, 200, "duplicate") in replies
    assert all(status == 200 for _, status, _ in replies)
    delivered = {batch_id for batch_id, _, _ in replies}
    assert set(left) <= delivered

    async def stored() -> tuple[list[Any], list[Any], Any]:
        batches = await BridgeBatch.filter(device_id=real.world.a.bridge.id).values(
            "id", "sightings"
        )
        rows = await Sighting.filter(device_id=real.world.a.bridge.id).values(
            "batch_id", "address", "first_seen", "kind", "ident"
        )
        state = await BridgeState.get_or_none(device_id=real.world.a.bridge.id)
        return batches, rows, state

    batches, rows, state = run_in_db(real.settings, stored)
    assert {str(b["id"]) for b in batches} == delivered  # each batch applied once
    per_batch = Counter(str(r["batch_id"]) for r in rows)
    assert all(per_batch[str(b["id"])] == b["sightings"] for b in batches)
    assert max(Counter((r["address"], r["first_seen"]) for r in rows).values()) == 1
    uid_rows = [r for r in rows if r["address"] == EXTINGUISHER]
    assert uid_rows and {(r["kind"], r["ident"]) for r in uid_rows} == {
        ("eddystone_uid", NAMESPACE + INSTANCE)
    }
    assert state is not None and state.adapter["present"] is True and state.spool_size >= 0

    shown = call("GET", f"{real.backend.url}/api/fire-equipment/{item['id']}", admin)
    assert (shown["beacon_kind"], shown["beacon_ident"]) == ("eddystone_uid", NAMESPACE + INSTANCE)
    assert shown["last_seen_at"] is not None and shown["battery_percent"] == 10
