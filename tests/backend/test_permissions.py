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


def _org(env: Env, which: str) -> int:
    return env.world.org.id if which == "own" else env.world.other_org.id


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
    "GET /api/sites/{site_id}/audit": (
        lambda e, w, r: (f"/api/sites/{e.site(w).site.id}/audit", None),
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
