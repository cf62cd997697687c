"""Visit, visitor, blocklist and gate schemas; the gate's shared field types.

ID numbers come in and are validated here (checksum, format); they never go out except masked.
Models that carry one hide the input in their errors, so a typo'd number is not echoed into a
log or a stored sync rejection.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from backend.models.visitors import VisitPurpose, VisitStatus
from backend.schemas.common import Input, ListQuery, Name, Output
from backend.services.identity import DocumentKind, IdentityError, validate_document
from backend.services.plates import PlateError, normalise_plate, override_plate, validate_plate

_PHONE = re.compile(r"\+?[0-9]{5,20}")


def _phone(value: str) -> str:
    compact = re.sub(r"[\s\-()]", "", value)
    if not _PHONE.fullmatch(compact):
        raise ValueError("string_pattern_mismatch: a phone number has 5 to 20 digits")
    return compact


GatePhone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_phone)
]
Sha256 = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-f]{64}$")
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
PassCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
Decision = Literal["approved", "refused"]


def check_document(kind: DocumentKind | None, number: str | None) -> str | None:
    """A document number normalised, or a `ValueError` naming the catalog code."""
    if not number:
        if kind is not None:
            raise ValueError("id_incomplete: a document kind without a number")
        return None
    if kind is None:
        raise ValueError("id_incomplete: a number without its kind of document")
    try:
        return validate_document(kind, number)
    except IdentityError as exc:
        raise ValueError(f"id_{exc.code}: {exc}") from None


def check_plate(text: str | None, override: bool) -> str | None:
    if text is None or not normalise_plate(text):
        return None
    try:
        return override_plate(text) if override else validate_plate(text).number
    except PlateError as exc:
        raise ValueError(f"plate_{exc.code}: {exc}") from None


class PersonalInput(Input):
    """A body that may carry an ID number: errors never repeat what was typed."""

    model_config = ConfigDict(hide_input_in_errors=True)


class VisitIn(PersonalInput):
    id: uuid.UUID  # made by the phone, so a retried registration is recognised
    # A scanned invite: the guest's details come from it; anything below overrides them.
    invite_code: PassCode | None = None
    # A returning visitor picked from `GET /visitors?phone=`: no need to type them again.
    visitor_id: uuid.UUID | None = None
    name: Name | None = None
    phone: GatePhone | None = None
    id_kind: DocumentKind | None = None
    id_number: str | None = Field(default=None, max_length=40, validate_default=True)
    host_unit_id: int | None = None
    purpose: VisitPurpose | None = None
    headcount: int | None = Field(default=None, ge=1, le=50)
    plate_override: bool = False
    plate: str | None = Field(default=None, max_length=20)
    photo_sha256: Sha256 | None = None
    escort_id: int | None = None  # the escorting guard: required for deliveries, moving, water
    note: Note = ""
    client_time: AwareDatetime | None = None

    @field_validator("id_number")
    @classmethod
    def _document(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "id_kind" not in info.data:
            return value  # the kind itself was refused; that error says enough
        return check_document(info.data["id_kind"], value)

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_plate(value, bool(info.data.get("plate_override")))


class VisitMutationArgs(VisitIn):
    site_id: int


class CheckOutIn(Input):
    note: Note = ""
    client_time: AwareDatetime | None = None


class CheckOutMutationArgs(CheckOutIn):
    visit_id: uuid.UUID


class DecisionIn(Input):
    decision: Decision
    note: Note = ""


class DecisionMutationArgs(DecisionIn):
    visit_id: uuid.UUID
    client_time: AwareDatetime | None = None


class EscortIn(Input):
    escort_id: int


class VisitOut(Output):
    id: uuid.UUID
    site_id: int
    status: VisitStatus
    visitor_id: uuid.UUID
    name: str
    phone: str
    id_kind: str | None
    id_masked: str
    host_unit_id: int | None
    host_unit_label: str
    invite_id: uuid.UUID | None
    purpose: VisitPurpose
    headcount: int
    plate: str | None
    plate_override: bool
    photo_sha256: str | None
    note: str
    after_hours: bool
    blocklisted: bool
    blocklist_reason: str  # staff only; empty for residents
    escort_required: bool
    escort_id: int | None
    escort_name: str
    arrived_at: datetime
    checked_in_at: datetime | None
    expected_until: datetime | None
    overstayed: bool
    checked_out_at: datetime | None
    registered_by_id: int
    decided_by_id: int | None
    decided_by_name: str
    decided_at: datetime | None
    decision_note: str
    server_time: datetime


class VisitQuery(ListQuery):
    status: VisitStatus | None = None
    overstayed: bool = False  # on site past their window
    host_unit_id: int | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class VisitorQuery(Input):
    phone: GatePhone


class VisitorOut(Output):
    """A returning visitor as the gate prefills them: the last visit's details come along."""

    id: uuid.UUID
    name: str
    phone: str
    id_kind: str | None
    id_masked: str
    photo_sha256: str | None
    last_visit_at: datetime
    last_host_unit_id: int | None
    last_host_unit_label: str
    last_purpose: VisitPurpose | None
    last_headcount: int | None
    last_plate: str | None


class ExportQuery(Input):
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    unmasked: bool = False  # admins only, with a reason; audited
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
