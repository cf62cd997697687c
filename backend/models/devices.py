"""Phones and bridges: each revocable, so a lost phone is signed out at once."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site
from backend.models.users import User


class DeviceKind(StrEnum):
    phone = "phone"
    bridge = "bridge"


class Device(Model):
    id = fields.IntField(primary_key=True)
    # The phone's own random id (kept in its local storage); bridges get one from the server.
    uid = fields.UUIDField(unique=True)
    kind = fields.CharEnumField(DeviceKind, max_length=16)
    name = fields.CharField(max_length=120, default="")
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="devices", null=True, on_delete=fields.RESTRICT
    )
    site: fields.ForeignKeyNullableRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="devices", null=True, on_delete=fields.RESTRICT
    )
    token_hash = fields.CharField(max_length=64, null=True, unique=True)  # bridges only
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="revoked_devices", null=True, on_delete=fields.RESTRICT
    )

    user_id: int | None
    site_id: int | None
    revoked_by_id: int | None

    class Meta:
        table = "devices"
