"""Invite schemas: a resident's pre-registered guest and the signed pass the guest shows."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from backend.models.visitors import InviteStatus, VisitPurpose
from backend.schemas.common import Input, ListQuery, Name, Output
from backend.schemas.visitors import GatePhone, Note, check_plate


class InviteIn(Input):
    id: uuid.UUID | None = None  # optional: a retried create with the same id is recognised
    unit_id: int | None = None  # a resident of one unit may leave it out
    guest_name: Name
    guest_phone: GatePhone | None = None
    purpose: VisitPurpose = VisitPurpose.visit
    headcount: int = Field(default=1, ge=1, le=50)
    plate_override: bool = False
    plate: str | None = Field(default=None, max_length=20)
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    note: Note = ""

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_plate(value, bool(info.data.get("plate_override")))


class InviteOut(Output):
    id: uuid.UUID
    site_id: int
    unit_id: int
    unit_label: str
    created_by_id: int
    guest_name: str
    guest_phone: str
    purpose: VisitPurpose
    headcount: int
    plate: str | None
    note: str
    valid_from: datetime
    valid_until: datetime
    status: InviteStatus
    used_at: datetime | None
    revoked_at: datetime | None
    # The signed pass: shown as a QR code; `link` opens it in the web app for the guest.
    code: str
    link: str


class InviteQuery(ListQuery):
    status: InviteStatus | None = None
    day: date | None = None  # invites whose window touches this local date
