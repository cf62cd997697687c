"""Tours and rounds on SQLite and PostgreSQL: generated from the schedule, filled by scans,
closed with every checkpoint done, late or missed."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.events import Event
from backend.models.patrol import Round
from backend.services.rounds import LATE_GRACE, close_rounds
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Any
    admin: dict[str, str]
    guard: dict[str, str]
    cps: list[int]
    codes: list[str]

    def tour(self, **extra: Any) -> Any:
        body = {
            "name": f"Night {uuid.uuid4().hex[:6]}",
            "days": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00",
            "end_time": "00:00",
            "every_minutes": 60,
            "window_minutes": 30,
            "stops": self.cps,
            **extra,
        }
        response = self.client.post(
            f"/api/sites/{self.world.a.site.id}/tours", headers=self.admin, json=body
        )
        assert response.status_code == 201, response.text
        return response.json()

    def rounds(self, headers: dict[str, str] | None = None) -> list[Any]:
        response = self.client.get(
            f"/api/sites/{self.world.a.site.id}/rounds",
            params={"hours_back": 3, "hours_ahead": 6},
            headers=headers or self.guard,
        )
        assert response.status_code == 200, response.text
        return list(response.json())

    def rounds_by_id(self) -> dict[int, Any]:
        return {r["id"]: r for r in self.rounds()}

    def scan(self, code: str, when: datetime, method: str = "qr") -> Any:
        response = self.client.post(
            f"/api/sites/{self.world.a.site.id}/scans",
            headers=self.guard,
            json={
                "id": str(uuid.uuid4()),
                "site_id": self.world.a.site.id,
                "method": method,
                "code": code,
                "client_time": when.isoformat(),
            },
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
        cps, codes = [], []
        for name in ("Gate", "Garage", "Roof"):
            cp = client.post(
                f"/api/sites/{site}/checkpoints", headers=admin, json={"name": name}
            ).json()["id"]
            cps.append(cp)
            codes.append(
                client.post(
                    f"/api/sites/{site}/tags",
                    headers=admin,
                    json={"kind": "qr", "checkpoint_id": cp},
                ).json()["identifier"]
            )
        yield Env(client, world, settings, admin, guard, cps, codes)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_new_tour_has_its_rounds_at_once_every_hour(env: Env) -> None:
    tour = env.tour()
    rounds = [r for r in env.rounds() if r["tour_id"] == tour["id"]]
    assert len(rounds) >= 5
    gaps = {at(b["due_at"]) - at(a["due_at"]) for a, b in itertools.pairwise(rounds)}
    assert gaps == {timedelta(hours=1)}
    assert all(at(r["closes_at"]) - at(r["due_at"]) == timedelta(minutes=30) for r in rounds)
    assert all(r["total"] == 3 and r["done"] == 0 for r in rounds)


def test_scans_fill_a_round_and_closing_marks_done_late_and_missed(env: Env) -> None:
    tour = env.tour()
    past = next(r for r in env.rounds() if r["tour_id"] == tour["id"])
    due, closes = at(past["due_at"]), at(past["closes_at"])
    env.scan(env.codes[0], due + timedelta(minutes=5))
    env.scan(env.codes[1], closes + timedelta(minutes=5))  # after the window, within grace
    run_in_db(env.settings, lambda: close_rounds(closes + LATE_GRACE + timedelta(seconds=1)))
    done = next(r for r in env.rounds() if r["id"] == past["id"])
    assert done["status"] == "closed"
    assert [s["status"] for s in done["stops"]] == ["done", "late", "missed"]
    assert done["done"] == 2 and done["stops"][0]["scan_id"]


def test_rejected_and_unreviewed_suspicious_scans_do_not_count(env: Env) -> None:
    tour = env.tour()
    rnd = next(r for r in env.rounds() if r["tour_id"] == tour["id"])
    t = at(rnd["due_at"]) + timedelta(minutes=1)
    env.scan("NO-SUCH-TAG", t)
    manual = env.scan(env.codes[0], t + timedelta(minutes=1), method="manual")
    assert manual["verdict"] == "suspicious"
    assert next(r for r in env.rounds() if r["id"] == rnd["id"])["done"] == 0
    sup = bearer(login(env.client, "supervisor_a", PASSWORD)["token"])
    env.client.post(f"/api/scans/{manual['id']}/review", headers=sup, json={"decision": "accepted"})
    after = next(r for r in env.rounds() if r["id"] == rnd["id"])
    assert [s["status"] for s in after["stops"]] == ["done", "pending", "pending"]


def test_a_fixed_order_tour_takes_checkpoints_in_order(env: Env) -> None:
    tour = env.tour(order="fixed")
    rnd = next(r for r in env.rounds() if r["tour_id"] == tour["id"])
    t = at(rnd["due_at"])
    env.scan(env.codes[1], t + timedelta(minutes=1))  # the garage before the gate
    assert next(r for r in env.rounds() if r["id"] == rnd["id"])["done"] == 0
    env.scan(env.codes[0], t + timedelta(minutes=4))
    env.scan(env.codes[1], t + timedelta(minutes=8))
    got = next(r for r in env.rounds() if r["id"] == rnd["id"])
    assert [s["status"] for s in got["stops"]] == ["done", "done", "pending"]


def test_start_and_end_a_round(env: Env) -> None:
    tour = env.tour(start_time="00:00", end_time="00:00", every_minutes=10, window_minutes=10)
    now = datetime.now(UTC)
    rounds = [r for r in env.rounds() if r["tour_id"] == tour["id"]]
    current = next(r for r in rounds if at(r["due_at"]) <= now < at(r["closes_at"]))
    future = next(r for r in rounds if at(r["due_at"]) > now + timedelta(minutes=30))
    late = env.client.post(f"/api/rounds/{future['id']}/start", headers=env.guard)
    assert late.status_code == 409
    started = env.client.post(f"/api/rounds/{current['id']}/start", headers=env.guard)
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    other = bearer(login(env.client, "guard2_a", PASSWORD)["token"])
    assert (
        env.client.post(
            f"/api/rounds/{current['id']}/end", headers=other, json={"reason": "mine now"}
        ).status_code
        == 403
    )
    no_reason = env.client.post(
        f"/api/rounds/{current['id']}/end", headers=env.guard, json={"reason": "  "}
    )
    assert no_reason.status_code == 422
    ended = env.client.post(
        f"/api/rounds/{current['id']}/end",
        headers=env.guard,
        json={"reason": "电梯困人，需要处理 person stuck in lift"},
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended_early"
    assert ended.json()["end_reason"].startswith("电梯困人")


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"days": [0]}, "days.0"),
        ({"days": [1, 1]}, "days"),
        ({"stops": []}, "stops"),
        ({"every_minutes": 1}, "every_minutes"),
        ({"start_time": "24:00"}, "start_time"),
        ({"stops": "foreign"}, "stops.0"),
    ],
)
def test_bad_tours_are_refused(env: Env, patch: dict[str, Any], field: str) -> None:
    if patch.get("stops") == "foreign":
        root = bearer(login(env.client, "root", PASSWORD)["token"])
        other = env.client.post(
            f"/api/sites/{env.world.b.site.id}/checkpoints",
            headers=root,
            json={"name": "Elsewhere"},
        ).json()["id"]
        patch = {"stops": [other]}
    body = {
        "name": "Bad",
        "days": [1],
        "start_time": "08:00",
        "end_time": "18:00",
        "every_minutes": 60,
        "window_minutes": 30,
        "stops": env.cps,
        **patch,
    }
    response = env.client.post(
        f"/api/sites/{env.world.a.site.id}/tours", headers=env.admin, json=body
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"][0]["field"] == field
    assert env.client.get(f"/api/sites/{env.world.a.site.id}/tours", headers=env.admin).json() == []


def test_a_hotspot_adds_rounds_over_a_zone_until_it_expires(env: Env) -> None:
    from backend.services.rounds import expire_hotspots, generate_rounds

    site = env.world.a.site.id
    zone = env.world.a.zone.id
    for cp in env.cps[:2]:
        env.client.patch(f"/api/checkpoints/{cp}", headers=env.admin, json={"zone_id": zone})
    sup = bearer(login(env.client, "supervisor_a", PASSWORD)["token"])
    made = env.client.post(
        f"/api/sites/{site}/hotspots",
        headers=sup,
        json={
            "zone_id": zone,
            "days": 3,
            "every_minutes": 30,
            "window_minutes": 20,
            "note": "resident complaint: loitering at the gate",
        },
    )
    assert made.status_code == 201, made.text
    hotspot = made.json()
    assert hotspot["stops"] == env.cps[:2] and hotspot["hotspot_zone_id"] == zone
    theirs = [r for r in env.rounds() if r["tour_id"] == hotspot["id"]]
    assert len(theirs) >= 10  # every half hour on the guards' schedule
    expires = at(hotspot["expires_at"])
    after = expires + timedelta(hours=1)
    assert run_in_db(env.settings, lambda: expire_hotspots(after)) == 1
    assert run_in_db(env.settings, lambda: generate_rounds(after, [hotspot["id"]])) == 0
    guard_try = env.client.post(
        f"/api/sites/{site}/hotspots", headers=env.guard, json={"zone_id": zone, "days": 1}
    )
    assert guard_try.status_code == 403
    empty_zone = env.client.post(
        f"/api/sites/{site}/zones", headers=env.admin, json={"name": "Empty"}
    ).json()["id"]
    refused = env.client.post(
        f"/api/sites/{site}/hotspots", headers=sup, json={"zone_id": empty_zone, "days": 1}
    )
    assert refused.json()["error"]["details"]["fields"][0]["code"] == "no_checkpoints"


def test_coverage_lists_checkpoints_no_tour_includes(env: Env) -> None:
    site = env.world.a.site.id
    before = env.client.get(f"/api/sites/{site}/patrol-coverage", headers=env.admin).json()
    assert before["checkpoints_in_no_tour"] == env.cps
    env.tour(stops=env.cps[:2])
    after = env.client.get(f"/api/sites/{site}/patrol-coverage", headers=env.admin).json()
    assert after["checkpoints_in_no_tour"] == env.cps[2:]


def test_checkpoints_cleared_faster_than_the_tour_allows_are_doubted(env: Env) -> None:
    tour = env.tour(min_spacing_seconds=120)
    rnd = next(r for r in env.rounds() if r["tour_id"] == tour["id"])
    t = at(rnd["due_at"])
    first = env.scan(env.codes[0], t + timedelta(minutes=1))
    hasty = env.scan(env.codes[1], t + timedelta(minutes=1, seconds=40))
    paced = env.scan(env.codes[2], t + timedelta(minutes=4))
    assert (first["verdict"], hasty["verdict"], paced["verdict"]) == (
        "valid",
        "suspicious",
        "valid",
    )
    assert hasty["reasons"] == ["too_soon"]
    got = next(r for r in env.rounds() if r["id"] == rnd["id"])
    assert [s["status"] for s in got["stops"]] == ["done", "pending", "done"]
    sup = bearer(login(env.client, "supervisor_a", PASSWORD)["token"])
    env.client.post(
        f"/api/scans/{hasty['id']}/review",
        headers=sup,
        json={"decision": "accepted", "note": "stairs are next to each other"},
    )
    got = next(r for r in env.rounds() if r["id"] == rnd["id"])
    assert [s["status"] for s in got["stops"]] == ["done", "done", "done"]


def test_a_scan_names_its_round_and_a_closed_round_refuses_only_scans_made_after_it(
    env: Env,
) -> None:
    tour = env.tour(every_minutes=10, window_minutes=30)  # rounds overlap
    first, second = [r for r in env.rounds() if r["tour_id"] == tour["id"]][:2]
    t = at(second["due_at"]) + timedelta(minutes=1)  # inside both windows

    def scan(code: str, when: datetime, round_id: int) -> Any:
        response = env.client.post(
            f"/api/sites/{env.world.a.site.id}/scans",
            headers=env.guard,
            json={
                "id": str(uuid.uuid4()),
                "site_id": env.world.a.site.id,
                "method": "qr",
                "code": code,
                "round_id": round_id,
                "client_time": when.isoformat(),
            },
        )
        return response

    made = scan(env.codes[0], t, second["id"])
    assert made.status_code == 201, made.text
    assert made.json()["verdict"] == "valid", made.json()
    rounds = {r["id"]: r for r in env.rounds()}
    assert rounds[second["id"]]["done"] == 1 and rounds[first["id"]]["done"] == 0
    closes = at(first["closes_at"])
    run_in_db(env.settings, lambda: close_rounds(closes + LATE_GRACE + timedelta(seconds=1)))
    # Made inside the first round's window, synced after the job closed it: it still counts.
    inside = scan(env.codes[1], t + timedelta(minutes=3), first["id"]).json()
    assert (inside["verdict"], inside["reasons"]) == ("valid", [])
    after = next(r for r in env.rounds() if r["id"] == first["id"])
    assert after["status"] == "closed"
    assert [s["status"] for s in after["stops"]] == ["missed", "done", "missed"]
    # Made after the window and its grace: refused, and kept as evidence.
    late = scan(env.codes[2], closes + LATE_GRACE + timedelta(minutes=1), first["id"]).json()
    assert (late["verdict"], late["reasons"]) == ("rejected", ["round_closed"])
    assert [s["status"] for s in env.rounds_by_id()[first["id"]]["stops"]] == [
        "missed",
        "done",
        "missed",
    ]
    unknown = scan(env.codes[1], t + timedelta(minutes=6), 999_999)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["fields"][0]["field"] == "round_id"


def test_the_patrol_plan_lets_a_phone_patrol_offline_without_printable_codes(env: Env) -> None:
    import hashlib

    site = env.world.a.site.id
    zone = env.world.a.zone.id
    checklist = [
        {"key": "door", "label": "消防门关闭 fire door closed", "kind": "check"},
        {"key": "remark", "label": "备注 note", "kind": "note"},
    ]
    env.client.patch(
        f"/api/checkpoints/{env.cps[0]}",
        headers=env.admin,
        json={"zone_id": zone, "checklist": checklist},
    )
    uid = env.client.post(
        f"/api/sites/{site}/tags",
        headers=env.admin,
        json={"kind": "nfc_uid", "checkpoint_id": env.cps[1], "identifier": "04:a1:b2:c3:d4:e5:f6"},
    ).json()["identifier"]
    tour = env.tour(order="fixed", min_spacing_seconds=60)
    sup = bearer(login(env.client, "supervisor_a", PASSWORD)["token"])
    hotspot = env.client.post(
        f"/api/sites/{site}/hotspots",
        headers=sup,
        json={"zone_id": zone, "days": 1, "every_minutes": 30},
    ).json()

    answer = env.client.get(
        f"/api/sites/{site}/patrol-plan", params={"hours_ahead": 3}, headers=env.guard
    )
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["site_id"] == site and plan["timezone"]
    by_id = {cp["id"]: cp for cp in plan["checkpoints"]}
    assert set(by_id) == set(env.cps)
    assert by_id[env.cps[0]]["zone_name"] == env.world.a.zone.name
    assert by_id[env.cps[0]]["checklist"] == checklist

    # No code a guard could print: only salted hashes the phone can match what it reads with.
    text = answer.text
    assert not [c for c in [*env.codes, uid] if c in text]
    salt = plan["salt"]

    def digest(kind: str, identifier: str) -> str:
        return hashlib.sha256(f"{salt}:{kind}:{identifier}".encode()).hexdigest()

    tags = {(t["kind"], t["hash"]): t["checkpoint_id"] for t in plan["tags"]}
    for code, cp in zip(env.codes, env.cps, strict=True):
        assert tags[("qr", digest("qr", code))] == cp
    assert tags[("nfc_uid", digest("nfc_uid", uid))] == env.cps[1]
    # A fresh salt each time: yesterday's hashes say nothing about today's.
    again = env.client.get(f"/api/sites/{site}/patrol-plan", headers=env.guard).json()
    assert again["salt"] != salt
    assert not {t["hash"] for t in again["tags"]} & {digest for _, digest in tags}

    tours = {t["id"]: t for t in plan["tours"]}
    assert tours[tour["id"]]["order"] == "fixed"
    assert tours[tour["id"]]["min_spacing_seconds"] == 60
    assert tours[hotspot["id"]]["hotspot_zone_id"] == zone
    rounds = plan["rounds"]
    assert {r["tour_id"] for r in rounds} == {tour["id"], hotspot["id"]}
    assert all(r["total"] == len(r["stops"]) for r in rounds)
    now = datetime.now(UTC)
    assert all(at(r["due_at"]) <= now + timedelta(hours=3) for r in rounds)
    assert any(at(r["due_at"]) <= now < at(r["closes_at"]) for r in rounds)
    assert plan["my_scans"] == []


def test_the_plan_tells_the_guard_how_their_scans_were_judged_and_reviewed(env: Env) -> None:
    site = env.world.a.site.id
    now = datetime.now(UTC)
    typed = env.scan(env.codes[0], now - timedelta(minutes=3), method="manual")
    valid = env.scan(env.codes[1], now - timedelta(minutes=1))
    sup = bearer(login(env.client, "supervisor_a", PASSWORD)["token"])
    env.client.post(f"/api/scans/{typed['id']}/review", headers=sup, json={"decision": "rejected"})
    mine = env.client.get(f"/api/sites/{site}/patrol-plan", headers=env.guard).json()["my_scans"]
    assert [(s["id"], s["verdict"], s["review"]) for s in mine] == [
        (valid["id"], "valid", "none"),
        (typed["id"], "suspicious", "rejected"),
    ]
    other = bearer(login(env.client, "guard2_a", PASSWORD)["token"])
    theirs = env.client.get(f"/api/sites/{site}/patrol-plan", headers=other).json()
    assert theirs["my_scans"] == []


def test_the_plan_leaves_out_inactive_tags_and_checkpoints(env: Env) -> None:
    site = env.world.a.site.id
    env.client.patch(f"/api/checkpoints/{env.cps[2]}", headers=env.admin, json={"is_active": False})
    plan = env.client.get(f"/api/sites/{site}/patrol-plan", headers=env.guard).json()
    assert [cp["name"] for cp in plan["checkpoints"]] == ["Garage", "Gate"]
    assert {t["checkpoint_id"] for t in plan["tags"]} == set(env.cps[:2])
    bad = env.client.get(
        f"/api/sites/{site}/patrol-plan", params={"hours_ahead": 99}, headers=env.guard
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "hours_ahead"


# --- a round started, walked and ended offline, synced later --------------------------------


@contextmanager
def heard(client: TestClient, site_id: int) -> Iterator[Callable[[], list[Event]]]:
    """The app's live events for a site, as a board listening to it would get them."""
    listen = client.app.state.bus.listen(site_id)  # type: ignore[attr-defined]
    portal = client.portal
    assert portal is not None
    queue = portal.call(listen.__aenter__)

    def drain() -> list[Event]:
        events = []
        while not queue.empty():
            events.append(queue.get_nowait())
        return events

    try:
        yield drain
    finally:
        portal.call(listen.__aexit__, None, None, None)


