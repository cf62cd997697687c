"""Visitors at the gate, on SQLite and PostgreSQL: registration with ID numbers sealed and
masked, returning visitors, check-out and overstays, the blocklist and after-hours holds with
who decided, escorts, invites, offline registration through the sync engine, the export and
the retention purge."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.jobs import JOBS, run_once
from backend.models.audit import AuditEvent
from backend.models.organizations import Site
from backend.models.sync import AppliedMutation, Change, ChangeOp
from backend.models.vehicles import VehicleEntry
from backend.models.visitors import GatePolicy, Invite, Visit, Visitor
from backend.services.gate import ID_INDEX_PURPOSE, is_after_hours
from tests.backend.gate_support import (
    ID_LI,
    ID_ZHANG,
    Gate,
    gate_env,
    mutation,
    soon,
    soon_in_beijing,
)


@pytest.fixture
def gate(database_url: str, tmp_path: Path) -> Iterator[Gate]:
    yield from gate_env(database_url, tmp_path)


def walk_in(gate: Gate, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": "张三",
        "phone": "138 0013 8000",
        "id_kind": "resident_id",
        "id_number": ID_ZHANG,
        "host_unit_id": gate.unit,
        **fields,
    }


def register(gate: Gate, as_: str = "guard_a", **fields: Any) -> dict[str, Any]:
    body = walk_in(gate, **fields)
    visit: dict[str, Any] = gate.ok("POST", f"/api/sites/{gate.site}/visits", as_, json=body)
    return visit


def count(gate: Gate, model: Any) -> int:
    return int(gate.db(lambda: model.all().count()))


# --- registering, masking, sealing -----------------------------------------------------------


def test_a_walk_in_goes_on_site_with_the_id_number_sealed_and_shown_masked(gate: Gate) -> None:
    visit = register(gate, plate="京a·12345")
    assert visit["status"] == "on_site" and visit["checked_in_at"] is not None
    assert visit["id_masked"] == "110105********002X"
    assert visit["phone"] == "13800138000" and visit["plate"] == "京A12345"
    assert visit["host_unit_label"] == gate.world.a.unit.label
    # The number is never in an answer: not here, not in a list, not in the feed the phones pull.
    listed = gate.call("GET", f"/api/sites/{gate.site}/visits", "supervisor_a")
    pulled = gate.pull(gate.phone("guard2_a"))
    for text in (str(visit), listed.text, pulled.text):
        assert ID_ZHANG not in text and "19491231" not in text
    assert "110105********002X" in pulled.text

    visitor = gate.db(lambda: Visitor.get(id=visit["visitor_id"]))
    sealer = gate.settings.sealer()
    assert ID_ZHANG not in visitor.id_sealed
    assert sealer.open(visitor.id_sealed, f"visitor-id:{visitor.id}").decode() == ID_ZHANG
    assert visitor.id_index == sealer.blind_index(f"resident_id:{ID_ZHANG}", ID_INDEX_PURPOSE)


def test_bad_id_numbers_and_plates_are_refused_with_the_field_and_nothing_written(
    gate: Gate,
) -> None:
    site = f"/api/sites/{gate.site}/visits"
    typo = ID_ZHANG[:-2] + "1X"
    cases = [
        ({"id_number": typo}, "id_number", "id_bad_checksum"),
        ({"id_number": "110105491231002"}, "id_number", "id_old_format"),
        ({"id_kind": "passport", "id_number": "E12"}, "id_number", "id_bad_length"),
        ({"id_kind": None}, "id_number", "id_incomplete"),
        ({"plate": "A12345"}, "plate", "plate_bad_province"),
        ({"plate": "京A1234"}, "plate", "plate_bad_format"),
        ({"photo_sha256": "abc"}, "photo_sha256", "string_pattern_mismatch"),
        ({"headcount": 0}, "headcount", "greater_than_equal"),
        ({"phone": "call me"}, "phone", "string_pattern_mismatch"),
        ({"host_unit_id": gate.world.b.unit.id}, "host_unit_id", "not_found"),
        ({"host_unit_id": None}, "host_unit_id", "host_unit_required"),
        ({"name": None}, "name", "missing"),
    ]
    for change, field, code in cases:
        error = gate.refused(
            "POST", site, "guard_a", 422, "validation_failed", json=walk_in(gate, **change)
        )
        assert [(f["field"], f["code"]) for f in error["details"]["fields"]] == [(field, code)]
        assert error["details"]["fields"][0]["message"] not in ("", f"field.{code}")
        assert typo not in str(error)  # a typed number is never echoed back
    assert count(gate, Visit) == 0 and count(gate, Visitor) == 0
    # A plate no format fits goes in with the guard's override, and says so.
    visit = register(gate, plate="ab 1234 x", plate_override=True)
    assert (visit["plate"], visit["plate_override"]) == ("AB1234X", True)
    register(gate, plate="沪AD12345")  # an 8-character new-energy plate


def test_a_registration_of_another_site_or_by_a_resident_changes_nothing(gate: Gate) -> None:
    gate.refused(
        "POST",
        f"/api/sites/{gate.world.b.site.id}/visits",
        "guard_a",
        404,
        "not_found",
        json=walk_in(gate),
    )
    gate.refused(
        "POST", f"/api/sites/{gate.site}/visits", "resident_a", 403, "forbidden", json=walk_in(gate)
    )
    first = register(gate)
    again = walk_in(gate, id=first["id"])
    gate.refused(
        "POST", f"/api/sites/{gate.site}/visits", "guard_a", 409, "mutation_id_conflict", json=again
    )
    assert count(gate, Visit) == 1


def test_a_returning_visitor_is_found_by_phone_and_registered_from_it(gate: Gate) -> None:
    first = register(gate, purpose="business", headcount=2, plate="京A12345")
    gate.ok("POST", f"/api/visits/{first['id']}/check-out", "guard_a", json={})
    (found,) = gate.ok("GET", f"/api/sites/{gate.site}/visitors?phone=13800138000", "guard2_a")
    assert found["id"] == first["visitor_id"] and found["id_masked"] == "110105********002X"
    assert (found["last_host_unit_id"], found["last_purpose"], found["last_plate"]) == (
        gate.unit,
        "business",
        "京A12345",
    )
    assert gate.ok("GET", f"/api/sites/{gate.site}/visitors?phone=13900000000", "guard_a") == []
    # Tap the visitor, confirm: the form is the lookup's answer, no ID to type again.
    again = gate.ok(
        "POST",
        f"/api/sites/{gate.site}/visits",
        "guard2_a",
        json={
            "id": str(uuid.uuid4()),
            "visitor_id": found["id"],
            "host_unit_id": found["last_host_unit_id"],
            "purpose": found["last_purpose"],
        },
    )
    assert again["visitor_id"] == first["visitor_id"] and again["name"] == "张三"
    assert again["id_masked"] == "110105********002X" and again["status"] == "on_site"
    assert count(gate, Visitor) == 1
    # The same person typed in again (same ID) is still one visitor.
    register(gate, name="张三", phone="13800138000")
    assert count(gate, Visitor) == 1
    gate.refused(
        "GET", f"/api/sites/{gate.site}/visitors?phone=13800138000", "resident_a", 403, "forbidden"
    )


def test_check_out_and_visitors_past_their_window(gate: Gate) -> None:
    gate.ok("PATCH", f"/api/sites/{gate.site}/gate-policy", "admin_a", json={"visit_hours": 1})
    late = register(gate, client_time=soon(-2))  # registered offline two hours ago
    fresh = register(gate, name="李四", phone="13911112222", id_number=ID_LI)
    assert late["overstayed"] is True and fresh["overstayed"] is False
    over = gate.ok("GET", f"/api/sites/{gate.site}/visits?overstayed=true", "guard_a")
    assert [v["id"] for v in over["items"]] == [late["id"]]
    summary = gate.ok("GET", f"/api/sites/{gate.site}/gate", "guard_a")
    assert summary["overstayed"] == 1 and len(summary["on_site"]) == 2

    out = gate.ok(
        "POST", f"/api/visits/{late['id']}/check-out", "guard2_a", json={"note": "left by car"}
    )
    assert out["status"] == "checked_out" and out["checked_out_at"] and not out["overstayed"]
    error = gate.refused(
        "POST", f"/api/visits/{late['id']}/check-out", "guard_a", 409, "not_checked_in", json={}
    )
    assert error["details"]["status"] == "checked_out"
    gate.refused(
        "POST", f"/api/visits/{uuid.uuid4()}/check-out", "guard_a", 404, "not_found", json={}
    )
    gate.refused(
        "POST", f"/api/visits/{fresh['id']}/check-out", "guard_b", 404, "not_found", json={}
    )
    assert gate.ok("GET", f"/api/visits/{fresh['id']}", "guard_a")["status"] == "on_site"


# --- the blocklist ---------------------------------------------------------------------------


def test_a_blocklisted_visitor_waits_for_a_supervisor_who_is_recorded(gate: Gate) -> None:
    entry = gate.ok(
        "POST",
        f"/api/sites/{gate.site}/blocklist",
        "supervisor_a",
        json={"id_kind": "resident_id", "id_number": ID_ZHANG, "reason": "theft in 2024"},
    )
    assert entry["id_masked"] == "110105********002X" and ID_ZHANG not in str(entry)
    held = register(gate)
    assert held["status"] == "pending_approval" and held["blocklisted"] is True
    assert held["checked_in_at"] is None and held["blocklist_reason"] == "theft in 2024"
    gate.refused(
        "POST", f"/api/visits/{held['id']}/check-out", "guard_a", 409, "not_checked_in", json={}
    )
    gate.refused(
        "POST",
        f"/api/visits/{held['id']}/decision",
        "guard_a",
        403,
        "forbidden",
        json={"decision": "approved"},
    )
    assert (
        gate.ok("GET", f"/api/sites/{gate.site}/gate", "guard_a")["pending"][0]["id"] == held["id"]
    )

    approved = gate.ok(
        "POST",
        f"/api/visits/{held['id']}/decision",
        "supervisor_a",
        json={"decision": "approved", "note": "paid back"},
    )
    assert approved["status"] == "on_site" and approved["checked_in_at"]
    assert (
        approved["decided_by_id"] == gate.user_id("supervisor")
        and approved["decision_note"] == "paid back"
    )
    gate.refused(
        "POST",
        f"/api/visits/{held['id']}/decision",
        "supervisor_a",
        409,
        "invalid_state",
        json={"decision": "refused"},
    )
    actions = gate.db(
        lambda: AuditEvent.filter(entity="visit").values_list("action", "actor_user_id")
    )
    assert ("visit.held_blocklist", gate.user_id("guard")) in actions
    assert ("visit.approved", gate.user_id("supervisor")) in actions
    # A resident hosting the guest sees the visit, not why the person is on the list.
    mine = gate.ok("GET", f"/api/visits/{held['id']}", "resident_a")
    assert mine["blocklisted"] is True and mine["blocklist_reason"] == ""


def test_the_blocklist_matches_phone_plate_and_a_bare_name(gate: Gate) -> None:
    path = f"/api/sites/{gate.site}/blocklist"
    gate.ok("POST", path, "supervisor_a", json={"phone": "13922223333", "reason": "harassment"})
    gate.ok("POST", path, "supervisor_a", json={"plate": "粤B·D12345", "reason": "tailgating"})
    gate.ok("POST", path, "supervisor_a", json={"name": "王五", "reason": "described by police"})
    lifted = gate.ok("POST", path, "supervisor_a", json={"name": "赵六", "reason": "old quarrel"})
    gate.ok("PATCH", f"/api/blocklist/{lifted['id']}", "supervisor_a", json={"is_active": False})
    gate.refused("POST", path, "supervisor_a", 422, "validation_failed", json={"reason": "nobody"})
    gate.refused("GET", path, "guard_a", 403, "forbidden")

    def status(**fields: Any) -> str:
        return str(register(gate, id_kind=None, id_number=None, **fields)["status"])

    assert status(name="甲", phone="13922223333") == "pending_approval"
    assert status(name="乙", phone="13800000001", plate="粤BD12345") == "pending_approval"
    assert status(name="王五", phone="13800000002") == "pending_approval"
    assert status(name="赵六", phone="13800000003") == "on_site"
    assert status(name="丙", phone="13800000004") == "on_site"
    refused = gate.ok("GET", f"/api/sites/{gate.site}/visits?status=pending_approval", "guard_a")
    first = refused["items"][-1]["id"]
    out = gate.ok("POST", f"/api/visits/{first}/decision", "admin_a", json={"decision": "refused"})
    assert out["status"] == "refused" and out["decided_by_id"] == gate.user_id("admin")


# --- after hours -----------------------------------------------------------------------------


def test_after_hours_arrivals_need_the_control_room_not_the_guard_who_let_them_in(
    gate: Gate,
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    policy = gate.ok(
        "PATCH", f"/api/sites/{gate.site}/gate-policy", "admin_a", json={"holidays": [today]}
    )
    assert policy["after_hours_now"] is True and policy["holidays"] == [today]
    gate.refused(
        "PATCH",
        f"/api/sites/{gate.site}/gate-policy",
        "supervisor_a",
        403,
        "forbidden",
        json={"holidays": []},
    )
    held = register(gate)
    assert held["status"] == "pending_confirmation" and held["after_hours"] is True
    gate.refused(
        "POST",
        f"/api/visits/{held['id']}/decision",
        "guard_a",
        403,
        "forbidden",
        json={"decision": "approved"},
    )
    confirmed = gate.ok(
        "POST", f"/api/visits/{held['id']}/decision", "guard2_a", json={"decision": "approved"}
    )
    assert confirmed["status"] == "on_site" and confirmed["decided_by_name"] == "Guard2_A"
    actions = gate.db(
        lambda: AuditEvent.filter(action="visit.confirmed").values_list("actor_user_id", flat=True)
    )
    assert actions == [gate.user_id("guard2")]
    # Blocklisted and after hours: the supervisor's approval is the confirmation too.
    gate.ok(
        "POST",
        f"/api/sites/{gate.site}/blocklist",
        "supervisor_a",
        json={"phone": "13933334444", "reason": "x"},
    )
    both = register(gate, phone="13933334444")
    assert both["status"] == "pending_approval" and both["after_hours"] is True
    done = gate.ok(
        "POST", f"/api/visits/{both['id']}/decision", "supervisor_a", json={"decision": "approved"}
    )
    assert done["status"] == "on_site"


def test_the_gate_calendar_in_the_sites_time_zone() -> None:
    site = Site(timezone="Asia/Shanghai", after_hours_start="22:00", after_hours_end="06:00")
    policy = GatePolicy(weekends_after_hours=True, holidays=["2026-10-01"], workdays=["2026-10-10"])
    shanghai = ZoneInfo("Asia/Shanghai")

    def at(day: date, hhmm: str) -> datetime:
        h, m = map(int, hhmm.split(":"))
        return datetime(day.year, day.month, day.day, h, m, tzinfo=shanghai).astimezone(UTC)

    monday, saturday, workday_saturday = date(2026, 11, 23), date(2026, 11, 28), date(2026, 10, 10)
    assert not is_after_hours(at(monday, "12:00"), site, policy)
    assert is_after_hours(at(monday, "22:00"), site, policy)
    assert is_after_hours(at(monday, "05:59"), site, policy)  # the window crosses midnight
    assert not is_after_hours(at(monday, "06:00"), site, policy)
    assert is_after_hours(at(saturday, "12:00"), site, policy)
    assert not is_after_hours(at(workday_saturday, "12:00"), site, policy)
    assert is_after_hours(at(date(2026, 10, 1), "12:00"), site, policy)  # National Day
    # 15:00 UTC on a Monday is 23:00 in Shanghai: the site's clock decides, not UTC's.
    assert is_after_hours(datetime(2026, 11, 23, 15, 0, tzinfo=UTC), site, policy)
    office = Site(timezone="Asia/Shanghai", after_hours_start="08:00", after_hours_end="08:00")
    assert not is_after_hours(at(monday, "03:00"), office, GatePolicy())


# --- escorts ---------------------------------------------------------------------------------


def test_an_escorted_visit_ends_only_when_its_escort_signs_it_out(gate: Gate) -> None:
    path = f"/api/sites/{gate.site}/visits"
    body = walk_in(gate, purpose="moving", host_unit_id=gate.unit)
    error = gate.refused("POST", path, "guard_a", 422, "validation_failed", json=body)
    assert error["details"]["fields"][0] == {
        "field": "escort_id",
        "code": "escort_required",
        "message": "Deliveries, moving and water need an escorting guard.",
    }
    not_staff = {**body, "escort_id": gate.user_id("resident")}
    gate.refused("POST", path, "guard_a", 422, "validation_failed", json=not_staff)
    visit = register(gate, purpose="water", host_unit_id=None, escort_id=gate.user_id("guard2"))
    assert visit["escort_required"] is True and visit["escort_name"] == "Guard2_A"
    gate.refused(
        "POST", f"/api/visits/{visit['id']}/check-out", "guard_a", 403, "escort_only", json={}
    )
    gate.refused(
        "POST", f"/api/visits/{visit['id']}/check-out", "supervisor_a", 403, "escort_only", json={}
    )
    # The escort went off shift: a supervisor hands the crew to another guard.
    handed = gate.ok(
        "POST",
        f"/api/visits/{visit['id']}/escort",
        "supervisor_a",
        json={"escort_id": gate.user_id("guard")},
    )
    assert handed["escort_id"] == gate.user_id("guard")
    gate.refused(
        "POST",
        f"/api/visits/{visit['id']}/escort",
        "guard_a",
        403,
        "forbidden",
        json={"escort_id": gate.user_id("guard2")},
    )
    gate.refused(
        "POST", f"/api/visits/{visit['id']}/check-out", "guard2_a", 403, "escort_only", json={}
    )
    out = gate.ok("POST", f"/api/visits/{visit['id']}/check-out", "guard_a", json={})
    assert out["status"] == "checked_out"


# --- invites ---------------------------------------------------------------------------------


def invite(gate: Gate, as_: str = "resident_a", **fields: Any) -> dict[str, Any]:
    body = {
        "guest_name": "Aunt Li",
        "guest_phone": "13600000000",
        "valid_from": soon(-1),
        "valid_until": soon(4),
        **fields,
    }
    made: dict[str, Any] = gate.ok("POST", f"/api/sites/{gate.site}/invites", as_, json=body)
    return made


def test_a_residents_invite_checks_the_guest_in_once(gate: Gate) -> None:
    made = invite(gate, plate="京B12345", headcount=3)
    assert made["unit_id"] == gate.unit and made["status"] == "active"
    assert made["link"] == f"/pass/{made['code']}"
    expected = gate.ok("GET", f"/api/sites/{gate.site}/gate", "guard_a")["expected_today"]
    assert [i["id"] for i in expected] == [made["id"]]

    visit = gate.ok(
        "POST",
        f"/api/sites/{gate.site}/visits",
        "guard_a",
        json={"id": str(uuid.uuid4()), "invite_code": f"  {made['link']}\n"},
    )
    assert visit["status"] == "on_site" and visit["invite_id"] == made["id"]
    assert (visit["name"], visit["headcount"], visit["plate"]) == ("Aunt Li", 3, "京B12345")
    assert visit["expected_until"] == made["valid_until"].replace("+00:00", "Z")
    assert (
        gate.ok("GET", f"/api/sites/{gate.site}/invites", "resident_a")["items"][0]["status"]
        == "used"
    )
    again = {"id": str(uuid.uuid4()), "invite_code": made["code"]}
    gate.refused("POST", f"/api/sites/{gate.site}/visits", "guard_a", 409, "pass_used", json=again)
    gate.ok("POST", f"/api/visits/{visit['id']}/check-out", "guard_a", json={})
    gate.refused("POST", f"/api/sites/{gate.site}/visits", "guard_a", 409, "pass_used", json=again)
    assert count(gate, Visit) == 1


def test_an_invite_out_of_its_window_revoked_forged_or_of_another_site_is_refused(
    gate: Gate,
) -> None:
    path = f"/api/sites/{gate.site}/visits"

    def scan(code: str, status: int, error: str) -> None:
        gate.refused(
            "POST",
            path,
            "guard_a",
            status,
            error,
            json={"id": str(uuid.uuid4()), "invite_code": code},
        )

    later = invite(gate, valid_from=soon(2), valid_until=soon(5))
    scan(later["code"], 409, "pass_not_yet_valid")
    over = invite(gate)

    async def expire() -> None:
        await Invite.filter(id=over["id"]).update(
            valid_from=datetime.now(UTC) - timedelta(hours=5),
            valid_until=datetime.now(UTC) - timedelta(minutes=1),
        )

    gate.db(expire)
    scan(over["code"], 409, "pass_expired")
    revoked = invite(gate)
    gate.ok("POST", f"/api/invites/{revoked['id']}/revoke", "resident_a")
    scan(revoked["code"], 409, "pass_revoked")
    gate.refused("POST", f"/api/invites/{revoked['id']}/revoke", "resident_a", 409, "invalid_state")

    good = invite(gate)["code"]
    head, payload, mac = good.split(".")
    scan(f"{head}.{payload}.{mac[:-2]}AA", 422, "pass_invalid")  # tampered signature
    scan(f"{head}.{payload[:-4]}{payload[-4:][::-1]}.{mac}", 422, "pass_invalid")  # tampered body
    scan("p1.garbage", 422, "pass_invalid")
    other = gate.ok(
        "POST",
        f"/api/sites/{gate.world.b.site.id}/invites",
        "resident_b",
        json={"guest_name": "X", "valid_from": soon(-1), "valid_until": soon(1)},
    )
    scan(other["code"], 409, "pass_wrong_site")
    assert count(gate, Visit) == 0
    # Bad windows are refused when the invite is made.
    for window, code in (
        ({"valid_from": soon(2), "valid_until": soon(1)}, "window_order"),
        ({"valid_from": soon(-5), "valid_until": soon(-1)}, "in_the_past"),
        ({"valid_from": soon(0), "valid_until": soon(24 * 40)}, "window_too_long"),
    ):
        error = gate.refused(
            "POST",
            f"/api/sites/{gate.site}/invites",
            "resident_a",
            422,
            "validation_failed",
            json={"guest_name": "Y", **window},
        )
        assert error["details"]["fields"][0]["code"] == code


def test_a_resident_sees_only_their_own_guests(gate: Gate) -> None:
    mine = register(gate)
    elsewhere = gate.ok(
        "POST", f"/api/sites/{gate.site}/units", "admin_a", json={"label": "9-9-909"}
    )
    theirs = register(
        gate, name="李四", phone="13911112222", id_number=ID_LI, host_unit_id=elsewhere["id"]
    )
    listed = gate.ok("GET", f"/api/sites/{gate.site}/visits", "resident_a")
    assert [v["id"] for v in listed["items"]] == [mine["id"]]
    gate.refused("GET", f"/api/visits/{theirs['id']}", "resident_a", 404, "not_found")
    gate.refused("GET", f"/api/visits/{mine['id']}", "resident_b", 404, "not_found")
    gate.refused("GET", f"/api/sites/{gate.site}/visits", "guard_b", 404, "not_found")
    theirs_invite = invite(gate, as_="supervisor_a", unit_id=elsewhere["id"])
    assert gate.ok("GET", f"/api/sites/{gate.site}/invites", "resident_a")["items"] == []
    gate.refused(
        "POST", f"/api/invites/{theirs_invite['id']}/revoke", "resident_a", 404, "not_found"
    )
    gate.refused(
        "POST",
        f"/api/sites/{gate.site}/invites",
        "resident_a",
        422,
        "validation_failed",
        json={
            "guest_name": "Z",
            "unit_id": elsewhere["id"],
            "valid_from": soon(0),
            "valid_until": soon(1),
        },
    )


# --- offline through the sync engine ---------------------------------------------------------


def test_visitors_registered_offline_sync_once_with_rejections_kept(gate: Gate) -> None:
    made = invite(gate)
    guard = gate.phone("guard_a")
    two_hours_ago = soon(-2)
    walk = mutation("visitors.register", {**walk_in(gate), "site_id": gate.site}, two_hours_ago)
    invited = mutation(
        "visitors.register",
        {"id": str(uuid.uuid4()), "site_id": gate.site, "invite_code": made["code"]},
    )
    typo = ID_LI[:-1] + ("0" if ID_LI[-1] != "0" else "1")
    bad = mutation("visitors.register", {**walk_in(gate, id_number=typo), "site_id": gate.site})
    foreign = mutation("visitors.register", {**walk_in(gate), "site_id": gate.world.b.site.id})
    reused = mutation(
        "visitors.register",
        {"id": str(uuid.uuid4()), "site_id": gate.site, "invite_code": made["code"]},
    )
    out = mutation("visitors.check_out", {"visit_id": walk["args"]["id"]})
    batch = [walk, invited, bad, foreign, reused, out]
    results = gate.push(guard, batch)
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("applied", ""),
        ("rejected", "validation_failed"),
        ("rejected", "not_found"),
        ("rejected", "pass_used"),
        ("applied", ""),
    ]
    assert results[0]["data"]["arrived_at"].startswith(two_hours_ago[:16])
    assert results[2]["details"]["fields"][0]["field"] == "id_number"
    assert results[4]["message"] == "This pass has already been used."
    assert results[5]["data"]["status"] == "checked_out"
    assert count(gate, Visit) == 2

    again = gate.push(guard, batch)
    assert [r["status"] for r in again] == [
        "duplicate",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
        "duplicate",
    ]
    assert count(gate, Visit) == 2 and count(gate, Visitor) == 2

    stored = gate.db(lambda: AppliedMutation.all().values_list("result", flat=True))
    assert typo not in str(stored) and ID_ZHANG not in str(stored)
    changes = gate.pull(gate.phone("guard2_a")).json()["changes"]
    visits = {c["id"]: c["data"] for c in changes if c["entity"] == "visit"}
    assert visits[walk["args"]["id"]]["status"] == "checked_out"
    assert visits[walk["args"]["id"]]["id_masked"] == "110105********002X"
    assert any(c["entity"] == "invite" and c["data"]["status"] == "used" for c in changes)
    assert gate.pull(gate.phone("resident_a")).json()["changes"] == []


def test_decisions_sync_from_the_control_room_phone(gate: Gate) -> None:
    gate.ok(
        "POST",
        f"/api/sites/{gate.site}/blocklist",
        "supervisor_a",
        json={"phone": "13800138000", "reason": "x"},
    )
    held = register(gate)
    guard = gate.phone("guard2_a")
    supervisor = gate.phone("supervisor_a")
    decide = {"visit_id": held["id"], "decision": "approved"}
    (refused,) = gate.push(guard, [mutation("visitors.decide", decide)])
    assert (refused["status"], refused["code"]) == ("rejected", "forbidden")
    (applied,) = gate.push(supervisor, [mutation("visitors.decide", decide)])
    assert applied["status"] == "applied" and applied["data"]["status"] == "on_site"


# --- export ----------------------------------------------------------------------------------


def test_the_export_is_masked_unless_an_admin_gives_a_reason(gate: Gate) -> None:
    register(gate)
    path = f"/api/sites/{gate.site}/visits.csv"
    masked = gate.call("GET", path, "supervisor_a")
    assert masked.status_code == 200 and masked.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(masked.content.decode("utf-8-sig"))))
    assert rows[0]["id_number"] == "110105********002X" and rows[0]["phone"] == "138****8000"
    assert ID_ZHANG not in masked.text and "13800138000" not in masked.text
    assert rows[0]["name"] == "张三" and rows[0]["host_unit"] == gate.world.a.unit.label

    gate.refused(
        "GET", path + "?unmasked=true&reason=police+request", "supervisor_a", 403, "forbidden"
    )
    gate.refused("GET", path, "guard_a", 403, "forbidden")
    error = gate.refused("GET", path + "?unmasked=true", "admin_a", 422, "validation_failed")
    assert error["details"]["fields"][0]["code"] == "reason_required"
    full = gate.call("GET", path + "?unmasked=true&reason=police+request+no.+42", "admin_a")
    rows = list(csv.DictReader(io.StringIO(full.content.decode("utf-8-sig"))))
    assert rows[0]["id_number"] == ID_ZHANG and rows[0]["phone"] == "13800138000"
    audit = gate.db(lambda: AuditEvent.filter(action__startswith="visits.exported").order_by("id"))
    assert [(a.action, a.actor_user_id) for a in audit] == [
        ("visits.exported", gate.user_id("supervisor")),
        ("visits.exported_unmasked", gate.user_id("admin")),
    ]
    assert audit[1].after is not None and audit[1].after["reason"] == "police request no. 42"


# --- retention -------------------------------------------------------------------------------


def test_the_retention_job_wipes_old_personal_data_and_keeps_counts(gate: Gate) -> None:
    old = register(gate, plate="京A12345")
    gate.ok("POST", f"/api/visits/{old['id']}/check-out", "guard_a", json={})
    still_here = register(gate, name="李四", phone="13911112222", id_number=ID_LI)
    recent = register(gate, name="王五", phone="13933334444", id_kind=None, id_number=None)
    gate.ok("POST", f"/api/visits/{recent['id']}/check-out", "guard_a", json={})
    old_invite = invite(gate)
    guard = gate.phone("guard_a")
    entry = mutation(
        "vehicles.enter", {"id": str(uuid.uuid4()), "site_id": gate.site, "plate": "京C54321"}
    )
    gate.push(guard, [entry, mutation("vehicles.exit", {"entry_id": entry["args"]["id"]})])
    long_ago = datetime.now(UTC) - timedelta(days=91)

    async def age() -> None:
        for visit_id in (old["id"], still_here["id"]):
            await Visit.filter(id=visit_id).update(arrived_at=long_ago)
        for visitor_id in (old["visitor_id"], still_here["visitor_id"]):
            await Visitor.filter(id=visitor_id).update(last_visit_at=long_ago)
        await Invite.filter(id=old_invite["id"]).update(valid_from=long_ago, valid_until=long_ago)
        await VehicleEntry.all().update(entered_at=long_ago, exited_at=long_ago)
        await AppliedMutation.all().update(server_time=long_ago)

    gate.db(age)
    (job,) = [j for j in JOBS if j.name == "purge_visitors"]
    handled = gate.db(lambda: run_once(job, gate.settings))
    assert handled == 4  # the old visit, its visitor, the invite, the visitor's car

    purged = gate.db(lambda: Visitor.get(id=old["visitor_id"]))
    assert (purged.name, purged.phone, purged.id_sealed, purged.id_index, purged.id_masked) == (
        "",
        "",
        None,
        None,
        "",
    )
    assert purged.purged_at is not None
    visit = gate.db(lambda: Visit.get(id=old["id"]))
    assert (
        visit.plate is None and visit.purged_at is not None and visit.status.value == "checked_out"
    )
    # Someone still on site keeps everything; so does a recent visitor.
    kept = gate.db(lambda: Visitor.get(id=still_here["visitor_id"]))
    assert kept.name == "李四" and kept.id_sealed is not None
    assert gate.db(lambda: Visitor.get(id=recent["visitor_id"])).name == "王五"
    assert gate.db(lambda: Invite.get(id=old_invite["id"])).guest_name == ""
    assert gate.db(lambda: VehicleEntry.first()).plate == ""

    # The feed forgets them: their changes are gone and a tombstone tells phones to drop them.
    feed = gate.db(lambda: Change.filter(entity_id=old["id"]).values_list("op", "data"))
    assert feed == [(ChangeOp.delete, None)]
    stored = gate.db(lambda: AppliedMutation.all().values_list("result", flat=True))
    assert all(r is None for r in stored)
    assert "张三" not in gate.pull(gate.phone("guard2_a")).text
    (event,) = gate.db(lambda: AuditEvent.filter(action="visitors.purged"))
    assert event.site_id == gate.site and event.after is not None
    assert (event.after["visits"], event.after["visitors"], event.after["invites"]) == (1, 1, 1)
    assert event.after["vehicle_entries"] == 1
    assert gate.db(lambda: run_once(job, gate.settings)) == 0  # nothing left to purge
    # The masked count stays for reports; a returning phone number finds nobody.
    assert gate.ok("GET", f"/api/sites/{gate.site}/visitors?phone=13800138000", "guard_a") == []
    assert gate.ok("GET", f"/api/sites/{gate.site}/visits", "supervisor_a")["total"] == 3


def test_lists_search_by_name_phone_plate_and_day(gate: Gate) -> None:
    register(gate, plate="京A12345")
    register(gate, name="李四", phone="13911112222", id_number=ID_LI)
    visits = f"/api/sites/{gate.site}/visits"
    assert gate.ok("GET", f"{visits}?q=李", "guard_a")["total"] == 1
    assert gate.ok("GET", f"{visits}?q=1391111", "guard_a")["total"] == 1
    assert gate.ok("GET", f"{visits}?q=京A123", "guard_a")["total"] == 1
    assert gate.ok("GET", f"{visits}?since={soon(1)}".replace("+", "%2B"), "guard_a")["total"] == 0
    # The same bound in any offset means the same moment (SQLite compares times as text).
    assert gate.ok("GET", f"{visits}?since={soon_in_beijing(-1)}", "guard_a")["total"] == 2
    assert gate.ok("GET", f"{visits}?until={soon_in_beijing(-1)}", "guard_a")["total"] == 0
    invite(gate, guest_name="Uncle Wang")
    invites = f"/api/sites/{gate.site}/invites"
    assert gate.ok("GET", f"{invites}?q=wang", "guard_a")["total"] == 1
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert gate.ok("GET", f"{invites}?day={today.isoformat()}", "guard_a")["total"] == 1
    assert gate.ok("GET", f"{invites}?day={today + timedelta(days=3)}", "guard_a")["total"] == 0
    blocklist = f"/api/sites/{gate.site}/blocklist"
    gate.ok("POST", blocklist, "supervisor_a", json={"name": "Mallory", "reason": "forged passes"})
    assert gate.ok("GET", f"{blocklist}?q=forged", "supervisor_a")["total"] == 1
    assert gate.ok("GET", f"{blocklist}?q=nobody", "supervisor_a")["total"] == 0


def test_a_sites_today_is_its_own_local_day_whatever_the_hour_in_utc(gate: Gate) -> None:
    # A site whose local date differs from UTC's at this very moment: +14 h late in the UTC
    # day, -11 h early in it. A day's bounds compared in the site's own offset instead of UTC
    # lose an invite for the rest of the local day (SQLite compares stored times as text).
    now = datetime.now(UTC)
    zone = "Pacific/Kiritimati" if now.hour >= 10 else "Pacific/Pago_Pago"
    gate.db(lambda: Site.filter(id=gate.site).update(timezone=zone))
    today = datetime.now(ZoneInfo(zone)).date()
    assert today != datetime.now(UTC).date()
    made = invite(gate, guest_name="Night Owl")
    invites = f"/api/sites/{gate.site}/invites"
    listed = gate.ok("GET", f"{invites}?day={today.isoformat()}", "guard_a")
    assert [i["id"] for i in listed["items"]] == [made["id"]]
    assert gate.ok("GET", f"{invites}?day={today + timedelta(days=2)}", "guard_a")["total"] == 0
    expected = gate.ok("GET", f"/api/sites/{gate.site}/gate", "guard_a")["expected_today"]
    assert [i["id"] for i in expected] == [made["id"]]
