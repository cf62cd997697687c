"""The duty log (值班记录): what happened on a shift, written by guards, read by all on duty."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Zone
from backend.models.users import User


class DutyCategory(StrEnum):
    routine = "routine"
    patrol = "patrol"
    visitor = "visitor"
    incident = "incident"
    maintenance = "maintenance"
    handover = "handover"
    other = "other"


class DutyLogEntry(Model):
    # Made on the phone, so an entry written offline keeps one id from the first tap on.
    id = fields.UUIDField(primary_key=True)
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="duty_log", on_delete=fields.RESTRICT
    )
    zone: fields.ForeignKeyNullableRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="duty_log", null=True, on_delete=fields.SET_NULL
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="duty_log", on_delete=fields.RESTRICT
    )
    device_id = fields.IntField(null=True)
    category = fields.CharEnumField(DutyCategory, max_length=16)
    text = fields.TextField()
    client_time = fields.DatetimeField()
    server_time = fields.DatetimeField()

    site_id: int
    zone_id: int | None
    author_id: int

    class Meta:
        table = "duty_log_entries"
        indexes = (("site_id", "server_time"),)
