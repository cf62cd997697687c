"""The sync protocol at the HTTP level, on SQLite and PostgreSQL: exactly once, in order,
rejections isolated and kept, pull by cursor with paging, visibility and reset."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.models.duty_log import DutyLogEntry
from backend.models.sync import AppliedMutation, Change, ChangeOp
from backend.services.changes import compact, record_change
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@dataclass
class Phone:
    token: str
    uid: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Any

    def phone(self, username: str) -> Phone:
        uid = str(uuid.uuid4())
        data = login(self.client, username, PASSWORD, device={"uid": uid, "name": username})
        return Phone(data["token"], uid)

    def push(self, phone: Phone, mutations: list[dict[str, Any]], **extra: Any) -> Any:
        return self.client.post(
            "/api/sync/push",
            json={"device_id": phone.uid, "mutations": mutations, **extra},
            headers={**phone.headers, "Accept-Language": "en"},
        )

    def pull(self, phone: Phone, cursor: str = "", **params: Any) -> Any:
        response = self.client.get(
            "/api/sync/pull", params={"cursor": cursor, **params}, headers=phone.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def count(self, model: Any) -> int:
        return int(run_in_db(self.settings, lambda: model.all().count()))


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path, database_url, sync_max_batch=50, sync_page_size=20)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield Env(client, world, settings)


def entry(site_id: int, text: str, **args: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": "duty_log.add",
        "args": {"id": str(uuid.uuid4()), "site_id": site_id, "text": text, **args},
        "client_time": datetime.now(UTC).isoformat(),
    }


def test_push_applies_once_and_a_replay_writes_nothing(env: Env) -> None:
    guard = env.phone("guard_a")
    batch = [entry(env.world.a.site.id, f"Round {i}: all quiet") for i in range(10)]
    first = env.push(guard, batch)
    assert first.status_code == 200
    results = first.json()["results"]
    assert [r["id"] for r in results] == [m["id"] for m in batch]  # one result each, in order
    assert {r["status"] for r in results} == {"applied"}
    assert results[0]["data"]["author_name"] == "Guard_A"
    assert env.count(DutyLogEntry) == 10
    again = env.push(guard, batch).json()["results"]
    assert {r["status"] for r in again} == {"duplicate"}
    assert [r["data"] for r in again] == [r["data"] for r in results]
    assert env.count(DutyLogEntry) == 10 and env.count(Change) == 10


def test_a_rejected_mutation_never_blocks_the_rest_and_is_kept(env: Env) -> None:
    guard = env.phone("guard_a")
    site = env.world.a.site.id
    batch = [
        entry(site, "before"),
        entry(env.world.b.site.id, "a site I do not belong to"),
        {**entry(site, "x"), "name": "duty_log.teleport"},
        entry(site, ""),  # empty text
        entry(site, "with a zone of another site", zone_id=env.world.b.zone.id),
        entry(site, "after"),
    ]
    results = env.push(guard, batch).json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "not_found"),
        ("rejected", "unknown_mutation"),
        ("rejected", "validation_failed"),
        ("rejected", "validation_failed"),
        ("applied", ""),
    ]
    assert results[3]["details"]["fields"][0]["field"] == "text"
    assert results[3]["message"] == "Some fields are missing or invalid."
    assert env.count(DutyLogEntry) == 2
    # The same rejections answer a replay; nothing is retried into existence.
    replay = env.push(guard, batch).json()["results"]
    assert [(r["status"], r["code"]) for r in replay] == [
        ("duplicate", ""),
        ("rejected", "not_found"),
        ("rejected", "unknown_mutation"),
        ("rejected", "validation_failed"),
        ("rejected", "validation_failed"),
        ("duplicate", ""),
    ]
    assert env.count(DutyLogEntry) == 2


def test_a_mutation_whose_service_fails_is_refused_alone_and_the_rest_apply(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: a mutation whose service raises stands for a bug on the server (nothing
    # real fails on demand). Before, the whole push answered 500 and the phone retried the same
    # batch for ever; its other entries never arrived.
    from backend.services import sync

    async def broken(actor: Any, items: list[Any], ctx: Any) -> list[Any]:
        raise RuntimeError("a bug in a service")

    monkeypatch.setitem(
        sync.MUTATIONS, "duty_log.broken", sync.MutationSpec(sync.DutyEntryMutationArgs, broken)
    )
    guard = env.phone("guard_a")
    site = env.world.a.site.id
    batch = [entry(site, "before"), {**entry(site, "x"), "name": "duty_log.broken"}]
    batch.append(entry(site, "after"))
    response = env.push(guard, batch)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", ""),
        ("rejected", "internal_error"),
        ("applied", ""),
    ]
    assert env.count(DutyLogEntry) == 2
    # Not recorded: once the server is mended the same mutation can go again.
    monkeypatch.setitem(
        sync.MUTATIONS,
        "duty_log.broken",
        sync.MUTATIONS["duty_log.add"],
    )
    replay = env.push(guard, batch).json()["results"]
    assert [r["status"] for r in replay] == ["duplicate", "applied", "duplicate"]
    assert env.count(DutyLogEntry) == 3


def test_mutations_apply_in_the_devices_order(env: Env) -> None:
    guard = env.phone("guard_a")
    site = env.world.a.site.id
    batch = [entry(site, f"#{i:02d}") for i in range(15)]
    env.push(guard, batch)
    changes = env.pull(guard)["changes"]
    assert [c["data"]["text"] for c in changes] == [f"#{i:02d}" for i in range(15)]
    assert [c["seq"] for c in changes] == sorted(c["seq"] for c in changes)


def test_batch_over_the_limit_is_refused_whole(env: Env) -> None:
    guard = env.phone("guard_a")
    response = env.push(guard, [entry(env.world.a.site.id, "x") for _ in range(51)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert response.json()["error"]["details"]["limit"] == 50
    assert env.count(DutyLogEntry) == 0 and env.count(AppliedMutation) == 0


def test_push_must_come_from_the_signed_in_device(env: Env) -> None:
    guard = env.phone("guard_a")
    other = Phone(guard.token, str(uuid.uuid4()))
    response = env.push(other, [entry(env.world.a.site.id, "x")])
    assert response.status_code == 403 and response.json()["error"]["code"] == "device_mismatch"
    assert env.count(DutyLogEntry) == 0


def test_malformed_batches_are_refused_with_nothing_written(env: Env) -> None:
    guard = env.phone("guard_a")
    naive_time = {**entry(env.world.a.site.id, "x"), "client_time": "2026-11-24T10:00:00"}
    for body in (
        {"device_id": guard.uid, "mutations": [naive_time]},
        {
            "device_id": guard.uid,
            "mutations": [
                {"id": "not-a-uuid", "name": "x", "args": {}, "client_time": "2026-11-24T10:00:00Z"}
            ],
        },
        {"device_id": guard.uid, "mutations": "nope"},
        {"device_id": guard.uid},
    ):
        response = env.client.post("/api/sync/push", json=body, headers=guard.headers)
        assert response.status_code == 422, body
    assert env.count(AppliedMutation) == 0


def test_a_mutation_id_taken_by_someone_else_is_rejected(env: Env) -> None:
    a, b = env.phone("guard_a"), env.phone("guard2_a")
    m = entry(env.world.a.site.id, "mine")
    assert env.push(a, [m]).json()["results"][0]["status"] == "applied"
    stolen = env.push(b, [m]).json()["results"][0]
    assert (stolen["status"], stolen["code"]) == ("rejected", "mutation_id_conflict")
    assert stolen["data"] is None  # nothing of the other guard's entry leaks


def test_clock_skew_is_measured_and_flagged(env: Env) -> None:
    guard = env.phone("guard_a")
    late = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
    body = env.push(guard, [entry(env.world.a.site.id, "x")], sent_at=late).json()
    assert body["clock_skew_flagged"] is True and body["clock_skew_seconds"] >= 1199
    fine = env.push(
        guard, [entry(env.world.a.site.id, "y")], sent_at=datetime.now(UTC).isoformat()
    ).json()
    assert fine["clock_skew_flagged"] is False
    stored = run_in_db(env.settings, lambda: AppliedMutation.all().order_by("server_time"))
    assert stored[0].clock_skew_seconds >= 1199


def test_second_guard_pulls_what_the_first_wrote_in_pages(env: Env) -> None:
    writer, reader = env.phone("guard_a"), env.phone("guard2_a")
    batch = [entry(env.world.a.site.id, f"e{i}") for i in range(45)]
    assert env.push(writer, batch).status_code == 200
    seen: list[str] = []
    cursor, pages = "", 0
    while True:
        page = env.pull(reader, cursor)
        seen += [c["id"] for c in page["changes"]]
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
    assert pages == 3  # page size 20
    assert seen == [m["args"]["id"] for m in batch]
    assert env.pull(reader, cursor)["changes"] == []  # caught up
    env.push(writer, [entry(env.world.a.site.id, "late")])
    assert [c["data"]["text"] for c in env.pull(reader, cursor)["changes"]] == ["late"]


def test_pull_never_crosses_sites_or_reaches_residents(env: Env) -> None:
    guard_a, guard_b = env.phone("guard_a"), env.phone("guard_b")
    env.push(guard_a, [entry(env.world.a.site.id, "A only")])
    env.push(guard_b, [entry(env.world.b.site.id, "B only")])
    assert [c["data"]["text"] for c in env.pull(guard_a)["changes"]] == ["A only"]
    assert [c["data"]["text"] for c in env.pull(guard_b)["changes"]] == ["B only"]
    assert env.pull(env.phone("resident_a"))["changes"] == []
    # A forged cursor naming site B still yields nothing of site B.
    from backend.services.changes import encode_cursor

    forged = encode_cursor({env.world.b.site.id: 0})
    assert [c["site_id"] for c in env.pull(guard_a, forged)["changes"]] == [env.world.a.site.id]


def test_bad_cursors_are_refused(env: Env) -> None:
    guard = env.phone("guard_a")
    for cursor in ("garbage", "c1.!!!", "c1.eyJ4IjoxfQ", "c1." + "A" * 5000):
        response = env.client.get(
            "/api/sync/pull", params={"cursor": cursor}, headers=guard.headers
        )
        assert response.status_code in (400, 422), cursor
        assert response.json()["error"]["code"] in ("bad_cursor", "validation_failed")


def test_a_cursor_older_than_the_compaction_horizon_resets(env: Env) -> None:
    guard = env.phone("guard_a")
    site = env.world.a.site.id
    env.push(guard, [entry(site, "kept")])
    early = env.pull(guard)["cursor"]

    async def delete_and_compact() -> None:
        from tortoise.transactions import in_transaction

        async with in_transaction():
            await record_change(site, "duty_log", "gone", ChangeOp.upsert, {"text": "v1"})
            await record_change(site, "duty_log", "gone", ChangeOp.delete, None)
        await Change.filter(op=ChangeOp.delete).update(at=datetime.now(UTC) - timedelta(days=60))
        await compact(datetime.now(UTC), timedelta(days=30))

    run_in_db(env.settings, delete_and_compact)
    page = env.pull(guard, early)
    assert page["reset_sites"] == [site]
    # After a reset the site is read from the start: every live entity is still there.
    assert [c["data"]["text"] for c in page["changes"]] == ["kept"]
    assert env.pull(guard, page["cursor"])["reset_sites"] == []


def test_the_duty_log_api_uses_the_same_rules(env: Env) -> None:
    guard = env.phone("guard_a")
    site = env.world.a.site.id
    made = env.client.post(
        f"/api/sites/{site}/duty-log",
        json={"id": str(uuid.uuid4()), "text": "Gate locked", "category": "routine"},
        headers=guard.headers,
    )
    assert made.status_code == 201
    same_id = env.client.post(
        f"/api/sites/{site}/duty-log",
        json={"id": made.json()["id"], "text": "overwrite?"},
        headers=guard.headers,
    )
    assert same_id.status_code == 409
    listed = env.client.get(f"/api/sites/{site}/duty-log", headers=guard.headers).json()
    assert [e["text"] for e in listed["items"]] == ["Gate locked"]
    assert env.pull(guard)["changes"][0]["id"] == made.json()["id"]


ROLE_CASES = [
    ("guard_a", "own", "applied"),
    ("supervisor_a", "own", "applied"),
    ("admin_a", "own", "applied"),
    ("resident_a", "own", "forbidden"),
    ("guard_a", "foreign", "not_found"),
    ("supervisor_a", "foreign", "not_found"),
    ("admin_a", "foreign", "not_found"),
    ("resident_a", "foreign", "not_found"),
]


@pytest.mark.parametrize(("username", "which", "outcome"), ROLE_CASES)
def test_push_checks_the_same_permissions_as_the_api(
    env: Env, username: str, which: str, outcome: str
) -> None:
    site = env.world.a.site.id if which == "own" else env.world.b.site.id
    result = env.push(env.phone(username), [entry(site, "x")]).json()["results"][0]
    assert (result["status"] if outcome == "applied" else result["code"]) == outcome


def test_pull_pages_through_several_sites_in_order(env: Env) -> None:
    from backend.models.users import Role, User
    from tests.factories import member

    async def second_site() -> None:
        user = await User.get(username="supervisor_a")
        await member(user, env.world.b.site, Role.supervisor)

    run_in_db(env.settings, second_site)
    a_guard, b_guard = env.phone("guard_a"), env.phone("guard_b")
    env.push(a_guard, [entry(env.world.a.site.id, f"a{i}") for i in range(25)])
    env.push(b_guard, [entry(env.world.b.site.id, f"b{i}") for i in range(25)])
    boss = env.phone("supervisor_a")
    texts: list[str] = []
    cursor = ""
    while True:
        page = env.pull(boss, cursor)
        assert len(page["changes"]) <= 20
        texts += [c["data"]["text"] for c in page["changes"]]
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert texts == [f"a{i}" for i in range(25)] + [f"b{i}" for i in range(25)]
    env.push(a_guard, [entry(env.world.a.site.id, "a-late")])
    assert [c["data"]["text"] for c in env.pull(boss, cursor)["changes"]] == ["a-late"]
