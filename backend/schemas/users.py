"""People and memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints

from backend.models.users import Role
from backend.schemas.common import Input, ListQuery, Name, Output, Phone

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=2,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Locale = Literal["zh-CN", "en"]


class NewMembership(Input):
    site_id: int
    role: Role
    unit_id: int | None = None


class UserIn(Input):
    username: Username
    display_name: Name
    phone: Phone = ""
    password: Password
    locale: Locale = "zh-CN"
    # Required unless a superuser creates the account: an admin's new person belongs somewhere.
    membership: NewMembership | None = None


class UserPatch(Input):
    display_name: Name | None = None
    phone: Phone | None = None
    password: Password | None = None
    current_password: Password | None = None
    locale: Locale | None = None
    is_active: bool | None = None


class UserOut(Output):
    id: int
    username: str
    display_name: str
    phone: str
    locale: str
    is_active: bool
    is_superuser: bool
    created_at: datetime


class UserQuery(ListQuery):
    site_id: int | None = None
    # Also people whose role there (at `site_id`, or at any site the caller manages) was
    # removed: how an admin finds someone again to give them a role back.
    former: bool = False


class MembershipIn(Input):
    user_id: int
    role: Role
    unit_id: int | None = None


class MembershipPatch(Input):
    role: Role | None = None
    unit_id: int | None = None
    is_active: bool | None = None


class MembershipOut(Output):
    id: int
    user_id: int
    site_id: int
    role: Role
    unit_id: int | None
    is_active: bool
    created_at: datetime


class MembershipQuery(ListQuery):
    role: Role | None = None