@dataclass
class Phone:
    env: Env
    headers: dict[str, str]
    uid: str

    def push(self, *mutations: tuple[str, dict[str, Any], datetime]) -> list[Any]:
        """Push (name, args, client_time) mutations; answers their results."""
        body = {
            "device_id": self.uid,
            "mutations": [
                {"id": str(uuid.uuid4()), "name": n, "args": a, "client_time": t.isoformat()}
                for n, a, t in mutations
            ],
        }
        answer = self.env.client.post(
            "/api/sync/push", json=body, headers={**self.headers, "Accept-Language": "en"}
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json()["results"])


def phone(env: Env, username: str = "guard_a") -> Phone:
    uid = str(uuid.uuid4())
    data = login(env.client, username, PASSWORD, device={"uid": uid, "name": username})
    return Phone(env, bearer(data["token"]), uid)


def open_now(env: Env, tour: dict[str, Any]) -> dict[str, Any]:
    """The round of `tour` whose window holds now."""
    now = datetime.now(UTC)
    return next(
        r
        for r in env.rounds()
        if r["tour_id"] == tour["id"] and at(r["due_at"]) <= now < at(r["closes_at"])
    )


def test_a_round_started_and_ended_offline_keeps_the_phones_times(env: Env) -> None:
    tour = env.tour(every_minutes=60, window_minutes=120)
    rnd = open_now(env, tour)
    site = env.world.a.site.id
    guard = phone(env)
    now = datetime.now(UTC)
    started_at, ended_at = now - timedelta(minutes=2), now - timedelta(seconds=30)
    args = {"round_id": rnd["id"], "site_id": site}
    with heard(env.client, site) as events:
        start, scan, end = guard.push(
            ("patrol.start_round", args, started_at),
            (
                "patrol.scan",
                {"id": str(uuid.uuid4()), "site_id": site, "method": "qr", "code": env.codes[0]}
                | {"round_id": rnd["id"]},
                now - timedelta(minutes=1),
            ),
            ("patrol.end_round", {**args, "reason": "暴雨，B1 进水 flooding in B1"}, ended_at),
        )
        names = [e.name for e in events()]
    assert [r["status"] for r in (start, scan, end)] == ["applied"] * 3
    assert start["data"]["status"] == "in_progress"
    assert start["data"]["guard_id"] == env.world.a.users["guard"].id
    assert end["data"]["status"] == "ended_early"
    assert [s["status"] for s in end["data"]["stops"]] == ["done", "pending", "pending"]
    assert names == ["round.started", "scan.recorded", "round.ended_early"]
    stored = run_in_db(env.settings, lambda: Round.get(id=rnd["id"]))
    assert stored.started_at == started_at and stored.ended_at == ended_at
    assert stored.end_reason.startswith("暴雨")
    # The same start pushed again (its answer was lost) is a duplicate and changes nothing.
    again = env.client.post(
        "/api/sync/push",
        json={
            "device_id": guard.uid,
            "mutations": [
                {
                    "id": start["id"],
                    "name": "patrol.start_round",
                    "args": args,
                    "client_time": started_at.isoformat(),
                }
            ],
        },
        headers=guard.headers,
    ).json()["results"]
    assert again[0]["status"] == "duplicate"
    assert run_in_db(env.settings, lambda: Round.get(id=rnd["id"])).status.value == "ended_early"


