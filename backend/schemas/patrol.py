"""Checkpoint and tag schemas. Tag keys go in, never out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from backend.images import ImageKind
from backend.models.patrol import ReviewStatus, ScanMethod, TagKind, Verdict
from backend.schemas.common import ClockTime, Input, ListQuery, Name, Output
from backend.schemas.incidents import IncidentOut

HexKey = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Fa-f]{32}$")]


class ChecklistItem(Input):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
    label: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    kind: Literal["check", "note", "photo"] = "check"


def _unique_keys(items: list[ChecklistItem] | None) -> list[ChecklistItem] | None:
    if items is not None and len({i.key for i in items}) != len(items):
        raise ValueError("duplicate_key: checklist keys must differ")
    return items


class CheckpointIn(Input):
    name: Name
    zone_id: int | None = None
    checklist: list[ChecklistItem] = Field(default_factory=list, max_length=12)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_m: int = Field(default=50, ge=5, le=1000)

    _keys = field_validator("checklist")(_unique_keys)


class CheckpointPatch(Input):
    name: Name | None = None
    zone_id: int | None = None
    checklist: list[ChecklistItem] | None = Field(default=None, max_length=12)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_m: int | None = Field(default=None, ge=5, le=1000)
    is_active: bool | None = None

    _keys = field_validator("checklist")(_unique_keys)


class CheckpointOut(Output):
    id: int
    site_id: int
    zone_id: int | None
    name: str
    checklist: list[ChecklistItem]
    latitude: float | None
    longitude: float | None
    radius_m: int
    is_active: bool
    created_at: datetime


class TagIn(Input):
    kind: TagKind
    checkpoint_id: int | None = None
    # A QR code is made by the server when none is given; a GPS tag is named after its checkpoint.
    identifier: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
        | None
    ) = None
    label: Annotated[str, StringConstraints(max_length=120)] = ""
    sdm_meta_read_key: HexKey | None = None  # nfc_sun
    sdm_file_read_key: HexKey | None = None  # nfc_sun
    identity_key: HexKey | None = None  # ble_eid
    rotation_exponent: int | None = Field(default=None, ge=0, le=15)  # ble_eid
    clock_offset: int | None = None  # ble_eid: Unix time at which the beacon's counter was 0


class TagPatch(Input):
    checkpoint_id: int | None = None
    label: Annotated[str, StringConstraints(max_length=120)] | None = None
    is_active: bool | None = None


class TagOut(Output):
    id: int
    site_id: int
    checkpoint_id: int | None
    kind: TagKind
    identifier: str
    label: str
    has_secret: bool
    eid_rotation_exponent: int | None
    sun_counter: int
    is_active: bool
    created_at: datetime


class CoverageOut(Output):
    zones_without_checkpoints: list[int]
    checkpoints_without_tags: list[int]
    checkpoints_in_no_tour: list[int]


class Position(Input):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class ScanIn(Input):
    id: uuid.UUID
    site_id: int
    method: ScanMethod
    code: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
        | None
    ) = None  # qr, manual
    uid: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None  # nfc
    e: Annotated[str, StringConstraints(max_length=64)] | None = None  # nfc_sun
    c: Annotated[str, StringConstraints(max_length=64)] | None = None  # nfc_sun
    eid: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{16}$")] | None = None  # ble
    address: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
        | None
    ) = None  # ble static
    checkpoint_id: int | None = None  # gps
    round_id: int | None = None  # the round being walked, if the guard started one
    position: Position | None = None
    answers: dict[Annotated[str, StringConstraints(max_length=32)], bool | str] = Field(
        default_factory=dict, max_length=12
    )
    client_time: AwareDatetime | None = None


class ScanOut(Output):
    id: uuid.UUID
    site_id: int
    checkpoint_id: int | None
    tag_id: int | None
    guard_id: int
    method: ScanMethod
    verdict: Verdict
    reasons: list[str]
    review: ReviewStatus
    client_time: datetime
    server_time: datetime


class ScanQuery(ListQuery):
    verdict: Verdict | None = None
    review: ReviewStatus | None = None


class ReviewIn(Input):
    decision: Literal["accepted", "rejected"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


def _distinct(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("duplicate_key: listed twice")
    return values


Weekday = Annotated[int, Field(ge=1, le=7)]


class TourIn(Input):
    name: Name
    order: Literal["fixed", "any"] = "any"
    days: list[Weekday] = Field(min_length=1, max_length=7)
    start_time: ClockTime
    end_time: ClockTime
    every_minutes: int = Field(ge=5, le=1440)
    window_minutes: int = Field(ge=5, le=1440)
    min_spacing_seconds: int = Field(default=0, ge=0, le=3600)
    stops: list[int] = Field(min_length=1, max_length=100)

    _days = field_validator("days")(_distinct)
    _stops = field_validator("stops")(_distinct)


class TourPatch(Input):
    name: Name | None = None
    is_active: bool | None = None


class TourOut(Output):
    id: int
    site_id: int
    name: str
    order: str
    days: list[int]
    start_time: str
    end_time: str
    every_minutes: int
    window_minutes: int
    min_spacing_seconds: int
    stops: list[int]
    hotspot_zone_id: int | None = None
    expires_at: datetime | None = None
    is_active: bool


class HotspotIn(Input):
    zone_id: int
    days: int = Field(ge=1, le=90)
    every_minutes: int = Field(default=60, ge=15, le=1440)
    window_minutes: int = Field(default=30, ge=5, le=1440)
    start_time: ClockTime = "00:00"
    end_time: ClockTime = "00:00"
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class RoundStopOut(Output):
    checkpoint_id: int
    status: Literal["pending", "done", "late", "missed"]
    scan_id: str | None = None
    at: datetime | None = None


class RoundOut(Output):
    id: int
    tour_id: int
    site_id: int
    due_at: datetime
    closes_at: datetime
    status: str
    guard_id: int | None
    end_reason: str
    stops: list[RoundStopOut]
    done: int
    total: int


class RoundQuery(Input):
    hours_back: int = Field(default=12, ge=0, le=24 * 31)
    hours_ahead: int = Field(default=12, ge=0, le=24 * 7)


class EndRoundIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class StartRoundMutationArgs(Input):
    # `patrol.start_round`: the round starts at the phone's `client_time` (docs/sync.md).
    round_id: int
    site_id: int
    client_time: AwareDatetime | None = None


class EndRoundMutationArgs(EndRoundIn):
    # `patrol.end_round`: ended early, with a reason, at the phone's `client_time`.
    round_id: int
    site_id: int
    client_time: AwareDatetime | None = None


class GuardLastScan(Output):
    guard_id: int
    guard_name: str
    scan: ScanOut


class ChecklistNote(Output):
    label: str
    text: str


class ChecklistPhoto(Output):
    # A photo a checklist item was answered with (the photo on a failed item).
    label: str  # the item's label
    sha256: str
    kind: ImageKind
    width: int
    height: int
    thumb_url: str
    display_url: str
    original_url: str  # with its metadata: supervisors and admins only


class ChecklistFinding(Output):
    # A scan whose checklist had an item answered "no", a note or a photo: what the guard
    # found there.
    scan: ScanOut
    failed: list[str]  # labels of the items answered "no", in the checklist's order
    notes: list[ChecklistNote]
    photos: list[ChecklistPhoto] = Field(default_factory=list)  # in the checklist's order


class BoardOut(Output):
    rounds_in_progress: list[RoundOut]
    rounds_with_problems: list[RoundOut]  # closed in the last 24 h with missed or late ones
    review_queue: list[ScanOut]
    guards: list[GuardLastScan]
    # Names of the checkpoints and guards the lists above mention, by id.
    checkpoint_names: dict[int, str] = Field(default_factory=dict)
    guard_names: dict[int, str] = Field(default_factory=dict)
    # High and critical incidents not yet resolved, newest first.
    incidents: list[IncidentOut] = Field(default_factory=list)
    # Checklists of the last 24 h with an item answered "no", a note or a photo, newest first
    # (50 at most).
    checklist_findings: list[ChecklistFinding] = Field(default_factory=list)
    server_time: datetime


class PlanQuery(Input):
    hours_back: int = Field(default=6, ge=0, le=24)
    hours_ahead: int = Field(default=12, ge=1, le=36)


class PlanCheckpoint(Output):
    id: int
    name: str
    zone_id: int | None
    zone_name: str
    checklist: list[ChecklistItem]
    latitude: float | None
    longitude: float | None
    radius_m: int


class PlanTag(Output):
    # sha256("<salt>:<kind>:<identifier>") in hex: the phone can tell which checkpoint a code
    # belongs to without holding a printable code.
    kind: Literal["qr", "nfc_uid"]
    hash: str
    checkpoint_id: int


class PlanTour(Output):
    id: int
    name: str
    order: str
    every_minutes: int
    window_minutes: int
    min_spacing_seconds: int
    stops: list[int]
    hotspot_zone_id: int | None
    expires_at: datetime | None


class PatrolPlanOut(Output):
    site_id: int
    timezone: str
    salt: str
    checkpoints: list[PlanCheckpoint]
    tags: list[PlanTag]
    tours: list[PlanTour]
    rounds: list[RoundOut]  # closed in the last `hours_back` hours to due in `hours_ahead`
    my_scans: list[ScanOut]  # the caller's own scans since `hours_back`, as judged, newest first
    server_time: datetime


class LabelQuery(Input):
    # Comma-separated checkpoint ids; all of the site's when empty.
    checkpoint_ids: Annotated[str, StringConstraints(pattern=r"^[0-9,]*$", max_length=2000)] = ""
