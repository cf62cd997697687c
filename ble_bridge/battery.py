"""Battery Level over GATT (service 0x180F, characteristic 0x2A19), with retries by cause.

`retry_delay` is the one place that decides, from the exception, whether another try can help
and after how long (the idea of bleak-retry-connector): a tag out of range may come back, a
busy adapter frees up, but a tag without a battery service, a refused read or an adapter that
is off will not change by retrying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakCharacteristicNotFoundError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
MAX_DELAY = 30.0

# BlueZ errors that say "try again shortly": a radio or adapter momentarily busy.
_TRANSIENT_DBUS = {
    "org.bluez.Error.InProgress",
    "org.bluez.Error.Failed",
    "org.freedesktop.DBus.Error.NoReply",
    "org.bluez.Error.DoesNotExist",
    "org.freedesktop.DBus.Error.UnknownObject",
}
# ... and "retrying cannot help".
_FINAL_DBUS = {
    "org.bluez.Error.NotReady",  # adapter powered off: the scanner reports it
    "org.bluez.Error.NotPermitted",
    "org.bluez.Error.NotAuthorized",
    "org.bluez.Error.NotSupported",
    "org.freedesktop.DBus.Error.ServiceUnknown",  # no bluetoothd
    "org.freedesktop.DBus.Error.AccessDenied",
}


class BatteryError(Exception):
    """The battery level could not be read; `cause` is the last error."""

    def __init__(self, address: str, message: str, cause: BaseException | None = None) -> None:
        super().__init__(f"{address}: {message}")
        self.address = address
        self.cause = cause


class BatteryValueError(BatteryError):
    """The tag answered, but not with a battery level (0-100)."""


def parse_battery_level(address: str, raw: bytes) -> int:
    if len(raw) < 1 or raw[0] > 100:
        raise BatteryValueError(address, f"not a battery level: {raw.hex() or 'empty'}")
    return raw[0]


def retry_delay(exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before try `attempt + 1`, or None when retrying cannot help."""
    backoff = min(MAX_DELAY, 2.0**attempt)
    if isinstance(exc, BatteryError | BleakCharacteristicNotFoundError | BleakGATTProtocolError):
        return None
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return None
    if isinstance(exc, BleakDeviceNotFoundError):
        return min(MAX_DELAY, 2.0 * backoff)  # out of range now, maybe back soon
    if isinstance(exc, BleakDBusError):
        if exc.dbus_error in _FINAL_DBUS:
            return None
        if exc.dbus_error in _TRANSIENT_DBUS:
            return 0.25 * (attempt + 1)
        return backoff
    if isinstance(exc, TimeoutError):
        return min(MAX_DELAY, 2.0 * backoff)
    if isinstance(exc, BleakError):  # e.g. disconnected during service discovery
        return 0.5 * backoff
    return None


async def read_once(device: str | BLEDevice, adapter: str, connect_timeout: float) -> int:
    async with BleakClient(
        device, services=[BATTERY_SERVICE], timeout=connect_timeout, bluez={"adapter": adapter}
    ) as client:
        raw = await client.read_gatt_char(BATTERY_LEVEL)
    return parse_battery_level(client.address, bytes(raw))


async def read_battery(
    device: str | BLEDevice,
    *,
    adapter: str = "hci0",
    attempts: int = 4,
    connect_timeout: float = 20.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    """The tag's battery percent; BatteryError when it cannot be had.

    Give the BLEDevice a running scanner reported when there is one: with only an address,
    bleak first scans for the tag, which BlueZ refuses while this client is already scanning.
    """
    address = device.address if isinstance(device, BLEDevice) else device
    for attempt in range(attempts):
        try:
            return await read_once(device, adapter, connect_timeout)
        except (BleakError, BatteryError, TimeoutError, OSError, EOFError) as exc:
            delay = retry_delay(exc, attempt)
            if delay is None or attempt == attempts - 1:
                if isinstance(exc, BatteryError):
                    raise
                raise BatteryError(address, _describe(exc), exc) from exc
            await sleep(delay)
    raise BatteryError(address, "no attempt made")  # attempts < 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BleakCharacteristicNotFoundError):
        return "the tag has no Battery Level characteristic (0x2A19)"
    if isinstance(exc, BleakDeviceNotFoundError):
        return "the tag was not found (out of range or not advertising)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
