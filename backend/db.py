"""Database wiring: the Tortoise config, an explicit context per app, migrations and their check."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Imported before the adapter below is registered: it registers Tortoise's own, which that replaces.
import tortoise.backends.sqlite.executor  # noqa: F401
from tortoise.context import TortoiseContext, _current_context
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor

from backend.checkpoint import AUTOCHECKPOINT_PAGES
from backend.errors import DatabaseUnavailable
from backend.models import MODEL_MODULES
from backend.settings import Settings

APP = "models"
MIGRATIONS_MODULE = "backend.migrations"


def _sqlite_datetime(value: datetime) -> str:
    """An aware datetime as SQLite gets it: always in UTC.

    SQLite compares stored times as text, so `2026-11-24 08:30:00+08:00` would sort after
    `2026-11-24 01:00:00+00:00`, which is the later moment. Tortoise's own adapter writes a value
    in whatever offset it has; a filter such as `?since=…+08:00` then misses rows, and a row
    written with an offset sorts wrongly. Everything written or compared goes in UTC instead.
    (`bulk.db_datetimes` hands over text made from UTC values itself.)"""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ")


sqlite3.register_adapter(datetime, _sqlite_datetime)


def tortoise_config(settings: Settings) -> dict[str, Any]:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        connection: dict[str, Any] = {
            # Tortoise's own engine, able to run a request's short statements inline.
            "engine": "backend.inline_sqlite",
            "credentials": {
                "file_path": str(path),
                # 8 KiB pages for a new database (an existing one keeps its own): a commit of
                # a 500-mutation push writes fewer, fuller pages to the log (bench/bench_sync.py).
                "page_size": 8192,
                # WAL lets readers go on while one writer commits; FULL sync is not needed
                # with WAL for durability of committed transactions across a process crash.
                "journal_mode": "WAL",
                "journal_size_limit": 16_777_216,
                "foreign_keys": "ON",
                "synchronous": "NORMAL",
                # The server checkpoints the log in the background (backend/checkpoint.py);
                # SQLite's own checkpoint inside a commit is only a safety net.
                "wal_autocheckpoint": AUTOCHECKPOINT_PAGES,
                # 64 MiB of page cache: the change feed's index stays in memory when it grows.
                "cache_size": -65536,
            },
        }
    elif url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        parts = urlsplit(url)
        connection = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": parts.username or "postgres",
                "password": parts.password or "",
                "database": parts.path.lstrip("/") or "anbao",
                "minsize": 1,
                "maxsize": settings.db_pool_max,
            },
        }
    else:
        raise SystemExit(
            f"ANBAO_DATABASE_URL must start with sqlite:// or postgres://, got {url!r}"
        )
    # Tortoise caches compiled queries per connection name, so the name carries the dialect:
    # a process (the test suite) may use SQLite and then PostgreSQL.
    name = "sqlite" if connection["engine"].endswith("sqlite") else "postgres"
    return {
        "connections": {name: connection},
        "apps": {APP: _app_config(name)},
        "use_tz": True,
        "timezone": "UTC",
    }


@contextlib.contextmanager
def bound(ctx: TortoiseContext) -> Iterator[TortoiseContext]:
    """Make `ctx` the current Tortoise context for the code inside, in this task only.

    TortoiseContext's own `with ctx:` keeps its reset token on the shared context object, so
    two tasks entering it at once (two requests, a request and a job) trip over each other's
    token. This keeps the token on the stack of the task that set it.
    """
    token = _current_context.set(ctx)
    try:
        yield ctx
    finally:
        _current_context.reset(token)


def postgres_dsn(settings: Settings) -> str:
    """The database URL in the form asyncpg takes, for connections outside the ORM's pool."""
    url = settings.resolved_database_url
    for prefix in ("asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def open_database(settings: Settings) -> TortoiseContext:
    """A Tortoise context owned by the caller (the app's lifespan, the CLI, a test)."""
    ctx = TortoiseContext()
    with bound(ctx):
        await ctx.init(config=tortoise_config(settings))
    return ctx


async def pending_migrations(ctx: TortoiseContext) -> list[str]:
    """Names of migrations in the code that the database has not applied."""
    config = tortoise_config_from_ctx(ctx)
    with bound(ctx):
        executor = MigrationExecutor(ctx.db(), config)
        try:
            plan = await executor.plan()
        except OSError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
    return [
        f"{step.migration.app_label}.{step.migration.name}" for step in plan if not step.backward
    ]


async def apply_migrations(ctx: TortoiseContext) -> list[str]:
    """Apply every pending migration; returns what was applied."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    with bound(ctx):
        executor = MigrationExecutor(ctx.db(), tortoise_config_from_ctx(ctx))
        await executor.migrate(progress=progress)
    return applied


async def make_migrations(ctx: TortoiseContext, name: str | None = None) -> list[Path]:
    """Write migration files for model changes (a developer command)."""
    with bound(ctx):
        assert ctx.apps is not None
        detector = MigrationAutodetector(ctx.apps, tortoise_config_from_ctx(ctx))
        writers = await detector.changes()
        paths = []
        for writer in writers:
            if name:
                number = writer.name.split("_", 1)[0]
                writer.name = f"{number}_{name}"
            paths.append(Path(writer.write()))
    return paths


def _app_config(connection_name: str) -> dict[str, Any]:
    return {
        "models": MODEL_MODULES,
        "default_connection": connection_name,
        "migrations": MIGRATIONS_MODULE,
    }


def tortoise_config_from_ctx(ctx: TortoiseContext) -> dict[str, dict[str, Any]]:
    return {APP: _app_config(ctx.default_connection or "sqlite")}


async def ping(ctx: TortoiseContext) -> None:
    with bound(ctx):
        try:
            await ctx.db().execute_query("SELECT 1")
        except Exception as exc:
            raise DatabaseUnavailable(str(exc)) from exc
