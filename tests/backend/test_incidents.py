"""Incident reports on SQLite and PostgreSQL: reported online and through sync (photos first,
idempotent by id), refused cleanly with nothing written, the supervisor's workflow with its
timeline and audit, filters, high-severity alerts on the board and to supervisors, the PDF."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from starlette.testclient import TestClient

from backend.models.incidents import Incident, IncidentPhoto, TimelineEntry
from backend.models.notices import Notice
from backend.models.patrol import Checkpoint
from backend.models.sync import Change
from backend.models.users import User
from backend.services.board import board
from backend.services.permissions import Actor, load_roles
from backend.settings import Settings
from tests.backend.test_images import photo_bytes
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Settings
    tokens: dict[str, dict[str, str]]

    def who(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = bearer(login(self.client, username, PASSWORD)["token"])
        return {**self.tokens[username], "Accept-Language": "en"}

    def photo(self, username: str, width: int = 1200, height: int = 900, **kw: Any) -> str:
        data = photo_bytes(width, height, **kw)
        name = hashlib.sha256(data).hexdigest()
        answer = self.client.put(f"/api/media/{name}", content=data, headers=self.who(username))
        assert answer.status_code in (200, 201), answer.text
        return name

    def report(self, username: str, site_id: int | None = None, **fields: Any) -> Any:
        body = {
            "id": str(uuid.uuid4()),
            "type": "theft",
            "severity": "medium",
            "description": "3号楼车棚一辆电动车被盗，锁被剪断。",
            **fields,
        }
        site = site_id if site_id is not None else self.world.a.site.id
        return self.client.post(
            f"/api/sites/{site}/incidents", json=body, headers=self.who(username)
        )

    def count(self, model: Any, **filters: Any) -> int:
        return int(run_in_db(self.settings, lambda: model.filter(**filters).count()))


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path, database_url, jobs_enabled=False)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield Env(client, world, settings, {})


def _written(env: Env) -> tuple[int, int, int, int]:
    return (
        env.count(Incident),
        env.count(IncidentPhoto),
        env.count(TimelineEntry),
        env.count(Change, entity="incident"),
    )


def test_a_guard_reports_with_three_photos(env: Env) -> None:
    photos = [env.photo("guard_a", 1200 + i, 900, orientation=6) for i in range(3)]
    cp = run_in_db(
        env.settings,
        lambda: Checkpoint.create(site=env.world.a.site, zone=env.world.a.zone, name="车棚"),
    )
    when = datetime.now(UTC) - timedelta(minutes=7)
    answer = env.report(
        "guard_a",
        checkpoint_id=cp.id,
        place="3号楼车棚",
        latitude=31.23,
        longitude=121.47,
        photos=photos,
        client_time=when.isoformat(),
    )
    assert answer.status_code == 201, answer.text
    incident = answer.json()
    assert incident["status"] == "open" and incident["reporter_name"] == "Guard_A"
    assert incident["zone_id"] == env.world.a.zone.id  # the checkpoint's zone
    assert [p["sha256"] for p in incident["photos"]] == photos
    assert [p["position"] for p in incident["photos"]] == [1, 2, 3]
    assert (incident["photos"][0]["width"], incident["photos"][0]["height"]) == (1200, 900)
    assert datetime.fromisoformat(incident["reported_at"]) == when
    detail = env.client.get(f"/api/incidents/{incident['id']}", headers=env.who("guard2_a")).json()
    assert [(e["kind"], e["actor_name"]) for e in detail["timeline"]] == [("reported", "Guard_A")]
    assert detail["timeline"][0]["data"]["photos"] == photos
    # The other guard on duty sees the photos of the report, at their own site only.
    thumb = env.client.get(incident["photos"][0]["thumb_url"], headers=env.who("guard2_a"))
    assert thumb.status_code == 200
    assert (
        env.client.get(f"/api/incidents/{incident['id']}", headers=env.who("guard_b")).status_code
        == 404
    )
    assert (
        env.client.get(
            f"/api/incidents/{incident['id']}", headers=env.who("resident_a")
        ).status_code
        == 403
    )
    # The same report again (a retry after a lost answer): the same incident, nothing new.
    before = _written(env)
    again = env.client.post(
        f"/api/sites/{env.world.a.site.id}/incidents",
        json={
            "id": incident["id"],
            "type": "theft",
            "severity": "medium",
            "description": "retry",
            "photos": photos,
        },
        headers=env.who("guard_a"),
    )
    assert again.status_code == 201 and again.json()["description"] == incident["description"]
    assert _written(env) == before == (1, 3, 1, 1)
    # Someone else reusing that id is refused.
    theft = env.client.post(
        f"/api/sites/{env.world.a.site.id}/incidents",
        json={"id": incident["id"], "type": "other", "severity": "low", "description": "x"},
        headers=env.who("guard2_a"),
    )
    assert theft.status_code == 409 and theft.json()["error"]["code"] == "mutation_id_conflict"


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"photos": ["a" * 64]}, 422, "media_missing", None),
        ({"photos": ["not-a-hash"]}, 422, "validation_failed", "photos.0"),
        ({"photos": [f"{i:064x}" for i in range(11)]}, 422, "validation_failed", "photos"),
        ({"zone_id": "other-site-zone"}, 422, "validation_failed", "zone_id"),
        ({"checkpoint_id": 999_999}, 422, "validation_failed", "checkpoint_id"),
        ({"latitude": 31.2}, 422, "validation_failed", "body"),
        ({"type": "alien_landing"}, 422, "validation_failed", "type"),
        ({"severity": "apocalyptic"}, 422, "validation_failed", "severity"),
        ({"description": "   "}, 422, "validation_failed", "description"),
        ({"client_time": "2026-11-24T10:00:00"}, 422, "validation_failed", "client_time"),
        ({"surprise": 1}, 422, "validation_failed", "surprise"),
    ],
)
def test_bad_reports_are_refused_with_nothing_written(
    env: Env, fields: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    if fields.get("zone_id") == "other-site-zone":
        fields = {"zone_id": env.world.b.zone.id}
    good = env.photo("guard_a")
    if code == "media_missing":
        fields = {"photos": [good, *fields["photos"]]}
    answer = env.report("guard_a", **fields)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert field in [f["field"] for f in error["details"]["fields"]]
    if code == "media_missing":
        assert error["details"]["missing"] == ["a" * 64]
        assert error["message"].startswith("Some photos have not reached the server")
    assert _written(env) == (0, 0, 0, 0)


def test_the_workflow_with_its_timeline_and_audit(env: Env) -> None:
    incident = env.report("guard_a", severity="low").json()
    url = f"/api/incidents/{incident['id']}"
    sup, guard = env.who("supervisor_a"), env.who("guard_a")
    guard2 = env.world.a.users["guard2"].id

    def step(action: str, who: dict[str, str], **body: Any) -> Any:
        return env.client.post(f"{url}/{action}", json=body, headers=who)

    assert step("assign", guard, assignee_id=guard2).status_code == 403
    assert step("close", sup).json()["error"]["code"] == "invalid_state"  # not resolved yet
    assert step("reopen", sup, reason="x").status_code == 409
    # Only staff of the site can be assigned.
    for nobody in (env.world.a.users["resident"].id, env.world.b.users["guard"].id, 999_999):
        refused = step("assign", sup, assignee_id=nobody)
        assert (
            refused.status_code == 422
            and refused.json()["error"]["details"]["fields"][0]["field"] == "assignee_id"
        )
    assigned = step("assign", sup, assignee_id=guard2, note="请去看一下")
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert assigned.json()["assignee_name"] == "Guard2_A"
    commented = env.client.post(f"{url}/comments", json={"text": "已到场，锁被剪断"}, headers=guard)
    assert commented.status_code == 201
    assert step("resolve", sup, note="已报警，派出所已备案").json()["status"] == "resolved"
    conflict = step("assign", sup, assignee_id=guard2)
    assert conflict.status_code == 409 and conflict.json()["error"]["details"] == {
        "status": "resolved"
    }
    assert step("close", sup).json()["status"] == "closed"
    late = env.client.post(f"{url}/photos", json={"photos": [env.photo("guard_a")]}, headers=guard)
    assert late.status_code == 409  # closed: reopen first
    assert step("reopen", sup, reason="").status_code == 422  # a reason is required
    reopened = step("reopen", sup, reason="车主说还丢了头盔").json()
    assert reopened["status"] == "open" and reopened["assignee_id"] is None
    timeline = [(e["kind"], e["actor_name"], e["text"]) for e in reopened["timeline"]]
    assert timeline == [
        ("reported", "Guard_A", ""),
        ("assigned", "Supervisor_A", "请去看一下"),
        ("comment", "Guard_A", "已到场，锁被剪断"),
        ("resolved", "Supervisor_A", "已报警，派出所已备案"),
        ("closed", "Supervisor_A", ""),
        ("reopened", "Supervisor_A", "车主说还丢了头盔"),
    ]
    assert reopened["timeline"][1]["data"] == {
        "from": "open",
        "to": "assigned",
        "assignee_id": guard2,
        "assignee_name": "Guard2_A",
    }
    audit = env.client.get(
        f"/api/sites/{env.world.a.site.id}/audit?action=incident", headers=sup
    ).json()["items"]
    assert [a["action"] for a in reversed(audit)] == [
        "incident.assign",
        "incident.resolve",
        "incident.close",
        "incident.reopen",
    ]
    assert audit[0]["before"] == {"status": "closed", "assignee_id": guard2}


def test_the_timeline_is_append_only(env: Env) -> None:
    env.report("guard_a")

    async def tamper() -> None:
        entry = await TimelineEntry.first()
        assert entry is not None
        entry.text = "nothing happened"
        with pytest.raises(PermissionError):
            await entry.save()
        with pytest.raises(PermissionError):
            await entry.delete()

    run_in_db(env.settings, tamper)


def test_photos_added_later_up_to_ten(env: Env) -> None:
    first = [env.photo("guard_a", 400 + i, 300) for i in range(4)]
    incident = env.report("guard_a", photos=first).json()
    url = f"/api/incidents/{incident['id']}/photos"
    later = [env.photo("guard2_a", 500 + i, 300) for i in range(6)]
    # Photos someone else sent cannot be added by this guard.
    borrowed = env.client.post(url, json={"photos": later[:1]}, headers=env.who("guard_a"))
    assert borrowed.status_code == 422 and borrowed.json()["error"]["code"] == "media_missing"
    added = env.client.post(url, json={"photos": [first[0], *later]}, headers=env.who("guard2_a"))
    assert added.status_code == 200, added.text
    body = added.json()
    assert [p["sha256"] for p in body["photos"]] == first + later
    assert body["timeline"][-1]["kind"] == "photos_added"
    assert body["timeline"][-1]["data"] == {"photos": later}
    eleventh = env.client.post(
        url, json={"photos": [env.photo("guard2_a", 77, 77)]}, headers=env.who("guard2_a")
    )
    assert eleventh.status_code == 422
    assert eleventh.json()["error"]["details"]["fields"][0]["code"] == "too_many_photos"
    assert env.count(IncidentPhoto) == 10


def test_list_filters_and_paging(env: Env) -> None:
    b = env.world.b.site.id
    now = datetime.now(UTC)
    made = {}
    for i, (kind, severity, days_ago) in enumerate(
        [
            ("theft", "high", 0),
            ("fire_hazard", "critical", 1),
            ("noise_complaint", "low", 2),
            ("facility_fault", "medium", 3),
            ("medical", "high", 9),
        ]
    ):
        made[kind] = env.report(
            "guard_a",
            type=kind,
            severity=severity,
            zone_id=env.world.a.zone.id if i % 2 == 0 else None,
            client_time=(now - timedelta(days=days_ago)).isoformat(),
        ).json()["id"]
    env.report("guard_b", b, type="theft", severity="high")
    sup = env.who("supervisor_a")
    env.client.post(f"/api/incidents/{made['theft']}/resolve", json={}, headers=sup)

    def ids(**params: Any) -> list[str]:
        answer = env.client.get("/api/incidents", params=params, headers=sup)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]]

    assert ids() == [
        made[k] for k in ("theft", "fire_hazard", "noise_complaint", "facility_fault", "medical")
    ]
    assert ids(severity="high,critical") == [made["theft"], made["fire_hazard"], made["medical"]]
    assert ids(severity="high,critical", status="open,assigned") == [
        made["fire_hazard"],
        made["medical"],
    ]
    assert ids(type="medical") == [made["medical"]]
    assert ids(zone_id=env.world.a.zone.id) == [
        made["theft"],
        made["noise_complaint"],
        made["medical"],
    ]
    since = (now - timedelta(days=2, hours=1)).isoformat()
    until = (now - timedelta(hours=12)).isoformat()
    assert ids(since=since, until=until) == [made["fire_hazard"], made["noise_complaint"]]
    beijing = timezone(timedelta(hours=8))  # the same moments written in +08:00
    in_beijing = {
        k: datetime.fromisoformat(v).astimezone(beijing).isoformat()
        for k, v in {"since": since, "until": until}.items()
    }
    assert ids(**in_beijing) == [made["fire_hazard"], made["noise_complaint"]]
    assert ids(q="电动车", limit=2, offset=1) == [made["fire_hazard"], made["noise_complaint"]]
    page = env.client.get("/api/incidents", params={"limit": 2}, headers=sup).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert env.client.get("/api/incidents", params={"site_id": b}, headers=sup).status_code == 404
    for bad in ({"severity": "urgent"}, {"status": "done"}, {"since": "yesterday"}):
        refused = env.client.get("/api/incidents", params=bad, headers=sup)
        assert refused.status_code == 422, bad
    assert env.client.get("/api/incidents", headers=env.who("resident_a")).status_code == 403
    everything = env.client.get("/api/incidents", headers=env.who("root")).json()
    assert everything["total"] == 6


def test_sync_reports_photos_first_exactly_once(env: Env) -> None:
    uid = str(uuid.uuid4())
    token = login(env.client, "guard_a", PASSWORD, device={"uid": uid, "name": "phone"})["token"]
    phone = bearer(token)
    site = env.world.a.site.id
    photos = [env.photo("guard_a", 600 + i, 450) for i in range(3)]
    never = hashlib.sha256(b"never uploaded").hexdigest()
    incident_id = str(uuid.uuid4())

    def mutation(name: str, **args: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "name": name,
            "args": args,
            "client_time": datetime.now(UTC).isoformat(),
        }

    def push(*mutations: dict[str, Any]) -> list[dict[str, Any]]:
        answer = env.client.post(
            "/api/sync/push",
            json={"device_id": uid, "mutations": list(mutations)},
            headers={**phone, "Accept-Language": "en"},
        )
        assert answer.status_code == 200, answer.text
        results: list[dict[str, Any]] = answer.json()["results"]
        return results

    report = dict(
        id=incident_id,
        site_id=site,
        type="suspicious_person",
        severity="medium",
        description="B2 车库有人反复试拉车门",
    )
    # Sent before its fourth photo was up: rejected, kept as rejected, nothing written.
    early = mutation("incident.report", **report, photos=[*photos, never])
    (rejected,) = push(early)
    assert rejected["status"] == "rejected" and rejected["code"] == "media_missing"
    assert rejected["details"]["missing"] == [never]
    assert _written(env) == (0, 0, 0, 0)
    # The phone sends it again under a new mutation id, with the photos it has; then the
    # network drops the answer and the phone replays the same batch.
    good = mutation("incident.report", **report, photos=photos)
    comment = mutation("incident.comment", incident_id=incident_id, text="人已离开")
    first = push(good, comment)
    assert [r["status"] for r in first] == ["applied", "applied"]
    assert [p["sha256"] for p in first[0]["data"]["photos"]] == photos
    replay = push(good, comment)
    assert [r["status"] for r in replay] == ["duplicate", "duplicate"]
    # And a second copy of the report under yet another mutation id: still one incident.
    (copy,) = push(mutation("incident.report", **report, photos=photos))
    assert copy["status"] == "applied" and copy["data"]["id"] == incident_id
    assert _written(env)[:3] == (1, 3, 2)
    more = [env.photo("guard_a", 300, 300 + i) for i in range(2)]
    (added,) = push(mutation("incident.add_photos", incident_id=incident_id, photos=more))
    assert added["status"] == "applied" and len(added["data"]["photos"]) == 5
    # The other guard's phone pulls it.
    other = bearer(login(env.client, "guard2_a", PASSWORD)["token"])
    pulled = env.client.get("/api/sync/pull", headers=other).json()["changes"]
    mine = [c for c in pulled if c["entity"] == "incident"]
    assert {c["id"] for c in mine} == {incident_id}
    assert len(mine[-1]["data"]["photos"]) == 5
    foreign = bearer(login(env.client, "guard_b", PASSWORD)["token"])
    assert not [
        c
        for c in env.client.get("/api/sync/pull", headers=foreign).json()["changes"]
        if c["entity"] == "incident"
    ]


def test_high_severity_alerts_supervisors_and_stays_on_the_board(env: Env) -> None:
    site = env.world.a.site.id
    events: list[tuple[str, str]] = []
    opened = threading.Event()

    def listen() -> None:
        with env.client.stream(
            "GET", f"/api/sites/{site}/events", headers=env.who("supervisor_a")
        ) as stream:
            name = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, line[6:]))
                    opened.set()
                    if name == "incident.reported" and '"critical"' in line:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10)
    low = env.report("guard_a", severity="low", type="noise_complaint").json()
    fire = env.report(
        "guard_a", severity="critical", type="fire_hazard", place="5号楼 消防通道堵塞"
    ).json()
    listener.join(10)
    assert [n for n, _ in events] == ["hello", "incident.reported", "incident.reported"]
    assert fire["id"] in events[2][1] and low["id"] in events[1][1]
    # One alert queued for the site's supervisor (who keeps alerts on), none for the low one.
    alerts = run_in_db(env.settings, lambda: Notice.filter(kind="alert.incident").all())
    assert [(n.user_id, n.ref) for n in alerts] == [
        (env.world.a.users["supervisor"].id, f"incident:{fire['id']}")
    ]
    assert "消防通道" in alerts[0].payload["body"] or "5号楼" in alerts[0].payload["body"]

    async def on_board() -> list[str]:
        user = await User.get(username="supervisor_a")
        actor = Actor(user=user, roles=await load_roles(user))
        return [str(i.id) for i in (await board(actor, site, datetime.now(UTC))).incidents]

    assert run_in_db(env.settings, on_board) == [fire["id"]]
    env.client.post(
        f"/api/incidents/{fire['id']}/resolve",
        json={"note": "已清理"},
        headers=env.who("supervisor_a"),
    )
    assert run_in_db(env.settings, on_board) == []


def _pdf_text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    images = sum(len(page.images) for page in reader.pages)
    return text, images


def test_the_pdf_has_the_photos_the_timeline_and_chinese_text(env: Env) -> None:
    photos = [
        env.photo("guard_a", 1600 - 200 * i, 1200, orientation=1 + 5 * (i % 2)) for i in range(3)
    ]
    incident = env.report("guard_a", photos=photos, place="3号楼车棚").json()
    sup = env.who("supervisor_a")
    env.client.post(
        f"/api/incidents/{incident['id']}/assign",
        json={"assignee_id": env.world.a.users["guard2"].id},
        headers=sup,
    )
    answer = env.client.get(
        f"/api/incidents/{incident['id']}.pdf", headers={**sup, "Accept-Language": "zh-CN"}
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text, images = _pdf_text(answer.content)
    flat = text.replace("\n", "")
    assert images == 3
    for expected in (
        "事件报告",
        "盗窃",
        "已指派",
        "电动车被盗",
        "3号楼车棚",
        "指派给 Guard2_A",
        "Site A",
    ):
        assert expected in flat, expected
    for name in photos:
        assert name in flat, "each photo's SHA-256 is printed"
    english = env.client.get(
        f"/api/incidents/{incident['id']}.pdf", headers={**sup, "Accept-Language": "en"}
    )
    text_en, _ = _pdf_text(english.content)
    assert "Incident report" in text_en and "Theft" in text_en
    assert (
        env.client.get(
            f"/api/incidents/{incident['id']}.pdf", headers=env.who("guard_a")
        ).status_code
        == 403
    )
