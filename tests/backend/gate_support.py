"""Shared pieces of the gate-house tests: a running app on a fresh database with the usual two
sites (no after-hours window unless a test sets one), sign-ins by name, phones that push and
pull through the sync engine, and valid document numbers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from backend.models.organizations import Site
from backend.services.identity import resident_id_check_character
from tests.factories import PASSWORD, World, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app


def resident_id(body: str) -> str:
    """A valid 18-character resident ID from its first 17 digits."""
    return body + resident_id_check_character(body)


ID_ZHANG = resident_id("11010519491231002")  # 11010519491231002X, the GB 11643 example
ID_LI = resident_id("44030419900307123")


def soon(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def soon_in_beijing(hours: float) -> str:
    """`soon(hours)` written in +08:00, ready for a query string."""
    beijing = timezone(timedelta(hours=8))
    return (
        (datetime.now(UTC) + timedelta(hours=hours))
        .astimezone(beijing)
        .isoformat()
        .replace("+", "%2B")
    )


def mutation(name: str, args: dict[str, Any], client_time: str | None = None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "args": args,
        "client_time": client_time or datetime.now(UTC).isoformat(),
    }


@dataclass
class Phone:
    token: str
    uid: str


@dataclass
class Gate:
    client: TestClient
    world: World
    settings: Any
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def site(self) -> int:
        return int(self.world.a.site.id)

    @property
    def unit(self) -> int:
        return int(self.world.a.unit.id)

    def user_id(self, name: str, which: str = "a") -> int:
        world = self.world.a if which == "a" else self.world.b
        return int(world.users[name].id)

    def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = login(self.client, username, PASSWORD)["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, as_: str, **kw: Any) -> Any:
        headers = {**bearer(self.token(as_)), "Accept-Language": "en", **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def ok(self, method: str, path: str, as_: str, **kw: Any) -> Any:
        response = self.call(method, path, as_, **kw)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def refused(self, method: str, path: str, as_: str, status: int, code: str, **kw: Any) -> Any:
        response = self.call(method, path, as_, **kw)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert error["message"] and error["message"] != f"error.{code}"
        return error

    def phone(self, username: str) -> Phone:
        uid = str(uuid.uuid4())
        data = login(self.client, username, PASSWORD, device={"uid": uid, "name": username})
        return Phone(data["token"], uid)

    def push(self, phone: Phone, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.client.post(
            "/api/sync/push",
            json={"device_id": phone.uid, "mutations": mutations},
            headers={**bearer(phone.token), "Accept-Language": "en"},
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def pull(self, phone: Phone) -> Any:
        response = self.client.get("/api/sync/pull", headers=bearer(phone.token))
        assert response.status_code == 200, response.text
        return response

    def db(self, coro_fn: Any) -> Any:
        return run_in_db(self.settings, coro_fn)


def gate_env(database_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Gate]:
    settings = make_settings(
        tmp_path, database_url, login_max_failures_per_address=10_000, **overrides
    )

    async def world() -> World:
        made = await make_world()
        # No nightly window: visitors go straight in whatever the hour the tests run at.
        await Site.all().update(after_hours_start="00:00", after_hours_end="00:00")
        return made

    made = run_in_db(settings, world)
    with running_app(settings) as client:
        yield Gate(client, made, settings)
