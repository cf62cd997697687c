"""Checkpoint scans and their verdicts, on SQLite and PostgreSQL, through the API and sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.models.audit import AuditEvent
from backend.models.patrol import Scan
from backend.services.eid import compute_eid
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app

# AN12196's published SUN example: all-zero keys; the tap reads UID 04DE5F1EACC040, counter 61.
SUN_E, SUN_C, SUN_UID = "EF963FF7828658A599F3041510671E88", "94EED9EE65337086", "04DE5F1EACC040"
ZERO = "00" * 16
IK = "E2E7B46C5A0D2E3A9E0A7C1B0F4D8A21"


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Any
    admin: dict[str, str]
    guard: dict[str, str]
    gate: int  # checkpoint ids
    garage: int
    far: int

    def tag(self, body: dict[str, Any], site: int | None = None, as_root: bool = False) -> Any:
        headers = bearer(login(self.client, "root", PASSWORD)["token"]) if as_root else self.admin
        site_id = site or self.world.a.site.id
        response = self.client.post(f"/api/sites/{site_id}/tags", headers=headers, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def scan(self, when: datetime | None = None, **body: Any) -> Any:
        payload = {"id": str(uuid.uuid4()), "site_id": self.world.a.site.id, **body}
        if when is not None:
            payload["client_time"] = when.isoformat()
        response = self.client.post(
            f"/api/sites/{self.world.a.site.id}/scans", headers=self.guard, json=payload
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path, database_url)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        admin = bearer(login(client, "admin_a", PASSWORD)["token"])
        guard = bearer(login(client, "guard_a", PASSWORD)["token"])
        site = world.a.site.id

        def cp(name: str, lat: float, lon: float) -> int:
            return int(
                client.post(
                    f"/api/sites/{site}/checkpoints",
                    headers=admin,
                    json={"name": name, "latitude": lat, "longitude": lon, "radius_m": 30},
                ).json()["id"]
            )

        gate = cp("Gate", 31.2300, 121.4700)
        garage = cp("Garage", 31.2303, 121.4702)  # ~40 m from the gate
        far = cp("Far block", 31.2500, 121.4700)  # ~2.2 km away
        yield Env(client, world, settings, admin, guard, gate, garage, far)


def test_a_qr_scan_is_valid_and_a_rescan_is_a_duplicate(env: Env) -> None:
    code = env.tag({"kind": "qr", "checkpoint_id": env.gate})["identifier"]
    first = env.scan(method="qr", code=code.lower())  # codes are read case-insensitively
    assert (first["verdict"], first["reasons"], first["checkpoint_id"]) == ("valid", [], env.gate)
    again = env.scan(method="qr", code=code)
    assert (again["verdict"], again["reasons"]) == ("rejected", ["duplicate"])


def test_unknown_foreign_inactive_and_unbound_tags_are_rejected_but_kept(env: Env) -> None:
    foreign = env.tag({"kind": "qr"}, site=env.world.b.site.id, as_root=True)["identifier"]
    unbound = env.tag({"kind": "qr"})["identifier"]
    inactive = env.tag({"kind": "qr", "checkpoint_id": env.garage})
    env.client.patch(f"/api/tags/{inactive['id']}", headers=env.admin, json={"is_active": False})
    cases = {
        "NO-SUCH-CODE": "unknown_tag",
        foreign: "foreign_tag",
        unbound: "unbound_tag",
        inactive["identifier"]: "tag_inactive",
    }
    for code, reason in cases.items():
        result = env.scan(method="qr", code=code)
        assert result["verdict"] == "rejected" and reason in result["reasons"], (code, result)
    kept = run_in_db(env.settings, lambda: Scan.all().count())
    assert kept == 4  # the record of each attempt stays


def test_ntag424_tap_verifies_and_its_replay_is_refused(env: Env) -> None:
    env.tag(
        {
            "kind": "nfc_sun",
            "checkpoint_id": env.gate,
            "identifier": SUN_UID,
            "sdm_meta_read_key": ZERO,
            "sdm_file_read_key": ZERO,
        }
    )
    tap = env.scan(method="nfc_sun", e=SUN_E, c=SUN_C)
    assert (tap["verdict"], tap["checkpoint_id"]) == ("valid", env.gate)
    tags = env.client.get(f"/api/sites/{env.world.a.site.id}/tags", headers=env.admin).json()
    assert tags["items"][0]["sun_counter"] == 61
    later = datetime.now(UTC) + timedelta(minutes=10)  # past the duplicate window
    replay = env.scan(later, method="nfc_sun", e=SUN_E, c=SUN_C)
    assert (replay["verdict"], replay["reasons"]) == ("rejected", ["replayed_counter"])
    forged = env.scan(later, method="nfc_sun", e=SUN_E, c="94EED9EE65337087")
    assert (forged["verdict"], forged["reasons"]) == ("rejected", ["bad_mac"])
    for e, c in (("XYZ", SUN_C), (SUN_E, "12"), (SUN_E[:-2], SUN_C)):
        bad = env.scan(later, method="nfc_sun", e=e, c=c)
        assert (bad["verdict"], bad["reasons"]) == ("rejected", ["bad_sun_params"])


def test_eddystone_eid_is_accepted_now_and_refused_when_stale(env: Env) -> None:
    offset = 1_700_000_000
    env.tag(
        {
            "kind": "ble_eid",
            "checkpoint_id": env.garage,
            "identifier": "EID garage",
            "identity_key": IK,
            "rotation_exponent": 9,
            "clock_offset": offset,
        }
    )
    counter = int(datetime.now(UTC).timestamp()) - offset
    fresh = compute_eid(bytes.fromhex(IK), 9, counter).hex()
    assert env.scan(method="ble", eid=fresh)["verdict"] == "valid"
    old = compute_eid(bytes.fromhex(IK), 9, counter - 20 * 60).hex()
    stale = env.scan(datetime.now(UTC) + timedelta(minutes=5), method="ble", eid=old)
    assert (stale["verdict"], stale["reasons"]) == ("rejected", ["stale_eid"])
    stranger = env.scan(method="ble", eid="0011223344556677")
    assert stranger["reasons"] == ["unknown_tag"]


def test_manual_entry_gps_speed_and_burst_raise_doubt(env: Env) -> None:
    gate = env.tag({"kind": "qr", "checkpoint_id": env.gate})["identifier"]
    garage = env.tag({"kind": "qr", "checkpoint_id": env.garage})["identifier"]
    far = env.tag({"kind": "qr", "checkpoint_id": env.far})["identifier"]
    t0 = datetime.now(UTC) - timedelta(hours=1)
    manual = env.scan(t0, method="manual", code=gate)
    assert (manual["verdict"], manual["reasons"]) == ("suspicious", ["manual_entry"])
    away = env.scan(
        t0 + timedelta(minutes=10),
        method="qr",
        code=garage,
        position={"latitude": 31.24, "longitude": 121.47, "accuracy_m": 10},
    )
    assert away["reasons"] == ["outside_radius"] and away["verdict"] == "suspicious"
    # 2.2 km in one minute on foot: impossible.
    sprint = env.scan(t0 + timedelta(minutes=11), method="qr", code=far)
    assert "impossible_speed" in sprint["reasons"]
    # Four different checkpoints within a minute, at a walking pace, the way a guard clears a
    # board of reprinted codes in the guard room: the fourth is a burst.
    site = env.world.a.site.id
    near = []
    for i in range(4):
        cp = env.client.post(
            f"/api/sites/{site}/checkpoints",
            headers=env.admin,
            json={
                "name": f"Stair {i}",
                "latitude": 31.2310 + i * 0.0001,
                "longitude": 121.4710,
            },
        ).json()["id"]
        near.append(env.tag({"kind": "qr", "checkpoint_id": cp})["identifier"])
    t1 = t0 + timedelta(minutes=30)
    results = [
        env.scan(t1 + timedelta(seconds=15 * i), method="qr", code=c) for i, c in enumerate(near)
    ]
    assert [r["reasons"] for r in results] == [[], [], [], ["burst"]]
    assert [r["verdict"] for r in results] == ["valid", "valid", "valid", "suspicious"]


def test_gps_alone_outside_the_radius_is_rejected(env: Env) -> None:
    env.tag({"kind": "gps", "checkpoint_id": env.gate})
    inside = env.scan(
        method="gps",
        checkpoint_id=env.gate,
        position={"latitude": 31.2301, "longitude": 121.4700, "accuracy_m": 5},
    )
    assert inside["verdict"] == "valid"
    outside = env.scan(
        datetime.now(UTC) + timedelta(minutes=5),
        method="gps",
        checkpoint_id=env.gate,
        position={"latitude": 31.2400, "longitude": 121.4700, "accuracy_m": 5},
    )
    assert (outside["verdict"], outside["reasons"]) == ("rejected", ["outside_radius_only"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "qr"}, "code"),
        ({"method": "nfc_sun", "e": SUN_E}, "c"),
        ({"method": "gps", "checkpoint_id": 1}, "position"),
        (
            {"method": "qr", "code": "X", "position": {"latitude": 95, "longitude": 0}},
            "position.latitude",
        ),
        ({"method": "ble", "eid": "zz"}, "eid"),
        ({"method": "teleport", "code": "X"}, "method"),
    ],
)
def test_malformed_scans_are_refused_and_keep_nothing(
    env: Env, body: dict[str, Any], field: str
) -> None:
    response = env.client.post(
        f"/api/sites/{env.world.a.site.id}/scans",
        headers=env.guard,
        json={"id": str(uuid.uuid4()), "site_id": env.world.a.site.id, **body},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"][0]["field"] == field
    assert run_in_db(env.settings, lambda: Scan.all().count()) == 0


def test_supervisor_reviews_suspicious_scans_and_the_decision_is_audited(env: Env) -> None:
    code = env.tag({"kind": "qr", "checkpoint_id": env.gate})["identifier"]
    manual = env.scan(method="manual", code=code)
    sup = bearer(login(env.client, "supervisor_a", PASSWORD)["token"])
    site = env.world.a.site.id
    queue = env.client.get(
        f"/api/sites/{site}/scans", params={"review": "pending"}, headers=sup
    ).json()
    assert [s["id"] for s in queue["items"]] == [manual["id"]]
    refused = env.client.post(
        f"/api/scans/{manual['id']}/review", headers=env.guard, json={"decision": "accepted"}
    )
    assert refused.status_code == 403
    done = env.client.post(
        f"/api/scans/{manual['id']}/review",
        headers=sup,
        json={"decision": "accepted", "note": "tag was wet; checked on CCTV"},
    )
    assert done.status_code == 200 and done.json()["review"] == "accepted"
    twice = env.client.post(
        f"/api/scans/{manual['id']}/review", headers=sup, json={"decision": "rejected"}
    )
    assert twice.status_code == 422
    events = run_in_db(env.settings, lambda: AuditEvent.filter(action="scan.reviewed").all())
    assert events[0].after == {"review": "accepted", "note": "tag was wet; checked on CCTV"}


def test_scans_travel_through_sync_with_the_push_clock_skew(env: Env) -> None:
    code = env.tag({"kind": "qr", "checkpoint_id": env.gate})["identifier"]
    uid = str(uuid.uuid4())
    token = login(env.client, "guard2_a", PASSWORD, device={"uid": uid, "name": "p"})["token"]
    scan_id = str(uuid.uuid4())
    mutation = {
        "id": str(uuid.uuid4()),
        "name": "patrol.scan",
        "client_time": datetime.now(UTC).isoformat(),
        "args": {"id": scan_id, "site_id": env.world.a.site.id, "method": "qr", "code": code},
    }
    skewed = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    result = env.client.post(
        "/api/sync/push",
        headers=bearer(token),
        json={"device_id": uid, "sent_at": skewed, "mutations": [mutation]},
    ).json()["results"][0]
    assert result["status"] == "applied"
    assert (result["data"]["verdict"], result["data"]["reasons"]) == ("suspicious", ["clock_skew"])
    bad = {**mutation, "id": str(uuid.uuid4()), "args": {**mutation["args"], "code": None}}
    rejected = env.client.post(
        "/api/sync/push", headers=bearer(token), json={"device_id": uid, "mutations": [bad]}
    ).json()["results"][0]
    assert (rejected["status"], rejected["code"]) == ("rejected", "validation_failed")


def test_checklist_answers_must_fit_the_checkpoint(env: Env) -> None:
    cp = env.client.post(
        f"/api/sites/{env.world.a.site.id}/checkpoints",
        headers=env.admin,
        json={
            "name": "Fire door",
            "checklist": [
                {"key": "closed", "label": "消防门关闭"},
                {"key": "remark", "label": "备注", "kind": "note"},
            ],
        },
    ).json()["id"]
    code = env.tag({"kind": "qr", "checkpoint_id": cp})["identifier"]
    t = datetime.now(UTC) - timedelta(hours=2)
    ok = env.scan(t, method="qr", code=code, answers={"closed": True, "remark": "门把手松动"})
    assert ok["verdict"] == "valid"
    for i, answers in enumerate(({"lights": True}, {"closed": "yes"}, {"remark": False})):
        bad = env.scan(t + timedelta(minutes=10 * (i + 1)), method="qr", code=code, answers=answers)
        assert (bad["verdict"], bad["reasons"]) == ("rejected", ["bad_checklist"]), answers
