"""Parcel intake, pickup, return, shelf check and resident schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from backend.models.parcels import ParcelStatus, PickupMethod, ProofKind
from backend.schemas.common import Input, ListQuery, Output

# A media object (photo, signature) by the SHA-256 of its bytes: PUT /api/media/{sha256}.
Sha256 = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
ShelfName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
CodeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
PassText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ParcelIn(Input):
    id: uuid.UUID  # made by the phone, so a retried intake is recognised
    # The recipient: a unit (by id, or its number as typed, e.g. "3-1-502"), a resident (by
    # id), or the name on the label when it names exactly one resident of the site.
    unit_id: int | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    recipient_id: int | None = None
    recipient_name: PersonName = ""
    carrier: Short = ""
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    label_sha256: Sha256 | None = None  # the photo of the label
    shelf: ShelfName = ""
    perishable: bool = False
    fragile: bool = False
    oversized: bool = False
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    client_time: datetime | None = None


class ParcelMutationArgs(ParcelIn):
    site_id: int


class ParcelBatchIn(Input):
    """A courier's drop: what all parcels share, then each parcel (its own values win)."""

    carrier: Short = ""
    shelf: ShelfName = ""
    parcels: list[ParcelIn] = Field(min_length=1, max_length=50)


class ParcelOut(Output):
    id: uuid.UUID
    site_id: int
    unit_id: int
    unit_label: str
    recipient_id: int | None
    recipient_name: str
    carrier: str
    tracking_number: str
    label_sha256: str | None
    shelf: str
    perishable: bool
    fragile: bool
    oversized: bool
    note: str
    status: ParcelStatus
    received_at: datetime
    received_by_id: int
    notified_at: datetime | None
    reminders: int
    picked_up_at: datetime | None
    pickup_method: PickupMethod | None
    collected_by_name: str
    collector_photo_sha256: str | None
    proof_sha256: str | None
    proof_kind: ProofKind | None
    returned_at: datetime | None
    return_reason: str
    # Only in the resident's own view; staff never see codes (the code is the resident's proof).
    pickup_code: str | None = None


class ParcelQuery(ListQuery):
    status: Literal["waiting", "received", "notified", "picked_up", "returned"] | None = None
    overdue: bool = False  # waiting longer than ANBAO_PARCEL_REMINDER_DAYS
    unit_id: int | None = None
    shelf: ShelfName | None = None


class RecipientQuery(Input):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    limit: int = Field(default=20, ge=1, le=50)


class RecipientOut(Output):
    unit_id: int
    unit_label: str
    user_id: int | None  # None: the unit itself (no resident named)
    display_name: str


class FindIn(Input):
    code: CodeText | None = None  # the 6-character pickup code
    token: PassText | None = None  # the resident's pickup pass (QR)


class FindOut(Output):
    method: PickupMethod
    resident_id: int | None  # whose pass was scanned
    resident_name: str
    parcels: list[ParcelOut]


class PickupIn(Input):
    code: CodeText | None = None
    token: PassText | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""
    # Someone collecting on the resident's behalf: their name and a photo of them.
    collected_by_name: PersonName = ""
    collector_photo_sha256: Sha256 | None = None
    proof_sha256: Sha256 | None = None  # a photo of the handover or the signature
    proof_kind: ProofKind | None = None


class ReturnIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class ShelfCount(Input):
    shelf: ShelfName
    count: int | None = Field(default=None, ge=0, le=10_000)
    # Tracking numbers scanned on the shelf: lets the check name what is missing or extra.
    tracking_numbers: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        default=None, max_length=2000
    )


class ShelfCheckIn(Input):
    shelves: list[ShelfCount] = Field(min_length=1, max_length=200)


class Misplaced(Output):
    tracking_number: str
    parcel_id: uuid.UUID
    shelf_on_record: str


class ShelfDiff(Output):
    shelf: str
    expected: int  # waiting parcels the system has on this shelf
    counted: int
    difference: int  # counted - expected
    missing: list[ParcelOut]  # on record here, not scanned (with tracking numbers given)
    unexpected: list[str]  # scanned here, no waiting parcel has this number
    misplaced: list[Misplaced]  # scanned here, on record on another shelf


class ShelfCheckOut(Output):
    matches: bool
    shelves: list[ShelfDiff]
    not_counted: dict[str, int]  # shelves with waiting parcels that were not counted


class MyParcelsQuery(ListQuery):
    state: Literal["waiting", "history"] = "waiting"


class PassCode(Output):
    parcel_id: uuid.UUID
    site_id: int
    code: str
    shelf: str
    received_at: datetime


class PickupPassOut(Output):
    token: str  # shown as a QR code; signed, short-lived
    expires_at: datetime
    codes: list[PassCode]  # each waiting parcel's code, to tell the guard
