"""Organizations, sites, zones and units."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from backend.models.organizations import SiteKind, ZoneKind
from backend.schemas.common import (
    ClockTime,
    Input,
    Label,
    ListQuery,
    Name,
    Output,
    TimeZoneName,
)


class OrganizationIn(Input):
    name: Name


class OrganizationPatch(Input):
    name: Name | None = None
    is_active: bool | None = None


class OrganizationOut(Output):
    id: int
    name: str
    is_active: bool
    created_at: datetime


class SiteIn(Input):
    organization_id: int
    name: Name
    kind: SiteKind
    timezone: TimeZoneName | None = None
    address: str = ""
    after_hours_start: ClockTime = "22:00"
    after_hours_end: ClockTime = "06:00"


class SitePatch(Input):
    name: Name | None = None
    kind: SiteKind | None = None
    timezone: TimeZoneName | None = None
    address: str | None = None
    after_hours_start: ClockTime | None = None
    after_hours_end: ClockTime | None = None
    is_active: bool | None = None


class SiteOut(Output):
    id: int
    organization_id: int
    name: str
    kind: SiteKind
    timezone: str
    address: str
    after_hours_start: str
    after_hours_end: str
    is_active: bool
    created_at: datetime


class ZoneIn(Input):
    name: Name
    kind: ZoneKind = ZoneKind.area


class ZonePatch(Input):
    name: Name | None = None
    kind: ZoneKind | None = None
    is_active: bool | None = None


class ZoneOut(Output):
    id: int
    site_id: int
    name: str
    kind: ZoneKind
    is_active: bool


class UnitIn(Input):
    label: Label
    zone_id: int | None = None


class UnitQuery(ListQuery):
    zone_id: int | None = Field(default=None, ge=1)  # only the units of this zone of the site


class UnitPatch(Input):
    label: Label | None = None
    zone_id: int | None = None
    is_active: bool | None = None


class UnitOut(Output):
    id: int
    site_id: int
    zone_id: int | None
    label: str
    is_active: bool
