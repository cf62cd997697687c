"""The parcel room on SQLite and PostgreSQL, through the HTTP API and sync, with notices sent to
the checking push service: intake, codes, pickup by code or pass, throttling, return, reminders,
the shelf check and the resident's view."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend import jobs
from backend.events import EventBus
from backend.models.notices import Notice, NoticeDelivery
from backend.models.organizations import Unit
from backend.models.parcels import Parcel
from backend.models.users import Role
from backend.services import parcels
from backend.services.notices import create_vapid_key
from backend.settings import Settings
from tests.factories import PASSWORD, World, make_user, make_world, member
from tests.push_service import PushService, Received, TestSubscription
from tests.support import bearer, login, make_settings, run_in_db, running_app

ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Settings
    push: PushService
    public_key: str
    tokens: dict[str, dict[str, str]]

    @property
    def site(self) -> int:
        return int(self.world.a.site.id)

    @property
    def unit(self) -> Any:
        return self.world.a.unit

    def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            token = login(self.client, username, PASSWORD)["token"]
            self.tokens[username] = {**bearer(token), "Accept-Language": "en"}
        return self.tokens[username]

    def subscribe(self, username: str) -> TestSubscription:
        sub = self.push.subscribe(server_key=self.public_key)
        response = self.client.post(
            "/api/notices/subscriptions", json=sub.json(), headers=self.auth(username)
        )
        assert response.status_code == 201, response.text
        return sub

    def intake(self, who: str = "guard_a", **body: Any) -> Any:
        body = {"id": str(uuid.uuid4()), "unit_id": self.unit.id, **body}
        return self.client.post(
            f"/api/sites/{self.site}/parcels", json=body, headers=self.auth(who)
        )

    def parcel(self, **body: Any) -> dict[str, Any]:
        response = self.intake(**body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def code_of(self, parcel_id: str, resident: str = "resident_a") -> str:
        response = self.client.get(f"/api/parcels/{parcel_id}", headers=self.auth(resident))
        assert response.status_code == 200, response.text
        return str(response.json()["pickup_code"])

    def find(self, who: str = "guard_a", **body: Any) -> Any:
        return self.client.post(
            f"/api/sites/{self.site}/parcels/find", json=body, headers=self.auth(who)
        )

    def pickup(self, parcel_id: str, who: str = "guard_a", **body: Any) -> Any:
        return self.client.post(
            f"/api/parcels/{parcel_id}/pickup", json=body, headers=self.auth(who)
        )

    def send(self) -> int:
        return int(self.db(lambda: jobs.send_notices(self.settings, EventBus())))

    def db(self, fn: Callable[[], Any]) -> Any:
        return run_in_db(self.settings, fn)

    def audit(self, action: str = "parcel.") -> list[dict[str, Any]]:
        response = self.client.get(
            f"/api/sites/{self.site}/audit",
            params={"action": action, "limit": 200},
            headers=self.auth("admin_a"),
        )
        return list(reversed(response.json()["items"]))


def _env(settings: Settings) -> Iterator[Env]:
    world = run_in_db(settings, make_world)
    key, _ = run_in_db(settings, lambda: create_vapid_key(settings.sealer()))
    with PushService() as push, running_app(settings) as client:
        yield Env(client, world, settings, push, key.public_key, {})


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path,
        database_url,
        push_allow_http=True,
        jobs_enabled=False,
        pickup_max_failures_per_guard=3,
        pickup_max_failures_per_site=5,
    )
    yield from _env(settings)


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["message"] and not body["message"].startswith("error.")
    details: dict[str, Any] = body["details"]
    return details


# --- the whole way ------------------------------------------------------------------------------


def test_offline_intake_notice_and_pickup_with_the_code(env: Env) -> None:
    phone = env.subscribe("resident_a")
    uid = str(uuid.uuid4())
    guard = login(env.client, "guard_a", PASSWORD, device={"uid": uid, "name": "gate phone"})
    parcel_id = str(uuid.uuid4())
    written_offline = datetime.now(UTC) - timedelta(hours=1)
    pushed = env.client.post(
        "/api/sync/push",
        headers=bearer(guard["token"]),
        json={
            "device_id": uid,
            "mutations": [
                {
                    "id": str(uuid.uuid4()),
                    "name": "parcel.receive",
                    "client_time": written_offline.isoformat(),
                    "args": {
                        "id": parcel_id,
                        "site_id": env.site,
                        "unit": env.unit.label.upper(),  # typed as it came
                        "carrier": "顺丰",
                        "tracking_number": "SF1402837465",
                        "shelf": "A3",
                        "perishable": True,
                        "label_sha256": "ab" * 32,
                    },
                }
            ],
        },
    )
    (result,) = pushed.json()["results"]
    assert result["status"] == "applied", result
    assert result["data"]["status"] == "received" and result["data"]["pickup_code"] is None
    assert result["data"]["label_sha256"] == "ab" * 32

    # The sender (a job, not the request) delivers the notice; the push service decrypts it.
    assert env.send() == 1
    (got,) = env.push.for_subscription(phone)
    notice = got.json()
    code = notice["data"]["pickup_code"]
    assert len(code) == 6 and set(code) <= ALPHABET
    assert notice["kind"] == "parcel.arrived" and notice["title"] == "快递到了"
    assert code in notice["body"] and "A3" in notice["body"] and "顺丰" in notice["body"]
    assert notice["url"] == f"/parcels/{parcel_id}"
    assert notice["data"]["parcel_id"] == parcel_id and notice["data"]["shelf"] == "A3"
    assert got.headers["urgency"] == "high"  # perishable
    assert int(got.headers["ttl"]) > 0

    staff_view = env.client.get(f"/api/parcels/{parcel_id}", headers=env.auth("guard_a")).json()
    assert staff_view["status"] == "notified" and staff_view["pickup_code"] is None
    assert env.code_of(parcel_id) == code  # the resident shows the code

    found = env.find(code=f" {code[:3].lower()} {code[3:]} ").json()  # as typed at the counter
    assert found["method"] == "code" and [p["id"] for p in found["parcels"]] == [parcel_id]
    done = env.pickup(parcel_id, code=code, proof_sha256="cd" * 32, proof_kind="signature")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "picked_up" and done.json()["pickup_method"] == "code"
    assert done.json()["proof_kind"] == "signature"

    # Each step audited with who and when.
    guard_id = env.world.a.users["guard"].id
    steps = [(e["action"], e["actor_user_id"]) for e in env.audit()]
    assert steps == [
        ("parcel.received", guard_id),
        ("parcel.notified", None),
        ("parcel.picked_up", guard_id),
    ]
    # Once is enough: the same code, or the same parcel, is refused with a clear reason.
    details = error(env.pickup(parcel_id, code=code), 409, "already_picked_up")
    assert details["picked_up_at"]
    error(env.find(code=code), 409, "already_picked_up")
    history = env.client.get(
        "/api/me/parcels", params={"state": "history"}, headers=env.auth("resident_a")
    ).json()
    assert [p["id"] for p in history["items"]] == [parcel_id]
    waiting = env.client.get("/api/me/parcels", headers=env.auth("resident_a")).json()
    assert waiting["total"] == 0


def test_the_staff_sync_feed_carries_parcels_but_never_codes(env: Env) -> None:
    parcel = env.parcel(carrier="JD")
    staff = env.client.get("/api/sync/pull", headers=env.auth("guard_a")).json()["changes"]
    (row,) = [c for c in staff if c["entity"] == "parcel"]
    assert row["id"] == parcel["id"] and row["data"]["carrier"] == "JD"
    assert row["data"]["pickup_code"] is None
    assert env.code_of(parcel["id"]) not in str(staff)
    resident = env.client.get("/api/sync/pull", headers=env.auth("resident_a")).json()["changes"]
    assert [c for c in resident if c["entity"] == "parcel"] == []


# --- intake -------------------------------------------------------------------------------------


def test_the_recipient_is_found_by_unit_number_or_name(env: Env) -> None:
    resident = env.world.a.users["resident"]
    by_label = env.parcel(unit_id=None, unit=" ａ-1-101 ")  # full-width, spaces
    assert by_label["unit_id"] == env.unit.id and by_label["recipient_id"] is None
    by_name = env.parcel(unit_id=None, recipient_name="resident_a")
    assert by_name["unit_id"] == env.unit.id and by_name["recipient_id"] == resident.id
    by_id = env.parcel(unit_id=None, recipient_id=resident.id)
    assert by_id["recipient_name"] == resident.display_name
    found = env.client.get(
        f"/api/sites/{env.site}/parcel-recipients", params={"q": "101"}, headers=env.auth("guard_a")
    ).json()
    assert {(r["unit_label"], r["user_id"]) for r in found} == {
        (env.unit.label, resident.id),
        (env.unit.label, None),
    }
    by_person = env.client.get(
        f"/api/sites/{env.site}/parcel-recipients",
        params={"q": "Resident"},
        headers=env.auth("guard_a"),
    ).json()
    assert [r["display_name"] for r in by_person] == [resident.display_name]


@pytest.mark.parametrize(
    ("case", "field", "code"),
    [
        ("a unit number that does not exist", "unit", "unknown_unit"),
        ("a unit of another site", "unit_id", "unknown_unit"),
        ("a name nobody has", "recipient_name", "unknown_unit"),
        ("a resident of another unit", "recipient_id", "not_a_resident"),
        ("no recipient at all", "unit", "unknown_unit"),
    ],
)
def test_an_unknown_recipient_is_refused_and_nothing_is_stored(
    env: Env, case: str, field: str, code: str
) -> None:
    env.subscribe("resident_a")
    body: dict[str, Any] = {
        "a unit number that does not exist": {"unit_id": None, "unit": "9-9-909"},
        "a unit of another site": {"unit_id": env.world.b.unit.id},
        "a name nobody has": {"unit_id": None, "recipient_name": "Nobody Here"},
        "a resident of another unit": {"recipient_id": env.world.b.users["resident"].id},
        "no recipient at all": {"unit_id": None},
    }[case]
    details = error(env.intake(**body), 422, "validation_failed")
    assert details["fields"][0]["field"] == field and details["fields"][0]["code"] == code
    assert details["fields"][0]["message"] in (
        "No unit with this number at this site.",
        "This person is not a resident of that unit.",
    )
    assert env.db(lambda: Parcel.all().count()) == 0
    assert env.db(lambda: Notice.all().count()) == 0


def test_a_courier_drop_of_30_is_one_request_and_all_or_nothing(env: Env) -> None:
    env.subscribe("resident_a")
    drop = [
        {"id": str(uuid.uuid4()), "unit_id": env.unit.id, "tracking_number": f"ZT{i:04d}"}
        for i in range(30)
    ]
    drop[4]["shelf"] = "OVERSIZE"
    bad = [dict(p, id=str(uuid.uuid4())) for p in drop]
    bad[7] = {**bad[7], "unit_id": None, "unit": "no-such-unit"}
    bad[12] = {**bad[12], "recipient_id": env.world.b.users["resident"].id}
    refused = env.client.post(
        f"/api/sites/{env.site}/parcels/batch",
        json={"carrier": "中通", "shelf": "B1", "parcels": bad},
        headers=env.auth("guard_a"),
    )
    details = error(refused, 422, "validation_failed")
    assert [(f["field"], f["code"]) for f in details["fields"]] == [
        ("parcels.7.unit", "unknown_unit"),
        ("parcels.12.recipient_id", "not_a_resident"),
    ]
    assert env.db(lambda: Parcel.all().count()) == 0
    assert env.db(lambda: Notice.all().count()) == 0
    made = env.client.post(
        f"/api/sites/{env.site}/parcels/batch",
        json={"carrier": "中通", "shelf": "B1", "parcels": drop},
        headers=env.auth("guard_a"),
    )
    assert made.status_code == 201, made.text
    rows = made.json()
    assert len(rows) == 30 and {r["carrier"] for r in rows} == {"中通"}
    assert [r["shelf"] for r in rows].count("OVERSIZE") == 1
    codes = env.db(lambda: Parcel.all().values_list("active_code", flat=True))
    assert len(set(codes)) == 30 and all(set(c) <= ALPHABET for c in codes)
    assert env.send() == 30  # a notice per parcel
    assert len({r.json()["data"]["pickup_code"] for r in env.push.delivered()}) == 30


def test_codes_never_repeat_among_a_sites_waiting_parcels(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["KKKKKK", "KKKKKK", "KKKKKK", "MMMMMM", "NNNNNN"])
    monkeypatch.setattr(parcels, "new_code", lambda: next(drawn))
    first, second = env.parcel(), env.parcel()
    assert env.code_of(first["id"]) == "KKKKKK" and env.code_of(second["id"]) == "MMMMMM"
    # Picked up, its code is free again: a new parcel may draw it.
    assert env.pickup(first["id"], code="KKKKKK").status_code == 200
    monkeypatch.setattr(parcels, "new_code", lambda: "KKKKKK")
    third = env.parcel()
    assert env.code_of(third["id"]) == "KKKKKK"
    found = env.find(code="kkkkkk").json()  # the waiting one, not the old one
    assert [p["id"] for p in found["parcels"]] == [third["id"]]


def test_notices_go_to_the_named_resident_or_the_whole_unit_if_they_want_them(env: Env) -> None:
    async def housemate() -> None:
        user = await make_user("housemate_a")
        await member(user, env.world.a.site, Role.resident, env.world.a.unit)

    env.db(housemate)
    mine, theirs = env.subscribe("resident_a"), env.subscribe("housemate_a")
    env.parcel()  # for the unit: both
    env.parcel(recipient_id=env.world.a.users["resident"].id)  # for one of them
    env.client.patch(
        "/api/notices/settings", json={"parcels": False}, headers=env.auth("housemate_a")
    )
    env.parcel()  # the housemate turned parcel notices off
    env.send()
    assert len(env.push.for_subscription(mine)) == 3
    assert len(env.push.for_subscription(theirs)) == 1


# --- pickup ------------------------------------------------------------------------------------


def test_wrong_codes_are_throttled_per_guard_and_per_site(env: Env) -> None:
    parcel = env.parcel()
    code = env.code_of(parcel["id"])
    wrong = "2345AB" if code != "2345AB" else "2345AC"
    assert error(env.find(code=wrong), 422, "wrong_pickup_code")["attempts_left"] == 2
    assert (
        error(env.pickup(parcel["id"], code=wrong), 422, "wrong_pickup_code")["attempts_left"] == 1
    )
    locked = env.find(code=wrong)
    details = error(locked, 429, "pickup_throttled")
    assert details["retry_after"] > 0 and locked.headers["Retry-After"]
    # Locked out: even the right code from this guard waits; another guard is not held up.
    error(env.find(code=code), 429, "pickup_throttled")
    error(env.pickup(parcel["id"], code=code), 429, "pickup_throttled")
    assert env.find("guard2_a", code=code).status_code == 200
    # The site's own limit (5) stops guessing spread over several accounts.
    error(env.find("guard2_a", code=wrong), 422, "wrong_pickup_code")
    error(env.find("guard2_a", code=wrong), 429, "pickup_throttled")
    error(env.find("supervisor_a", code=code), 429, "pickup_throttled")
    # The resident's pass is no guess: it still works.
    token = env.client.get("/api/me/pickup-pass", headers=env.auth("resident_a")).json()["token"]
    assert env.pickup(parcel["id"], "supervisor_a", token=token).status_code == 200
    assert env.db(lambda: Parcel.get(id=parcel["id"])).status == "picked_up"


def test_pickup_with_the_residents_pass_and_on_someones_behalf(env: Env) -> None:
    first, second = env.parcel(shelf="A1"), env.parcel(shelf="A2")
    other_unit = env.db(lambda: Unit.create(site_id=env.site, label="a-9-909"))
    elsewhere = env.parcel(unit_id=other_unit.id)
    pickup_pass = env.client.get("/api/me/pickup-pass", headers=env.auth("resident_a")).json()
    assert {c["parcel_id"] for c in pickup_pass["codes"]} == {first["id"], second["id"]}
    token = pickup_pass["token"]
    found = env.find(token=token).json()
    assert found["method"] == "qr" and found["resident_name"] == "Resident_A"
    assert {p["id"] for p in found["parcels"]} == {first["id"], second["id"]}
    # Someone collecting for the resident: their name needs their photo.
    details = error(
        env.pickup(first["id"], token=token, collected_by_name="王阿姨"), 422, "validation_failed"
    )
    assert details["fields"][0]["code"] == "photo_required"
    assert env.db(lambda: Parcel.get(id=first["id"])).status == "received"
    done = env.pickup(
        first["id"],
        token=token,
        collected_by_name="王阿姨",
        collector_photo_sha256="EF" * 32,
        proof_sha256="12" * 32,
        proof_kind="photo",
    ).json()
    assert done["status"] == "picked_up" and done["pickup_method"] == "qr"
    assert done["collected_by_name"] == "王阿姨" and done["collector_photo_sha256"] == "ef" * 32
    after = [e["after"] for e in env.audit("parcel.picked_up")]
    assert after == [
        {
            "status": "picked_up",
            "method": "qr",
            "collected_by_name": "王阿姨",
            "reason": "",
            "proof_sha256": "12" * 32,
        }
    ]
    # A pass opens only its holder's parcels; a forged or old one opens nothing.
    error(env.pickup(elsewhere["id"], token=token), 422, "wrong_pickup_code")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    error(env.find(token=forged), 422, "pass_invalid")
    user_id = env.world.a.users["resident"].id
    old = parcels.make_pass(env.settings, user_id, datetime.now(UTC) - timedelta(minutes=1))
    error(env.find(token=old), 409, "pass_expired")
    error(env.find(code="2345AB", token=token), 422, "validation_failed")


def test_without_code_or_pass_only_a_supervisor_hands_over_with_a_reason(env: Env) -> None:
    parcel = env.parcel()
    details = error(env.pickup(parcel["id"]), 422, "validation_failed")
    assert details["fields"][0]["code"] == "override_reason_required"
    error(env.pickup(parcel["id"], reason="lost phone, ID shown"), 403, "forbidden")
    done = env.pickup(parcel["id"], "supervisor_a", reason="lost phone, ID shown")
    assert done.json()["pickup_method"] == "override"
    assert env.audit("parcel.picked_up")[0]["after"]["reason"] == "lost phone, ID shown"


# --- return, reminders, shelves ---------------------------------------------------------------


def test_overdue_parcels_are_listed_reminded_and_returned(env: Env) -> None:
    sub = env.subscribe("resident_a")
    old, fresh = env.parcel(carrier="EMS"), env.parcel()
    long_ago = datetime.now(UTC) - timedelta(days=4)
    env.db(lambda: Parcel.filter(id=old["id"]).update(received_at=long_ago))
    overdue = env.client.get(
        f"/api/sites/{env.site}/parcels", params={"overdue": "true"}, headers=env.auth("guard_a")
    ).json()
    assert [p["id"] for p in overdue["items"]] == [old["id"]]
    now = datetime.now(UTC)
    assert env.db(lambda: parcels.send_reminders(env.settings, now)) == 1
    assert env.db(lambda: parcels.send_reminders(env.settings, now)) == 0  # not twice a day
    later = now + timedelta(days=3)
    assert env.db(lambda: parcels.send_reminders(env.settings, later)) == 2  # both, again
    env.send()
    kinds = [r.json()["kind"] for r in env.push.for_subscription(sub)]
    assert kinds.count("parcel.arrived") == 2 and kinds.count("parcel.reminder") == 3
    reminder = next(r.json() for r in env.push.received if r.json()["kind"] == "parcel.reminder")
    assert reminder["title"] == "快递尚未领取" and "4" in reminder["body"]
    assert reminder["data"]["pickup_code"] == env.code_of(old["id"])
    returned = env.client.post(
        f"/api/parcels/{old['id']}/return", json={"reason": "超时退回"}, headers=env.auth("guard_a")
    )
    assert (
        returned.json()["status"] == "returned" and returned.json()["return_reason"] == "超时退回"
    )
    error(
        env.client.post(
            f"/api/parcels/{old['id']}/return",
            json={"reason": "again"},
            headers=env.auth("guard_a"),
        ),
        409,
        "parcel_returned",
    )
    error(env.pickup(old["id"], reason="x", who="supervisor_a"), 409, "parcel_returned")
    assert env.db(lambda: parcels.send_reminders(env.settings, later + timedelta(days=9))) == 1
    assert fresh["id"] in {
        p["id"]
        for p in env.client.get(
            f"/api/sites/{env.site}/parcels",
            params={"status": "waiting"},
            headers=env.auth("guard_a"),
        ).json()["items"]
    }


def test_the_shelf_check_lists_what_differs(env: Env) -> None:
    a1 = [env.parcel(shelf="A1", tracking_number=f"A1-{i}") for i in range(3)]
    a2 = env.parcel(shelf="A2", tracking_number="A2-0")
    b1 = [env.parcel(shelf="B1", tracking_number=f"B1-{i}") for i in range(2)]
    env.pickup(a1[0]["id"], code=env.code_of(a1[0]["id"]))  # gone: no longer expected
    check = env.client.post(
        f"/api/sites/{env.site}/parcels/shelf-check",
        json={
            "shelves": [
                {"shelf": "A1", "count": 1},
                {"shelf": "A2", "tracking_numbers": ["a2-0", "B1-1", "XX-404"]},
            ]
        },
        headers=env.auth("guard_a"),
    ).json()
    shelf_a1, shelf_a2 = check["shelves"]
    assert (shelf_a1["expected"], shelf_a1["counted"], shelf_a1["difference"]) == (2, 1, -1)
    assert shelf_a2["expected"] == 1 and shelf_a2["counted"] == 3 and shelf_a2["missing"] == []
    assert shelf_a2["unexpected"] == ["XX-404"]
    assert shelf_a2["misplaced"] == [
        {"tracking_number": "B1-1", "parcel_id": b1[1]["id"], "shelf_on_record": "B1"}
    ]
    assert check["not_counted"] == {"B1": 2} and check["matches"] is False
    assert env.audit("parcel.shelf_check")[0]["after"]["differences"] == {"A1": -1, "A2": 2}
    everything = env.client.post(
        f"/api/sites/{env.site}/parcels/shelf-check",
        json={
            "shelves": [
                {"shelf": "A1", "tracking_numbers": ["A1-1", "A1-2"]},
                {"shelf": "A2", "count": 1},
                {"shelf": "B1", "count": 2},
            ]
        },
        headers=env.auth("guard_a"),
    ).json()
    assert everything["matches"] is True
    del a2


# --- what residents see ------------------------------------------------------------------------


def test_residents_see_their_units_parcels_with_codes_and_nothing_else(env: Env) -> None:
    other_unit = env.db(lambda: Unit.create(site_id=env.site, label="a-2-202"))
    mine, not_mine = env.parcel(), env.parcel(unit_id=other_unit.id)
    me = env.auth("resident_a")
    assert env.client.get(f"/api/parcels/{not_mine['id']}", headers=me).status_code == 404
    own = env.client.get(f"/api/parcels/{mine['id']}", headers=me).json()
    assert set(own["pickup_code"]) <= ALPHABET
    waiting = env.client.get("/api/me/parcels", headers=me).json()
    assert [p["id"] for p in waiting["items"]] == [mine["id"]]
    listed = env.client.get(f"/api/sites/{env.site}/parcels", headers=env.auth("admin_a")).json()
    assert listed["total"] == 2 and {p["pickup_code"] for p in listed["items"]} == {None}
    pickup_pass = env.client.get("/api/me/pickup-pass", headers=me).json()
    assert [c["code"] for c in pickup_pass["codes"]] == [own["pickup_code"]]
    expires = datetime.fromisoformat(pickup_pass["expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    error(env.client.get("/api/me/pickup-pass", headers=env.auth("guard_a")), 403, "forbidden")


def test_the_demo_has_parcels_for_its_residents(sqlite_url: str, tmp_path: Path) -> None:
    from backend.services.demo import seed_demo

    settings = make_settings(tmp_path, sqlite_url, jobs_enabled=False)
    run_in_db(settings, lambda: seed_demo(settings))
    rows = run_in_db(settings, lambda: Parcel.all().select_related("unit"))
    assert len(rows) >= 3 and any(p.status == "picked_up" for p in rows)
    with running_app(settings) as client:
        token = login(client, "resident", "resident-demo-1")["token"]
        waiting = client.get("/api/me/parcels", headers=bearer(token)).json()
    assert waiting["total"] >= 1 and all(p["unit_label"] == "3-1-502" for p in waiting["items"])


def _received(items: list[Received]) -> list[str]:
    return [r.json()["kind"] for r in items]


def test_pending_deliveries_wait_for_the_sender(env: Env) -> None:
    env.subscribe("resident_a")
    env.parcel()
    assert env.push.received == []  # the request did not send anything itself
    assert env.db(lambda: NoticeDelivery.filter(status="pending").count()) == 1
    env.send()
    assert _received(env.push.received) == ["parcel.arrived"]
