"""What bridges send and get back, and the admin's view of bridges and badges."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from backend.models.bridge import BeaconKind, EventType
from backend.schemas.common import Input, Output

MAX_SIGHTINGS = 500
MAX_EVENTS = 500

_IDENT = {
    BeaconKind.ibeacon: re.compile(
        r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:\d{1,5}:\d{1,5}$"
    ),
    BeaconKind.eddystone_uid: re.compile(r"^[0-9a-f]{32}$"),
    BeaconKind.eddystone_eid: re.compile(r"^[0-9a-f]{16}$"),
    BeaconKind.address: re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$"),
}
_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def normal_ident(kind: BeaconKind, ident: str) -> str:
    """The one spelling of an id: lower-case hex, an upper-case address; ValueError if bad."""
    value = ident.strip()
    value = value.upper() if kind == BeaconKind.address else value.lower()
    if not _IDENT[kind].match(value):
        raise ValueError("bad_ident: not an id of this kind")
    if kind == BeaconKind.ibeacon:
        _, major, minor = value.split(":")
        if int(major) > 0xFFFF or int(minor) > 0xFFFF:
            raise ValueError("bad_ident: major and minor are 0-65535")
    return value


Ident = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=17)]


class _Identified(Input):
    kind: BeaconKind
    ident: Ident

    @model_validator(mode="after")
    def _ident(self) -> _Identified:
        self.ident = normal_ident(self.kind, self.ident)
        return self


def _address(value: str) -> str:
    if value and not _ADDRESS.match(value):
        raise ValueError("bad_address: a BLE address looks like AA:BB:CC:DD:EE:FF")
    return value


class SightingIn(_Identified):
    address: Address
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    rssi_max: int = Field(ge=-127, le=20)
    count: int = Field(ge=1, le=1_000_000)
    battery_percent: int | None = Field(default=None, ge=0, le=100)
    battery_mv: int | None = Field(default=None, ge=0, le=20_000)
    temperature_c: float | None = Field(default=None, ge=-128, le=128)

    @model_validator(mode="after")
    def _times(self) -> SightingIn:
        _address(self.address)
        if self.last_seen < self.first_seen:
            raise ValueError("time_order: last seen before first seen")
        return self


class BeaconEventIn(_Identified):
    id: uuid.UUID
    type: EventType
    address: Address = ""
    at: AwareDatetime
    detail: dict[str, Any] = Field(default_factory=dict, max_length=16)

    @model_validator(mode="after")
    def _addr(self) -> BeaconEventIn:
        _address(self.address)
        return self


class BatchIn(Input):
    batch_id: uuid.UUID
    sent_at: AwareDatetime
    sightings: list[SightingIn] = Field(default_factory=list)
    events: list[BeaconEventIn] = Field(default_factory=list)


class BatchOut(Output):
    batch_id: uuid.UUID
    status: Literal["accepted", "duplicate"]
    sightings: int
    events: int


class AdapterState(Input):
    present: bool
    powered: bool
    address: Address | None = None
    passive: bool = False


class HeartbeatIn(Input):
    sent_at: AwareDatetime
    version: Annotated[str, StringConstraints(max_length=40)] = ""
    adapter: AdapterState
    spool_size: int = Field(ge=0, le=100_000_000)
    dead_letters: int = Field(default=0, ge=0, le=100_000_000)


TargetType = Literal["checkpoint", "badge", "equipment"]


class BoundTo(Output):
    type: TargetType
    id: int
    name: str


class KnownTag(Output):
    kind: BeaconKind
    ident: str
    name: str
    bound_to: BoundTo


class BridgeInfo(Output):
    id: int
    uid: uuid.UUID
    name: str
    site_id: int


class BridgeSettings(Output):
    heartbeat_seconds: int
    missing_after_seconds: int
    low_battery_percent: int


class BridgeConfig(Output):
    bridge: BridgeInfo
    known: list[KnownTag]
    settings: BridgeSettings


class Target(Output):
    id: int
    name: str
    type: str = ""


class Targets(Output):
    checkpoints: list[Target]
    guards: list[Target]
    equipment: list[Target]


class PairTarget(Input):
    type: TargetType
    id: int = Field(ge=1)


class _EidKeys(_Identified):
    identity_key: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{32}$")] | None = None
    rotation_exponent: int | None = Field(default=None, ge=0, le=15)
    clock_offset: int | None = Field(default=None, ge=0, le=2**40)
    label: Annotated[str, StringConstraints(max_length=120)] = ""

    @model_validator(mode="after")
    def _eid(self) -> _EidKeys:
        eid = self.kind == BeaconKind.eddystone_eid
        for name in ("identity_key", "rotation_exponent", "clock_offset"):
            given = getattr(self, name) is not None
            if eid and not given:
                raise ValueError(f"required_for_kind: {name} is needed for an EID tag")
            if not eid and given:
                raise ValueError(f"not_for_kind: {name} is only for an EID tag")
        return self


class PairIn(_EidKeys):
    address: Address = ""
    target: PairTarget

    @model_validator(mode="after")
    def _addr(self) -> PairIn:
        _address(self.address)
        return self


class CoverageIn(Input):
    checkpoint_ids: list[int] = Field(max_length=200)


class BridgeHealth(Output):
    device_id: int
    name: str
    revoked: bool
    covers: list[int]
    last_heartbeat_at: datetime | None
    last_batch_at: datetime | None
    version: str
    adapter: dict[str, Any]
    spool_size: int
    dead_letters: int
    stale: bool  # no heartbeat for three intervals


class BadgeIn(_EidKeys):
    user_id: int = Field(ge=1)


class BadgeOut(Output):
    id: int
    site_id: int
    user_id: int
    kind: BeaconKind
    identifier: str
    label: str
    is_active: bool
    created_at: datetime


class BadgePatch(Input):
    label: Annotated[str, StringConstraints(max_length=120)] | None = None
    is_active: bool | None = None
