"""Organization → Site (community or building) → Zone → Unit."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class SiteKind(StrEnum):
    community = "community"
    building = "building"


class ZoneKind(StrEnum):
    area = "area"
    building = "building"
    floor = "floor"
    car_park = "car_park"
    gate = "gate"
    other = "other"


class Organization(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120, unique=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organizations"


class Site(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="sites", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=120)
    kind = fields.CharEnumField(SiteKind, max_length=16)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    address = fields.CharField(max_length=255, default="")
    # The after-hours window in local time ("22:00"–"06:00"); visitors then need confirmation.
    after_hours_start = fields.CharField(max_length=5, default="22:00")
    after_hours_end = fields.CharField(max_length=5, default="06:00")
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int

    class Meta:
        table = "sites"
        unique_together = (("organization", "name"),)


class Zone(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="zones", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=120)
    kind = fields.CharEnumField(ZoneKind, max_length=16, default=ZoneKind.area)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int

    class Meta:
        table = "zones"
        unique_together = (("site", "name"),)


class Unit(Model):
    id = fields.IntField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="units", on_delete=fields.RESTRICT
    )
    zone: fields.ForeignKeyNullableRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="units", null=True, on_delete=fields.SET_NULL
    )
    label = fields.CharField(max_length=64)  # e.g. "3-1-502" (building-entrance-room) or "12F-1203"
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    site_id: int
    zone_id: int | None

    class Meta:
        table = "units"
        unique_together = (("site", "label"),)