def test_round_mutations_are_refused_like_the_api_refuses_them(env: Env) -> None:
    tour = env.tour(every_minutes=60, window_minutes=120)
    rnd = open_now(env, tour)
    later = next(
        r
        for r in env.rounds()
        if r["tour_id"] == tour["id"] and at(r["due_at"]) > datetime.now(UTC) + timedelta(hours=1)
    )
    site = env.world.a.site.id
    guard = phone(env)
    now = datetime.now(UTC)
    args = {"round_id": rnd["id"], "site_id": site}
    results = guard.push(
        # A phone clock ten minutes ahead of the server's (the allowed skew is five).
        ("patrol.start_round", args, now + timedelta(minutes=10)),
        # Before the round may be started.
        ("patrol.start_round", {**args, "round_id": later["id"]}, now),
        # The round named at another site than its own, and at a site of another's.
        ("patrol.start_round", {**args, "site_id": env.world.b.site.id}, now),
        ("patrol.end_round", {**args, "reason": ""}, now),
        ("patrol.end_round", {**args, "reason": "not started"}, now),
        ("patrol.start_round", {**args, "round_id": 999_999}, now),
    )
    assert [(r["status"], r["code"]) for r in results] == [
        ("rejected", "validation_failed"),
        ("rejected", "invalid_state"),
        ("rejected", "not_found"),
        ("rejected", "validation_failed"),
        ("rejected", "invalid_state"),
        ("rejected", "not_found"),
    ]
    assert results[0]["details"]["fields"][0] == {
        "field": "client_time",
        "code": "in_future",
        "message": "This time is later than now: the phone's clock is probably wrong.",
    }
    assert at(results[1]["details"]["due_at"]) == at(later["due_at"])
    assert results[3]["details"]["fields"][0]["field"] == "reason"
    assert run_in_db(env.settings, lambda: Round.get(id=rnd["id"])).status.value == "scheduled"

    # A clock a little ahead (within the skew) starts it at the server's time, not later.
    mine = guard.push(("patrol.start_round", args, now + timedelta(minutes=2)))[0]
    assert mine["status"] == "applied"
    started = run_in_db(env.settings, lambda: Round.get(id=rnd["id"])).started_at
    assert now <= started <= datetime.now(UTC)
    # Another guard can neither start it nor end it; a resident is no guard at all.
    other = phone(env, "guard2_a").push(
        ("patrol.start_round", args, now), ("patrol.end_round", {**args, "reason": "x"}, now)
    )
    assert [(r["status"], r["code"]) for r in other] == [
        ("rejected", "invalid_state"),
        ("rejected", "forbidden"),
    ]
    resident = phone(env, "resident_a").push(("patrol.start_round", args, now))
    assert resident[0]["code"] == "forbidden"
    # Starting a round one walks already changes nothing (a second phone, a double tap).
    assert guard.push(("patrol.start_round", args, now))[0]["status"] == "applied"
    assert run_in_db(env.settings, lambda: Round.get(id=rnd["id"])).started_at == started


