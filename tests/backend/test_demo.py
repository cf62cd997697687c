"""`anbao demo`: what someone trying Anbao finds after `make run` — a round to walk whatever
the hour, labels to print, equipment to inspect, a night's duty log and an incident to handle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from backend.models.organizations import Site
from backend.models.patrol import Tour
from backend.services.rounds import schedule_of
from backend.services.schedules import slots
from backend.settings import Settings
from tests.support import bearer, login, make_settings, run_in_db, running_app


def _seeded(sqlite_url: str, tmp_path: Path) -> Settings:
    from backend.services.demo import seed_demo

    settings = make_settings(tmp_path, sqlite_url, jobs_enabled=False)
    run_in_db(settings, lambda: seed_demo(settings))
    return settings


def _signed_in(client: TestClient, user: str) -> tuple[dict[str, str], int]:
    out = login(client, user, f"{user}-demo-1")
    (site_id,) = {m["site"]["id"] for m in out["memberships"]}
    return bearer(out["token"]), site_id


def test_a_guard_of_either_demo_site_has_an_open_round_and_labelled_checkpoints(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = _seeded(sqlite_url, tmp_path)
    now = datetime.now(UTC)
    with running_app(settings) as client:
        for user in ("guard", "tower-guard"):
            auth, site_id = _signed_in(client, user)
            plan = client.get(f"/api/sites/{site_id}/patrol-plan", headers=auth).json()
            assert len(plan["checkpoints"]) >= 3
            # Every checkpoint has a QR label the admin can print and a guard can scan.
            assert {t["checkpoint_id"] for t in plan["tags"] if t["kind"] == "qr"} == {
                c["id"] for c in plan["checkpoints"]
            }
            open_now = [
                r
                for r in plan["rounds"]
                if datetime.fromisoformat(r["due_at"])
                <= now
                < datetime.fromisoformat(r["closes_at"])
            ]
            assert open_now, f"{user} has no round open now"


def test_the_demo_tours_leave_no_hour_of_any_day_without_an_open_round(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = _seeded(sqlite_url, tmp_path)

    async def tours() -> list[Tour]:
        return await Tour.all().select_related("site")

    found = run_in_db(settings, tours)
    by_site: dict[int, list[Tour]] = {}
    for tour in found:
        by_site.setdefault(tour.site_id, []).append(tour)
    assert len(by_site) == 2
    start = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday; the week around it
    for site_tours in by_site.values():
        site: Site = site_tours[0].site
        windows = [
            (s.due_at, s.closes_at)
            for t in site_tours
            for s in slots(
                schedule_of(t),
                ZoneInfo(site.timezone),
                start - timedelta(days=1),
                start + timedelta(days=8),
            )
        ]
        moment = start
        while moment < start + timedelta(days=7):
            assert any(a <= moment < b for a, b in windows), (
                f"{site.name}: nothing open at {moment}"
            )
            moment += timedelta(minutes=10)


def test_the_demo_community_has_equipment_a_duty_log_and_an_open_incident(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = _seeded(sqlite_url, tmp_path)
    with running_app(settings) as client:
        auth, site_id = _signed_in(client, "supervisor")
        equipment = client.get(f"/api/sites/{site_id}/fire-equipment", headers=auth).json()
        assert equipment["total"] >= 5
        assert {"extinguisher", "hydrant"} <= {e["type"] for e in equipment["items"]}
        log = client.get(f"/api/sites/{site_id}/duty-log", headers=auth).json()
        assert {e["category"] for e in log["items"]} >= {"handover", "patrol"}
        assert {e["author_name"] for e in log["items"]} >= {
            "王保安 Wang (guard)",
            "赵保安 Zhao (guard)",
        }
        found = client.get(f"/api/incidents?site_id={site_id}", headers=auth).json()
        assert [i["status"] for i in found["items"]] == ["open"]
        board = client.get(f"/api/sites/{site_id}/board", headers=auth).json()
        assert board["rounds_in_progress"], "the supervisor's board shows the round in progress"
        labels = client.get(f"/api/sites/{site_id}/labels.pdf", headers=auth)
        assert labels.status_code == 200 and labels.content.startswith(b"%PDF")
