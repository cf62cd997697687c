"""The sync protocol's messages (see docs/sync.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, TypeAdapter, with_config
from typing_extensions import TypedDict

from backend.schemas.common import ClientUuid, Input, Output

MutationName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class MutationIn(Input):
    id: ClientUuid
    name: MutationName
    args: dict[str, Any]
    client_time: AwareDatetime


class PushIn(Input):
    device_id: uuid.UUID
    sent_at: AwareDatetime | None = None  # the phone's clock when it sent: skew is measured on it
    mutations: list[MutationIn]


# The same messages as plain dicts, which is what a push is parsed into: the same rules as the
# models above (which document it), without building two objects per mutation on a hot path.
MESSAGE_CONFIG = ConfigDict(extra="forbid", str_strip_whitespace=True)


@with_config(MESSAGE_CONFIG)
class MutationMessage(TypedDict):
    id: ClientUuid
    name: MutationName
    args: dict[str, Any]
    client_time: AwareDatetime


@with_config(MESSAGE_CONFIG)
class PushMessage(TypedDict):
    device_id: uuid.UUID
    sent_at: NotRequired[AwareDatetime | None]
    mutations: list[MutationMessage]


PUSH_MESSAGE: TypeAdapter[PushMessage] = TypeAdapter(PushMessage)


class MutationResult(Output):
    id: uuid.UUID
    status: Literal["applied", "duplicate", "rejected"]
    code: str = ""
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] | None = None


class PushOut(Output):
    results: list[MutationResult]
    server_time: datetime
    clock_skew_seconds: int
    clock_skew_flagged: bool


class PullQuery(Input):
    cursor: Annotated[str, StringConstraints(max_length=4096)] = ""
    limit: int | None = Field(default=None, ge=1, le=5000)


class ChangeOut(Output):
    site_id: int
    seq: int
    entity: str
    id: str
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None
    at: datetime


class PullOut(Output):
    changes: list[ChangeOut]
    cursor: str
    more: bool
    reset_sites: list[int]
    server_time: datetime
