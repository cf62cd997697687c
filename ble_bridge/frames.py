"""Pure parsers from advertisement bytes to frames: iBeacon, Eddystone UID/TLM/EID, vendors.

Every parser takes the bytes bleak hands over (manufacturer data without its company id,
service data without its UUID) and returns a frozen value or raises `FrameError`, never
anything else: advertisements are untrusted radio input.

The example vendor layout (`ANBAO_SENSOR_COMPANY_ID`, 0xFFFF, the id the Bluetooth SIG keeps
for tests and prototypes) is what a tag maker's firmware can copy to report flags:

    offset  size  field
    0       2     magic "AB" (0x41 0x42): tells our layout from other 0xFFFF users
    2       1     layout version, 0x01
    3       1     flags: bit 0 motion, bit 1 tamper (case opened or pulled off its mount),
                  bit 2 button pressed; other bits reserved (ignored)
    4       1     battery percent 0-100, 0xFF when the tag cannot tell
    5..     -     reserved (ignored)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from struct import Struct

APPLE_COMPANY_ID = 0x004C
EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
ANBAO_SENSOR_COMPANY_ID = 0xFFFF

_IBEACON_PREFIX = b"\x02\x15"
_IBEACON = Struct(">HHb")  # major, minor, measured power at 1 m
_TLM = Struct(">HhII")  # battery mV, temperature 8.8, advertisement count, uptime in 0.1 s
_TLM_NO_TEMPERATURE = -0x8000  # 0x8000: the beacon has no thermometer


class FrameError(ValueError):
    """These bytes are not a frame this parser understands."""


class TagKind(StrEnum):
    """How the backend names a tag: the kinds of identity a bridge can report."""

    IBEACON = "ibeacon"
    EDDYSTONE_UID = "eddystone_uid"
    EDDYSTONE_EID = "eddystone_eid"
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class IBeacon:
    uuid: str  # lower case with dashes
    major: int
    minor: int
    tx_power: int

    @property
    def kind(self) -> TagKind:
        return TagKind.IBEACON

    @property
    def ident(self) -> str:
        return f"{self.uuid}:{self.major}:{self.minor}"


@dataclass(frozen=True, slots=True)
class EddystoneUid:
    namespace: str  # 20 hex digits
    instance: str  # 12 hex digits
    tx_power: int

    @property
    def kind(self) -> TagKind:
        return TagKind.EDDYSTONE_UID

    @property
    def ident(self) -> str:
        return self.namespace + self.instance


@dataclass(frozen=True, slots=True)
class EddystoneEid:
    eid: str  # 16 hex digits; changes every 2^K seconds
    tx_power: int

    @property
    def kind(self) -> TagKind:
        return TagKind.EDDYSTONE_EID

    @property
    def ident(self) -> str:
        return self.eid


@dataclass(frozen=True, slots=True)
class EddystoneTlm:
    battery_mv: int | None
    temperature_c: float | None
    adv_count: int
    uptime_s: float


@dataclass(frozen=True, slots=True)
class VendorStatus:
    company_id: int
    battery_percent: int | None
    motion: bool
    tamper: bool
    button: bool = False


Identity = IBeacon | EddystoneUid | EddystoneEid
Frame = IBeacon | EddystoneUid | EddystoneEid | EddystoneTlm | VendorStatus
VendorParser = Callable[[bytes], VendorStatus]


def parse_ibeacon(data: bytes) -> IBeacon:
    """Apple manufacturer data (after 0x004C): `02 15`, UUID, major, minor, power."""
    if len(data) < 23 or data[:2] != _IBEACON_PREFIX:
        raise FrameError("not an iBeacon frame")
    h = data[2:18].hex()
    major, minor, power = _IBEACON.unpack_from(data, 18)
    return IBeacon(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", major, minor, power)


def parse_eddystone(data: bytes) -> EddystoneUid | EddystoneTlm | EddystoneEid:
    """Service data of 0xFEAA: the first byte says the frame type."""
    if not data:
        raise FrameError("empty Eddystone frame")
    frame_type = data[0]
    if frame_type == 0x00:
        if len(data) < 18:
            raise FrameError("Eddystone UID frame too short")
        return EddystoneUid(data[2:12].hex(), data[12:18].hex(), _signed(data[1]))
    if frame_type == 0x20:
        if len(data) < 14:
            raise FrameError("Eddystone TLM frame too short")
        if data[1] != 0x00:
            raise FrameError("encrypted Eddystone TLM is not supported")
        mv, temp, count, uptime = _TLM.unpack_from(data, 2)
        return EddystoneTlm(
            battery_mv=mv or None,  # 0: the beacon cannot measure its battery
            temperature_c=None if temp == _TLM_NO_TEMPERATURE else temp / 256,
            adv_count=count,
            uptime_s=uptime / 10,
        )
    if frame_type == 0x30:
        if len(data) < 10:
            raise FrameError("Eddystone EID frame too short")
        return EddystoneEid(data[2:10].hex(), _signed(data[1]))
    raise FrameError(f"unsupported Eddystone frame type 0x{frame_type:02x}")


def parse_anbao_sensor(data: bytes) -> VendorStatus:
    """The example vendor layout documented in this module's docstring."""
    if len(data) < 5 or data[0] != 0x41 or data[1] != 0x42:
        raise FrameError("not an Anbao sensor frame")
    if data[2] != 0x01:
        raise FrameError(f"unknown Anbao sensor layout version {data[2]}")
    flags, battery = data[3], data[4]
    if battery != 0xFF and battery > 100:
        raise FrameError("battery percent out of range")
    return VendorStatus(
        company_id=ANBAO_SENSOR_COMPANY_ID,
        battery_percent=None if battery == 0xFF else battery,
        motion=bool(flags & 0x01),
        tamper=bool(flags & 0x02),
        button=bool(flags & 0x04),
    )


