"""Bridge fixtures: a private dbus-daemon with a fake BlueZ per test, and a fake backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bridge.fake_backend import TOKEN, Backend, Server, make_app
from tests.bridge.fake_bluez import FakeBluez, dbus_daemon_path, fake_bluez_env
from tests.bridge.procs import BridgeCli

NO_DBUS = (
    "dbus-daemon is not installed: the bridge's Bluetooth tests need Debian's 'dbus' package "
    "(make dbus-deps)"
)


@pytest.fixture
def bluez() -> Iterator[FakeBluez]:
    """A fresh bus with a fake org.bluez on it, in DBUS_SYSTEM_BUS_ADDRESS; no adapter yet."""
    if dbus_daemon_path() is None:
        pytest.skip(NO_DBUS)
    with fake_bluez_env() as (_, fake):
        yield fake


@dataclass
class FakeApi:
    state: Backend
    server: Server


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """The bridge API contract on a real port (started; a test may stop and restart it)."""
    state = Backend()
    server = Server(make_app(state)).start()
    try:
        yield FakeApi(state, server)
    finally:
        state.let_go()
        server.stop()


@pytest.fixture
def cli(tmp_path: Path, bluez: FakeBluez, fake_api: FakeApi) -> Iterator[BridgeCli]:
    """`anbao-bridge` subprocesses wired to the fake BlueZ and the fake backend."""
    bridge = BridgeCli(tmp_path, bluez.bus_address, fake_api.server.url, TOKEN)
    try:
        yield bridge
    finally:
        bridge.stop_all()
