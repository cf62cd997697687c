"""Fire equipment and the state its beacon reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from backend.models.bridge import BeaconKind
from backend.models.equipment import EquipmentType
from backend.schemas.bridge import normal_ident
from backend.schemas.common import Input, ListQuery, Name, Output

Location = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
BeaconIdent = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _beacon(kind: BeaconKind | None, ident: str | None) -> str | None:
    if (kind is None) != (ident is None):
        raise ValueError("beacon_pair: give both the beacon kind and its id, or neither")
    if kind is None or ident is None:
        return None
    if kind == BeaconKind.eddystone_eid:
        raise ValueError("static_beacon_only: equipment is watched with a fixed beacon id")
    return normal_ident(kind, ident)


class EquipmentIn(Input):
    name: Name
    type: EquipmentType
    zone_id: int | None = None
    location: Location = ""
    beacon_kind: BeaconKind | None = None
    beacon_ident: BeaconIdent | None = None

    @model_validator(mode="after")
    def _check(self) -> EquipmentIn:
        self.beacon_ident = _beacon(self.beacon_kind, self.beacon_ident)
        return self


class EquipmentPatch(Input):
    name: Name | None = None
    type: EquipmentType | None = None
    zone_id: int | None = None
    location: Location | None = None
    beacon_kind: BeaconKind | None = None
    beacon_ident: BeaconIdent | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> EquipmentPatch:
        if self.beacon_kind is not None or self.beacon_ident is not None:
            self.beacon_ident = _beacon(self.beacon_kind, self.beacon_ident)
        return self


class EquipmentQuery(ListQuery):
    zone_id: int | None = None
    type: EquipmentType | None = None
    alerting: bool = False  # only what is missing, low on battery, tampered or moved


class EquipmentOut(Output):
    id: int
    site_id: int
    zone_id: int | None
    name: str
    type: EquipmentType
    location: str
    beacon_kind: BeaconKind | None
    beacon_ident: str | None
    last_seen_at: datetime | None
    last_bridge_id: int | None
    last_rssi: int | None
    battery_percent: int | None
    battery_low: bool
    missing: bool
    missing_since: datetime | None
    tamper_at: datetime | None
    moved_at: datetime | None
    is_active: bool
    created_at: datetime


class BeaconEventOut(Output):
    id: str
    type: str
    at: datetime
    device_id: int
    detail: dict[str, object] = Field(default_factory=dict)