@dataclass(frozen=True, slots=True)
class VendorRegistry:
    """Vendor parsers keyed by Bluetooth SIG company id; add one with `with_parser`."""

    parsers: Mapping[int, VendorParser] = field(default_factory=dict)

    def with_parser(self, company_id: int, parser: VendorParser) -> VendorRegistry:
        if not 0 <= company_id <= 0xFFFF:
            raise ValueError("a company id is 16 bits")
        if company_id == APPLE_COMPANY_ID:
            raise ValueError("0x004C is parsed as iBeacon")
        return VendorRegistry({**self.parsers, company_id: parser})

    @property
    def company_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.parsers))


DEFAULT_REGISTRY = VendorRegistry({ANBAO_SENSOR_COMPANY_ID: parse_anbao_sensor})


def parse_advertisement(
    manufacturer_data: Mapping[int, bytes],
    service_data: Mapping[str, bytes],
    registry: VendorRegistry = DEFAULT_REGISTRY,
) -> list[Frame]:
    """Every frame we understand in one advertisement; the rest is ignored."""
    frames: list[Frame] = []
    for company_id, data in manufacturer_data.items():
        if company_id == APPLE_COMPANY_ID:
            # Phones and watches send other Apple types all the time: skip them cheaply.
            if data[:2] == _IBEACON_PREFIX and len(data) >= 23:
                frames.append(parse_ibeacon(data))
            continue
        parser = registry.parsers.get(company_id)
        if parser is not None:
            try:  # noqa: SIM105 - the hot path: contextlib.suppress costs an object per call
                frames.append(parser(data))
            except FrameError:
                pass
    eddystone = service_data.get(EDDYSTONE_UUID)
    if eddystone is not None:
        try:  # noqa: SIM105 - as above
            frames.append(parse_eddystone(eddystone))
        except FrameError:
            pass
    return frames


def _signed(byte: int) -> int:
    return byte - 256 if byte > 127 else byte
