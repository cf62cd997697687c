"""Organizations, sites, zones and units through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World, dict[str, str]]]:
    settings = make_settings(tmp_path, database_url)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        tokens = {
            name: login(client, name, PASSWORD)["token"]
            for name in ("root", "admin_a", "guard_a", "resident_a")
        }
        yield client, world, tokens


def test_admin_builds_a_site_with_zones_and_units(app: Any) -> None:
    client, world, tokens = app
    admin = bearer(tokens["admin_a"])
    site = client.post(
        "/api/sites",
        json={
            "organization_id": world.org.id,
            "name": "  东方花园 East Garden ",
            "kind": "community",
        },
        headers=admin,
    )
    assert site.status_code == 201
    body = site.json()
    assert body["name"] == "东方花园 East Garden"  # trimmed
    assert body["timezone"] == "Asia/Shanghai"  # the default
    assert (body["after_hours_start"], body["after_hours_end"]) == ("22:00", "06:00")
    # The admin who made it manages it: it is in their list, and zones and units are theirs to add.
    listed = client.get("/api/sites?limit=200", headers=admin).json()["items"]
    assert body["id"] in [s["id"] for s in listed]
    held = client.get(f"/api/sites/{body['id']}/memberships", headers=admin).json()["items"]
    assert [(m["user_id"], m["role"]) for m in held] == [(world.a.users["admin"].id, "admin")]
    zone = client.post(
        f"/api/sites/{body['id']}/zones",
        json={"name": "North gate", "kind": "gate"},
        headers=admin,
    )
    assert zone.status_code == 201
    unit = client.post(
        f"/api/sites/{body['id']}/units",
        json={"label": "5-2-1102", "zone_id": zone.json()["id"]},
        headers=admin,
    )
    assert unit.status_code == 201 and unit.json()["zone_id"] == zone.json()["id"]


def test_unit_cannot_point_at_a_zone_of_another_site(app: Any) -> None:
    client, world, tokens = app
    response = client.post(
        f"/api/sites/{world.a.site.id}/units",
        json={"label": "X-1", "zone_id": world.b.zone.id},
        headers=bearer(tokens["admin_a"]),
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "zone_id"


def test_units_go_only_into_active_zones_and_list_by_zone(app: Any) -> None:
    client, world, tokens = app
    admin, resident = bearer(tokens["admin_a"]), bearer(tokens["resident_a"])
    site = world.a.site.id
    units = f"/api/sites/{site}/units"
    east = client.post(f"/api/sites/{site}/zones", json={"name": "East"}, headers=admin).json()
    in_east = client.post(units, json={"label": "E-1", "zone_id": east["id"]}, headers=admin)
    assert in_east.status_code == 201
    loose = client.post(units, json={"label": "L-1"}, headers=admin).json()

    def labels(params: dict[str, Any], headers: dict[str, str] = admin) -> list[str]:
        answer = client.get(units, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [u["label"] for u in answer.json()["items"]]

    assert labels({"zone_id": east["id"]}) == ["E-1"]
    assert labels({"zone_id": world.a.zone.id}) == [world.a.unit.label]
    assert labels({}) == sorted(["E-1", "L-1", world.a.unit.label])
    # A resident still sees only their own unit, whatever zone is asked for.
    assert labels({"zone_id": east["id"]}, resident) == []
    assert labels({"zone_id": world.a.zone.id}, resident) == [world.a.unit.label]
    for bad in (world.b.zone.id, 0, "east"):
        refused = client.get(units, params={"zone_id": bad}, headers=admin)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["details"]["fields"][0]["field"] == "zone_id"

    # East is retired: no unit goes into it any more, and nothing is written trying.
    retired = client.patch(f"/api/zones/{east['id']}", json={"is_active": False}, headers=admin)
    assert retired.status_code == 200
    for attempt in (
        client.post(units, json={"label": "E-2", "zone_id": east["id"]}, headers=admin),
        client.patch(f"/api/units/{loose['id']}", json={"zone_id": east["id"]}, headers=admin),
    ):
        assert attempt.status_code == 422, attempt.text
        assert attempt.json()["error"]["details"]["fields"][0]["field"] == "zone_id"
    assert labels({"zone_id": east["id"]}) == ["E-1"]  # still listed: its units are still there
    listed = client.get(units, headers=admin).json()["items"]
    assert [u["zone_id"] for u in listed if u["id"] == loose["id"]] == [None]
    # A unit already there keeps its zone while it is edited.
    kept = client.patch(
        f"/api/units/{in_east.json()['id']}",
        json={"label": "E-1A", "zone_id": east["id"]},
        headers=admin,
    )
    assert kept.status_code == 200 and kept.json()["zone_id"] == east["id"]


def test_paging_and_search(app: Any) -> None:
    client, world, tokens = app
    admin = bearer(tokens["admin_a"])
    path = f"/api/sites/{world.a.site.id}/units"
    for i in range(12):
        assert client.post(path, json={"label": f"7-{i:02d}"}, headers=admin).status_code == 201
    first = client.get(path, params={"limit": 5, "q": "7-"}, headers=admin).json()
    second = client.get(path, params={"limit": 5, "offset": 5, "q": "7-"}, headers=admin).json()
    last = client.get(path, params={"limit": 5, "offset": 10, "q": "7-"}, headers=admin).json()
    assert first["total"] == second["total"] == 12
    labels = [u["label"] for u in first["items"] + second["items"] + last["items"]]
    assert labels == [f"7-{i:02d}" for i in range(12)]
    assert client.get(path, params={"q": "no-such"}, headers=admin).json()["total"] == 0


def test_deactivated_zone_is_hidden_and_audited(app: Any) -> None:
    client, world, tokens = app
    admin = bearer(tokens["admin_a"])
    zone_id = world.a.zone.id
    response = client.patch(f"/api/zones/{zone_id}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200 and response.json()["is_active"] is False
    listed = client.get(f"/api/sites/{world.a.site.id}/zones", headers=admin).json()
    assert zone_id not in [z["id"] for z in listed["items"]]
    everything = client.get(
        f"/api/sites/{world.a.site.id}/zones", params={"include_inactive": "true"}, headers=admin
    ).json()
    assert zone_id in [z["id"] for z in everything["items"]]
    events = client.get(
        f"/api/sites/{world.a.site.id}/audit", params={"action": "zone."}, headers=admin
    ).json()["items"]
    assert events[0]["action"] == "zone.updated"
    assert events[0]["before"] == {"is_active": True} and events[0]["after"] == {"is_active": False}
    assert events[0]["actor_user_id"] == world.a.users["admin"].id


def test_duplicate_names_are_refused_without_writing(app: Any) -> None:
    client, world, tokens = app
    admin = bearer(tokens["admin_a"])
    dup = client.post(
        f"/api/sites/{world.a.site.id}/zones", json={"name": world.a.zone.name}, headers=admin
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_name"
    rename = client.patch(f"/api/units/{world.a.unit.id}", json={"label": "a-1-101"}, headers=admin)
    assert rename.status_code == 200
    other = client.post(f"/api/sites/{world.a.site.id}/units", json={"label": "a-2"}, headers=admin)
    clash = client.patch(
        f"/api/units/{other.json()['id']}", json={"label": "a-1-101"}, headers=admin
    )
    assert clash.status_code == 409
    units = client.get(f"/api/sites/{world.a.site.id}/units", headers=admin).json()
    assert sorted(u["label"] for u in units["items"]) == ["a-1-101", "a-2"]


def test_deactivated_site_disappears_for_its_members(app: Any) -> None:
    client, world, tokens = app
    admin = bearer(tokens["admin_a"])
    guard = bearer(tokens["guard_a"])
    assert (
        client.patch(
            f"/api/sites/{world.a.site.id}", json={"is_active": False}, headers=admin
        ).status_code
        == 200
    )
    assert client.get("/api/sites", headers=guard).json()["total"] == 0
    assert client.get(f"/api/sites/{world.a.site.id}/zones", headers=guard).status_code == 404
    # Creating things in an inactive site is refused clearly (for the superuser who still sees it).
    refused = client.post(
        f"/api/sites/{world.a.site.id}/zones", json={"name": "Late"}, headers=bearer(tokens["root"])
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "inactive"


def test_only_a_superuser_deactivates_an_organization(app: Any) -> None:
    client, world, tokens = app
    refused = client.patch(
        f"/api/organizations/{world.org.id}",
        json={"is_active": False},
        headers=bearer(tokens["admin_a"]),
    )
    assert refused.status_code == 403
    ok = client.patch(
        f"/api/organizations/{world.org.id}",
        json={"is_active": False},
        headers=bearer(tokens["root"]),
    )
    assert ok.status_code == 200 and ok.json()["is_active"] is False
    site = client.post(
        "/api/sites",
        json={"organization_id": world.org.id, "name": "New", "kind": "building"},
        headers=bearer(tokens["root"]),
    )
    assert site.status_code == 409 and site.json()["error"]["code"] == "inactive"


def test_site_timezone_and_hours_are_validated(app: Any) -> None:
    client, world, tokens = app
    ok = client.patch(
        f"/api/sites/{world.a.site.id}",
        json={"timezone": "Asia/Urumqi", "after_hours_start": "21:30"},
        headers=bearer(tokens["admin_a"]),
    )
    assert ok.status_code == 200 and ok.json()["timezone"] == "Asia/Urumqi"
    bad = client.patch(
        f"/api/sites/{world.a.site.id}",
        json={"timezone": "Asia/Atlantis"},
        headers=bearer(tokens["admin_a"]),
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/sites/{site}", {"name": None}),
        ("/api/sites/{site}", {"timezone": None, "address": "changed"}),
        ("/api/sites/{site}", {"is_active": None}),
        ("/api/zones/{zone}", {"name": None}),
        ("/api/units/{unit}", {"label": None}),
        ("/api/users/{user}", {"display_name": None}),
        ("/api/organizations/{org}", {"name": None}),
    ],
)
def test_null_for_a_field_that_cannot_be_empty_is_refused_and_changes_nothing(
    app: Any, path: str, body: dict[str, Any]
) -> None:
    client, world, tokens = app
    root = bearer(tokens["root"])
    url = path.format(
        site=world.a.site.id,
        zone=world.a.zone.id,
        unit=world.a.unit.id,
        user=world.a.users["guard"].id,
        org=world.org.id,
    )
    before = client.get(url, headers=root).json()
    answer = client.patch(url, json=body, headers=root)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    (field,) = [f for f in error["details"]["fields"] if f["field"] in body]
    assert body[field["field"]] is None and field["code"] == "missing"
    assert client.get(url, headers=root).json() == before


def test_a_site_made_by_a_superuser_adds_no_membership(app: Any) -> None:
    client, world, tokens = app
    root = bearer(tokens["root"])
    made = client.post(
        "/api/sites",
        json={"organization_id": world.org.id, "name": "Depot", "kind": "building"},
        headers=root,
    )
    assert made.status_code == 201
    held = client.get(f"/api/sites/{made.json()['id']}/memberships", headers=root).json()
    assert held["items"] == []


def test_null_role_for_a_membership_is_refused(app: Any) -> None:
    client, world, tokens = app
    root = bearer(tokens["root"])
    site = world.a.site.id
    listed = client.get(f"/api/sites/{site}/memberships?limit=200", headers=root).json()
    guard = next(m for m in listed["items"] if m["user_id"] == world.a.users["guard"].id)
    answer = client.patch(f"/api/memberships/{guard['id']}", json={"role": None}, headers=root)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["fields"][0] == {
        "field": "role",
        "code": "missing",
        "message": answer.json()["error"]["details"]["fields"][0]["message"],
    }
    again = client.get(f"/api/sites/{site}/memberships?limit=200", headers=root).json()
    assert again == listed


def test_null_where_empty_means_something_is_still_taken(app: Any) -> None:
    # A unit may have no zone: null there is a value, not a mistake.
    client, world, tokens = app
    root = bearer(tokens["root"])
    answer = client.patch(f"/api/units/{world.a.unit.id}", json={"zone_id": None}, headers=root)
    assert answer.status_code == 200 and answer.json()["zone_id"] is None
