"""The `anbao` command, run as a real process against real databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.support import postgres_available

ROOT = Path(__file__).resolve().parents[2]


def anbao(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("ANBAO_")}
    e.update(ANBAO_DATA_DIR=str(tmp_path), ANBAO_PWA_DIR=str(tmp_path / "no-pwa"))
    return e


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["migrate"], ["demo"], ["create-user"], ["makemigrations"]]
)
def test_help(env: dict[str, str], command: list[str]) -> None:
    result = anbao(env, *command, "--help")
    assert result.returncode == 0
    assert "usage: anbao" in result.stdout


def test_serve_refuses_an_unmigrated_database(env: dict[str, str]) -> None:
    result = anbao(env, "serve", "--port", "1")
    assert result.returncode == 2
    assert "not migrated" in result.stderr and "anbao migrate" in result.stderr


def test_migrate_demo_and_create_user(env: dict[str, str], tmp_path: Path) -> None:
    first = anbao(env, "migrate")
    assert first.returncode == 0 and "applied models.0001_initial" in first.stdout
    assert "up to date" in anbao(env, "migrate").stdout
    demo = anbao(env, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "guard-demo-1" in demo.stdout and "Seeded" in demo.stdout
    again = anbao(env, "demo")
    assert "not seeded again" in again.stdout and "guard-demo-1" in again.stdout
    created = anbao(
        env, "create-user", "ops", "--superuser", "--password-stdin", stdin="a-long-password\n"
    )
    assert created.returncode == 0, created.stderr
    weak = anbao(env, "create-user", "ops2", "--superuser", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "password_too_weak" in weak.stderr
    taken = anbao(
        env, "create-user", "ops", "--superuser", "--password-stdin", stdin="a-long-password\n"
    )
    assert taken.returncode == 2 and "username_taken" in taken.stderr
    resident = anbao(
        env,
        "create-user",
        "r1",
        "--site-id",
        "1",
        "--role",
        "resident",
        "--password-stdin",
        stdin="a-long-password\n",
    )
    assert resident.returncode == 2 and "--unit-id" in resident.stderr
    # A password is never accepted as an argument.
    assert anbao(env, "create-user", "x", "--password", "secret-secret").returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_and_stops(env: dict[str, str]) -> None:
    assert anbao(env, "migrate").returncode == 0
    assert anbao(env, "demo").returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.json()["status"] == "ok"
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/auth/login",
            json={"username": "guard", "password": "guard-demo-1"},
        )
        assert login.status_code == 200
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 503 and "make pwa" in page.text  # no web app built here
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.postgres
def test_migrate_and_demo_on_postgres(env: dict[str, str], tmp_path: Path) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    import asyncio

    from tests.support import _pg_admin, _pg_url

    name = f"anbao_cli_{os.getpid()}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        env["ANBAO_DATABASE_URL"] = _pg_url(name)
        assert anbao(env, "migrate").returncode == 0
        demo = anbao(env, "demo")
        assert demo.returncode == 0 and "Seeded" in demo.stdout, demo.stderr
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
