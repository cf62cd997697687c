"""Checkpoints, tags and coverage through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.models.patrol import Tag, TagKind
from backend.services.patrol import tag_purpose
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app

META = "00112233445566778899AABBCCDDEEFF"
FILE = "FFEEDDCCBBAA99887766554433221100"
IK = "E2E7B46C5A0D2E3A9E0A7C1B0F4D8A21"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, World, Any, Any]]:
    settings = make_settings(tmp_path, database_url)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        admin = bearer(login(client, "admin_a", PASSWORD)["token"])
        yield client, world, admin, settings


def test_checkpoint_with_checklist_and_position(app: Any) -> None:
    client, world, admin, _ = app
    site = world.a.site.id
    made = client.post(
        f"/api/sites/{site}/checkpoints",
        headers=admin,
        json={
            "name": "B1 消防通道 Fire exit",
            "zone_id": world.a.zone.id,
            "checklist": [
                {"key": "door", "label": "消防门关闭"},
                {"key": "note", "label": "备注", "kind": "note"},
            ],
            "latitude": 31.2304,
            "longitude": 121.4737,
            "radius_m": 30,
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert [i["key"] for i in body["checklist"]] == ["door", "note"]
    guard = bearer(login(client, "guard_a", PASSWORD)["token"])
    listed = client.get(f"/api/sites/{site}/checkpoints", headers=guard).json()
    assert [c["name"] for c in listed["items"]] == ["B1 消防通道 Fire exit"]
    changed = client.patch(
        f"/api/checkpoints/{body['id']}",
        headers=admin,
        json={"checklist": [{"key": "lights", "label": "灯亮"}]},
    )
    assert [i["key"] for i in changed.json()["checklist"]] == ["lights"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "latitude": 91}, "latitude"),
        ({"name": "x", "longitude": -181}, "longitude"),
        ({"name": "x", "radius_m": 0}, "radius_m"),
        (
            {"name": "x", "checklist": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]},
            "checklist",
        ),
        ({"name": "x", "checklist": [{"key": "Bad Key", "label": "A"}]}, "checklist.0.key"),
        ({"name": "x", "zone_id": -5}, "zone_id"),
    ],
)
def test_bad_checkpoints_are_refused(app: Any, body: dict[str, Any], field: str) -> None:
    client, world, admin, _ = app
    if field == "zone_id":
        body["zone_id"] = world.b.zone.id  # a zone of another site
    response = client.post(f"/api/sites/{world.a.site.id}/checkpoints", headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]
    listed = client.get(f"/api/sites/{world.a.site.id}/checkpoints", headers=admin).json()
    assert listed["total"] == 0


def test_checkpoints_and_equipment_go_only_into_active_zones(app: Any) -> None:
    client, world, admin, _ = app
    site = world.a.site.id
    b2 = client.post(f"/api/sites/{site}/zones", json={"name": "B2"}, headers=admin).json()["id"]

    def send(method: str, path: str, body: dict[str, Any]) -> Any:
        return client.request(method, path, headers=admin, json=body)

    cp = send("POST", f"/api/sites/{site}/checkpoints", {"name": "Pump", "zone_id": b2}).json()
    hose = {"name": "Hose", "type": "extinguisher", "zone_id": b2}
    item = send("POST", f"/api/sites/{site}/fire-equipment", hose).json()
    assert cp["zone_id"] == item["zone_id"] == b2
    assert send("PATCH", f"/api/zones/{b2}", {"is_active": False}).status_code == 200

    # Nothing new goes into the retired zone, and nothing is moved into it.
    box = {"name": "Box", "type": "extinguisher", "zone_id": b2}
    refused = [
        send("POST", f"/api/sites/{site}/checkpoints", {"name": "Stairs", "zone_id": b2}),
        send("POST", f"/api/sites/{site}/fire-equipment", box),
    ]
    moved = send("PATCH", f"/api/checkpoints/{cp['id']}", {"zone_id": world.a.zone.id})
    assert moved.status_code == 200, moved.text
    refused.append(send("PATCH", f"/api/checkpoints/{cp['id']}", {"zone_id": b2}))
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["details"]["fields"][0]["field"] == "zone_id"
    listed = client.get(f"/api/sites/{site}/checkpoints", headers=admin).json()["items"]
    assert [(c["name"], c["zone_id"]) for c in listed] == [("Pump", world.a.zone.id)]
    # What is already there keeps its zone while it is edited.
    kept = send("PATCH", f"/api/fire-equipment/{item['id']}", {"name": "Hose reel", "zone_id": b2})
    assert kept.status_code == 200 and kept.json()["zone_id"] == b2, kept.text


def test_tags_of_every_kind_and_their_keys_never_leave(app: Any) -> None:
    client, world, admin, settings = app
    site = world.a.site.id
    cp = client.post(
        f"/api/sites/{site}/checkpoints",
        headers=admin,
        json={"name": "Gate", "latitude": 31.2, "longitude": 121.4},
    ).json()["id"]
    cases = [
        {"kind": "qr", "checkpoint_id": cp},
        {"kind": "nfc_uid", "checkpoint_id": cp, "identifier": "04:de:5f:1e:ac:c0:40"},
        {
            "kind": "nfc_sun",
            "checkpoint_id": cp,
            "identifier": "04C767F2066180",
            "sdm_meta_read_key": META,
            "sdm_file_read_key": FILE,
        },
        {"kind": "ble_static", "checkpoint_id": cp, "identifier": "C3:11:22:33:44:55"},
        {
            "kind": "ble_eid",
            "checkpoint_id": cp,
            "identifier": "EID lobby",
            "identity_key": IK,
            "rotation_exponent": 9,
            "clock_offset": 1_700_000_000,
        },
        {"kind": "gps", "checkpoint_id": cp},
    ]
    made = []
    for body in cases:
        response = client.post(f"/api/sites/{site}/tags", headers=admin, json=body)
        assert response.status_code == 201, (body, response.text)
        made.append(response.json())
    by_kind = {t["kind"]: t for t in made}
    assert len(by_kind["qr"]["identifier"]) == 16 and by_kind["qr"]["identifier"].startswith("AB")
    assert by_kind["nfc_uid"]["identifier"] == "04DE5F1EACC040"
    assert by_kind["gps"]["identifier"] == f"gps-{cp}"
    assert by_kind["nfc_sun"]["has_secret"] and by_kind["ble_eid"]["has_secret"]
    assert not by_kind["qr"]["has_secret"]
    listing = client.get(f"/api/sites/{site}/tags", headers=admin)
    for key in (META, FILE, IK, META.lower()):
        assert key not in listing.text
    # Stored sealed, bound to the tag: it opens with the master key, and only for this tag.
    stored = run_in_db(settings, lambda: Tag.get(kind=TagKind.nfc_sun))
    assert META not in stored.secret_sealed
    opened = settings.sealer().open(
        stored.secret_sealed, tag_purpose(TagKind.nfc_sun, "04C767F2066180")
    )
    assert opened == bytes.fromhex(META) + bytes.fromhex(FILE)
    cov = client.get(f"/api/sites/{site}/patrol-coverage", headers=admin).json()
    assert cp not in cov["checkpoints_without_tags"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (
            {"kind": "nfc_sun", "identifier": "04C767F2066180", "sdm_meta_read_key": META},
            "sdm_file_read_key",
            "required_for_kind",
        ),
        ({"kind": "qr", "identity_key": IK}, "identity_key", "not_for_kind"),
        ({"kind": "nfc_uid", "identifier": "04C767F20661"}, "identifier", "bad_uid"),
        ({"kind": "nfc_uid", "identifier": "zz"}, "identifier", "bad_uid"),
        (
            {
                "kind": "ble_eid",
                "identifier": "x",
                "identity_key": IK,
                "rotation_exponent": 16,
                "clock_offset": 0,
            },
            "rotation_exponent",
            "less_than_equal",
        ),
        (
            {
                "kind": "nfc_sun",
                "identifier": "04C767F2066180",
                "sdm_meta_read_key": "XYZ",
                "sdm_file_read_key": FILE,
            },
            "sdm_meta_read_key",
            "string_pattern_mismatch",
        ),
        ({"kind": "gps"}, "checkpoint_id", "required_for_kind"),
        ({"kind": "ble_static"}, "identifier", "required_for_kind"),
    ],
)
def test_bad_tags_are_refused_with_the_field_named(
    app: Any, body: dict[str, Any], field: str, code: str
) -> None:
    client, world, admin, settings = app
    response = client.post(f"/api/sites/{world.a.site.id}/tags", headers=admin, json=body)
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["details"]["fields"]
    assert (fields[0]["field"], fields[0]["code"]) == (field, code)
    assert run_in_db(settings, lambda: Tag.all().count()) == 0


def test_a_tag_id_is_registered_once_across_sites(app: Any) -> None:
    client, world, admin, _ = app
    body = {"kind": "nfc_uid", "identifier": "04DE5F1EACC040"}
    assert (
        client.post(f"/api/sites/{world.a.site.id}/tags", headers=admin, json=body).status_code
        == 201
    )
    root = bearer(login(client, "root", PASSWORD)["token"])
    again = client.post(f"/api/sites/{world.b.site.id}/tags", headers=root, json=body)
    assert again.status_code == 422
    assert again.json()["error"]["details"]["fields"][0]["code"] == "identifier_taken"


def test_gps_tag_needs_a_positioned_checkpoint(app: Any) -> None:
    client, world, admin, _ = app
    cp = client.post(
        f"/api/sites/{world.a.site.id}/checkpoints", headers=admin, json={"name": "Roof"}
    ).json()["id"]
    response = client.post(
        f"/api/sites/{world.a.site.id}/tags",
        headers=admin,
        json={"kind": "gps", "checkpoint_id": cp},
    )
    assert response.json()["error"]["details"]["fields"][0]["code"] == "needs_position"


def test_coverage_names_uncovered_zones_and_untagged_checkpoints(app: Any) -> None:
    client, world, admin, _ = app
    site = world.a.site.id
    other_zone = client.post(
        f"/api/sites/{site}/zones", headers=admin, json={"name": "Roof"}
    ).json()["id"]
    cp = client.post(
        f"/api/sites/{site}/checkpoints",
        headers=admin,
        json={"name": "Gate", "zone_id": world.a.zone.id},
    ).json()["id"]
    cov = client.get(f"/api/sites/{site}/patrol-coverage", headers=admin).json()
    assert cov == {
        "zones_without_checkpoints": [other_zone],
        "checkpoints_without_tags": [cp],
        "checkpoints_in_no_tour": [cp],
    }
    tag = client.post(
        f"/api/sites/{site}/tags", headers=admin, json={"kind": "qr", "checkpoint_id": cp}
    ).json()
    assert (
        client.get(f"/api/sites/{site}/patrol-coverage", headers=admin).json()[
            "checkpoints_without_tags"
        ]
        == []
    )
    # A deactivated tag covers nothing.
    client.patch(f"/api/tags/{tag['id']}", headers=admin, json={"is_active": False})
    assert client.get(f"/api/sites/{site}/patrol-coverage", headers=admin).json()[
        "checkpoints_without_tags"
    ] == [cp]


def test_guards_cannot_list_tags(app: Any) -> None:
    client, world, _, _ = app
    guard = bearer(login(client, "guard_a", PASSWORD)["token"])
    assert client.get(f"/api/sites/{world.a.site.id}/tags", headers=guard).status_code == 403
