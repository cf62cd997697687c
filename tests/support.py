"""Test support: real databases (a SQLite file, a PostgreSQL database) cloned from a migrated
template, an app with its lifespan running, and sign-in helpers."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from starlette.testclient import TestClient

from backend.app import create_app
from backend.db import apply_migrations, bound, open_database
from backend.settings import Settings

PG_URL = os.environ.get("ANBAO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
TEST_SECRET = "test-secret-key-not-for-production"
TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LW5vdC1mb3ItcHJvZHVjdGk"  # 32 bytes, tests only


@functools.cache
def postgres_available() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_URL, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _pg_url(database: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "master_key": TEST_MASTER_KEY,
        "pwa_dir": data_dir / "no-pwa",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def _migrate(settings: Settings) -> None:
    ctx = await open_database(settings)
    try:
        await apply_migrations(ctx)
    finally:
        await ctx.close_connections()


class Templates:
    """One migrated database per backend per test session; each test gets a copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite: Path | None = None
        self.pg_template: str | None = None
        self.created: list[str] = []

    def sqlite_copy(self, target_dir: Path) -> str:
        if self.sqlite is None:
            path = self.root / "template.sqlite3"
            asyncio.run(_migrate(_settings(self.root, f"sqlite://{path}")))
            self.sqlite = path
        target = target_dir / "anbao.sqlite3"
        shutil.copy(self.sqlite, target)
        for suffix in ("-wal", "-shm"):
            extra = Path(f"{self.sqlite}{suffix}")
            if extra.exists():
                shutil.copy(extra, Path(f"{target}{suffix}"))
        return f"sqlite://{target}"

    def postgres_copy(self) -> str:
        if self.pg_template is None:
            name = f"anbao_tpl_{os.getpid()}"
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            asyncio.run(_migrate(_settings(self.root, _pg_url(name))))
            self.pg_template = name
        name = f"anbao_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'))
        self.created.append(name)
        return _pg_url(name)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def database(templates: Templates, backend: str, data_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield templates.sqlite_copy(data_dir)
        return
    url = templates.postgres_copy()
    try:
        yield url
    finally:
        templates.drop(url)


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    return _settings(data_dir, database_url, **overrides)


@contextmanager
def running_app(settings: Settings, **client_kw: Any) -> Iterator[TestClient]:
    app = create_app(settings)
    client_kw.setdefault("base_url", "http://testserver")
    with TestClient(app, **client_kw) as client:
        yield client


def run_in_db(settings: Settings, coro_fn: Any) -> Any:
    """Run `await coro_fn()` with the app's database bound (for direct service calls)."""

    async def go() -> Any:
        ctx = await open_database(settings)
        try:
            with bound(ctx):
                return await coro_fn()
        finally:
            await ctx.close_connections()

    return asyncio.run(go())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str, password: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/auth/login", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests choose their credential explicitly
    data: dict[str, Any] = response.json()
    return data


def qr_checkpoint(
    client: TestClient, admin: dict[str, str], site_id: int, name: str, **fields: Any
) -> tuple[int, str]:
    """A checkpoint made through the API (`fields`: checklist, zone_id…) with a QR tag on it:
    its id and the code a guard scans."""
    cp = client.post(
        f"/api/sites/{site_id}/checkpoints", headers=admin, json={"name": name, **fields}
    )
    assert cp.status_code == 201, cp.text
    tag = client.post(
        f"/api/sites/{site_id}/tags",
        headers=admin,
        json={"kind": "qr", "checkpoint_id": cp.json()["id"]},
    )
    assert tag.status_code == 201, tag.text
    return int(cp.json()["id"]), str(tag.json()["identifier"])
