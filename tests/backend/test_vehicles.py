"""Vehicles at the gate, on SQLite and PostgreSQL: residents' registered cars, entries and
exits with plates checked (new-energy plates included) or overridden, how long a car stayed,
and the overnight check offline, whose problems are pushed to the owner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.models.notices import Notice, NoticePreference
from backend.models.users import Membership, Role
from backend.models.vehicles import VehicleCheckItem, VehicleEntry
from tests.backend.gate_support import Gate, gate_env, mutation, soon, soon_in_beijing

PHOTO = "ab" * 32


@pytest.fixture
def gate(database_url: str, tmp_path: Path) -> Iterator[Gate]:
    yield from gate_env(database_url, tmp_path)


def vehicle(gate: Gate, **fields: Any) -> dict[str, Any]:
    body = {"plate": "沪A·D12345", "unit_id": gate.unit, "parking_spot": "B1-017", **fields}
    made: dict[str, Any] = gate.ok(
        "POST", f"/api/sites/{gate.site}/vehicles", "supervisor_a", json=body
    )
    return made


def enter(gate: Gate, plate: str, as_: str = "guard_a", **fields: Any) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "plate": plate, **fields}
    made: dict[str, Any] = gate.ok(
        "POST", f"/api/sites/{gate.site}/vehicle-entries", as_, json=body
    )
    return made


def test_residents_vehicles_are_registered_by_a_supervisor(gate: Gate) -> None:
    car = vehicle(gate, owner_id=gate.user_id("resident"), description="white Tesla")
    assert (car["plate"], car["unit_label"], car["parking_spot"]) == (
        "沪AD12345",
        gate.world.a.unit.label,
        "B1-017",
    )
    path = f"/api/sites/{gate.site}/vehicles"
    gate.refused("POST", path, "supervisor_a", 409, "duplicate_name", json={"plate": "沪AD12345"})
    gate.refused("POST", path, "guard_a", 403, "forbidden", json={"plate": "沪AD54321"})
    error = gate.refused(
        "POST",
        path,
        "supervisor_a",
        422,
        "validation_failed",
        json={"plate": "沪AD54321", "owner_id": gate.user_id("guard")},
    )
    assert error["details"]["fields"][0] == {
        "field": "owner_id",
        "code": "not_unit_resident",
        "message": "This person is not a resident of the unit.",
    }
    moved = gate.ok(
        "PATCH", f"/api/vehicles/{car['id']}", "admin_a", json={"parking_spot": "B2-003"}
    )
    assert moved["parking_spot"] == "B2-003"
    assert [v["id"] for v in gate.ok("GET", path, "resident_a")["items"]] == [car["id"]]
    gate.refused("GET", path, "resident_b", 404, "not_found")
    assert gate.ok("GET", f"{path}?q=ad123", "guard_a")["total"] == 1
    assert gate.ok("GET", f"{path}?q=ZZ", "guard_a")["total"] == 0


def test_entries_and_exits_with_time_in_out_and_duration(gate: Gate) -> None:
    car = vehicle(gate)
    resident = enter(gate, "沪AD12345", client_time=soon(-3))
    assert resident["kind"] == "resident" and resident["vehicle_id"] == car["id"]
    assert resident["parking_spot"] == "B1-017" and resident["exited_at"] is None
    guest = enter(gate, "粤B·12345D")  # a large new-energy plate
    assert guest["kind"] == "visitor" and guest["plate"] == "粤B12345D"
    foreign = enter(gate, "hk 1234", plate_override=True, note="Hong Kong plate, single")
    assert (foreign["plate"], foreign["plate_override"]) == ("HK1234", True)

    path = f"/api/sites/{gate.site}/vehicle-entries"
    for plate, code in (
        ("沪A1234", "plate_bad_format"),
        ("WJ12345", "plate_unsupported_kind"),
        ("", "string_too_short"),
    ):
        error = gate.refused(
            "POST",
            path,
            "guard_a",
            422,
            "validation_failed",
            json={"id": str(uuid.uuid4()), "plate": plate},
        )
        assert error["details"]["fields"][0]["code"] == code
    twice = gate.refused(
        "POST",
        path,
        "guard_a",
        409,
        "invalid_state",
        json={"id": str(uuid.uuid4()), "plate": "沪AD12345"},
    )
    assert twice["details"] == {"status": "inside", "entry_id": resident["id"]}
    inside = gate.ok("GET", f"{path}?inside=true", "guard2_a")
    assert {e["id"] for e in inside["items"]} == {resident["id"], guest["id"], foreign["id"]}
    assert len(gate.ok("GET", f"/api/sites/{gate.site}/gate", "guard_a")["vehicles_in"]) == 3
    # Since an hour ago, given in Beijing time: the resident came in three hours ago.
    recent = gate.ok("GET", f"{path}?since={soon_in_beijing(-1)}", "guard2_a")
    assert {e["id"] for e in recent["items"]} == {guest["id"], foreign["id"]}

    left = gate.ok("POST", f"/api/vehicle-entries/{resident['id']}/exit", "guard2_a", json={})
    assert 3 * 3600 - 5 <= left["duration_seconds"] <= 3 * 3600 + 60
    assert left["exited_by_id"] == gate.user_id("guard2")
    gate.refused(
        "POST",
        f"/api/vehicle-entries/{resident['id']}/exit",
        "guard_a",
        409,
        "invalid_state",
        json={},
    )
    gate.refused(
        "POST", f"/api/vehicle-entries/{guest['id']}/exit", "guard_b", 404, "not_found", json={}
    )
    gate.refused(
        "POST", f"/api/vehicle-entries/{guest['id']}/exit", "resident_a", 403, "forbidden", json={}
    )
    # An exit the phone says happened before the entry is held at the entry (clock skew).
    skewed = gate.ok(
        "POST",
        f"/api/vehicle-entries/{guest['id']}/exit",
        "guard_a",
        json={"client_time": soon(-10)},
    )
    assert skewed["duration_seconds"] == 0
    assert gate.ok("GET", f"{path}?inside=false", "guard_a")["total"] == 2
    # Back in once it has left.
    assert enter(gate, "沪AD12345")["kind"] == "resident"
    assert gate.db(lambda: VehicleEntry.all().count()) == 4


def test_entries_and_exits_sync_offline_once(gate: Gate) -> None:
    guard = gate.phone("guard_a")
    entry_id = str(uuid.uuid4())
    batch = [
        mutation(
            "vehicles.enter", {"id": entry_id, "site_id": gate.site, "plate": "京A·12345"}, soon(-1)
        ),
        mutation(
            "vehicles.enter", {"id": str(uuid.uuid4()), "site_id": gate.site, "plate": "京A1234"}
        ),
        mutation("vehicles.exit", {"entry_id": entry_id}),
        mutation("vehicles.exit", {"entry_id": entry_id}),
    ]
    results = gate.push(guard, batch)
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "validation_failed"),
        ("applied", ""),
        ("rejected", "invalid_state"),
    ]
    assert 3590 <= results[2]["data"]["duration_seconds"] <= 3700
    assert [r["status"] for r in gate.push(guard, batch)] == [
        "duplicate",
        "rejected",
        "duplicate",
        "rejected",
    ]
    assert gate.db(lambda: VehicleEntry.all().count()) == 1
    changes = gate.pull(gate.phone("guard2_a")).json()["changes"]
    entries = [c for c in changes if c["entity"] == "vehicle_entry"]
    assert [c["id"] for c in entries] == [entry_id, entry_id]  # came in, went out
    assert entries[0]["data"]["exited_at"] is None and entries[1]["data"]["exited_at"] is not None


def test_the_overnight_check_offline_asks_owners_to_be_told_of_problems(gate: Gate) -> None:
    owned = vehicle(gate, plate="沪AD12345", owner_id=gate.user_id("resident"))
    unit_only = vehicle(gate, plate="沪B12345", parking_spot="B1-020")
    elsewhere = gate.ok(
        "POST", f"/api/sites/{gate.site}/units", "admin_a", json={"label": "7-1-101"}
    )
    nobody = vehicle(gate, plate="沪C12345", unit_id=elsewhere["id"])
    guard = gate.phone("guard_a")
    check_id = str(uuid.uuid4())

    def item(plate: str, condition: str, **fields: Any) -> dict[str, Any]:
        args = {
            "id": str(uuid.uuid4()),
            "check_id": check_id,
            "plate": plate,
            "condition": condition,
            **fields,
        }
        return mutation("vehicles.check_item", args)

    batch = [
        mutation("vehicles.check_start", {"id": check_id, "site_id": gate.site}, soon(-0.5)),
        item("沪AD12345", "window_open", photos=[PHOTO], note="rear left window down"),
        item("沪B12345", "lights_on"),
        item("沪C12345", "flat_tyre"),
        item("苏E99999", "unregistered", parking_spot="visitor 3"),
        item("沪A88888", "ok"),
        item("沪A77777", "damage", photos=["not-a-hash"]),
        mutation("vehicles.check_finish", {"check_id": check_id, "note": "B1 and B2 done"}),
        item("沪A66666", "ok"),
    ]
    results = gate.push(guard, batch)
    assert [(r["status"], r["code"]) for r in results] == [("applied", "")] * 6 + [
        ("rejected", "validation_failed"),
        ("applied", ""),
        ("rejected", "invalid_state"),
    ]
    report = gate.ok("GET", f"/api/vehicle-checks/{check_id}", "supervisor_a")
    assert report["finished_at"] is not None and report["problems"] == 4
    by_plate = {i["plate"]: i for i in report["items"]}
    assert by_plate["沪AD12345"]["owner_notice"] == "sent"
    assert (
        by_plate["沪AD12345"]["photos"] == [PHOTO]
        and by_plate["沪AD12345"]["vehicle_id"] == owned["id"]
    )
    assert by_plate["沪B12345"]["owner_notice"] == "sent"  # the unit's residents are told
    assert (
        by_plate["沪B12345"]["parking_spot"] == "B1-020"
        and by_plate["沪B12345"]["vehicle_id"] == unit_only["id"]
    )
    assert by_plate["沪C12345"]["owner_notice"] == "no_owner"  # nobody lives there to tell
    assert by_plate["沪C12345"]["vehicle_id"] == nobody["id"]
    assert (
        by_plate["苏E99999"]["owner_notice"] == "no_owner"
        and by_plate["苏E99999"]["vehicle_id"] is None
    )
    assert by_plate["沪A88888"]["owner_notice"] == "none"
    assert gate.db(lambda: VehicleCheckItem.all().count()) == 5
    # The owner's push notices, queued in the push's transaction, in their language.
    told = gate.db(lambda: Notice.filter(kind="vehicle.problem").order_by("id"))
    assert [n.user_id for n in told] == [gate.user_id("resident")] * 2
    assert told[0].payload["title"] == "您的车辆需要处理"
    assert "沪AD12345" in told[0].payload["body"] and "车窗未关" in told[0].payload["body"]
    assert told[0].payload["data"]["check_item_id"] == by_plate["沪AD12345"]["id"]
    assert told[1].ref == f"vehicle_check_item:{by_plate['沪B12345']['id']}"
    listed = gate.ok("GET", f"/api/sites/{gate.site}/vehicle-checks", "guard2_a")
    assert listed["items"][0]["id"] == check_id and listed["items"][0]["guard_name"] == "Guard_A"
    gate.refused("GET", f"/api/vehicle-checks/{check_id}", "guard_b", 404, "not_found")
    gate.refused("GET", f"/api/vehicle-checks/{check_id}", "resident_a", 403, "forbidden")


def test_an_owner_who_moved_out_is_not_told(gate: Gate) -> None:
    vehicle(gate, plate="沪B12345")

    async def move_out() -> None:
        await Membership.filter(role=Role.resident, unit_id=gate.unit).update(is_active=False)

    gate.db(move_out)
    check = gate.ok(
        "POST", f"/api/sites/{gate.site}/vehicle-checks", "guard_a", json={"id": str(uuid.uuid4())}
    )
    report = gate.ok(
        "POST",
        f"/api/vehicle-checks/{check['id']}/items",
        "guard_a",
        json={"id": str(uuid.uuid4()), "plate": "沪B12345", "condition": "leak"},
    )
    assert report["items"][0]["owner_notice"] == "no_owner"
    started = datetime.fromisoformat(report["started_at"])
    assert abs(started - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_owner_who_turned_alerts_off_is_left_to_the_control_room(gate: Gate) -> None:
    vehicle(gate, plate="沪B12345", owner_id=gate.user_id("resident"))

    async def mute() -> None:
        await NoticePreference.create(
            user_id=gate.user_id("resident"), alerts=False, updated_at=datetime.now(UTC)
        )

    gate.db(mute)
    check = gate.ok(
        "POST", f"/api/sites/{gate.site}/vehicle-checks", "guard_a", json={"id": str(uuid.uuid4())}
    )
    report = gate.ok(
        "POST",
        f"/api/vehicle-checks/{check['id']}/items",
        "guard_a",
        json={"id": str(uuid.uuid4()), "plate": "沪B12345", "condition": "lights_on"},
    )
    assert report["items"][0]["owner_notice"] == "no_owner"
    assert gate.db(lambda: Notice.all().count()) == 0
