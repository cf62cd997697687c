"""The server checkpoints SQLite's write-ahead log in the background, not inside a commit."""

from __future__ import annotations

import asyncio
import gc
import shutil
import sqlite3
from pathlib import Path

import pytest

from backend.app import GC_THRESHOLDS, prepare_to_serve
from backend.checkpoint import AUTOCHECKPOINT_PAGES, WalCheckpointer
from backend.db import apply_migrations, open_database
from tests.support import make_settings, run_in_db, running_app


def _writer(path: Path) -> sqlite3.Connection:
    """A connection like the server's: WAL, and no checkpoint of its own at these sizes."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")
    return conn


def _write(conn: sqlite3.Connection, rows: int) -> None:
    with conn:
        conn.executemany(
            "INSERT INTO notes (text) VALUES (?)", [("巡查正常 all quiet " * 20,)] * rows
        )


def _rows_in_the_file_alone(path: Path, tmp: Path) -> int | None:
    """Rows the database file holds without its log (None: not even the table is there)."""
    copy = tmp / "alone.sqlite3"
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    try:
        return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
        copy.unlink()


def test_a_checkpoint_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = _writer(path)
    _write(conn, 3_000)  # about 1.3 MB of log
    checkpointer = WalCheckpointer(path, min_bytes=1024 * 1024)
    assert checkpointer.wal_bytes() > 1024 * 1024
    assert _rows_in_the_file_alone(path, tmp_path) is None  # everything is still in the log

    done = asyncio.run(checkpointer.tick())
    assert done is not None and not done.busy
    assert done.log_frames > 0 and done.copied_frames == done.log_frames
    assert _rows_in_the_file_alone(path, tmp_path) == 3_000
    # Writing goes on as before, and lands in the file at the next checkpoint.
    _write(conn, 10)
    checkpointer.checkpoint()
    assert _rows_in_the_file_alone(path, tmp_path) == 3_010
    conn.close()
    asyncio.run(checkpointer.stop())


def test_a_small_log_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = _writer(path)
    _write(conn, 5)
    checkpointer = WalCheckpointer(path)  # SQLite's own threshold: 4 MiB
    assert asyncio.run(checkpointer.tick()) is None
    assert checkpointer.runs == 0
    assert _rows_in_the_file_alone(path, tmp_path) is None
    conn.close()


def test_the_background_task_checkpoints_while_writers_go_on(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = _writer(path)

    async def go() -> None:
        checkpointer = WalCheckpointer(path, every=0.01, min_bytes=1)
        checkpointer.start()
        try:
            for _ in range(3):
                _write(conn, 200)
                runs = checkpointer.runs
                # The next round of the loop, however long it takes on a busy machine (a
                # broken loop fails here after a minute instead of hanging the suite).
                for _ in range(6_000):
                    if checkpointer.runs > runs:
                        break
                    await asyncio.sleep(0.01)
                else:
                    pytest.fail("the background checkpoint never ran")
        finally:
            await checkpointer.stop()

    asyncio.run(go())
    assert _rows_in_the_file_alone(path, tmp_path) == 600
    conn.close()


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown checkpoint mode"):
        WalCheckpointer(tmp_path / "db.sqlite3").checkpoint("FULL; DROP TABLE notes")


def test_the_app_checkpoints_its_sqlite_database_itself(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    with running_app(settings) as client:
        checkpointer = client.app.state.checkpointer  # type: ignore[attr-defined]
        if not settings.is_sqlite:
            assert checkpointer is None  # PostgreSQL has no such log to keep
            return
        assert isinstance(checkpointer, WalCheckpointer)
        assert checkpointer.path == settings.sqlite_path
        assert client.get("/api/health").status_code == 200

    async def autocheckpoint() -> int:
        from backend.models.users import User

        _, rows = await User._meta.db.execute_query("PRAGMA wal_autocheckpoint")
        return int(rows[0][0])

    # The ORM's own connection would checkpoint only past the safety net.
    assert run_in_db(settings, autocheckpoint) == AUTOCHECKPOINT_PAGES
    # A new database is made with 8 KiB pages: a big push's commit writes fewer of them.
    with sqlite3.connect(settings.sqlite_path) as conn:
        assert conn.execute("PRAGMA page_size").fetchone() == (8192,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite://{tmp_path / 'old.sqlite3'}")
    with sqlite3.connect(settings.sqlite_path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
    conn.close()

    async def migrate() -> None:
        ctx = await open_database(settings)
        try:
            await apply_migrations(ctx)
        finally:
            await ctx.close_connections()

    asyncio.run(migrate())
    with running_app(settings) as client:
        assert client.get("/api/health").status_code == 200
    with sqlite3.connect(settings.sqlite_path) as conn:
        assert conn.execute("PRAGMA page_size").fetchone() == (4096,)
        assert conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]


def test_a_serving_process_freezes_its_start_up_heap_and_collects_less_often() -> None:
    before = gc.get_threshold()
    try:
        prepare_to_serve()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
