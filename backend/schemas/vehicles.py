"""Vehicle, entry and overnight-check schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, ValidationInfo, field_validator

from backend.models.vehicles import OwnerNotice, VehicleCondition
from backend.schemas.common import Input, ListQuery, Output
from backend.schemas.visitors import Note, Sha256, check_plate

Spot = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
PlateText = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class _Plated(Input):
    plate_override: bool = False
    plate: PlateText

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str, info: ValidationInfo) -> str:
        checked = check_plate(value, bool(info.data.get("plate_override")))
        if checked is None:
            raise ValueError("plate_empty: no plate")
        return checked


class VehicleIn(_Plated):
    unit_id: int | None = None
    owner_id: int | None = (
        None  # a resident of the unit, told when the overnight check finds a problem
    )
    parking_spot: Spot = ""
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""


class VehiclePatch(Input):
    unit_id: int | None = None
    owner_id: int | None = None
    parking_spot: Spot | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = (
        None
    )
    is_active: bool | None = None


class VehicleOut(Output):
    id: int
    site_id: int
    unit_id: int | None
    unit_label: str
    owner_id: int | None
    plate: str
    plate_override: bool
    parking_spot: str
    description: str
    is_active: bool
    created_at: datetime


class VehicleQuery(ListQuery):
    unit_id: int | None = None


class VehicleEntryIn(_Plated):
    id: uuid.UUID
    visit_id: uuid.UUID | None = None
    note: Note = ""
    client_time: AwareDatetime | None = None


class VehicleEntryMutationArgs(VehicleEntryIn):
    site_id: int


class VehicleExitIn(Input):
    note: Note = ""
    client_time: AwareDatetime | None = None


class VehicleExitMutationArgs(VehicleExitIn):
    entry_id: uuid.UUID


class VehicleEntryOut(Output):
    id: uuid.UUID
    site_id: int
    plate: str
    plate_override: bool
    kind: Literal["resident", "visitor"]
    vehicle_id: int | None
    unit_label: str
    parking_spot: str
    visit_id: uuid.UUID | None
    note: str
    entered_at: datetime
    exited_at: datetime | None
    duration_seconds: int | None  # when it has left
    entered_by_id: int
    exited_by_id: int | None


class VehicleEntryQuery(ListQuery):
    inside: bool | None = None
    since: AwareDatetime | None = None


class VehicleCheckIn(Input):
    id: uuid.UUID
    note: Note = ""
    client_time: AwareDatetime | None = None


class VehicleCheckMutationArgs(VehicleCheckIn):
    site_id: int


class VehicleCheckItemIn(_Plated):
    id: uuid.UUID
    parking_spot: Spot = ""
    condition: VehicleCondition
    note: Note = ""
    photos: list[Sha256] = Field(default_factory=list, max_length=10)
    client_time: AwareDatetime | None = None


class VehicleCheckItemMutationArgs(VehicleCheckItemIn):
    check_id: uuid.UUID


class VehicleCheckFinishIn(Input):
    note: Note = ""
    client_time: AwareDatetime | None = None


class VehicleCheckFinishMutationArgs(VehicleCheckFinishIn):
    check_id: uuid.UUID


class VehicleCheckItemOut(Output):
    id: uuid.UUID
    check_id: uuid.UUID
    site_id: int
    plate: str
    plate_override: bool
    vehicle_id: int | None
    parking_spot: str
    condition: VehicleCondition
    note: str
    photos: list[str]
    owner_notice: OwnerNotice
    noted_by_id: int
    noted_at: datetime


class VehicleCheckOut(Output):
    id: uuid.UUID
    site_id: int
    guard_id: int
    guard_name: str
    note: str
    started_at: datetime
    finished_at: datetime | None
    problems: int
    items: list[VehicleCheckItemOut]
