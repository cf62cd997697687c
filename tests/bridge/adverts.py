"""Advertisement payloads as tags send them (the inverse of ble_bridge.frames), for tests,
the fake BlueZ and the benchmark."""

from __future__ import annotations

import struct
import uuid

from ble_bridge.frames import ANBAO_SENSOR_COMPANY_ID, APPLE_COMPANY_ID, EDDYSTONE_UUID

__all__ = ["ANBAO_SENSOR_COMPANY_ID", "APPLE_COMPANY_ID", "EDDYSTONE_UUID"]


def ibeacon(beacon_uuid: uuid.UUID, major: int, minor: int, power: int = -59) -> bytes:
    return b"\x02\x15" + beacon_uuid.bytes + struct.pack(">HHb", major, minor, power)


def eddystone_uid(namespace: str, instance: str, power: int = -20) -> bytes:
    return bytes([0x00, power & 0xFF]) + bytes.fromhex(namespace + instance) + b"\x00\x00"


def eddystone_tlm(battery_mv: int, temperature_c: float, adv_count: int, uptime_ds: int) -> bytes:
    temp = round(temperature_c * 256)
    return bytes([0x20, 0x00]) + struct.pack(">HhII", battery_mv, temp, adv_count, uptime_ds)


def eddystone_eid(eid: str, power: int = -20) -> bytes:
    return bytes([0x30, power & 0xFF]) + bytes.fromhex(eid)


def anbao_sensor(
    *, motion: bool = False, tamper: bool = False, button: bool = False, battery: int | None = 90
) -> bytes:
    flags = motion | tamper << 1 | button << 2
    return b"AB\x01" + bytes([flags, 0xFF if battery is None else battery])
