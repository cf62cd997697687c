"""Sign-in and session schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from backend.models.devices import DeviceKind
from backend.models.organizations import SiteKind
from backend.models.users import Role
from backend.schemas.common import Input, Output


class DeviceHello(Input):
    uid: uuid.UUID
    name: Annotated[str, StringConstraints(max_length=120)] = ""


class LoginIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[
        str, StringConstraints(min_length=1, max_length=256, strip_whitespace=False)
    ]
    device: DeviceHello | None = None


class UserBrief(Output):
    id: int
    username: str
    display_name: str
    locale: str
    is_superuser: bool


class SiteBrief(Output):
    id: int
    organization_id: int
    name: str
    kind: SiteKind
    timezone: str


class UnitBrief(Output):
    id: int
    label: str


class MembershipBrief(Output):
    id: int
    role: Role
    site: SiteBrief
    unit: UnitBrief | None


class DeviceBrief(Output):
    id: int
    uid: uuid.UUID
    kind: DeviceKind
    name: str
    site_id: int | None = None


class Me(Output):
    user: UserBrief | None
    memberships: list[MembershipBrief]
    device: DeviceBrief | None
    session_id: int | None
    csrf_token: str | None = None


class LoginOut(Me):
    token: str
    expires_at: datetime


class SessionOut(Output):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_address: str
    user_agent: str
    device: DeviceBrief | None
    current: bool = Field(default=False)
