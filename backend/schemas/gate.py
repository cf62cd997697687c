"""Gate calendar, blocklist and gate screen schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from backend.schemas.common import Input, Output
from backend.schemas.invites import InviteOut
from backend.schemas.vehicles import VehicleEntryOut
from backend.schemas.visitors import GatePhone, PersonalInput, Reason, VisitOut, check_document
from backend.services.identity import DocumentKind
from backend.services.plates import normalise_plate


class BlocklistIn(PersonalInput):
    # At least one of these; a name alone flags every visitor of that name for a look.
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""
    phone: GatePhone | None = None
    plate: Annotated[str, StringConstraints(max_length=20)] = ""
    id_kind: DocumentKind | None = None
    id_number: str | None = Field(default=None, max_length=40, validate_default=True)
    reason: Reason

    @field_validator("id_number")
    @classmethod
    def _document(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "id_kind" not in info.data:
            return value
        return check_document(info.data["id_kind"], value)

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        # Any spelling of a plate, checked or not: it only has to match what the gate records.
        return normalise_plate(value)


class BlocklistPatch(Input):
    reason: Reason | None = None
    is_active: bool | None = None


class BlocklistOut(Output):
    id: int
    site_id: int
    name: str
    phone: str
    plate: str
    id_kind: str | None
    id_masked: str
    reason: str
    added_by_id: int
    is_active: bool
    created_at: datetime


class GatePolicyPatch(Input):
    weekends_after_hours: bool | None = None
    holidays: list[date] | None = Field(default=None, max_length=200)
    workdays: list[date] | None = Field(default=None, max_length=200)
    visit_hours: int | None = Field(default=None, ge=1, le=72)


class GatePolicyOut(Output):
    site_id: int
    timezone: str
    # The nightly window is the site's own, changed with PATCH /api/sites/{site_id}.
    after_hours_start: str
    after_hours_end: str
    weekends_after_hours: bool
    holidays: list[date]
    workdays: list[date]
    visit_hours: int
    after_hours_now: bool


class GateSummaryOut(Output):
    site_id: int
    at: datetime
    after_hours_now: bool
    on_site: list[VisitOut]
    overstayed: int
    pending: list[VisitOut]  # waiting for a supervisor or the control room
    expected_today: list[InviteOut]
    vehicles_in: list[VehicleEntryOut]
