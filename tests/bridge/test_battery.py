"""Battery Level over GATT with unmodified bleak against the fake BlueZ, and the one function
that turns an error into "retry after so long" or "give up"."""

from __future__ import annotations

import uuid

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakCharacteristicNotFoundError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from ble_bridge.battery import (
    BatteryError,
    BatteryValueError,
    parse_battery_level,
    read_battery,
    retry_delay,
)
from tests.bridge import adverts
from tests.bridge.fake_bluez import FakeBluez, FakeTag

ADDRESS = "C0:00:00:00:00:0B"


def tag(**kw: object) -> FakeTag:
    data = {adverts.APPLE_COMPANY_ID: adverts.ibeacon(uuid.UUID(int=11), 1, 2)}
    return FakeTag(ADDRESS, data, **kw)  # type: ignore[arg-type]


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_battery_level_is_read_over_gatt(bluez: FakeBluez) -> None:
    bluez.add_adapter()
    bluez.put_tag(tag(battery=73))
    assert await read_battery(ADDRESS, adapter="hci0", connect_timeout=5) == 73
    assert bluez.gatt_reads == 1
    assert [c[0] for c in bluez.calls() if c[0] in ("Connect", "ReadValue", "Disconnect")] == [
        "Connect",
        "ReadValue",
        "Disconnect",
    ]


async def test_a_busy_radio_is_retried_after_a_short_pause(bluez: FakeBluez) -> None:
    bluez.add_adapter()
    bluez.put_tag(tag(battery=41, connect_failures=2))
    sleeps = Sleeps()
    assert await read_battery(ADDRESS, connect_timeout=5, sleep=sleeps) == 41
    assert len(bluez.calls("Connect")) == 3
    assert sleeps.delays == [0.25, 0.5]


async def test_a_tag_without_battery_service_is_not_retried(bluez: FakeBluez) -> None:
    bluez.add_adapter()
    bluez.put_tag(tag(battery=None))
    sleeps = Sleeps()
    with pytest.raises(BatteryError, match="no Battery Level"):
        await read_battery(ADDRESS, connect_timeout=5, sleep=sleeps)
    assert len(bluez.calls("Connect")) == 1 and sleeps.delays == []


async def test_a_tag_out_of_range_is_retried_then_given_up(bluez: FakeBluez) -> None:
    bluez.add_adapter()
    sleeps = Sleeps()
    with pytest.raises(BatteryError, match="not found") as info:
        await read_battery(ADDRESS, attempts=2, connect_timeout=0.5, sleep=sleeps)
    assert isinstance(info.value.cause, BleakDeviceNotFoundError)
    assert sleeps.delays == [2.0]


async def test_powered_off_adapter_gives_up_at_once(bluez: FakeBluez) -> None:
    bluez.add_adapter(powered=False)
    sleeps = Sleeps()
    with pytest.raises(BatteryError):
        await read_battery(ADDRESS, connect_timeout=2, sleep=sleeps)
    assert sleeps.delays == []


def test_retry_delay_by_cause() -> None:
    assert retry_delay(BleakDBusError("org.bluez.Error.InProgress", []), 0) == 0.25
    assert retry_delay(BleakDBusError("org.bluez.Error.Failed", ["abort"]), 2) == 0.75
    assert retry_delay(BleakDBusError("org.bluez.Error.NotReady", []), 0) is None
    assert retry_delay(BleakDBusError("org.bluez.Error.NotPermitted", []), 0) is None
    assert retry_delay(BleakDBusError("org.example.Unheard", []), 3) == 8.0
    assert retry_delay(BleakDeviceNotFoundError(ADDRESS), 1) == 4.0
    assert retry_delay(BleakDeviceNotFoundError(ADDRESS), 10) == 30.0  # capped
    assert retry_delay(TimeoutError(), 0) == 2.0
    assert retry_delay(BleakError("failed to discover services, device disconnected"), 1) == 1.0
    assert retry_delay(BleakCharacteristicNotFoundError("2a19"), 0) is None
    read_refused = BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
    assert retry_delay(read_refused, 0) is None
    off = BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF)
    assert retry_delay(off, 0) is None
    assert retry_delay(BatteryValueError(ADDRESS, "bad"), 0) is None
    assert retry_delay(ValueError("a bug"), 0) is None  # never retry what we do not understand


def test_battery_level_values() -> None:
    assert parse_battery_level(ADDRESS, b"\x64") == 100
    assert parse_battery_level(ADDRESS, b"\x00\x01") == 0
    with pytest.raises(BatteryValueError):
        parse_battery_level(ADDRESS, b"")
    with pytest.raises(BatteryValueError):
        parse_battery_level(ADDRESS, b"\x65")


async def test_while_scanning_the_scanners_device_is_read(bluez: FakeBluez) -> None:
    import asyncio

    from ble_bridge.scanner import Scanner

    bluez.add_adapter()
    bluez.put_tag(tag(battery=64))
    scanner = Scanner("hci0", lambda ad: None, poll_seconds=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(scanner.run(stop))
    try:
        async with asyncio.timeout(10):
            while ADDRESS not in scanner.devices:  # noqa: ASYNC110 - filled by bleak's callback
                await asyncio.sleep(0.05)
        # By address, bleak would scan again, which BlueZ refuses from a client already scanning.
        with pytest.raises(BatteryError, match="already in progress"):
            await read_battery(ADDRESS, attempts=1, connect_timeout=2)
        assert await read_battery(scanner.devices[ADDRESS], connect_timeout=5) == 64
        assert scanner.state.scanning
    finally:
        stop.set()
        await task
