"""The SQLite engine's `inline()`: a request's short statements on the event loop's thread, every
other statement on aiosqlite's thread, so that a long one never stops the server."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.inline_sqlite import InlineSqliteClient, inline
from backend.models.users import User
from tests.factories import PASSWORD, make_user, make_world
from tests.support import bearer, login, make_settings, run_in_db, running_app

# About half a second of SQLite's own work on one core, outside the GIL.
_LONG_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) AS n FROM c"
)


def _client() -> Any:
    """The connection statements go through here: the engine's, or a transaction's on it."""
    return User._meta.db


async def _thread_of_statement() -> int:
    """The thread that ran a statement: SQLite calls back into Python on that thread."""
    rows = await _client().execute_query_dict('SELECT anbao_thread() AS "t"')
    return int(rows[0]["t"])


async def _register_thread_function() -> None:
    await _client().execute_query("SELECT 1")  # the connection opens on first use
    raw = _client()._connection
    assert raw is not None
    await raw.create_function("anbao_thread", 0, threading.get_ident)


def test_statements_run_on_the_calling_thread_only_inside_inline(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, sqlite_url)

    async def go() -> dict[str, Any]:
        assert isinstance(_client(), InlineSqliteClient)  # the engine db.py configures
        await _register_thread_function()
        loop_thread = threading.get_ident()
        seen: dict[str, Any] = {"loop": loop_thread, "outside": await _thread_of_statement()}
        with inline():
            seen["inside"] = await _thread_of_statement()
            async with in_transaction():
                seen["in_transaction"] = await _thread_of_statement()
                await User.filter(username="guard_a").update(display_name="Inline")
            # A task started inside inherits it.
            seen["task"] = await asyncio.ensure_future(_thread_of_statement())
        seen["after"] = await _thread_of_statement()
        seen["name"] = (await User.get(username="guard_a")).display_name
        return seen

    run_in_db(settings, make_world)
    seen = run_in_db(settings, go)
    loop = seen["loop"]
    assert seen["outside"] != loop and seen["after"] != loop  # aiosqlite's thread
    assert seen["inside"] == seen["in_transaction"] == seen["task"] == loop
    assert seen["name"] == "Inline"  # what ran inline was committed


def test_an_error_inside_inline_rolls_back_and_reads_as_the_orms_own(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, sqlite_url)

    async def go() -> tuple[type[BaseException], int]:
        before = await User.all().count()
        with inline(), pytest.raises(IntegrityError) as caught:
            async with in_transaction():
                await make_user("inline_one")
                await make_user("inline_one")
        return caught.type, await User.all().count() - before

    run_in_db(settings, make_world)
    kind, added = run_in_db(settings, go)
    assert kind is IntegrityError  # translated as for any statement, not sqlite3's own
    assert added == 0


def test_a_long_statement_leaves_the_event_loop_serving_unless_run_inline(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Why inline is opt-in: on aiosqlite's thread a long statement lets other requests go on."""
    settings = make_settings(tmp_path, sqlite_url)

    async def ticks_during_long_query(inline_it: bool) -> tuple[int, int]:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                await asyncio.sleep(0)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        ticks = 0
        if inline_it:
            with inline():
                rows = await _client().execute_query_dict(_LONG_QUERY)
        else:
            rows = await _client().execute_query_dict(_LONG_QUERY)
        during = ticks
        done = True
        await task
        return during, int(rows[0]["n"])

    async def go() -> tuple[tuple[int, int], tuple[int, int]]:
        return await ticks_during_long_query(False), await ticks_during_long_query(True)

    threaded, inlined = run_in_db(settings, go)
    assert threaded[1] == inlined[1] == 3_000_000
    assert threaded[0] > 0  # the loop went on while SQLite worked
    assert inlined[0] == 0  # inline, nothing else runs until the statement is done


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL of every statement that went to aiosqlite's thread."""
    hops: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(str(args[0]) if args else getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield hops


def test_a_sync_push_and_its_authentication_make_no_hop_to_the_database_thread(
    sqlite_url: str, tmp_path: Path, thread_hops: list[str]
) -> None:
    settings = make_settings(tmp_path, sqlite_url)
    world = run_in_db(settings, make_world)
    with running_app(settings) as client:
        uid = str(uuid.uuid4())
        token = login(client, "guard_a", PASSWORD, device={"uid": uid, "name": "phone"})["token"]
        mutations = [
            {
                "id": str(uuid.uuid4()),
                "name": "duty_log.add",
                "client_time": "2026-11-24T21:00:00+08:00",
                "args": {"id": str(uuid.uuid4()), "site_id": world.a.site.id, "text": f"round {i}"},
            }
            for i in range(20)
        ]
        thread_hops.clear()
        response = client.post(
            "/api/sync/push",
            json={"device_id": uid, "mutations": mutations},
            headers=bearer(token),
        )
        pushed = list(thread_hops)
        assert response.status_code == 200, response.text
        assert {r["status"] for r in response.json()["results"]} == {"applied"}
        # A plain API request: its authentication is inline, its listing is not.
        thread_hops.clear()
        listed = client.get(f"/api/sites/{world.a.site.id}/duty-log", headers=bearer(token))
        assert listed.status_code == 200 and listed.json()["total"] == 20
        listing = list(thread_hops)
    touched = ("sessions", "applied_mutations", "duty_log_entries", "changes", "BEGIN")
    assert not [sql for sql in pushed if any(t in sql for t in touched)], pushed
    assert not [sql for sql in listing if "sessions" in sql], listing
    assert [sql for sql in listing if "duty_log_entries" in sql], listing