def test_a_round_walked_offline_counts_though_the_job_closed_it_before_the_phone_synced(
    env: Env,
) -> None:
    tour = env.tour(every_minutes=60, window_minutes=120)
    rnd = open_now(env, tour)
    site = env.world.a.site.id
    closes = at(rnd["closes_at"])
    now = datetime.now(UTC)
    # The phone was in the basement; the closing job ran meanwhile: every stop missed.
    closed = run_in_db(
        env.settings, lambda: close_rounds(closes + LATE_GRACE + timedelta(seconds=1))
    )
    assert rnd["id"] in {r.id for r in closed}
    assert {s["status"] for s in env.rounds_by_id()[rnd["id"]]["stops"]} == {"missed"}

    def scan(code: str) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "site_id": site,
            "method": "qr",
            "code": code,
            "round_id": rnd["id"],
        }

    args = {"round_id": rnd["id"], "site_id": site}
    guard = phone(env)
    with heard(env.client, site) as events:
        results = guard.push(
            ("patrol.start_round", args, now - timedelta(minutes=3)),
            ("patrol.scan", scan(env.codes[0]), now - timedelta(minutes=2)),
            ("patrol.scan", scan(env.codes[1]), now - timedelta(minutes=1)),
            ("patrol.end_round", {**args, "reason": "对讲机呼叫 called away"}, now),
        )
        heard_now = events()
    assert [r["status"] for r in results] == ["applied"] * 4
    assert [r["data"]["verdict"] for r in results[1:3]] == ["valid", "valid"]
    after = env.rounds_by_id()[rnd["id"]]
    assert after["status"] == "closed" and after["end_reason"].startswith("对讲机")
    assert after["guard_id"] == env.world.a.users["guard"].id
    assert [s["status"] for s in after["stops"]] == ["done", "done", "missed"]
    assert after["done"] == 2
    # The board hears that the closed round changed, with its stops as they are now.
    updates = [e for e in heard_now if e.name == "round.updated"]
    assert [[s["status"] for s in e.data["stops"]] for e in updates] == [
        ["done", "missed", "missed"],
        ["done", "done", "missed"],
    ]
    assert {e.data["id"] for e in updates} == {rnd["id"]}

    # Scanned within the late grace after the window: late. After it: refused, not counted.
    grace = guard.push(
        ("patrol.scan", scan(env.codes[2]), closes + LATE_GRACE - timedelta(minutes=1)),
        ("patrol.scan", scan(env.codes[2]), closes + LATE_GRACE + timedelta(minutes=5)),
    )
    assert grace[0]["data"]["verdict"] == "valid"
    assert (grace[1]["data"]["verdict"], grace[1]["data"]["reasons"]) == (
        "rejected",
        ["round_closed"],
    )
    assert [s["status"] for s in env.rounds_by_id()[rnd["id"]]["stops"]] == ["done", "done", "late"]
