"""Every route × every role × own site / foreign site, against the real app and database.

The matrix below is the specification. A route added to the app without a row here fails
`test_matrix_covers_every_route`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from backend.app import all_endpoints
from tests.factories import PASSWORD, World, make_world
from tests.support import (
    Templates,
    bearer,
    database,
    login,
    make_settings,
    run_in_db,
    running_app,
)

ROLES = ["anon", "bridge", "resident", "guard", "supervisor", "admin", "superuser"]


@dataclass
class Env:
    client: TestClient
    world: World
    tokens: dict[str, str]
    devices: dict[str, str]

    def site(self, which: str) -> Any:
        return self.world.a if which == "own" else self.world.b

    def fresh_session(self, role: str) -> tuple[str, int]:
        username = self.username(role)
        data = login(self.client, username, PASSWORD)
        return data["token"], data["session_id"]

    def username(self, role: str) -> str:
        if role == "superuser":
            return "root"
        return f"{role}_a"

    def as_superuser(self, method: str, path: str, **kw: Any) -> Any:
        response = self.client.request(method, path, headers=bearer(self.tokens["superuser"]), **kw)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    templates = Templates(tmp_path_factory.mktemp("tpl"))
    data_dir = tmp_path_factory.mktemp("matrix")
    with database(templates, "sqlite", data_dir) as url:
        settings = make_settings(data_dir, url, login_max_failures_per_address=10_000)
        world = run_in_db(settings, make_world)
        with running_app(settings) as client:
            tokens = {"bridge": world.a.bridge_token}
            devices = {}
            for role in ROLES[2:]:
                name = "root" if role == "superuser" else f"{role}_a"
                devices[role] = str(uuid.uuid4())
                hello = {"uid": devices[role], "name": f"{role} phone"}
                tokens[role] = login(client, name, PASSWORD, device=hello)["token"]
            yield Env(client, world, tokens, devices)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# A request builder gets the environment, "own" or "foreign", and the acting role; it returns
# (path, json body or None). Own means site A (where every role below belongs); foreign, site B.
Builder = Callable[[Env, str, str], tuple[str, Any]]


def _other_user_id(env: Env, which: str) -> int:
    return int(env.site(which).users["guard2"].id)


def _new_member_target(env: Env, which: str, _role: str) -> tuple[str, Any]:
    site = env.site(which).site
    user = env.as_superuser(
        "POST",
        "/api/users",
        json={"username": unique("floater"), "display_name": "Floater", "password": PASSWORD},
    )
    return f"/api/sites/{site.id}/memberships", {"user_id": user["id"], "role": "guard"}


def _logout(env: Env, _which: str, role: str) -> tuple[str, Any]:
    if role in ("anon", "bridge"):
        return "/api/auth/logout", None
    token, _ = env.fresh_session(role)
    env.tokens[f"{role}:once"] = token
    return "/api/auth/logout", None


def _revoke_session(env: Env, which: str, role: str) -> tuple[str, Any]:
    if which == "own" and role not in ("anon", "bridge"):
        _, session_id = env.fresh_session(role)
    else:
        _, session_id = env.fresh_session("guard2")
    return f"/api/auth/sessions/{session_id}", None


def _random_address() -> str:
    raw = uuid.uuid4().bytes[:6]
    return ":".join(f"{b:02X}" for b in raw)


def _badge(env: Env, which: str) -> int:
    cache = env.__dict__.setdefault("badges", {})
    if which not in cache:
        site = env.site(which)
        cache[which] = env.as_superuser(
            "POST",
            f"/api/sites/{site.site.id}/badges",
            json={"user_id": site.users["guard"].id, "kind": "address", "ident": _random_address()},
        )["id"]
    return int(cache[which])


def _equipment(env: Env, which: str) -> int:
    cache = env.__dict__.setdefault("equipment", {})
    if which not in cache:
        cache[which] = env.as_superuser(
            "POST",
            f"/api/sites/{env.site(which).site.id}/fire-equipment",
            json={"name": unique("hydrant"), "type": "hydrant"},
        )["id"]
    return int(cache[which])


_SCAN_CLOCK = iter(range(1, 100_000))


def _pending_scan(env: Env, which: str) -> str:
    """A manual (so suspicious, so pending) scan, far enough in time from the last one."""
    from datetime import UTC, datetime, timedelta

    when = datetime.now(UTC) - timedelta(days=30) + timedelta(minutes=10 * next(_SCAN_CLOCK))
    site = env.site(which).site.id
    scan = env.as_superuser(
        "POST",
        f"/api/sites/{site}/scans",
        json={
            "id": str(uuid.uuid4()),
            "site_id": site,
            "method": "manual",
            "code": env.codes[which],
            "client_time": when.isoformat(),  # type: ignore[attr-defined]
        },
    )
    assert scan["review"] == "pending", scan
    return str(scan["id"])


def _current_round(env: Env, which: str, started: bool = False) -> int:
    """A round open now, of a tour made for this case (hourly, each open for an hour)."""
    from datetime import UTC, datetime

    site = env.site(which).site.id
    tour = env.as_superuser(
        "POST",
        f"/api/sites/{site}/tours",
        json={
            "name": unique("t"),
            "days": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "00:00",
            "end_time": "00:00",
            "every_minutes": 60,
            "window_minutes": 60,
            "stops": [env.checkpoints[which]],  # type: ignore[attr-defined]
        },
    )
    now = datetime.now(UTC)
    rounds = env.as_superuser("GET", f"/api/sites/{site}/rounds")
    current = next(
        r["id"]
        for r in rounds
        if r["tour_id"] == tour["id"]
        and datetime.fromisoformat(r["due_at"]) <= now < datetime.fromisoformat(r["closes_at"])
    )
    if started:
        env.as_superuser("POST", f"/api/rounds/{current}/start")
    return int(current)


# --- the gate house ---------------------------------------------------------------------------

_GATE_COUNTER = iter(range(1, 1_000_000))


def _soon(hours: float) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _plate() -> str:
    return f"京A{next(_GATE_COUNTER):05d}"


def _gate(env: Env) -> dict[str, Any]:
    """Made once: no after-hours window (visitors go straight in), and per site a blocklisted
    name, a vehicle, an open overnight check, a contractor pass, an invite, and the unit's
    resident named its goods-out approver."""
    if hasattr(env, "gate"):
        return env.gate  # type: ignore[no-any-return]
    gate: dict[str, Any] = {}
    for w in ("own", "foreign"):
        sw = env.site(w)
        site = sw.site.id
        never = {"after_hours_start": "00:00", "after_hours_end": "00:00"}
        env.as_superuser("PATCH", f"/api/sites/{site}", json=never)
        env.as_superuser(
            "POST", f"/api/units/{sw.unit.id}/approvers", json={"user_id": sw.users["resident"].id}
        )
        gate[w] = {
            "blocked": env.as_superuser(
                "POST", f"/api/sites/{site}/blocklist", json={"name": f"Blocked {w}", "reason": "x"}
            )["id"],
            "vehicle": env.as_superuser(
                "POST", f"/api/sites/{site}/vehicles", json={"plate": _plate()}
            )["id"],
            "check": env.as_superuser(
                "POST", f"/api/sites/{site}/vehicle-checks", json={"id": str(uuid.uuid4())}
            )["id"],
            "pass_code": _contractor_pass(env, w)["code"],
            "invite_code": _invite(env, w)["code"],
        }
    gate["approver_tokens"] = {
        "own": env.tokens["resident"],
        "foreign": login(env.client, "resident_b", PASSWORD)["token"],
    }
    env.gate = gate  # type: ignore[attr-defined]
    return gate


def _visit(env: Env, which: str, name: str = "") -> str:
    _gate(env)
    sw = env.site(which)
    visit = env.as_superuser(
        "POST",
        f"/api/sites/{sw.site.id}/visits",
        json={
            "id": str(uuid.uuid4()),
            "name": name or unique("visitor"),
            "phone": "13800000000",
            "host_unit_id": sw.unit.id,
        },
    )
    return str(visit["id"])


def _invite(env: Env, which: str) -> dict[str, Any]:
    sw = env.site(which)
    return env.as_superuser(  # type: ignore[no-any-return]
        "POST",
        f"/api/sites/{sw.site.id}/invites",
        json={
            "unit_id": sw.unit.id,
            "guest_name": unique("guest"),
            "valid_from": _soon(-1),
            "valid_until": _soon(24),
        },
    )


def _contractor_pass(env: Env, which: str) -> dict[str, Any]:
    return env.as_superuser(  # type: ignore[no-any-return]
        "POST",
        f"/api/sites/{env.site(which).site.id}/contractor-passes",
        json={
            "company": "Fixit Ltd",
            "person_name": unique("worker"),
            "id_kind": "passport",
            "id_number": f"E{next(_GATE_COUNTER):08d}",
            "valid_from": _soon(-1),
            "valid_until": _soon(24 * 30),
        },
    )


def _goods_pass(env: Env, which: str, *, approved: bool = False) -> dict[str, Any]:
    gate = _gate(env)
    sw = env.site(which)
    goods: dict[str, Any] = env.as_superuser(
        "POST",
        f"/api/sites/{sw.site.id}/goods-passes",
        json={
            "unit_id": sw.unit.id,
            "items": [{"name": "office chair", "quantity": 2}],
            "valid_from": _soon(-1),
            "valid_until": _soon(24),
        },
    )
    if approved:
        response = env.client.post(
            f"/api/goods-passes/{goods['id']}/decision",
            json={"decision": "approved"},
            headers=bearer(gate["approver_tokens"][which]),
        )
        assert response.status_code == 200, response.text
        goods = response.json()
    return goods


def _fresh_resident(env: Env, which: str) -> int:
    sw = env.site(which)
    user = env.as_superuser(
        "POST",
        "/api/users",
        json={
            "username": unique("tenant"),
            "display_name": "Tenant",
            "password": PASSWORD,
            "membership": {"site_id": sw.site.id, "role": "resident", "unit_id": sw.unit.id},
        },
    )
    return int(user["id"])


def _approver_to_remove(env: Env, which: str) -> str:
    unit = env.site(which).unit.id
    user = _fresh_resident(env, which)
    env.as_superuser("POST", f"/api/units/{unit}/approvers", json={"user_id": user})
    return f"/api/units/{unit}/approvers/{user}"


def _site_path(suffix: str) -> Builder:
    return lambda e, w, r: (f"/api/sites/{e.site(w).site.id}{suffix}", None)


def _push_subscription() -> dict[str, Any]:
    """A well-formed browser subscription (to a host that never resolves: nothing is sent)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": f"https://push.invalid/send/{uuid.uuid4().hex}",
        "keys": {
            "p256dh": base64.urlsafe_b64encode(point).decode(),
            "auth": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode(),
        },
    }


