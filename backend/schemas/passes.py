"""Contractor and goods-out pass schemas, unit approvers and scanning a pass code."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, ValidationInfo, field_validator

from backend.models.passes import ContractorPassStatus, GoodsPassStatus
from backend.schemas.common import Input, ListQuery, Name, Output
from backend.schemas.visitors import (
    GatePhone,
    Note,
    PassCode,
    PersonalInput,
    Reason,
    Sha256,
    check_document,
)
from backend.services.identity import DocumentKind
from backend.services.plates import normalise_plate

PassState = Literal["active", "not_yet_valid", "expired", "revoked"]


class ContractorPassIn(PersonalInput):
    company: Name
    person_name: Name
    phone: GatePhone | None = None
    id_kind: DocumentKind
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    photo_sha256: Sha256 | None = None
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    zone_ids: list[int] = Field(default_factory=list, max_length=50)  # empty: every zone

    @field_validator("id_number")
    @classmethod
    def _document(cls, value: str, info: ValidationInfo) -> str:
        if "id_kind" not in info.data:
            return value
        checked = check_document(info.data["id_kind"], value)
        assert checked is not None
        return checked


class RevokeIn(Input):
    reason: Reason


class ContractorPassOut(Output):
    id: uuid.UUID
    site_id: int
    company: str
    person_name: str
    phone: str
    id_kind: str | None
    id_masked: str
    photo_sha256: str | None
    valid_from: datetime
    valid_until: datetime
    zone_ids: list[int]
    status: ContractorPassStatus
    state: PassState  # the status with the window applied, now
    issued_by_id: int
    revoked_at: datetime | None
    revoke_reason: str
    created_at: datetime
    code: str
    link: str


class ContractorPassQuery(ListQuery):
    state: PassState | None = None


class ScanIn(Input):
    id: uuid.UUID  # the entry, made by the phone
    code: PassCode
    zone_id: int | None = None  # where the contractor is going; checked against the pass
    client_time: AwareDatetime | None = None


class ScanMutationArgs(ScanIn):
    site_id: int


class ContractorEntryOut(Output):
    id: uuid.UUID
    site_id: int
    contractor_pass_id: uuid.UUID
    zone_id: int | None
    guard_id: int
    scanned_at: datetime
    contractor_pass: ContractorPassOut


# --- goods-out passes ------------------------------------------------------------------------


class GoodsItem(Input):
    name: Name
    quantity: int = Field(default=1, ge=1, le=10_000)


class GoodsPassIn(Input):
    unit_id: int | None = None  # a resident of one unit may leave it out
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""
    plate: Annotated[str, StringConstraints(max_length=20)] = ""
    reason: Note = ""
    items: list[GoodsItem] = Field(min_length=1, max_length=50)
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return normalise_plate(value)


class GoodsDecisionIn(Input):
    decision: Literal["approved", "rejected"]
    note: Note = ""


class GoodsExitIn(Input):
    code: PassCode
    items_out: list[int] = Field(min_length=1, max_length=50)  # indexes of the items ticked
    note: Note = ""
    client_time: AwareDatetime | None = None


class GoodsExitMutationArgs(GoodsExitIn):
    site_id: int


class GoodsPassOut(Output):
    id: uuid.UUID
    site_id: int
    unit_id: int
    unit_label: str
    requested_by_id: int
    requested_by_name: str
    carrier: str
    plate: str
    reason: str
    items: list[dict[str, Any]]
    valid_from: datetime
    valid_until: datetime
    status: GoodsPassStatus
    decided_by_id: int | None
    decided_by_name: str
    decided_at: datetime | None
    decision_note: str
    signature: str  # the stamp: HMAC over the canonical content, made at approval
    exited_at: datetime | None
    exited_by_id: int | None
    items_out: list[int]
    exit_note: str
    created_at: datetime
    code: str  # only once approved
    link: str


class GoodsPassQuery(ListQuery):
    status: GoodsPassStatus | None = None
    unit_id: int | None = None


class ApproverIn(Input):
    user_id: int


class ApproverOut(Output):
    id: int
    unit_id: int
    user_id: int
    display_name: str
    created_at: datetime


class PassCheckIn(Input):
    code: PassCode


class PassCheckOut(Output):
    """What a scanned code is, and whether the gate may accept it now (else the refusal code)."""

    kind: Literal["invite", "contractor", "goods"]
    id: uuid.UUID
    ok: bool
    refusal: str  # the error code it would be refused with; empty when ok
    message: str
    record: dict[str, Any]  # InviteOut, ContractorPassOut or GoodsPassOut
