"""Sign-in, sessions, device revocation, CSRF and throttling, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.models.audit import AuditEvent
from backend.models.sessions import Session
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World, Any]]:
    settings = make_settings(
        tmp_path, database_url, login_max_failures_per_account=3, login_lockout_seconds=30
    )
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        yield client, world, settings


def test_login_sets_httponly_cookie_and_returns_token(app: Any) -> None:
    client, world, _ = app
    response = client.post(
        "/api/auth/login",
        json={
            "username": "GUARD_A",
            "password": PASSWORD,
            "device": {"uid": str(uuid.uuid4()), "name": "Pixel 7"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("s_")
    assert body["user"]["username"] == "guard_a"
    assert [m["role"] for m in body["memberships"]] == ["guard"]
    assert body["memberships"][0]["site"]["id"] == world.a.site.id
    assert body["device"]["name"] == "Pixel 7"
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("anbao_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert "Secure" not in session_cookie  # plain http in this test
    csrf_cookie = next(c for c in cookies if c.startswith("anbao_csrf="))
    assert "HttpOnly" not in csrf_cookie
    # The token itself is never stored, only its hash.
    stored = run_in_db(app[2], lambda: Session.filter(user_id=world.a.users["guard"].id).first())
    assert stored.token_hash != body["token"] and len(stored.token_hash) == 64


def test_secure_cookie_over_https(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    run_in_db(settings, make_world)
    with running_app(settings, base_url="https://anbao.example") as client:
        response = client.post(
            "/api/auth/login", json={"username": "guard_a", "password": PASSWORD}
        )
        assert response.status_code == 200
        assert all("Secure" in c for c in response.headers.get_list("set-cookie"))
        assert "max-age" in response.headers["strict-transport-security"]


def test_wrong_password_and_unknown_user_look_the_same(app: Any) -> None:
    client, _, _ = app
    wrong = client.post("/api/auth/login", json={"username": "guard_a", "password": "nope-nope-1"})
    unknown = client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "invalid_credentials"


def test_account_throttling_says_when_to_try_again(app: Any) -> None:
    client, _, _ = app
    answers = [
        client.post(
            "/api/auth/login",
            json={"username": "guard_a", "password": "wrong-pass-x"},
            headers={"Accept-Language": "en"},
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [401, 401, 429]
    locked = answers[-1]
    retry = locked.json()["error"]["details"]["retry_after"]
    assert 0 < retry <= 30
    assert locked.headers["retry-after"] == str(retry)
    assert f"Try again in {retry} s" in locked.json()["error"]["message"]
    # Even the right password is refused while the lock holds: no guessing through it.
    right = client.post("/api/auth/login", json={"username": "guard_a", "password": PASSWORD})
    assert right.status_code == 429
    # Another account from the same address is not locked by this one.
    other = client.post("/api/auth/login", json={"username": "guard2_a", "password": PASSWORD})
    assert other.status_code == 200


def test_address_throttling(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, database_url, login_max_failures_per_address=4, login_max_failures_per_account=100
    )
    run_in_db(settings, make_world)
    with running_app(settings) as client:
        codes = [
            client.post(
                "/api/auth/login", json={"username": f"someone{i}", "password": "wrong-pass-x"}
            ).status_code
            for i in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]
        # The address is locked for every account, including real ones.
        ok = client.post("/api/auth/login", json={"username": "guard_a", "password": PASSWORD})
        assert ok.status_code == 429


def test_failed_login_is_audited(app: Any) -> None:
    client, _, settings = app
    client.post("/api/auth/login", json={"username": "guard_a", "password": "wrong-pass-x"})
    events = run_in_db(settings, lambda: AuditEvent.filter(action="auth.login_failed").all())
    assert [e.entity_id for e in events] == ["guard_a"]


def test_cookie_writes_need_the_csrf_token(app: Any) -> None:
    client, world, _ = app
    response = client.post("/api/auth/login", json={"username": "admin_a", "password": PASSWORD})
    csrf = response.json()["csrf_token"]
    path = f"/api/sites/{world.a.site.id}/zones"
    # Reads with the cookie need no token.
    assert client.get(path).status_code == 200
    missing = client.post(path, json={"name": "Roof"})
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf_failed"
    forged = client.post(path, json={"name": "Roof"}, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    ok = client.post(path, json={"name": "Roof"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    # /me gives the token back so a reloaded page can recover it.
    assert client.get("/api/auth/me").json()["csrf_token"] == csrf
    # Nothing was written by the refused attempts: exactly one "Roof".
    zones = client.get(path, params={"q": "Roof"}).json()
    assert zones["total"] == 1


def test_cross_site_login_is_refused(app: Any) -> None:
    client, _, _ = app
    response = client.post(
        "/api/auth/login",
        json={"username": "guard_a", "password": PASSWORD},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_logout_ends_the_session(app: Any) -> None:
    client, _, _ = app
    token = login(client, "guard_a", PASSWORD)["token"]
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    after = client.get("/api/auth/me", headers=bearer(token))
    assert after.status_code == 401 and after.json()["error"]["code"] == "session_revoked"


def test_list_and_revoke_own_sessions(app: Any) -> None:
    client, _, _ = app
    phone = login(client, "guard_a", PASSWORD)["token"]
    laptop = login(client, "guard_a", PASSWORD)
    sessions = client.get("/api/auth/sessions", headers=bearer(phone)).json()
    assert len(sessions) == 2
    assert sum(s["current"] for s in sessions) == 1
    gone = client.delete(f"/api/auth/sessions/{laptop['session_id']}", headers=bearer(phone))
    assert gone.status_code == 204
    assert client.get("/api/auth/me", headers=bearer(laptop["token"])).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(phone)).status_code == 200
    # Someone else's session is not yours to see or revoke.
    other = login(client, "guard2_a", PASSWORD)
    refused = client.delete(f"/api/auth/sessions/{other['session_id']}", headers=bearer(phone))
    assert refused.status_code == 404
    assert client.get("/api/auth/me", headers=bearer(other["token"])).status_code == 200


def test_supervisor_revokes_a_lost_phone(app: Any) -> None:
    client, world, _settings = app
    uid = str(uuid.uuid4())
    guard = login(client, "guard_a", PASSWORD, device={"uid": uid, "name": "Guard phone"})
    boss = login(client, "supervisor_a", PASSWORD)["token"]
    devices = client.get(f"/api/sites/{world.a.site.id}/devices", headers=bearer(boss)).json()
    phone = next(d for d in devices["items"] if d["uid"] == uid)
    assert phone["kind"] == "phone" and phone["user_id"] == world.a.users["guard"].id
    assert phone["user"]["username"] == "guard_a"  # whose phone it is, without another call
    revoked = client.post(f"/api/devices/{phone['id']}/revoke", headers=bearer(boss))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = client.get("/api/auth/me", headers=bearer(guard["token"]))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_revoked"
    # The guard signs in again with the password: the revoked id is never reused.
    again = login(client, "guard_a", PASSWORD, device={"uid": uid, "name": "Guard phone"})
    assert again["device"]["uid"] != uid
    audit = client.get(f"/api/sites/{world.a.site.id}/audit?action=device.", headers=bearer(boss))
    assert [e["action"] for e in audit.json()["items"]] == ["device.revoked"]
    # A supervisor of site B cannot revoke site A's phones.
    world_b_sup = login(client, "supervisor_b", PASSWORD)["token"]
    new_phone = again["device"]["id"]
    assert (
        client.post(f"/api/devices/{new_phone}/revoke", headers=bearer(world_b_sup)).status_code
        == 404
    )


def test_bridge_token_works_until_revoked(app: Any) -> None:
    client, world, _ = app
    admin = login(client, "admin_a", PASSWORD)["token"]
    created = client.post(
        f"/api/sites/{world.a.site.id}/devices",
        json={"name": "Car park bridge"},
        headers=bearer(admin),
    ).json()
    token = created["token"]
    me = client.get("/api/auth/me", headers=bearer(token)).json()
    assert me["user"] is None and me["device"]["kind"] == "bridge"
    assert me["device"]["site_id"] == world.a.site.id
    # A bridge is not a person: it cannot use the people's API.
    assert client.get("/api/sites", headers=bearer(token)).status_code == 403
    listed = client.get(f"/api/sites/{world.a.site.id}/devices", headers=bearer(admin)).json()
    assert "token" not in next(d for d in listed["items"] if d["id"] == created["id"])
    client.post(f"/api/devices/{created['id']}/revoke", headers=bearer(admin))
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_deactivated_user_is_signed_out_at_once(app: Any) -> None:
    client, world, _ = app
    token = login(client, "guard_a", PASSWORD)["token"]
    admin = login(client, "admin_a", PASSWORD)["token"]
    guard_id = world.a.users["guard"].id
    response = client.patch(
        f"/api/users/{guard_id}", json={"is_active": False}, headers=bearer(admin)
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    refused = client.post("/api/auth/login", json={"username": "guard_a", "password": PASSWORD})
    assert refused.status_code == 401


def test_expired_session_is_refused(app: Any) -> None:
    client, _, settings = app
    data = login(client, "guard_a", PASSWORD)

    async def expire() -> None:
        from datetime import UTC, datetime, timedelta

        await Session.filter(id=data["session_id"]).update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )

    run_in_db(settings, expire)
    assert client.get("/api/auth/me", headers=bearer(data["token"])).status_code == 401


def test_changing_password_needs_the_current_one_and_ends_other_sessions(app: Any) -> None:
    client, world, _ = app
    me = login(client, "guard_a", PASSWORD)
    other = login(client, "guard_a", PASSWORD)["token"]
    uid = world.a.users["guard"].id
    wrong = client.patch(
        f"/api/users/{uid}", json={"password": "new-password-99"}, headers=bearer(me["token"])
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"]["fields"][0]["field"] == "current_password"
    short = client.patch(
        f"/api/users/{uid}",
        json={"password": "short", "current_password": PASSWORD},
        headers=bearer(me["token"]),
    )
    assert short.status_code == 422 and short.json()["error"]["code"] == "password_too_weak"
    ok = client.patch(
        f"/api/users/{uid}",
        json={"password": "new-password-99", "current_password": PASSWORD},
        headers=bearer(me["token"]),
    )
    assert ok.status_code == 200
    assert client.get("/api/auth/me", headers=bearer(me["token"])).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(other)).status_code == 401
    assert (
        client.post(
            "/api/auth/login", json={"username": "guard_a", "password": "new-password-99"}
        ).status_code
        == 200
    )