def _vapid_key(env: Env) -> None:
    from backend.services.notices import create_vapid_key

    settings = env.client.app.state.settings  # type: ignore[attr-defined]
    run_in_db(settings, lambda: create_vapid_key(settings.sealer()))


def _subscription_to_delete(env: Env, which: str, role: str) -> tuple[str, Any]:
    _vapid_key(env)
    # Own: the caller's subscription; foreign: another person's, which no one else may remove.
    if which == "own" and role not in ("anon", "bridge"):
        token = env.tokens[role]
    else:
        token, _ = env.fresh_session("guard2")
    made = env.client.post(
        "/api/notices/subscriptions", json=_push_subscription(), headers=bearer(token)
    )
    assert made.status_code == 201, made.text
    return f"/api/notices/subscriptions/{made.json()['id']}", None


def _parcel(env: Env, which: str) -> tuple[str, str]:
    """A waiting parcel for the site's unit (made by the superuser), and its pickup code."""
    from backend.models.parcels import Parcel

    site = env.site(which)
    parcel = env.as_superuser(
        "POST",
        f"/api/sites/{site.site.id}/parcels",
        json={"id": str(uuid.uuid4()), "unit_id": site.unit.id, "carrier": "SF"},
    )
    settings = env.client.app.state.settings  # type: ignore[attr-defined]
    row = run_in_db(settings, lambda: Parcel.get(id=parcel["id"]))
    return str(parcel["id"]), str(row.active_code)


