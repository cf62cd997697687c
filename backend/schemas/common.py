"""Shared schema pieces: strict inputs, paging and list queries."""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

T = TypeVar("T")


class Input(BaseModel):
    """Every request body: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Output, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ListQuery(Input):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    q: Annotated[str, StringConstraints(max_length=100)] = ""
    include_inactive: bool = False


# A UUID made by the phone (a mutation's id, a new entity's id), kept as its canonical text:
# validated without building a uuid.UUID that would be turned back into text (a push carries
# hundreds). Any case in, lower case out; the braced and unhyphenated forms are refused.
UUID_PATTERN = r"^(?i:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
ClientUuid = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=UUID_PATTERN),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^[0-9+\- ]*$")
]


def _timezone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("timezone: unknown time zone")
    return value


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError("time_format: expected HH:MM")
    return value


TimeZoneName = Annotated[str, AfterValidator(_timezone)]
ClockTime = Annotated[str, AfterValidator(_hhmm)]
