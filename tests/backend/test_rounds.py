"""Tours and rounds on SQLite and PostgreSQL: generated from the schedule, filled by scans,
closed with every checkpoint done, late or missed."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

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
    from datetime import UTC

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


def test_a_scan_names_its_round_and_a_closed_round_refuses_it(env: Env) -> None:
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
    late = scan(env.codes[1], t + timedelta(minutes=3), first["id"]).json()
    assert (late["verdict"], late["reasons"]) == ("rejected", ["round_closed"])
    unknown = scan(env.codes[1], t + timedelta(minutes=6), 999_999)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["fields"][0]["field"] == "round_id"