def _org(env: Env, which: str) -> int:
    return env.world.org.id if which == "own" else env.world.other_org.id


def _jpeg() -> bytes:
    """A small photo no one has sent before."""
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (16, 12), os.urandom(16 * 12 * 3)).save(out, "JPEG")
    return out.getvalue()


def _incident(env: Env, which: str, then: tuple[str, ...] = (), photo: str = "") -> str:
    """An incident at the site, reported by the superuser, taken through `then` steps."""
    site = env.site(which).site.id
    made = env.as_superuser(
        "POST",
        f"/api/sites/{site}/incidents",
        json={
            "id": str(uuid.uuid4()),
            "type": "damage",
            "severity": "low",
            "description": "门禁损坏",
            "photos": [photo] if photo else [],
        },
    )
    for step in then:
        env.as_superuser("POST", f"/api/incidents/{made['id']}/{step}", json={})
    return str(made["id"])


def _site_photo(env: Env, which: str) -> str:
    """A photo uploaded by the superuser and part of an incident at the site."""
    import hashlib

    data = _jpeg()
    name = hashlib.sha256(data).hexdigest()
    superuser = bearer(env.tokens["superuser"])
    put = env.client.put(f"/api/media/{name}", content=data, headers=superuser)
    assert put.status_code == 201, put.text
    _incident(env, which, photo=name)
    return name


def _new_photo(_env: Env, _which: str, _role: str) -> tuple[str, Any]:
    import hashlib

    data = _jpeg()
    return f"/api/media/{hashlib.sha256(data).hexdigest()}", data


