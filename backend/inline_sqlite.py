"""Tortoise's SQLite engine, able to run a burst of short statements on the event loop's thread.

Tortoise reaches SQLite through aiosqlite, which runs each statement on a thread of its own and
hands the outcome back to the event loop: two thread switches and a wait for the GIL per
statement. For a lookup by primary key or a 500-row insert, that costs more than the statement
itself. A request that makes many such statements in a row (a sync push: a dozen per batch;
authenticating a request: two or three) runs them inside `inline()` instead, straight on the
event loop's thread.

Everywhere else statements keep going through aiosqlite's thread, so a long one (an export, a
report, compaction) lets the event loop serve other requests meanwhile. Only short, bounded work
belongs inside `inline()`: while a statement runs there, nothing else in the process does. That
includes waiting for another process's write lock (SQLite's busy timeout): the server is the
database's only writer in normal running, and a CLI command that writes is short.

This is safe because Tortoise lets one statement at a time use its SQLite connection (a lock
held for each statement, and for a whole transaction), whichever thread runs it; the connection
is opened without sqlite3's same-thread check for that reason. Engine: `backend.inline_sqlite`
(`db.tortoise_config`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import aiosqlite
from tortoise.backends.sqlite.client import SqliteClient

_inline: ContextVar[bool] = ContextVar("inline_sqlite", default=False)


@contextmanager
def inline() -> Iterator[None]:
    """SQLite statements made inside (by this task and tasks it starts) run on the calling
    thread. Has no effect on PostgreSQL."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


class _Connection(aiosqlite.Connection):
    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # Opening and closing the connection always go through the worker thread.
        if self._connection is not None and _inline.get():
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


class InlineSqliteClient(SqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        # As `SqliteClient.create_connection`, with a connection that can run `inline()`.
        if self._connection:
            return
        connector = partial(
            sqlite3.connect, self.filename, isolation_level=None, check_same_thread=False
        )
        self._connection = await _Connection(connector, iter_chunk_size=64)
        self._connection._conn.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            cursor = await self._connection.execute(f"PRAGMA {pragma}={value}")
            await cursor.close()
        await self._post_connect()


client_class = InlineSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return InlineSqliteClient
