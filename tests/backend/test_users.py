"""People and memberships through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.models.users import User
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@pytest.fixture
def app(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, World, dict[str, str], Any]]:
    settings = make_settings(tmp_path, database_url)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        tokens = {
            n: login(client, n, PASSWORD)["token"] for n in ("root", "admin_a", "supervisor_a")
        }
        yield client, world, tokens, settings


def test_admin_creates_a_guard_who_can_sign_in(app: Any) -> None:
    client, world, tokens, settings = app
    response = client.post(
        "/api/users",
        json={
            "username": "  Liu.Wei ",
            "display_name": "刘伟",
            "password": "a-long-password",
            "phone": "138 0000 0000",
            "membership": {"site_id": world.a.site.id, "role": "guard"},
        },
        headers=bearer(tokens["admin_a"]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "liu.wei"
    assert "password" not in response.json() and "password_hash" not in response.json()
    stored = run_in_db(settings, lambda: User.get(username="liu.wei"))
    assert stored.password_hash.startswith("$argon2id$")
    me = login(client, "liu.wei", "a-long-password")
    assert [(m["role"], m["site"]["id"]) for m in me["memberships"]] == [("guard", world.a.site.id)]


def test_bad_new_accounts_are_refused_and_nothing_is_written(app: Any) -> None:
    client, world, tokens, settings = app
    admin = bearer(tokens["admin_a"])
    base = {
        "display_name": "X",
        "password": "a-long-password",
        "membership": {"site_id": world.a.site.id, "role": "guard"},
    }
    cases = [
        ({**base, "username": "guard_a"}, 409, "username_taken"),
        ({**base, "username": "has space"}, 422, "validation_failed"),
        ({**base, "username": "shorty", "password": "short"}, 422, "password_too_weak"),
        ({**base, "username": "noplace", "membership": None}, 422, "validation_failed"),
        (
            {
                **base,
                "username": "resident9",
                "membership": {"site_id": world.a.site.id, "role": "resident"},
            },
            422,
            "validation_failed",
        ),
        (
            {
                **base,
                "username": "resident8",
                "membership": {
                    "site_id": world.a.site.id,
                    "role": "resident",
                    "unit_id": world.b.unit.id,
                },
            },
            422,
            "validation_failed",
        ),
    ]
    before = run_in_db(settings, lambda: User.all().count())
    for body, status, code in cases:
        response = client.post("/api/users", json=body, headers=admin)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert run_in_db(settings, lambda: User.all().count()) == before


def test_memberships_lifecycle(app: Any) -> None:
    client, world, tokens, _ = app
    admin = bearer(tokens["admin_a"])
    root = bearer(tokens["root"])
    person = client.post(
        "/api/users",
        json={"username": "newbie", "display_name": "New", "password": "a-long-password"},
        headers=root,
    ).json()
    made = client.post(
        f"/api/sites/{world.a.site.id}/memberships",
        json={"user_id": person["id"], "role": "resident", "unit_id": world.a.unit.id},
        headers=admin,
    )
    assert made.status_code == 201
    again = client.post(
        f"/api/sites/{world.a.site.id}/memberships",
        json={"user_id": person["id"], "role": "resident", "unit_id": world.a.unit.id},
        headers=admin,
    )
    assert again.status_code == 409
    residents = client.get(
        f"/api/sites/{world.a.site.id}/memberships", params={"role": "resident"}, headers=admin
    ).json()
    assert person["id"] in [m["user_id"] for m in residents["items"]]
    # Turning a resident into a guard must drop the unit in the same change.
    bad = client.patch(
        f"/api/memberships/{made.json()['id']}", json={"role": "guard"}, headers=admin
    )
    assert bad.status_code == 422
    ok = client.patch(
        f"/api/memberships/{made.json()['id']}",
        json={"role": "guard", "unit_id": None},
        headers=admin,
    )
    assert ok.status_code == 200 and ok.json()["unit_id"] is None
    gone = client.patch(
        f"/api/memberships/{made.json()['id']}", json={"is_active": False}, headers=admin
    )
    assert gone.status_code == 200
    token = login(client, "newbie", "a-long-password")["token"]
    assert client.get("/api/sites", headers=bearer(token)).json()["total"] == 0


def test_a_resident_removed_and_added_again_gets_their_membership_back(app: Any) -> None:
    client, world, tokens, _ = app
    admin = bearer(tokens["admin_a"])
    site, unit = world.a.site.id, world.a.unit.id
    person = client.post(
        "/api/users",
        json={
            "username": "returning",
            "display_name": "Back Again",
            "password": "a-long-password",
            "membership": {"site_id": site, "role": "resident", "unit_id": unit},
        },
        headers=admin,
    ).json()
    listed = client.get(
        f"/api/sites/{site}/memberships", params={"q": "returning"}, headers=admin
    ).json()
    (first,) = listed["items"]
    gone = client.patch(f"/api/memberships/{first['id']}", json={"is_active": False}, headers=admin)
    assert gone.status_code == 200
    body = {"user_id": person["id"], "role": "resident", "unit_id": unit}
    back = client.post(f"/api/sites/{site}/memberships", json=body, headers=admin)
    assert back.status_code == 201, back.text
    assert (back.json()["id"], back.json()["is_active"]) == (first["id"], True)
    token = login(client, "returning", "a-long-password")["token"]
    assert client.get("/api/sites", headers=bearer(token)).json()["total"] == 1
    again = client.post(f"/api/sites/{site}/memberships", json=body, headers=admin)
    assert again.status_code == 409


def test_someone_removed_from_every_site_is_found_again_by_their_admin(app: Any) -> None:
    client, world, tokens, _ = app
    admin = bearer(tokens["admin_a"])
    site = world.a.site.id
    guard = world.a.users["guard2"]

    def usernames(**params: Any) -> list[str]:
        answer = client.get("/api/users", params={"q": "guard2", **params}, headers=admin)
        assert answer.status_code == 200, answer.text
        return [u["username"] for u in answer.json()["items"]]

    (membership,) = client.get(
        f"/api/sites/{site}/memberships", params={"q": "guard2_a"}, headers=admin
    ).json()["items"]
    removed = client.patch(
        f"/api/memberships/{membership['id']}", json={"is_active": False}, headers=admin
    )
    assert removed.status_code == 200
    # Gone from the site's people, and from everyone the admin manages...
    assert usernames(site_id=site) == [] and usernames() == []
    # ...but found again when asked for former members too: only their own site's.
    assert usernames(site_id=site, former="true") == ["guard2_a"]
    assert usernames(former="true") == ["guard2_a"]  # not guard2_b of a site not theirs
    refused = client.get(
        "/api/users", params={"site_id": world.b.site.id, "former": "true"}, headers=admin
    )
    assert refused.status_code == 404
    assert client.get("/api/users", params={"former": "maybe"}, headers=admin).status_code == 422
    # Given a role again, they are one of the site's people once more.
    body = {"user_id": guard.id, "role": "guard"}
    back = client.post(f"/api/sites/{site}/memberships", json=body, headers=admin)
    assert back.status_code == 201, back.text
    assert usernames(site_id=site) == ["guard2_a"]


def test_a_site_keeps_at_least_one_active_admin(app: Any) -> None:
    client, world, tokens, _ = app
    root = bearer(tokens["root"])
    site = world.a.site.id
    admin_user = world.a.users["admin"]
    memberships = client.get(f"/api/sites/{site}/memberships?limit=200", headers=root).json()
    (only_admin,) = [m for m in memberships["items"] if m["role"] == "admin"]
    assert only_admin["user_id"] == admin_user.id
    for url, body in [
        (f"/api/memberships/{only_admin['id']}", {"role": "supervisor"}),
        (f"/api/memberships/{only_admin['id']}", {"is_active": False}),
        (f"/api/users/{admin_user.id}", {"is_active": False}),
    ]:
        refused = client.patch(url, json=body, headers=root)
        assert refused.status_code == 409, (url, body, refused.text)
        assert refused.json()["error"]["code"] == "last_admin"
        assert refused.json()["error"]["details"] == {"site_id": site}
    after = client.get(f"/api/sites/{site}/memberships?limit=200", headers=root).json()
    assert after == memberships
    assert client.get(f"/api/users/{admin_user.id}", headers=root).json()["is_active"] is True

    # With a second admin, the first may step down.
    second = client.post(
        f"/api/sites/{site}/memberships",
        json={"user_id": world.a.users["supervisor"].id, "role": "admin"},
        headers=root,
    )
    assert second.status_code == 201
    stepped = client.patch(
        f"/api/memberships/{only_admin['id']}", json={"role": "supervisor"}, headers=root
    )
    assert stepped.status_code == 200 and stepped.json()["role"] == "supervisor"


def test_supervisor_lists_people_but_cannot_change_them(app: Any) -> None:
    client, world, tokens, _ = app
    sup = bearer(tokens["supervisor_a"])
    people = client.get("/api/users", params={"q": "guard"}, headers=sup).json()
    assert {"guard_a", "guard2_a"} <= {u["username"] for u in people["items"]}
    assert "guard_b" not in {u["username"] for u in people["items"]}
    refused = client.patch(
        f"/api/users/{world.a.users['guard'].id}", json={"display_name": "X"}, headers=sup
    )
    assert refused.status_code == 403


def test_an_admin_cannot_touch_a_superuser(app: Any) -> None:
    client, world, tokens, _ = app
    root_id = world.superuser.id
    assert client.get(f"/api/users/{root_id}", headers=bearer(tokens["admin_a"])).status_code == 404
    assert (
        client.patch(
            f"/api/users/{root_id}", json={"is_active": False}, headers=bearer(tokens["admin_a"])
        ).status_code
        == 404
    )