ROUTES: dict[str, tuple[Builder, dict[str, str]]] = {
    # key: (builder, {"own": statuses in ROLES order, "foreign": ...})
    "GET /api/health": (
        lambda e, w, r: ("/api/health", None),
        {"own": "200 200 200 200 200 200 200", "foreign": "200 200 200 200 200 200 200"},
    ),
    "GET /api/openapi.json": (
        lambda e, w, r: ("/api/openapi.json", None),
        {"own": "200 200 200 200 200 200 200", "foreign": "200 200 200 200 200 200 200"},
    ),
    "POST /api/auth/login": (
        lambda e, w, r: ("/api/auth/login", {"username": "guard_a", "password": PASSWORD}),
        {"own": "200 200 200 200 200 200 200", "foreign": "200 200 200 200 200 200 200"},
    ),
    "POST /api/auth/logout": (
        _logout,
        {"own": "401 403 204 204 204 204 204", "foreign": "401 403 204 204 204 204 204"},
    ),
    "GET /api/auth/me": (
        lambda e, w, r: ("/api/auth/me", None),
        {"own": "401 200 200 200 200 200 200", "foreign": "401 200 200 200 200 200 200"},
    ),
    "GET /api/auth/sessions": (
        lambda e, w, r: ("/api/auth/sessions", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "DELETE /api/auth/sessions/{session_id}": (
        _revoke_session,
        # Nobody, not even a superuser, revokes another person's session through this route.
        {"own": "401 403 204 204 204 204 204", "foreign": "401 403 404 404 404 404 404"},
    ),
    "GET /api/organizations": (
        lambda e, w, r: ("/api/organizations", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "POST /api/organizations": (
        lambda e, w, r: ("/api/organizations", {"name": unique("org")}),
        {"own": "401 403 403 403 403 403 201", "foreign": "401 403 403 403 403 403 201"},
    ),
    "GET /api/organizations/{organization_id}": (
        lambda e, w, r: (f"/api/organizations/{_org(e, w)}", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PATCH /api/organizations/{organization_id}": (
        lambda e, w, r: (
            f"/api/organizations/{_org(e, w)}",
            {"name": "Org One" if w == "own" else "Org Two"},
        ),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites": (
        lambda e, w, r: ("/api/sites", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "POST /api/sites": (
        lambda e, w, r: (
            "/api/sites",
            {"organization_id": _org(e, w), "name": unique("site"), "kind": "building"},
        ),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PATCH /api/sites/{site_id}": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}", {"address": unique("road")}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/zones": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/zones", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/zones": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/zones", {"name": unique("zone")}),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/zones/{zone_id}": (
        lambda e, w, r: (f"/api/zones/{e.site(w).zone.id}", {"kind": "gate"}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/units": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/units", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/units": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/units", {"label": unique("u")}),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/units/{unit_id}": (
        lambda e, w, r: (f"/api/units/{e.site(w).unit.id}", {"label": e.site(w).unit.label}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/users": (
        lambda e, w, r: (f"/api/users?site_id={e.site(w).site.id}", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/users": (
        lambda e, w, r: (
            "/api/users",
            {
                "username": unique("new"),
                "display_name": "New Guard",
                "password": PASSWORD,
                "membership": {"site_id": e.site(w).site.id, "role": "guard"},
            },
        ),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/users/{user_id}": (
        lambda e, w, r: (f"/api/users/{_other_user_id(e, w)}", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PATCH /api/users/{user_id}": (
        lambda e, w, r: (f"/api/users/{_other_user_id(e, w)}", {"phone": "13800000000"}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/memberships": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/memberships", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/memberships": (
        _new_member_target,
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/memberships/{membership_id}": (
        lambda e, w, r: (
            f"/api/memberships/{e.membership_ids[w]}",  # type: ignore[attr-defined]
            {"role": "guard"},
        ),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/devices": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/devices", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/devices": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/devices", {"name": unique("bridge")}),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/devices/{device_id}": (
        lambda e, w, r: (f"/api/devices/{e.site(w).bridge.id}", {"name": "Lobby bridge"}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/devices/{device_id}/revoke": (
        lambda e, w, r: (f"/api/devices/{e.spare_bridges[w]}/revoke", None),  # type: ignore[attr-defined]
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sync/push": (
        # Per-mutation permissions are the services' own: see test_sync.py's role cases.
        lambda e, w, r: (
            "/api/sync/push",
            {"device_id": e.devices.get(r, str(uuid.uuid4())), "mutations": []},
        ),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "GET /api/sync/pull": (
        lambda e, w, r: ("/api/sync/pull", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "GET /api/sites/{site_id}/duty-log": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/duty-log", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/duty-log": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/duty-log",
            {"id": str(uuid.uuid4()), "text": "All quiet"},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}/checkpoints": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/checkpoints", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/checkpoints": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/checkpoints", {"name": unique("cp")}),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/checkpoints/{checkpoint_id}": (
        lambda e, w, r: (f"/api/checkpoints/{e.checkpoints[w]}", {"radius_m": 30}),  # type: ignore[attr-defined]
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/tags": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/tags", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/tags": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/tags", {"kind": "qr"}),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/tags/{tag_id}": (
        lambda e, w, r: (f"/api/tags/{e.tags[w]}", {"label": "lobby"}),  # type: ignore[attr-defined]
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/patrol-coverage": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/patrol-coverage", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/scans": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/scans",
            {"id": str(uuid.uuid4()), "site_id": e.site(w).site.id, "method": "qr", "code": "NOPE"},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}/scans": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/scans", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/scans/{scan_id}/review": (
        lambda e, w, r: (f"/api/scans/{_pending_scan(e, w)}/review", {"decision": "accepted"}),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/tours": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/tours", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/tours": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/tours",
            {
                "name": unique("tour"),
                "days": [1],
                "start_time": "08:00",
                "end_time": "09:00",
                "every_minutes": 60,
                "window_minutes": 30,
                "stops": [e.checkpoints[w]],
            },  # type: ignore[attr-defined]
        ),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/tours/{tour_id}": (
        lambda e, w, r: (f"/api/tours/{e.tours[w]}", {"is_active": True}),  # type: ignore[attr-defined]
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/rounds": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/rounds", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/patrol-plan": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/patrol-plan", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/rounds/{round_id}/start": (
        lambda e, w, r: (f"/api/rounds/{_current_round(e, w)}/start", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/rounds/{round_id}/end": (
        # Started by someone else (the superuser): a guard may not end it, a manager may.
        lambda e, w, r: (
            f"/api/rounds/{_current_round(e, w, started=True)}/end",
            {"reason": "fire alarm"},
        ),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/hotspots": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/hotspots",
            {"zone_id": e.site(w).zone.id, "days": 1, "every_minutes": 720},
        ),
        {"own": "401 403 403 403 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}/board": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/board", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/events": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/events", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/labels.pdf": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/labels.pdf", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/notices/vapid-key": (
        lambda e, w, r: (_vapid_key(e), ("/api/notices/vapid-key", None))[1],
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "GET /api/notices/subscriptions": (
        lambda e, w, r: ("/api/notices/subscriptions", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "POST /api/notices/subscriptions": (
        lambda e, w, r: (_vapid_key(e), ("/api/notices/subscriptions", _push_subscription()))[1],
        {"own": "401 403 201 201 201 201 201", "foreign": "401 403 201 201 201 201 201"},
    ),
    "DELETE /api/notices/subscriptions/{subscription_id}": (
        _subscription_to_delete,
        # Only one's own devices, whoever one is.
        {"own": "401 403 204 204 204 204 204", "foreign": "401 403 404 404 404 404 404"},
    ),
    "GET /api/notices/settings": (
        lambda e, w, r: ("/api/notices/settings", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "PATCH /api/notices/settings": (
        lambda e, w, r: ("/api/notices/settings", {"parcels": True}),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "GET /api/sites/{site_id}/parcels": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/parcels?status=waiting", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/parcels": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/parcels",
            {"id": str(uuid.uuid4()), "unit_id": e.site(w).unit.id},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "POST /api/sites/{site_id}/parcels/batch": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/parcels/batch",
            {
                "carrier": "ZTO",
                "parcels": [{"id": str(uuid.uuid4()), "unit_id": e.site(w).unit.id}],
            },
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}/parcel-recipients": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/parcel-recipients?q=1", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/parcels/find": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/parcels/find",
            {"code": _parcel(e, w)[1]},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/parcels/shelf-check": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/parcels/shelf-check",
            {"shelves": [{"shelf": "Z9", "count": 0}]},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/parcels/{parcel_id}": (
        lambda e, w, r: (f"/api/parcels/{_parcel(e, w)[0]}", None),
        # A resident sees their own unit's parcels.
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/parcels/{parcel_id}/pickup": (
        lambda e, w, r: (lambda pc: (f"/api/parcels/{pc[0]}/pickup", {"code": pc[1]}))(
            _parcel(e, w)
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/parcels/{parcel_id}/return": (
        lambda e, w, r: (f"/api/parcels/{_parcel(e, w)[0]}/return", {"reason": "refused"}),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/me/parcels": (
        lambda e, w, r: ("/api/me/parcels", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 200 200 200 200 200"},
    ),
    "GET /api/me/pickup-pass": (
        lambda e, w, r: ("/api/me/pickup-pass", None),
        # Only residents have one.
        {"own": "401 403 200 403 403 403 403", "foreign": "401 403 200 403 403 403 403"},
    ),
    "GET /api/sites/{site_id}/audit": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/audit", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    # The gate house: visitors, invites, blocklist, vehicles, contractor and goods-out passes.
    "GET /api/sites/{site_id}/gate": (
        lambda e, w, r: (_gate(e) and f"/api/sites/{e.site(w).site.id}/gate", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/gate-policy": (
        _site_path("/gate-policy"),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PATCH /api/sites/{site_id}/gate-policy": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/gate-policy", {"visit_hours": 4}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/blocklist": (
        _site_path("/blocklist"),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/blocklist": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/blocklist",
            {"phone": "13900000000", "reason": "stole a bicycle"},
        ),
        {"own": "401 403 403 403 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/blocklist/{entry_id}": (
        lambda e, w, r: (f"/api/blocklist/{_gate(e)[w]['blocked']}", {"reason": "trespass"}),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/visits": (
        _site_path("/visits"),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/visits": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/visits",
            {
                "id": str(uuid.uuid4()),
                "name": unique("walk-in"),
                "phone": "13800000001",
                "host_unit_id": e.site(w).unit.id,
            },
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}/visitors": (
        _site_path("/visitors?phone=13800000000"),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/visits.csv": (
        _site_path("/visits.csv"),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/visits/{visit_id}": (
        # A guest of the resident's own unit.
        lambda e, w, r: (f"/api/visits/{_visit(e, w)}", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/visits/{visit_id}/check-out": (
        lambda e, w, r: (f"/api/visits/{_visit(e, w)}/check-out", {}),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/visits/{visit_id}/decision": (
        # A blocklisted visitor: only a supervisor (or admin) decides.
        lambda e, w, r: (
            f"/api/visits/{_visit(e, w, name=f'Blocked {w}')}/decision",
            {"decision": "approved"},
        ),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/visits/{visit_id}/escort": (
        lambda e, w, r: (
            f"/api/visits/{_visit(e, w)}/escort",
            {"escort_id": e.site(w).users["guard2"].id},
        ),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/invites": (
        _site_path("/invites"),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/invites": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/invites",
            {
                "unit_id": e.site(w).unit.id,
                "guest_name": "Aunt Li",
                "valid_from": _soon(0),
                "valid_until": _soon(3),
            },
        ),
        {"own": "401 403 201 403 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "POST /api/invites/{invite_id}/revoke": (
        lambda e, w, r: (f"/api/invites/{_invite(e, w)['id']}/revoke", None),
        {"own": "401 403 200 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/vehicles": (
        _site_path("/vehicles"),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/vehicles": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/vehicles", {"plate": _plate()}),
        {"own": "401 403 403 403 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/vehicles/{vehicle_id}": (
        lambda e, w, r: (f"/api/vehicles/{_gate(e)[w]['vehicle']}", {"parking_spot": "B1-07"}),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/vehicle-entries": (
        _site_path("/vehicle-entries"),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/vehicle-entries": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/vehicle-entries",
            {"id": str(uuid.uuid4()), "plate": _plate()},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "POST /api/vehicle-entries/{entry_id}/exit": (
        lambda e, w, r: (
            "/api/vehicle-entries/"
            + e.as_superuser(
                "POST",
                f"/api/sites/{e.site(w).site.id}/vehicle-entries",
                json={"id": str(uuid.uuid4()), "plate": _plate()},
            )["id"]
            + "/exit",
            {},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/vehicle-checks": (
        _site_path("/vehicle-checks"),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/vehicle-checks": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/vehicle-checks",
            {"id": str(uuid.uuid4())},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/vehicle-checks/{check_id}": (
        lambda e, w, r: (f"/api/vehicle-checks/{_gate(e)[w]['check']}", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/vehicle-checks/{check_id}/items": (
        lambda e, w, r: (
            f"/api/vehicle-checks/{_gate(e)[w]['check']}/items",
            {"id": str(uuid.uuid4()), "plate": _plate(), "condition": "ok"},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "POST /api/vehicle-checks/{check_id}/finish": (
        lambda e, w, r: (
            "/api/vehicle-checks/"
            + e.as_superuser(
                "POST",
                f"/api/sites/{e.site(w).site.id}/vehicle-checks",
                json={"id": str(uuid.uuid4())},
            )["id"]
            + "/finish",
            {},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/passes/check": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/passes/check",
            {"code": _gate(e)[w]["invite_code"]},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/contractor-passes": (
        _site_path("/contractor-passes"),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/contractor-passes": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/contractor-passes",
            {
                "company": "Fixit Ltd",
                "person_name": "Zhang",
                "id_kind": "passport",
                "id_number": f"G{next(_GATE_COUNTER):08d}",
                "valid_from": _soon(0),
                "valid_until": _soon(48),
            },
        ),
        {"own": "401 403 403 403 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "POST /api/contractor-passes/{pass_id}/revoke": (
        lambda e, w, r: (
            f"/api/contractor-passes/{_contractor_pass(e, w)['id']}/revoke",
            {"reason": "job finished"},
        ),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/contractor-passes/scan": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/contractor-passes/scan",
            {"id": str(uuid.uuid4()), "code": _gate(e)[w]["pass_code"]},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/sites/{site_id}/goods-passes": (
        _site_path("/goods-passes"),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/goods-passes": (
        # Requested by the unit's people (the superuser names a unit); staff do not.
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/goods-passes",
            {
                "unit_id": e.site(w).unit.id,
                "items": [{"name": "printer"}],
                "valid_from": _soon(0),
                "valid_until": _soon(8),
            },
        ),
        {"own": "401 403 201 403 403 403 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/goods-passes/{pass_id}": (
        lambda e, w, r: (f"/api/goods-passes/{_goods_pass(e, w)['id']}", None),
        {"own": "401 403 200 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/goods-passes/{pass_id}/decision": (
        # The stamp is the unit's: only its named approver (here the resident), nobody else.
        lambda e, w, r: (
            f"/api/goods-passes/{_goods_pass(e, w)['id']}/decision",
            {"decision": "approved"},
        ),
        {"own": "401 403 200 403 403 403 403", "foreign": "401 403 404 404 404 404 403"},
    ),
    "POST /api/sites/{site_id}/goods-passes/exit": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/goods-passes/exit",
            {"code": _goods_pass(e, w, approved=True)["code"], "items_out": [0]},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/units/{unit_id}/approvers": (
        lambda e, w, r: (f"/api/units/{e.site(w).unit.id}/approvers", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/units/{unit_id}/approvers": (
        lambda e, w, r: (
            f"/api/units/{e.site(w).unit.id}/approvers",
            {"user_id": _fresh_resident(e, w)},
        ),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "DELETE /api/units/{unit_id}/approvers/{user_id}": (
        lambda e, w, r: (_approver_to_remove(e, w), None),
        {"own": "401 403 403 403 403 204 204", "foreign": "401 403 404 404 404 404 204"},
    ),
    # Bridge-facing routes: only a bridge's own token; the site is the bridge's, never a path's.
    "GET /api/bridge/config": (
        lambda e, w, r: ("/api/bridge/config", None),
        {"own": "401 200 403 403 403 403 403", "foreign": "401 200 403 403 403 403 403"},
    ),
    "POST /api/bridge/batches": (
        lambda e, w, r: (
            "/api/bridge/batches",
            {"batch_id": str(uuid.uuid4()), "sent_at": "2026-11-24T08:00:00+00:00"},
        ),
        {"own": "401 200 403 403 403 403 403", "foreign": "401 200 403 403 403 403 403"},
    ),
    "POST /api/bridge/heartbeat": (
        lambda e, w, r: (
            "/api/bridge/heartbeat",
            {
                "sent_at": "2026-11-24T08:00:00+00:00",
                "adapter": {"present": True, "powered": True},
                "spool_size": 0,
            },
        ),
        {"own": "401 204 403 403 403 403 403", "foreign": "401 204 403 403 403 403 403"},
    ),
    "GET /api/bridge/targets": (
        lambda e, w, r: ("/api/bridge/targets", None),
        {"own": "401 200 403 403 403 403 403", "foreign": "401 200 403 403 403 403 403"},
    ),
    "POST /api/bridge/pair": (
        # The bridge belongs to site A: a checkpoint of site B is not one it can see.
        lambda e, w, r: (
            "/api/bridge/pair",
            {
                "kind": "address",
                "ident": _random_address(),
                "target": {"type": "checkpoint", "id": e.checkpoints[w]},  # type: ignore[attr-defined]
            },
        ),
        {"own": "401 201 403 403 403 403 403", "foreign": "401 422 403 403 403 403 403"},
    ),
    "GET /api/sites/{site_id}/bridges": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/bridges", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PUT /api/bridges/{device_id}/coverage": (
        lambda e, w, r: (
            f"/api/bridges/{e.site(w).bridge.id}/coverage",
            {"checkpoint_ids": [e.checkpoints[w]]},  # type: ignore[attr-defined]
        ),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/badges": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/badges", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/badges": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/badges",
            {
                "user_id": e.site(w).users["guard"].id,
                "kind": "address",
                "ident": _random_address(),
            },
        ),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "PATCH /api/badges/{badge_id}": (
        lambda e, w, r: (f"/api/badges/{_badge(e, w)}", {"label": "night badge"}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/sites/{site_id}/fire-equipment": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/fire-equipment", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/fire-equipment": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/fire-equipment",
            {"name": unique("extinguisher"), "type": "extinguisher"},
        ),
        {"own": "401 403 403 403 403 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/fire-equipment/{equipment_id}": (
        lambda e, w, r: (f"/api/fire-equipment/{_equipment(e, w)}", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PATCH /api/fire-equipment/{equipment_id}": (
        lambda e, w, r: (f"/api/fire-equipment/{_equipment(e, w)}", {"location": "B1 east"}),
        {"own": "401 403 403 403 403 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/fire-equipment/{equipment_id}/acknowledge": (
        lambda e, w, r: (f"/api/fire-equipment/{_equipment(e, w)}/acknowledge", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/fire-equipment/{equipment_id}/history": (
        lambda e, w, r: (f"/api/fire-equipment/{_equipment(e, w)}/history", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "PUT /api/media/{sha256}": (
        _new_photo,
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 403 201 201 201 201"},
    ),
    "GET /api/media/{sha256}": (
        lambda e, w, r: (f"/api/media/{_site_photo(e, w)}", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/media/{sha256}/display": (
        lambda e, w, r: (f"/api/media/{_site_photo(e, w)}/display", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/media/{sha256}/thumb": (
        lambda e, w, r: (f"/api/media/{_site_photo(e, w)}/thumb", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/media/{sha256}/original": (
        # With its EXIF and GPS: supervisors and admins (and whoever sent it).
        lambda e, w, r: (f"/api/media/{_site_photo(e, w)}/original", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/incidents": (
        lambda e, w, r: (f"/api/incidents?site_id={e.site(w).site.id}", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/sites/{site_id}/incidents": (
        lambda e, w, r: (
            f"/api/sites/{e.site(w).site.id}/incidents",
            {"id": str(uuid.uuid4()), "type": "other", "severity": "low", "description": "x"},
        ),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "GET /api/incidents/{incident_id}": (
        lambda e, w, r: (f"/api/incidents/{_incident(e, w)}", None),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "GET /api/incidents/{incident_id}.pdf": (
        lambda e, w, r: (f"/api/incidents/{_incident(e, w)}.pdf", None),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/incidents/{incident_id}/comments": (
        lambda e, w, r: (f"/api/incidents/{_incident(e, w)}/comments", {"text": "已到场"}),
        {"own": "401 403 403 201 201 201 201", "foreign": "401 403 404 404 404 404 201"},
    ),
    "POST /api/incidents/{incident_id}/photos": (
        # A photo already part of another incident at the site may be added by its staff.
        lambda e, w, r: (
            f"/api/incidents/{_incident(e, w)}/photos",
            {"photos": [_site_photo(e, w)]},
        ),
        {"own": "401 403 403 200 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/incidents/{incident_id}/assign": (
        lambda e, w, r: (
            f"/api/incidents/{_incident(e, w)}/assign",
            {"assignee_id": _other_user_id(e, w)},
        ),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/incidents/{incident_id}/resolve": (
        lambda e, w, r: (f"/api/incidents/{_incident(e, w)}/resolve", {"note": "修好了"}),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/incidents/{incident_id}/close": (
        lambda e, w, r: (f"/api/incidents/{_incident(e, w, ('resolve',))}/close", {}),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
    "POST /api/incidents/{incident_id}/reopen": (
        lambda e, w, r: (
            f"/api/incidents/{_incident(e, w, ('resolve', 'close'))}/reopen",
            {"reason": "又坏了"},
        ),
        {"own": "401 403 403 403 200 200 200", "foreign": "401 403 404 404 404 404 200"},
    ),
}


def test_matrix_covers_every_route() -> None:
    declared = {e.key for e in all_endpoints()}
    assert declared == set(ROUTES), (
        f"routes without a matrix row: {sorted(declared - set(ROUTES))}; "
        f"rows without a route: {sorted(set(ROUTES) - declared)}"
    )


CASES = [
    pytest.param(key, which, role, id=f"{key}|{which}|{role}")
    for key in ROUTES
    for which in ("own", "foreign")
    for role in ROLES
]


@pytest.mark.parametrize(("key", "which", "role"), CASES)
def test_permission(env: Env, key: str, which: str, role: str) -> None:
    builder, expected = ROUTES[key]
    want = int(expected[which].split()[ROLES.index(role)])
    method = key.split()[0]
    if not hasattr(env, "membership_ids"):
        env.membership_ids = {  # type: ignore[attr-defined]
            w: env.as_superuser(
                "GET", f"/api/sites/{env.site(w).site.id}/memberships?role=guard&limit=1"
            )["items"][0]["id"]
            for w in ("own", "foreign")
        }
    if not hasattr(env, "checkpoints"):
        env.checkpoints = {  # type: ignore[attr-defined]
            w: env.as_superuser(
                "POST",
                f"/api/sites/{env.site(w).site.id}/checkpoints",
                json={"name": unique("c"), "zone_id": env.site(w).zone.id},
            )["id"]
            for w in ("own", "foreign")
        }
        tags = {
            w: env.as_superuser(
                "POST",
                f"/api/sites/{env.site(w).site.id}/tags",
                json={"kind": "qr", "checkpoint_id": env.checkpoints[w]},  # type: ignore[attr-defined]
            )
            for w in ("own", "foreign")
        }
        env.tags = {w: t["id"] for w, t in tags.items()}  # type: ignore[attr-defined]
        env.tours = {  # type: ignore[attr-defined]
            w: env.as_superuser(
                "POST",
                f"/api/sites/{env.site(w).site.id}/tours",
                json={
                    "name": unique("tour"),
                    "days": [1],
                    "start_time": "08:00",
                    "end_time": "09:00",
                    "every_minutes": 60,
                    "window_minutes": 30,
                    "stops": [env.checkpoints[w]],  # type: ignore[attr-defined]
                },
            )["id"]
            for w in ("own", "foreign")
        }
        env.codes = {w: t["identifier"] for w, t in tags.items()}  # type: ignore[attr-defined]
    # Revoking is for ever: each case revokes a bridge of its own.
    env.spare_bridges = {  # type: ignore[attr-defined]
        w: env.as_superuser(
            "POST", f"/api/sites/{env.site(w).site.id}/devices", json={"name": unique("spare")}
        )["id"]
        for w in ("own", "foreign")
    }
    path, body = builder(env, which, role)
    headers = {}
    token = env.tokens.pop(f"{role}:once", None) or env.tokens.get(role)
    if token:
        headers = bearer(token)
    env.client.cookies.clear()  # the credential is the bearer token (or none), never a cookie
    if key.endswith("/events"):
        # A live stream never ends by itself: read its status and first line, then hang up.
        with env.client.stream(method, path, headers=headers) as stream:
            if stream.status_code == 200:
                assert next(stream.iter_lines()) == "event: hello"
            else:
                stream.read()
            response = stream
    elif isinstance(body, bytes):  # a photo upload
        response = env.client.request(method, path, content=body, headers=headers)
    else:
        response = env.client.request(method, path, json=body, headers=headers)
    env.client.cookies.clear()
    assert response.status_code == want, (
        f"{role} {method} {path} ({which}): got {response.status_code}, want {want}: "
        f"{response.text[:300]}"
    )
    if want >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_resident_sees_only_own_unit(env: Env) -> None:
    site = env.world.a.site
    units = env.client.get(
        f"/api/sites/{site.id}/units", headers=bearer(env.tokens["resident"])
    ).json()
    staff_units = env.client.get(
        f"/api/sites/{site.id}/units", headers=bearer(env.tokens["guard"])
    ).json()
    assert [u["id"] for u in units["items"]] == [env.world.a.unit.id]
    assert staff_units["total"] > 1 or staff_units["total"] >= units["total"]


def test_guard_of_site_a_sees_nothing_of_site_b(env: Env) -> None:
    headers = bearer(env.tokens["guard"])
    sites = env.client.get("/api/sites", headers=headers).json()
    assert {s["id"] for s in sites["items"]} == {env.world.a.site.id}
    b = env.world.b
    for path in (
        f"/api/sites/{b.site.id}",
        f"/api/sites/{b.site.id}/zones",
        f"/api/sites/{b.site.id}/units",
        f"/api/users/{b.users['guard'].id}",
    ):
        response = env.client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert "Site B" not in response.text
