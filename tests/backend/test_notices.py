"""Push notices end to end on SQLite and PostgreSQL: subscriptions through the API, the queue,
the sender against the checking push service (every answer it can give), two senders sharing
the queue, notice settings, supervisor alerts, and `anbao vapid`."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient

from backend.db import bound, open_database
from backend.models.notices import (
    DeliveryStatus,
    Notice,
    NoticeDelivery,
    PushSubscription,
    VapidKey,
)
from backend.models.users import User
from backend.services import notices
from backend.services.notices import Message, Sender, SendReport, create_vapid_key
from backend.services.rounds import LATE_GRACE, close_rounds
from backend.settings import Settings
from backend.webpush import Urgency
from tests.factories import PASSWORD, World, make_world
from tests.push_service import PushService, TestSubscription
from tests.support import bearer, login, make_settings, run_in_db, running_app

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Env:
    client: TestClient
    world: World
    settings: Settings
    push: PushService
    public_key: str
    tokens: dict[str, dict[str, str]]

    def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = bearer(login(self.client, username, PASSWORD)["token"])
        return self.tokens[username]

    def subscribe(self, username: str, sub: TestSubscription | None = None) -> TestSubscription:
        sub = sub or self.push.subscribe(server_key=self.public_key)
        response = self.client.post(
            "/api/notices/subscriptions", json=sub.json(), headers=self.auth(username)
        )
        assert response.status_code == 201, response.text
        return sub

    def db(self, fn: Callable[[], Any]) -> Any:
        return run_in_db(self.settings, fn)

    def send(self, at: datetime | None = None) -> SendReport:
        clock = (lambda: at) if at is not None else None
        report: SendReport = self.db(
            lambda: Sender(self.settings, self.settings.sealer()).run(clock)
        )
        return report

    def notify(self, username: str, text: str = "hello", **kw: Any) -> None:
        async def go() -> None:
            user = await User.get(username=username)
            await notices.notify(
                [user],
                lambda u: Message(kind="test", title=text, body=f"to {u.username}", url="/home"),
                site_id=self.world.a.site.id,
                ref=kw.get("ref", ""),
                ttl_seconds=kw.get("ttl", 3600),
            )

        self.db(go)

    def statuses(self) -> list[str]:
        rows = self.db(lambda: NoticeDelivery.all().order_by("id").values_list("status", flat=True))
        return [str(s) for s in rows]


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
        jobs_enabled=False,  # each test runs the sender itself, at the moment it chooses
        push_retry_seconds=10,
        push_max_attempts=3,
    )
    yield from _env(settings)


# --- subscriptions -----------------------------------------------------------------------------


def test_several_devices_subscribe_and_one_unsubscribes(env: Env) -> None:
    phone, tablet = env.subscribe("resident_a"), env.subscribe("resident_a")
    mine = env.client.get("/api/notices/subscriptions", headers=env.auth("resident_a")).json()
    assert len(mine) == 2
    assert {s["service"] for s in mine} == {"127.0.0.1"}  # the host, never the secret path
    assert all(s["application_server_key"] == env.public_key for s in mine)
    # The browser renews its keys: the same endpoint is updated, not added.
    renewed = env.push.subscribe(server_key=env.public_key)
    renewed.token, renewed.endpoint = phone.token, phone.endpoint
    env.push.subscriptions[phone.token] = renewed
    env.subscribe("resident_a", renewed)
    assert env.db(lambda: PushSubscription.all().count()) == 2
    stored = env.db(lambda: PushSubscription.get(endpoint=phone.endpoint))
    assert stored.p256dh == renewed.p256dh
    # Someone else cannot remove my device; I can, once.
    first = mine[0]["id"]
    other = env.client.delete(f"/api/notices/subscriptions/{first}", headers=env.auth("guard_a"))
    assert other.status_code == 404
    gone = env.client.delete(f"/api/notices/subscriptions/{first}", headers=env.auth("resident_a"))
    assert gone.status_code == 204
    again = env.client.delete(f"/api/notices/subscriptions/{first}", headers=env.auth("resident_a"))
    assert again.status_code == 404
    assert (
        len(env.client.get("/api/notices/subscriptions", headers=env.auth("resident_a")).json())
        == 1
    )
    del tablet


def test_a_shared_phone_subscription_follows_who_signed_in(env: Env) -> None:
    sub = env.subscribe("guard_a")
    env.subscribe("guard2_a", sub)
    row = env.db(lambda: PushSubscription.get(endpoint=sub.endpoint).select_related("user"))
    assert row.user.username == "guard2_a"
    assert env.client.get("/api/notices/subscriptions", headers=env.auth("guard_a")).json() == []


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_SUBSCRIPTIONS = [
    ("p256dh too short", {"keys": {"p256dh": _b64(b"\x04" + b"\x01" * 10)}}, "keys.p256dh"),
    ("p256dh off the curve", {"keys": {"p256dh": _b64(b"\x04" + b"\x01" * 64)}}, "keys.p256dh"),
    ("p256dh not base64url", {"keys": {"p256dh": "BCx+/ not base64"}}, "keys.p256dh"),
    ("auth of 8 bytes", {"keys": {"auth": _b64(b"12345678")}}, "keys.auth"),
    ("endpoint not a URL", {"endpoint": "push me"}, "endpoint"),
    ("endpoint ftp", {"endpoint": "ftp://push.example.com/x"}, "endpoint"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_SUBSCRIPTIONS, ids=lambda v: str(v))
def test_malformed_subscriptions_are_refused_and_nothing_is_stored(
    env: Env, case: str, change: dict[str, Any], field: str
) -> None:
    body = env.push.subscribe().json()
    body = {**body, **{k: v for k, v in change.items() if k != "keys"}}
    body["keys"] = {**body["keys"], **change.get("keys", {})}
    response = env.client.post(
        "/api/notices/subscriptions",
        json=body,
        headers={**env.auth("resident_a"), "Accept-Language": "en"},
    )
    assert response.status_code == 422, case
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"][0]["field"] == field
    assert error["details"]["fields"][0]["message"] and "field." not in error["message"]
    assert env.db(lambda: PushSubscription.all().count()) == 0


def test_production_refuses_http_endpoints_even_when_allowed(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, sqlite_url, environment="production", push_allow_http=True, jobs_enabled=False
    )
    for env in _env(settings):
        body = env.push.subscribe(server_key=env.public_key).json()
        response = env.client.post(
            "/api/notices/subscriptions",
            json=body,
            headers={**env.auth("resident_a"), "Accept-Language": "en"},
        )
        assert response.status_code == 422
        (bad,) = response.json()["error"]["details"]["fields"]
        assert bad == {
            "field": "endpoint",
            "code": "endpoint_not_https",
            "message": "The push address must use https.",
        }
        https = {**body, "endpoint": "https://fcm.googleapis.com/fcm/send/abc123"}
        ok = env.client.post(
            "/api/notices/subscriptions", json=https, headers=env.auth("resident_a")
        )
        assert ok.status_code == 201
        assert env.db(lambda: PushSubscription.all().count()) == 1


def test_development_refuses_http_unless_allowed(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sqlite_url, jobs_enabled=False)
    for env in _env(settings):
        body = env.push.subscribe().json()
        response = env.client.post(
            "/api/notices/subscriptions", json=body, headers=env.auth("resident_a")
        )
        assert response.status_code == 422
        assert response.json()["error"]["details"]["fields"][0]["code"] == "endpoint_not_https"


# --- VAPID keys --------------------------------------------------------------------------------


def test_the_vapid_key_is_made_once_kept_sealed_and_rotated(env: Env) -> None:
    served = env.client.get("/api/notices/vapid-key", headers=env.auth("resident_a")).json()
    assert served == {"public_key": env.public_key}
    again, made = env.db(lambda: create_vapid_key(env.settings.sealer()))
    assert not made and again.public_key == env.public_key
    row = env.db(lambda: VapidKey.get(public_key=env.public_key))
    assert row.private_key_sealed.startswith("s1.")
    opened = notices.open_vapid_key(row, env.settings.sealer())
    assert _b64(opened.private_raw) not in row.private_key_sealed
    old_sub = env.subscribe("resident_a")
    # Rotation: new subscriptions get the new key; the old one still gets notices, signed with
    # the key it was made with (its push service checks that).
    new, made = env.db(lambda: create_vapid_key(env.settings.sealer(), rotate=True))
    assert made and new.public_key != env.public_key
    served = env.client.get("/api/notices/vapid-key", headers=env.auth("resident_a")).json()
    assert served == {"public_key": new.public_key}
    new_sub = env.push.subscribe(server_key=new.public_key)
    env.subscribe("resident_a", new_sub)
    env.notify("resident_a")
    assert env.send().delivered == 2
    assert env.push.refused == []
    assert len(env.push.for_subscription(old_sub)) == len(env.push.for_subscription(new_sub)) == 1


def test_no_vapid_key_means_push_is_not_configured(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sqlite_url, push_allow_http=True, jobs_enabled=False)
    run_in_db(settings, make_world)
    with PushService() as push, running_app(settings) as client:
        headers = {
            **bearer(login(client, "resident_a", PASSWORD)["token"]),
            "Accept-Language": "en",
        }
        key = client.get("/api/notices/vapid-key", headers=headers)
        assert key.status_code == 503
        assert key.json()["error"]["code"] == "push_not_configured"
        assert "anbao vapid" in key.json()["error"]["message"]
        sub = client.post(
            "/api/notices/subscriptions", json=push.subscribe().json(), headers=headers
        )
        assert sub.status_code == 503


def test_anbao_vapid_makes_the_key_once_and_rotates_on_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANBAO_")}
    env.update(ANBAO_DATA_DIR=str(tmp_path), ANBAO_PWA_DIR=str(tmp_path / "none"))

    def anbao(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert "migrate" in anbao("vapid").stderr  # an unmigrated database is refused
    assert anbao("migrate").returncode == 0
    first, second, rotated = anbao("vapid"), anbao("vapid"), anbao("vapid", "--rotate")
    assert first.returncode == second.returncode == rotated.returncode == 0
    keys = [r.stdout.split("public key: ")[1].strip() for r in (first, second, rotated)]
    assert "made a new" in first.stdout and "exists already" in second.stdout
    assert keys[0] == keys[1] != keys[2]
    assert len(base64.urlsafe_b64decode(keys[0] + "=")) == 65


# --- the sender --------------------------------------------------------------------------------


def test_a_notice_reaches_each_device_once_and_dead_subscriptions_go(env: Env) -> None:
    phone, old_tablet, old_laptop = (env.subscribe("resident_a") for _ in range(3))
    env.push.answer(old_tablet, 410)
    env.push.answer(old_laptop, 404)
    env.notify("resident_a", "快递到了")
    report = env.send()
    assert (report.attempted, report.delivered, report.gone) == (3, 1, 2)
    (got,) = env.push.for_subscription(phone)
    message = got.json()
    assert message["title"] == "快递到了" and message["body"] == "to resident_a"
    assert message["url"] == "/home" and isinstance(message["id"], int)
    assert got.headers["ttl"] == "3600" and got.headers["urgency"] == "normal"
    # The dead ones are removed, and their deliveries kept for the record.
    left = env.db(lambda: PushSubscription.all().values_list("endpoint", flat=True))
    assert list(left) == [phone.endpoint]
    assert sorted(env.statuses()) == ["delivered", "gone", "gone"]
    assert env.send().attempted == 0  # nothing goes out twice
    assert len(env.push.received) == 3


def test_busy_and_failing_push_services_are_retried_with_backoff_then_given_up(env: Env) -> None:
    busy, broken = env.subscribe("resident_a"), env.subscribe("resident_a")
    env.push.answer(busy, 429, 201, retry_after="120")
    env.push.answer(broken, 500)
    env.notify("resident_a")
    t0 = datetime.now(UTC)
    first = env.send(t0)
    assert (first.attempted, first.retried) == (2, 2)
    rows = env.db(lambda: NoticeDelivery.all().order_by("id").select_related("subscription"))
    waits = {r.subscription.endpoint: (r.next_attempt_at - t0).total_seconds() for r in rows}
    assert waits[busy.endpoint] >= 120  # Retry-After honoured
    assert 10 <= waits[broken.endpoint] < 120  # ANBAO_PUSH_RETRY_SECONDS
    # At +60 s only the broken one is due (second attempt, backoff doubles to 20 s).
    assert env.send(t0 + timedelta(seconds=60)).attempted == 1
    # At +121 s the busy one goes through; the broken one fails its third and last attempt.
    last = env.send(t0 + timedelta(seconds=121))
    assert (last.delivered, last.failed) == (1, 1)
    assert len(env.push.for_subscription(busy)) == 2
    assert len(env.push.for_subscription(broken)) == 3
    failed = env.db(lambda: NoticeDelivery.get(status=DeliveryStatus.failed))
    assert failed.attempts == 3 and failed.last_status == 500
    assert failed.last_error.startswith("gave up after 3 attempts")
    assert env.send(t0 + timedelta(days=1)).attempted == 0


def test_a_notice_past_its_ttl_is_not_sent_late(env: Env) -> None:
    sub = env.subscribe("resident_a")
    env.push.answer(sub, 503, 201)
    env.notify("resident_a", ttl=60)
    t0 = datetime.now(UTC)
    assert env.send(t0).retried == 1
    report = env.send(t0 + timedelta(minutes=5))
    assert report.expired == 1 and report.delivered == 0
    assert env.statuses() == ["expired"]
    assert len(env.push.received) == 1


def test_the_remaining_ttl_is_what_the_push_service_is_told(env: Env) -> None:
    sub = env.subscribe("resident_a")
    env.push.answer(sub, 429, 201)
    env.notify("resident_a", ttl=3600)
    t0 = datetime.now(UTC)
    env.send(t0)
    env.send(t0 + timedelta(minutes=10))
    first, second = env.push.for_subscription(sub)
    assert int(first.headers["ttl"]) > int(second.headers["ttl"]) >= 3600 - 601


def test_nothing_is_queued_for_people_without_devices_or_who_turned_it_off(env: Env) -> None:
    env.subscribe("resident_a")
    turned_off = env.client.patch(
        "/api/notices/settings", json={"parcels": False}, headers=env.auth("resident_a")
    )
    assert turned_off.json() == {"parcels": False, "alerts": True}
    assert env.client.get("/api/notices/settings", headers=env.auth("resident_a")).json() == {
        "parcels": False,
        "alerts": True,
    }
    assert env.client.get("/api/notices/settings", headers=env.auth("guard_a")).json() == {
        "parcels": True,
        "alerts": True,
    }

    async def who() -> tuple[list[str], list[str]]:
        ids = [u.id for u in await User.filter(username__in=["resident_a", "guard_a"])]
        parcels = [u.username for u in await notices.recipients(ids, "parcels")]
        alerts = [u.username for u in await notices.recipients(ids, "alerts")]
        return parcels, alerts

    parcels, alerts = env.db(who)
    assert parcels == ["guard_a"] and sorted(alerts) == ["guard_a", "resident_a"]
    env.notify("guard_a")  # queued, but guard_a has no device
    assert env.db(lambda: Notice.all().count()) == 1
    assert env.statuses() == [] and env.send().attempted == 0


def test_a_message_too_big_for_push_is_cut_to_fit(env: Env) -> None:
    sub = env.subscribe("resident_a")
    huge = "很长的内容 " * 2000

    async def go() -> None:
        user = await User.get(username="resident_a")
        await notices.notify(
            [user],
            lambda u: Message(kind="test", title="big", body=huge, url="/", data={"x": huge}),
            site_id=None,
            ttl_seconds=60,
        )

    env.db(go)
    assert env.send().delivered == 1
    (got,) = env.push.for_subscription(sub)
    assert len(got.headers) and got.json()["title"] == "big"
    assert got.json()["data"] == {} and got.json()["body"].startswith("很长的内容")


# --- two senders -------------------------------------------------------------------------------


async def _senders(settings: Settings, names: list[str]) -> list[SendReport]:
    """Senders at the same time: on PostgreSQL each with its own pool, as separate app processes
    have; on SQLite (one process) in one."""

    async def one(name: str, ctx: Any) -> SendReport:
        with bound(ctx):
            return await Sender(settings, settings.sealer(), name=name).run()

    contexts = [await open_database(settings) for _ in (names if not settings.is_sqlite else [0])]
    try:
        return list(
            await asyncio.gather(
                *(one(n, contexts[i % len(contexts)]) for i, n in enumerate(names))
            )
        )
    finally:
        for ctx in contexts:
            await ctx.close_connections()


def test_two_senders_share_the_queue_and_send_each_notice_once(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, database_url, push_allow_http=True, jobs_enabled=False, push_batch_size=7
    )
    for env in _env(settings):
        subs = [env.subscribe("resident_a") for _ in range(3)]
        for i in range(40):
            env.notify("resident_a", f"notice {i}")
        reports = asyncio.run(_senders(settings, ["one", "two"]))
        assert sum(r.delivered for r in reports) == 120
        got = [(r.token, r.json()["id"]) for r in env.push.received]
        assert len(got) == len(set(got)) == 120  # every notice to every device, exactly once
        assert {t for t, _ in got} == {s.token for s in subs}
        by = env.db(lambda: NoticeDelivery.all().values_list("sent_by", flat=True))
        assert set(by) <= {"one", "two"} and env.statuses() == ["delivered"] * 120


@pytest.mark.postgres
def test_a_claim_skips_rows_another_sender_holds(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("row locks are PostgreSQL's; SQLite has one process")
    settings = make_settings(tmp_path, database_url, push_allow_http=True, jobs_enabled=False)
    for env in _env(settings):
        env.subscribe("resident_a")
        for i in range(10):
            env.notify("resident_a", f"notice {i}")

        async def scenario() -> tuple[list[int], list[int]]:
            other = await asyncpg.connect(database_url)
            try:
                # Another process is in the middle of claiming the first four.
                tx = other.transaction()
                await tx.start()
                held = [
                    r["id"]
                    for r in await other.fetch(
                        "SELECT id FROM notice_deliveries ORDER BY id LIMIT 4 FOR UPDATE"
                    )
                ]
                ctx = await open_database(settings)
                try:
                    with bound(ctx):
                        mine = await Sender(settings, settings.sealer()).claim(
                            datetime.now(UTC), 100
                        )
                finally:
                    await ctx.close_connections()
                await tx.rollback()
                return held, mine
            finally:
                await other.close()

        held, mine = asyncio.run(scenario())
        assert len(held) == 4 and len(mine) == 6  # not blocked, and none of the held rows
        assert not set(held) & set(mine)


# --- supervisor alerts -------------------------------------------------------------------------


def test_supervisors_get_alerts_and_others_do_not(env: Env) -> None:
    boss, other_boss, guard = (
        env.subscribe("supervisor_a"),
        env.subscribe("supervisor_b"),
        env.subscribe("guard_a"),
    )
    queued = env.db(
        lambda: notices.alert_supervisors(
            env.world.a.site.id, "fire_equipment", {"summary": "B1 extinguisher missing"}
        )
    )
    assert queued == 1
    env.send()
    (got,) = env.push.received
    assert got.token == boss.token
    message = got.json()
    assert message["kind"] == "alert.fire_equipment"
    assert message["title"] == "安保提醒" and "Site A" in message["body"]  # the generic text
    assert message["data"] == {"site_id": env.world.a.site.id, "summary": "B1 extinguisher missing"}
    assert got.headers["urgency"] == "high"
    assert got.headers["topic"] == f"alert-fire_equipment-{env.world.a.site.id}"
    assert env.push.for_subscription(other_boss) == env.push.for_subscription(guard) == []
    # A supervisor who turned alerts off gets none.
    env.client.patch(
        "/api/notices/settings", json={"alerts": False}, headers=env.auth("supervisor_a")
    )
    assert env.db(lambda: notices.alert_supervisors(env.world.a.site.id, "x", {})) == 0


def test_missed_checkpoints_and_doubtful_scans_alert_the_supervisors(env: Env) -> None:
    sub = env.subscribe("supervisor_a")
    admin, guard = env.auth("admin_a"), env.auth("guard_a")
    site = env.world.a.site.id
    cp = env.client.post(f"/api/sites/{site}/checkpoints", headers=admin, json={"name": "Gate"})
    tag = env.client.post(
        f"/api/sites/{site}/tags",
        headers=admin,
        json={"kind": "qr", "checkpoint_id": cp.json()["id"]},
    ).json()
    # A manual entry is doubtful: it waits for review, and the supervisors are told.
    scan = env.client.post(
        f"/api/sites/{site}/scans",
        headers=guard,
        json={
            "id": str(uuid.uuid4()),
            "site_id": site,
            "method": "manual",
            "code": tag["identifier"],
        },
    )
    assert scan.json()["review"] == "pending"
    tour = env.client.post(
        f"/api/sites/{site}/tours",
        headers=admin,
        json={
            "name": "Night",
            "days": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00",
            "end_time": "00:00",
            "every_minutes": 60,
            "window_minutes": 30,
            "stops": [cp.json()["id"]],
        },
    ).json()
    rounds = env.client.get(
        f"/api/sites/{site}/rounds", params={"hours_back": 3, "hours_ahead": 6}, headers=guard
    ).json()
    first = next(r for r in rounds if r["tour_id"] == tour["id"])
    closes = datetime.fromisoformat(first["closes_at"])
    closed = env.db(lambda: close_rounds(closes + LATE_GRACE + timedelta(seconds=1)))
    assert closed
    env.send()
    kinds = [r.json()["kind"] for r in env.push.for_subscription(sub)]
    assert kinds[0] == "alert.scan_review"
    assert set(kinds[1:]) == {"alert.missed_checkpoints"}
    review = env.push.for_subscription(sub)[0].json()
    assert review["url"] == "/review" and "1" in review["body"]
    missed = env.push.for_subscription(sub)[1].json()
    assert missed["data"]["count"] == 1 and missed["data"]["checkpoint_ids"] == [cp.json()["id"]]
    assert missed["title"] == "巡更点漏巡"


def test_the_send_notices_job_runs_in_the_app(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sqlite_url, push_allow_http=True)  # jobs on
    for env in _env(settings):
        sub = env.subscribe("resident_a")
        env.notify("resident_a", "from the job")
        (got,) = env.push.wait_for(1)
        assert got.token == sub.token and got.json()["title"] == "from the job"
        assert urgency_of(got) == Urgency.normal


def urgency_of(received: Any) -> Urgency:
    return Urgency(received.headers["urgency"])
