"""Incident report schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from backend.images import ImageKind
from backend.models.incidents import IncidentStatus, IncidentType, Severity, TimelineKind
from backend.schemas.common import Input, ListQuery, Output
from backend.schemas.media import Sha256

MAX_PHOTOS = 10
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class IncidentIn(Input):
    id: uuid.UUID  # made by the phone, so a retried report is recognised
    type: IncidentType
    severity: Severity
    description: Text
    zone_id: int | None = None
    checkpoint_id: int | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    place: Place = ""
    # Uploaded first (PUT /api/media/{sha256}); the report names them by hash.
    photos: list[Sha256] = Field(default_factory=list, max_length=MAX_PHOTOS)
    client_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> IncidentIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("position: give both latitude and longitude, or neither")
        return self


class IncidentMutationArgs(IncidentIn):
    site_id: int


class CommentIn(Input):
    text: Text
    client_time: AwareDatetime | None = None


class CommentMutationArgs(CommentIn):
    incident_id: uuid.UUID


class PhotosIn(Input):
    photos: list[Sha256] = Field(min_length=1, max_length=MAX_PHOTOS)
    client_time: AwareDatetime | None = None


class PhotosMutationArgs(PhotosIn):
    incident_id: uuid.UUID


class AssignIn(Input):
    assignee_id: int
    note: Note = ""


class NoteIn(Input):
    note: Note = ""


class ReopenIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PhotoOut(Output):
    sha256: str
    position: int
    kind: ImageKind
    size: int
    width: int
    height: int
    thumb_url: str
    display_url: str
    original_url: str
    added_by_id: int
    added_at: datetime


class IncidentOut(Output):
    id: uuid.UUID
    site_id: int
    zone_id: int | None
    checkpoint_id: int | None
    latitude: float | None
    longitude: float | None
    place: str
    type: IncidentType
    severity: Severity
    status: IncidentStatus
    description: str
    reporter_id: int
    reporter_name: str
    assignee_id: int | None
    assignee_name: str | None
    photos: list[PhotoOut]
    reported_at: datetime  # the phone's clock
    received_at: datetime  # the server's
    updated_at: datetime


class TimelineEntryOut(Output):
    id: int
    kind: TimelineKind
    actor_id: int
    actor_name: str
    text: str
    data: dict[str, Any]
    client_time: datetime | None
    at: datetime


class IncidentDetailOut(IncidentOut):
    timeline: list[TimelineEntryOut]


def _choices(enum: Any, value: str) -> str:
    for part in value.split(","):
        if part.strip() and part.strip() not in enum.__members__:
            raise ValueError(f"enum: {part.strip()!r} is not one of {sorted(enum.__members__)}")
    return ",".join(p.strip() for p in value.split(",") if p.strip())


class IncidentQuery(ListQuery):
    site_id: int | None = None  # default: every site where the caller is staff
    zone_id: int | None = None
    # Comma-separated, any of: e.g. severity=high,critical
    type: str = ""
    severity: str = ""
    status: str = ""
    since: AwareDatetime | None = None  # reported at or after (the phone's clock)
    until: AwareDatetime | None = None  # reported before

    @field_validator("type")
    @classmethod
    def _types(cls, value: str) -> str:
        return _choices(IncidentType, value)

    @field_validator("severity")
    @classmethod
    def _severities(cls, value: str) -> str:
        return _choices(Severity, value)

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str) -> str:
        return _choices(IncidentStatus, value)
