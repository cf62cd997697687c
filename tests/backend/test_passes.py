"""Passes at the gate, on SQLite and PostgreSQL: contractors' passes (one person, one active
pass, zones, refused with the reason), goods-out passes stamped by the unit's authorised
approver and checked item by item at the exit, offline through sync, and scanning any code."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.models.passes import ContractorEntry, ContractorPass, GoodsOutPass
from backend.services.pass_tokens import PassClaims, PassKind, canonical, issue, verify
from backend.services.passes import goods_content
from tests.backend.gate_support import ID_LI, ID_ZHANG, Gate, gate_env, mutation, soon


@pytest.fixture
def gate(database_url: str, tmp_path: Path) -> Iterator[Gate]:
    yield from gate_env(database_url, tmp_path)


def contractor(gate: Gate, **fields: Any) -> dict[str, Any]:
    body = {
        "company": "上海修缮工程有限公司",
        "person_name": "周师傅",
        "phone": "13700000000",
        "id_kind": "resident_id",
        "id_number": ID_ZHANG,
        "photo_sha256": "cd" * 32,
        "valid_from": soon(-1),
        "valid_until": soon(24 * 7),
        **fields,
    }
    made: dict[str, Any] = gate.ok(
        "POST", f"/api/sites/{gate.site}/contractor-passes", "supervisor_a", json=body
    )
    return made


def scan(gate: Gate, code: str, **fields: Any) -> Any:
    body = {"id": str(uuid.uuid4()), "code": code, **fields}
    return gate.call("POST", f"/api/sites/{gate.site}/contractor-passes/scan", "guard_a", json=body)


def test_a_contractors_pass_one_per_person_with_the_id_masked(gate: Gate) -> None:
    made = contractor(gate, zone_ids=[gate.world.a.zone.id])
    assert made["state"] == "active" and made["id_masked"] == "110105********002X"
    assert ID_ZHANG not in str(made) and made["link"] == f"/pass/{made['code']}"
    stored = gate.db(lambda: ContractorPass.get(id=made["id"]))
    assert ID_ZHANG not in stored.id_sealed
    assert (
        gate.settings.sealer().open(stored.id_sealed, f"contractor-id:{made['id']}")
        == ID_ZHANG.encode()
    )

    path = f"/api/sites/{gate.site}/contractor-passes"
    body = {
        "company": "Other",
        "person_name": "周",
        "id_kind": "resident_id",
        "id_number": ID_ZHANG,
        "valid_from": soon(0),
        "valid_until": soon(5),
    }
    gate.refused("POST", path, "supervisor_a", 409, "active_pass_exists", json=body)
    gate.refused("POST", path, "guard_a", 403, "forbidden", json=body)
    typo = {**body, "id_number": ID_ZHANG[:-1] + "1"}
    error = gate.refused("POST", path, "supervisor_a", 422, "validation_failed", json=typo)
    assert error["details"]["fields"][0]["code"] == "id_bad_checksum"
    foreign_zone = {**body, "id_number": ID_LI, "zone_ids": [gate.world.b.zone.id]}
    assert (
        gate.refused("POST", path, "supervisor_a", 422, "validation_failed", json=foreign_zone)[
            "details"
        ]["fields"][0]["field"]
        == "zone_ids"
    )
    # Revoked, the person may be given a new pass.
    revoked = gate.ok(
        "POST",
        f"/api/contractor-passes/{made['id']}/revoke",
        "supervisor_a",
        json={"reason": "contract ended"},
    )
    assert revoked["state"] == "revoked" and revoked["revoke_reason"] == "contract ended"
    gate.refused(
        "POST",
        f"/api/contractor-passes/{made['id']}/revoke",
        "supervisor_a",
        409,
        "invalid_state",
        json={"reason": "again"},
    )
    assert gate.ok("POST", path, "supervisor_a", json=body)["state"] == "active"
    states = {p["state"] for p in gate.ok("GET", path, "guard_a")["items"]}
    assert states == {"active", "revoked"}
    assert gate.ok("GET", f"{path}?state=revoked", "guard_a")["total"] == 1
    assert gate.db(lambda: ContractorPass.all().count()) == 2
    assert gate.ok("GET", f"{path}?q=修缮", "guard_a")["total"] == 1


def test_a_contractor_is_let_in_or_refused_with_the_reason(gate: Gate) -> None:
    gate_zone = gate.world.a.zone.id
    roof = gate.ok("POST", f"/api/sites/{gate.site}/zones", "admin_a", json={"name": "Roof"})["id"]
    good = contractor(gate, zone_ids=[gate_zone])
    entry = scan(gate, good["code"], zone_id=gate_zone)
    assert entry.status_code == 201, entry.text
    assert entry.json()["contractor_pass"]["person_name"] == "周师傅"
    assert entry.json()["contractor_pass"]["id_masked"] == "110105********002X"

    def refused(code: str, status: int, error: str, **fields: Any) -> None:
        response = scan(gate, code, **fields)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == error

    refused(good["code"], 409, "zone_not_allowed", zone_id=roof)
    later = contractor(gate, id_number=ID_LI, valid_from=soon(3), valid_until=soon(30))
    refused(later["code"], 409, "pass_not_yet_valid")

    async def expire() -> None:
        await ContractorPass.filter(id=later["id"]).update(
            valid_from=datetime.now(UTC) - timedelta(days=3),
            valid_until=datetime.now(UTC) - timedelta(hours=1),
        )

    gate.db(expire)
    refused(later["code"], 409, "pass_expired")
    gate.ok(
        "POST",
        f"/api/contractor-passes/{good['id']}/revoke",
        "supervisor_a",
        json={"reason": "lost"},
    )
    refused(good["code"], 409, "pass_revoked", zone_id=gate_zone)
    head, payload, mac = good["code"].split(".")
    refused(f"{head}.{payload}.{'A' * len(mac)}", 422, "pass_invalid")
    other = gate.ok(
        "POST",
        f"/api/sites/{gate.world.b.site.id}/contractor-passes",
        "supervisor_b",
        json={
            "company": "X",
            "person_name": "Y",
            "id_kind": "passport",
            "id_number": "E1234567",
            "valid_from": soon(-1),
            "valid_until": soon(5),
        },
    )
    refused(other["code"], 409, "pass_wrong_site")
    invite = gate.ok(
        "POST",
        f"/api/sites/{gate.site}/invites",
        "resident_a",
        json={"guest_name": "G", "valid_from": soon(-1), "valid_until": soon(1)},
    )
    refused(invite["code"], 422, "pass_invalid")  # an invite is no contractor's pass
    assert gate.db(lambda: ContractorEntry.all().count()) == 1


def test_contractor_scans_sync_offline(gate: Gate) -> None:
    good = contractor(gate)
    guard = gate.phone("guard_a")
    first = mutation(
        "passes.contractor_scan",
        {"id": str(uuid.uuid4()), "site_id": gate.site, "code": good["code"]},
    )
    forged = mutation(
        "passes.contractor_scan", {"id": str(uuid.uuid4()), "site_id": gate.site, "code": "p1.x.y"}
    )
    results = gate.push(guard, [first, forged])
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "pass_invalid"),
    ]
    assert results[0]["data"]["contractor_pass"]["id_masked"] == "110105********002X"
    assert [r["status"] for r in gate.push(guard, [first, forged])] == ["duplicate", "rejected"]
    assert gate.db(lambda: ContractorEntry.all().count()) == 1


# --- goods-out passes ------------------------------------------------------------------------


def request(gate: Gate, as_: str = "resident_a", **fields: Any) -> dict[str, Any]:
    body = {
        "carrier": "搬家公司 老李",
        "plate": "沪A·12345",
        "reason": "office move",
        "items": [
            {"name": "办公椅", "quantity": 4},
            {"name": "打印机"},
            {"name": "文件柜", "quantity": 2},
        ],
        "valid_from": soon(-1),
        "valid_until": soon(8),
        **fields,
    }
    made: dict[str, Any] = gate.ok("POST", f"/api/sites/{gate.site}/goods-passes", as_, json=body)
    return made


def name_approver(gate: Gate) -> None:
    gate.ok(
        "POST",
        f"/api/units/{gate.unit}/approvers",
        "admin_a",
        json={"user_id": gate.user_id("resident")},
    )


def test_only_the_units_authorised_approver_stamps_a_goods_out_pass(gate: Gate) -> None:
    made = request(gate)
    assert made["status"] == "requested" and made["code"] == "" and made["signature"] == ""
    assert made["unit_label"] == gate.world.a.unit.label and made["plate"] == "沪A12345"
    path = f"/api/goods-passes/{made['id']}/decision"
    approve = {"decision": "approved", "note": "checked with facilities"}
    # Nobody is named yet: not the requester, not the property's supervisor, not an admin.
    for who in ("resident_a", "supervisor_a", "admin_a", "guard_a"):
        gate.refused("POST", path, who, 403, "not_unit_approver", json=approve)
    gate.refused("POST", path, "resident_b", 404, "not_found", json=approve)
    gate.refused(
        "POST",
        f"/api/units/{gate.unit}/approvers",
        "admin_a",
        422,
        "validation_failed",
        json={"user_id": gate.user_id("guard")},
    )
    gate.refused(
        "POST",
        f"/api/units/{gate.unit}/approvers",
        "supervisor_a",
        403,
        "forbidden",
        json={"user_id": gate.user_id("resident")},
    )
    name_approver(gate)
    gate.refused(
        "POST",
        f"/api/units/{gate.unit}/approvers",
        "admin_a",
        409,
        "duplicate_name",
        json={"user_id": gate.user_id("resident")},
    )
    assert [
        a["user_id"] for a in gate.ok("GET", f"/api/units/{gate.unit}/approvers", "supervisor_a")
    ] == [gate.user_id("resident")]

    stamped = gate.ok("POST", path, "resident_a", json=approve)
    assert stamped["status"] == "approved" and stamped["decided_by_id"] == gate.user_id("resident")
    assert stamped["decided_by_name"] == "Resident_A" and stamped["code"].startswith("p1.")
    # The stamp is an HMAC over the pass's canonical content under a key from the master key.
    stored = gate.db(lambda: GoodsOutPass.get(id=made["id"]))
    master = gate.settings.sealer().current
    key = hmac.new(master, b"anbao:sign:stamp", hashlib.sha256).digest()
    expected = hmac.new(key, canonical(goods_content(stored)), hashlib.sha256).hexdigest()
    assert stamped["signature"] == expected
    gate.refused("POST", path, "resident_a", 409, "invalid_state", json={"decision": "rejected"})
    # Removed, the approver stamps no more.
    gate.ok("DELETE", f"/api/units/{gate.unit}/approvers/{gate.user_id('resident')}", "admin_a")
    other = request(gate)
    gate.refused(
        "POST",
        f"/api/goods-passes/{other['id']}/decision",
        "resident_a",
        403,
        "not_unit_approver",
        json=approve,
    )


def test_the_exit_checks_the_stamp_ticks_the_items_and_archives_the_pass(gate: Gate) -> None:
    name_approver(gate)
    made = request(gate)
    exit_path = f"/api/sites/{gate.site}/goods-passes/exit"
    sealer = gate.settings.sealer()
    unstamped = issue(
        sealer,
        PassClaims(
            PassKind.goods, uuid.UUID(made["id"]), gate.site, datetime.now(UTC), datetime.now(UTC)
        ),
    )
    gate.refused(
        "POST",
        exit_path,
        "guard_a",
        409,
        "pass_not_approved",
        json={"code": unstamped, "items_out": [0]},
    )
    code = gate.ok(
        "POST",
        f"/api/goods-passes/{made['id']}/decision",
        "resident_a",
        json={"decision": "approved"},
    )["code"]
    for items, why in (([3], "item_index"), ([0, 0], "item_index")):
        error = gate.refused(
            "POST",
            exit_path,
            "guard_a",
            422,
            "validation_failed",
            json={"code": code, "items_out": items},
        )
        assert error["details"]["fields"][0] == {
            "field": "items_out",
            "code": why,
            "message": "No such item on this pass.",
        }
    gate.refused(
        "POST", exit_path, "guard_a", 422, "validation_failed", json={"code": code, "items_out": []}
    )
    gate.refused(
        "POST", exit_path, "resident_a", 403, "forbidden", json={"code": code, "items_out": [0]}
    )
    gate.refused(
        "POST",
        f"/api/sites/{gate.world.b.site.id}/goods-passes/exit",
        "guard_b",
        409,
        "pass_wrong_site",
        json={"code": code, "items_out": [0]},
    )

    # Items added after the stamp: the stamp no longer matches, the guard is told.
    async def add_item() -> None:
        p = await GoodsOutPass.get(id=made["id"])
        await GoodsOutPass.filter(id=p.id).update(
            items=[*p.items, {"name": "笔记本电脑", "quantity": 10}]
        )

    async def restore() -> None:
        p = await GoodsOutPass.get(id=made["id"])
        await GoodsOutPass.filter(id=p.id).update(items=p.items[:-1])

    gate.db(add_item)
    gate.refused(
        "POST", exit_path, "guard_a", 422, "pass_invalid", json={"code": code, "items_out": [0]}
    )
    gate.db(restore)

    out = gate.ok(
        "POST",
        exit_path,
        "guard_a",
        json={"code": code, "items_out": [2, 0], "note": "printer stays"},
    )
    assert (
        out["status"] == "exited"
        and out["items_out"] == [0, 2]
        and out["exit_note"] == "printer stays"
    )
    assert out["exited_by_id"] == gate.user_id("guard")
    gate.refused(
        "POST", exit_path, "guard_a", 409, "pass_used", json={"code": code, "items_out": [1]}
    )
    # The archive: searchable by item, carrier or plate; a resident sees their unit's.
    path = f"/api/sites/{gate.site}/goods-passes"
    assert [p["id"] for p in gate.ok("GET", f"{path}?q=文件柜", "supervisor_a")["items"]] == [
        made["id"]
    ]
    assert gate.ok("GET", f"{path}?q=老李&status=exited", "guard_a")["total"] == 1
    assert gate.ok("GET", f"{path}?q=沙发", "guard_a")["total"] == 0
    assert gate.ok("GET", path, "resident_a")["total"] == 1
    gate.refused("GET", path, "resident_b", 404, "not_found")
    assert gate.ok("GET", f"/api/goods-passes/{made['id']}", "resident_a")["status"] == "exited"


def test_a_goods_out_pass_out_of_its_window_or_rejected_is_refused(gate: Gate) -> None:
    name_approver(gate)
    exit_path = f"/api/sites/{gate.site}/goods-passes/exit"
    rejected = request(gate)
    gate.ok(
        "POST",
        f"/api/goods-passes/{rejected['id']}/decision",
        "resident_a",
        json={"decision": "rejected", "note": "not ours"},
    )
    code = issue(
        gate.settings.sealer(),
        PassClaims(
            PassKind.goods,
            uuid.UUID(rejected["id"]),
            gate.site,
            datetime.now(UTC),
            datetime.now(UTC),
        ),
    )
    gate.refused(
        "POST",
        exit_path,
        "guard_a",
        409,
        "pass_not_approved",
        json={"code": code, "items_out": [0]},
    )
    later = request(gate, valid_from=soon(5), valid_until=soon(9))
    later_code = gate.ok(
        "POST",
        f"/api/goods-passes/{later['id']}/decision",
        "resident_a",
        json={"decision": "approved"},
    )["code"]
    gate.refused(
        "POST",
        exit_path,
        "guard_a",
        409,
        "pass_not_yet_valid",
        json={"code": later_code, "items_out": [0]},
    )
    for window, why in (
        ({"valid_from": soon(2), "valid_until": soon(1)}, "window_order"),
        ({"valid_from": soon(0), "valid_until": soon(24 * 40)}, "window_too_long"),
    ):
        response = gate.call(
            "POST",
            f"/api/sites/{gate.site}/goods-passes",
            "resident_a",
            json={"items": [{"name": "x"}], **window},
        )
        assert response.json()["error"]["details"]["fields"][0]["code"] == why
    gate.refused(
        "POST",
        f"/api/sites/{gate.site}/goods-passes",
        "resident_a",
        422,
        "validation_failed",
        json={"items": [], "valid_from": soon(0), "valid_until": soon(1)},
    )
    gate.refused(
        "POST",
        f"/api/sites/{gate.site}/goods-passes",
        "guard_a",
        403,
        "forbidden",
        json={"items": [{"name": "x"}], "valid_from": soon(0), "valid_until": soon(1)},
    )
    assert gate.db(lambda: GoodsOutPass.filter(status="exited").count()) == 0


def test_goods_exits_sync_offline(gate: Gate) -> None:
    name_approver(gate)
    made = request(gate)
    code = gate.ok(
        "POST",
        f"/api/goods-passes/{made['id']}/decision",
        "resident_a",
        json={"decision": "approved"},
    )["code"]
    guard = gate.phone("guard_a")
    out = mutation(
        "passes.goods_exit", {"site_id": gate.site, "code": code, "items_out": [0, 1, 2]}
    )
    second = mutation("passes.goods_exit", {"site_id": gate.site, "code": code, "items_out": [0]})
    results = gate.push(guard, [out, second])
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "pass_used"),
    ]
    assert results[0]["data"]["items_out"] == [0, 1, 2]
    assert [r["status"] for r in gate.push(guard, [out])] == ["duplicate"]
    changes = gate.pull(gate.phone("guard2_a")).json()["changes"]
    assert [c["data"]["status"] for c in changes if c["entity"] == "goods_pass"] == [
        "requested",
        "approved",
        "exited",
    ]


# --- scanning any code -----------------------------------------------------------------------


def test_the_gate_scanner_tells_what_a_code_is_and_whether_it_passes(gate: Gate) -> None:
    name_approver(gate)
    path = f"/api/sites/{gate.site}/passes/check"
    invite = gate.ok(
        "POST",
        f"/api/sites/{gate.site}/invites",
        "resident_a",
        json={"guest_name": "Aunt Li", "valid_from": soon(1), "valid_until": soon(3)},
    )
    pending = gate.ok("POST", path, "guard_a", json={"code": invite["code"]})
    assert (pending["kind"], pending["ok"], pending["refusal"]) == (
        "invite",
        False,
        "pass_not_yet_valid",
    )
    assert (
        pending["message"] == "This pass is not valid yet."
        and pending["record"]["guest_name"] == "Aunt Li"
    )
    worker = contractor(gate)
    checked = gate.ok("POST", path, "guard_a", json={"code": worker["code"]})
    assert (checked["kind"], checked["ok"], checked["refusal"]) == ("contractor", True, "")
    assert checked["record"]["id_masked"] == "110105********002X" and ID_ZHANG not in str(checked)
    goods = request(gate)
    code = gate.ok(
        "POST",
        f"/api/goods-passes/{goods['id']}/decision",
        "resident_a",
        json={"decision": "approved"},
    )["code"]
    looked = gate.ok(
        "POST", path, "guard_a", headers={"Accept-Language": "zh-CN"}, json={"code": code}
    )
    assert looked["kind"] == "goods" and looked["ok"] and len(looked["record"]["items"]) == 3
    gate.refused("POST", path, "guard_a", 422, "pass_invalid", json={"code": "hello"})
    gate.refused("POST", path, "resident_a", 403, "forbidden", json={"code": code})
    gate.refused(
        "POST",
        f"/api/sites/{gate.world.b.site.id}/passes/check",
        "guard_b",
        409,
        "pass_wrong_site",
        json={"code": code},
    )
    assert gate.db(lambda: GoodsOutPass.get(id=goods["id"])).status.value == "approved"  # unchanged
    # A code keeps its meaning after the master key is rotated: the old key still verifies.
    from backend.sealing import Sealer

    rotated = Sealer(b"\x01" * 32, (gate.settings.sealer().current,))
    assert verify(rotated, code).id == uuid.UUID(goods["id"])
