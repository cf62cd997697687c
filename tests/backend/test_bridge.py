"""What a bridge delivers: batches applied once, badges turned into scans, pairing, health.

Runs against the real app on SQLite and PostgreSQL; the bridge speaks with its own device token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.services.eid import compute_eid
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app

IK = bytes(range(16))
EXP = 10  # 1024 s per rotation


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World, Any]]:
    settings = make_settings(tmp_path, database_url, jobs_enabled=False)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield client, world, settings


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def sighting(kind: str, ident: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "address": extra.pop("address", "C0:FF:EE:00:00:01"),
        "kind": kind,
        "ident": ident,
        "first_seen": _iso(at),
        "last_seen": _iso(at + timedelta(seconds=extra.pop("seconds", 10))),
        "rssi_max": extra.pop("rssi", -60),
        "count": 5,
        **extra,
    }


def event(kind: str, ident: str, type_: str, at: datetime, **detail: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "kind": kind,
        "ident": ident,
        "at": _iso(at),
        "detail": detail,
    }


def batch(
    sightings: list[dict[str, Any]] | None = None, events: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "batch_id": str(uuid.uuid4()),
        "sent_at": _iso(datetime.now(UTC)),
        "sightings": sightings or [],
        "events": events or [],
    }


class Parties:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client = client
        self.world = world
        self.site = world.a.site.id
        self.bridge = bearer(world.a.bridge_token)
        self.admin = bearer(login(client, "admin_a", PASSWORD)["token"])
        self.sup = bearer(login(client, "supervisor_a", PASSWORD)["token"])

    def deliver(self, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = self.client.post("/api/bridge/batches", headers=self.bridge, json=body)
        assert r.status_code == status, r.text
        return dict(r.json())

    def checkpoint(self, name: str) -> int:
        r = self.client.post(
            f"/api/sites/{self.site}/checkpoints", headers=self.admin, json={"name": name}
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def equipment(self, name: str, ident: str) -> dict[str, Any]:
        r = self.client.post(
            f"/api/sites/{self.site}/fire-equipment",
            headers=self.admin,
            json={
                "name": name,
                "type": "extinguisher",
                "beacon_kind": "ibeacon",
                "beacon_ident": ident,
            },
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def item(self, equipment_id: int) -> dict[str, Any]:
        return dict(self.client.get(f"/api/fire-equipment/{equipment_id}", headers=self.sup).json())

    def scans(self) -> list[dict[str, Any]]:
        r = self.client.get(f"/api/sites/{self.site}/scans?limit=200", headers=self.sup)
        return list(r.json()["items"])

    def cover(self, *checkpoints: int) -> None:
        r = self.client.put(
            f"/api/bridges/{self.world.a.bridge.id}/coverage",
            headers=self.admin,
            json={"checkpoint_ids": list(checkpoints)},
        )
        assert r.status_code == 200, r.text


BEACON = "f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:7"


def test_a_batch_is_applied_once_and_a_replay_changes_nothing(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    item = p.equipment("Extinguisher B1-01", BEACON)
    now = datetime.now(UTC) - timedelta(minutes=5)
    body = batch(
        [sighting("ibeacon", BEACON.upper(), now, battery_percent=80)],
        [event("ibeacon", BEACON, "motion", now, moved=1)],
    )
    first = p.deliver(body)
    assert first == {
        "batch_id": body["batch_id"],
        "status": "accepted",
        "sightings": 1,
        "events": 1,
    }
    seen = p.item(item["id"])
    assert seen["battery_percent"] == 80 and seen["last_bridge_id"] == world.a.bridge.id
    assert seen["moved_at"] is not None
    # The bridge never heard the answer and sends the batch again: the same answer, no new rows.
    again = p.deliver(body)
    assert again["status"] == "duplicate" and again["sightings"] == 1
    history = client.get(f"/api/fire-equipment/{item['id']}/history", headers=p.sup).json()
    assert [h["type"] for h in history] == ["motion"]


def test_a_batch_id_of_another_bridge_is_refused(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    body = batch()
    p.deliver(body)
    other = client.post(
        f"/api/sites/{p.site}/devices", headers=p.admin, json={"name": "Car park bridge"}
    ).json()
    r = client.post("/api/bridge/batches", headers=bearer(other["token"]), json=body)
    assert r.status_code == 409, r.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "ibeacon", "ident": "not-a-uuid:1:2"}, "sightings.0"),
        (
            {"kind": "ibeacon", "ident": "f7826da6-4fa2-4e98-8024-bc5b71e0893e:70000:1"},
            "sightings.0",
        ),
        ({"kind": "eddystone_uid", "ident": "abc"}, "sightings.0"),
        ({"kind": "eddystone_eid", "ident": "zz" * 8}, "sightings.0"),
        ({"kind": "address", "ident": "11:22:33"}, "sightings.0"),
        ({"address": "nonsense"}, "sightings.0"),
        ({"rssi_max": 99}, "sightings.0.rssi_max"),
        ({"battery_percent": 101}, "sightings.0.battery_percent"),
        ({"count": 0}, "sightings.0.count"),
        ({"first_seen": "2026-11-24T10:00:00"}, "sightings.0.first_seen"),
        ({"unexpected": 1}, "sightings.0.unexpected"),
    ],
)
def test_malformed_sightings_are_refused_and_nothing_is_written(
    app: Any, change: dict[str, Any], field: str
) -> None:
    client, world, _ = app
    p = Parties(client, world)
    good = sighting("address", "C0:FF:EE:00:00:01", datetime.now(UTC))
    body = batch([good, {**good, **change}])
    r = client.post("/api/bridge/batches", headers=p.bridge, json=body)
    assert r.status_code == 422, r.text
    fields = [f["field"] for f in r.json()["error"]["details"]["fields"]]
    assert any(f.startswith(field.replace("sightings.0", "sightings.1")) for f in fields), fields
    # The same batch id, fixed, is still new: nothing of the refused one was kept.
    assert p.deliver({**body, "sightings": [good]})["status"] == "accepted"


def test_last_seen_before_first_seen_and_oversized_batches_are_refused(app: Any) -> None:
    client, world, settings = app
    p = Parties(client, world)
    now = datetime.now(UTC)
    bad = sighting("address", "C0:FF:EE:00:00:01", now)
    bad["last_seen"] = _iso(now - timedelta(minutes=1))
    r = client.post("/api/bridge/batches", headers=p.bridge, json=batch([bad]))
    assert r.status_code == 422
    many = [sighting("address", "C0:FF:EE:00:00:01", now)] * (settings.sync_max_batch + 1)
    r = client.post("/api/bridge/batches", headers=p.bridge, json=batch(many))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "batch_too_large"


def test_a_revoked_bridge_is_signed_out_at_once(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    assert client.get("/api/bridge/config", headers=p.bridge).status_code == 200
    r = client.post(f"/api/devices/{world.a.bridge.id}/revoke", headers=p.admin)
    assert r.status_code == 200, r.text
    assert client.post("/api/bridge/batches", headers=p.bridge, json=batch()).status_code == 401


def test_missing_back_low_battery_and_tamper_reach_the_equipment_and_the_live_board(
    app: Any,
) -> None:
    client, world, settings = app
    p = Parties(client, world)
    item = p.equipment("Extinguisher B1-02", BEACON)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    p.deliver(batch([sighting("ibeacon", BEACON, t0, battery_percent=90)]))
    # Gone for ten minutes: the bridge reports it missing.
    p.deliver(batch(events=[event("ibeacon", BEACON, "missing", t0 + timedelta(minutes=11))]))
    gone = p.item(item["id"])
    assert gone["missing"] is True and gone["missing_since"] is not None

    async def alerts() -> list[tuple[str, int]]:
        from backend.models.notices import Notice

        rows = await Notice.filter(kind__startswith="alert.equipment").order_by("id")
        return [(n.kind, n.user_id) for n in rows]

    # Supervisors and admins of the site get a push notice to go and look (queued, sent later).
    sup_id = world.a.users["supervisor"].id
    assert ("alert.equipment_missing", sup_id) in run_in_db(settings, alerts)
    assert world.a.users["guard"].id not in {u for _, u in run_in_db(settings, alerts)}
    alerting = client.get(f"/api/sites/{p.site}/fire-equipment?alerting=true", headers=p.sup).json()
    assert [i["id"] for i in alerting["items"]] == [item["id"]]
    # Back, with a weak battery, and someone shook it.
    t1 = t0 + timedelta(minutes=30)
    low = settings.bridge_low_battery_percent - 1
    p.deliver(
        batch(
            [sighting("ibeacon", BEACON, t1, battery_percent=low)],
            [event("ibeacon", BEACON, "tamper", t1, flags=3)],
        )
    )
    back = p.item(item["id"])
    assert back["missing"] is False and back["battery_low"] is True
    kinds = {k for k, u in run_in_db(settings, alerts) if u == sup_id}
    assert kinds == {
        "alert.equipment_missing",
        "alert.equipment_low_battery",
        "alert.equipment_tamper",
    }
    assert back["battery_percent"] == low and back["tamper_at"] is not None
    # A supervisor looked; the marks clear, the history stays.
    r = client.post(f"/api/fire-equipment/{item['id']}/acknowledge", headers=p.sup)
    assert r.status_code == 200 and r.json()["tamper_at"] is None
    types = [
        h["type"]
        for h in client.get(f"/api/fire-equipment/{item['id']}/history", headers=p.sup).json()
    ]
    assert types == ["tamper", "missing"]


def test_a_missing_report_older_than_a_later_sighting_does_not_mark_it_missing(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    item = p.equipment("Hose B2", BEACON)
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    p.deliver(batch([sighting("ibeacon", BEACON, t0 + timedelta(minutes=20))]))
    p.deliver(batch(events=[event("ibeacon", BEACON, "missing", t0)]))
    assert p.item(item["id"])["missing"] is False


def _badge(p: Parties, **body: Any) -> dict[str, Any]:
    guard = p.world.a.users["guard"].id
    r = p.client.post(
        f"/api/sites/{p.site}/badges", headers=p.admin, json={"user_id": guard, **body}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_static_badge_near_a_bridge_is_a_suspicious_scan_of_each_covered_checkpoint(
    app: Any,
) -> None:
    client, world, _ = app
    p = Parties(client, world)
    lobby, mailroom = p.checkpoint("Lobby"), p.checkpoint("Mail room")
    p.cover(lobby, mailroom)
    _badge(p, kind="address", ident="aa:bb:cc:dd:ee:01")
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    p.deliver(batch([sighting("address", "AA:BB:CC:DD:EE:01", t0, seconds=50)]))
    # The guard lingered: the next interval's sighting is the same visit, not two more scans.
    p.deliver(batch([sighting("address", "AA:BB:CC:DD:EE:01", t0 + timedelta(seconds=60))]))
    scans = p.scans()
    assert sorted(s["checkpoint_id"] for s in scans) == sorted([lobby, mailroom])
    assert {s["method"] for s in scans} == {"ble"}
    assert {s["verdict"] for s in scans} == {"suspicious"}
    assert all("weak_badge" in s["reasons"] for s in scans)
    assert {s["guard_id"] for s in scans} == {world.a.users["guard"].id}


def test_an_eid_badge_is_proof_and_a_stale_eid_is_rejected(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    gate = p.checkpoint("Gate")
    p.cover(gate)
    offset = int(datetime.now(UTC).timestamp()) - 50_000
    _badge(
        p,
        kind="eddystone_eid",
        ident="0102030405060708",
        identity_key=IK.hex(),
        rotation_exponent=EXP,
        clock_offset=offset,
    )
    now = datetime.now(UTC) - timedelta(seconds=30)
    fresh = compute_eid(IK, EXP, int(now.timestamp()) - offset).hex()
    p.deliver(batch([sighting("eddystone_eid", fresh, now, seconds=5)]))
    # An EID recorded 20 minutes earlier and replayed now (1024 s rotations): outside ±1.
    old = compute_eid(IK, EXP, int(now.timestamp()) - offset - 3 * 1024).hex()
    later = now + timedelta(minutes=10)
    p.deliver(batch([sighting("eddystone_eid", old, later, seconds=5)]))
    verdicts = sorted((s["verdict"], tuple(s["reasons"])) for s in p.scans())
    assert verdicts == [("rejected", ("stale_eid",)), ("valid", ())]
    # A stranger's EID makes no scan at all.
    p.deliver(batch([sighting("eddystone_eid", "00" * 8, later + timedelta(minutes=5))]))
    assert len(p.scans()) == 2


def test_a_bridge_covering_nothing_makes_no_scans(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    _badge(p, kind="address", ident="AA:BB:CC:DD:EE:02")
    p.deliver(batch([sighting("address", "AA:BB:CC:DD:EE:02", datetime.now(UTC))]))
    assert p.scans() == []


def test_coverage_names_only_checkpoints_of_the_bridges_site(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    root = bearer(login(client, "root", PASSWORD)["token"])
    foreign = client.post(
        f"/api/sites/{world.b.site.id}/checkpoints", headers=root, json={"name": "B gate"}
    ).json()["id"]
    r = client.put(
        f"/api/bridges/{world.a.bridge.id}/coverage",
        headers=p.admin,
        json={"checkpoint_ids": [p.checkpoint("Lobby"), foreign]},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["fields"][0]["field"] == "checkpoint_ids.1"


def test_pairing_binds_tags_and_the_bridge_then_knows_them_by_name(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    lobby = p.checkpoint("Lobby")
    item = p.equipment("Extinguisher L1", BEACON)
    targets = client.get("/api/bridge/targets", headers=p.bridge).json()
    assert lobby in [c["id"] for c in targets["checkpoints"]]
    assert item["id"] in [e["id"] for e in targets["equipment"]]
    assert world.a.users["guard"].id in [g["id"] for g in targets["guards"]]

    def pair(body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        r = client.post("/api/bridge/pair", headers=p.bridge, json=body)
        assert r.status_code == status, r.text
        return dict(r.json())

    uid = "00112233445566778899aabbccddeeff"
    got = pair(
        {"kind": "eddystone_uid", "ident": uid, "target": {"type": "checkpoint", "id": lobby}}
    )
    assert got["bound_to"] == {"type": "checkpoint", "id": lobby, "name": "Lobby"}
    other = "a1b2c3d4-0000-4000-8000-000000000001:1:2"
    pair({"kind": "ibeacon", "ident": other, "target": {"type": "equipment", "id": item["id"]}})
    guard = world.a.users["guard"].id
    pair(
        {
            "kind": "address",
            "ident": "AA:BB:CC:00:00:09",
            "target": {"type": "badge", "id": guard},
        }
    )
    known = {
        (k["kind"], k["ident"]): k
        for k in client.get("/api/bridge/config", headers=p.bridge).json()["known"]
    }
    assert known[("eddystone_uid", uid)]["name"] == "Lobby"
    assert known[("ibeacon", other)]["bound_to"]["id"] == item["id"]
    assert known[("address", "AA:BB:CC:00:00:09")]["bound_to"] == {
        "type": "badge",
        "id": guard,
        "name": "Guard_A",
    }
    # The old beacon of the extinguisher was replaced by the paired one.
    assert ("ibeacon", BEACON) not in known
    # Bad pairings: taken, an EID without its key, a key for a static tag, a stranger's target.
    pair(
        {"kind": "eddystone_uid", "ident": uid, "target": {"type": "checkpoint", "id": lobby}}, 422
    )
    pair(
        {"kind": "eddystone_eid", "ident": "11" * 8, "target": {"type": "badge", "id": guard}}, 422
    )
    pair(
        {
            "kind": "address",
            "ident": "AA:BB:CC:00:00:0A",
            "identity_key": "00" * 16,
            "target": {"type": "badge", "id": guard},
        },
        422,
    )
    pair(
        {
            "kind": "address",
            "ident": "AA:BB:CC:00:00:0B",
            "target": {"type": "badge", "id": world.b.users["guard"].id},
        },
        422,
    )
    pair(
        {
            "kind": "eddystone_eid",
            "ident": "11" * 8,
            "identity_key": "00" * 16,
            "rotation_exponent": 10,
            "clock_offset": 0,
            "target": {"type": "equipment", "id": item["id"]},
        },
        422,
    )


def test_heartbeats_show_bridge_health_and_silence_makes_it_stale(app: Any) -> None:
    client, world, _ = app
    p = Parties(client, world)
    health = client.get(f"/api/sites/{p.site}/bridges", headers=p.sup).json()
    assert [(h["device_id"], h["stale"]) for h in health] == [(world.a.bridge.id, True)]
    r = client.post(
        "/api/bridge/heartbeat",
        headers=p.bridge,
        json={
            "sent_at": _iso(datetime.now(UTC)),
            "version": "0.1.0",
            "adapter": {"present": True, "powered": False, "address": "00:1a:7d:da:71:13"},
            "spool_size": 42,
            "dead_letters": 1,
        },
    )
    assert r.status_code == 204, r.text
    (h,) = client.get(f"/api/sites/{p.site}/bridges", headers=p.sup).json()
    assert h["stale"] is False and h["spool_size"] == 42 and h["dead_letters"] == 1
    assert h["adapter"]["powered"] is False and h["adapter"]["address"] == "00:1A:7D:DA:71:13"
    # People and phones cannot pretend to be a bridge.
    assert client.get("/api/bridge/config", headers=p.sup).status_code == 403


def test_old_sightings_are_purged_but_equipment_state_stays(app: Any) -> None:
    client, world, settings = app
    p = Parties(client, world)
    item = p.equipment("Extinguisher P1", BEACON)
    old = datetime.now(UTC) - timedelta(days=settings.bridge_sighting_retention_days + 1)
    p.deliver(batch([sighting("ibeacon", BEACON, old), sighting("ibeacon", BEACON, old)]))
    p.deliver(batch([sighting("ibeacon", BEACON, datetime.now(UTC))]))

    async def purge() -> tuple[int, int]:
        from backend.jobs import JOBS, run_once
        from backend.models.bridge import Sighting

        (job,) = [j for j in JOBS if j.name == "purge_sightings"]
        return await run_once(job, settings) or 0, await Sighting.all().count()

    assert run_in_db(settings, purge) == (2, 1)
    assert p.item(item["id"])["last_seen_at"] is not None
