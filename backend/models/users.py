"""People and their roles at sites."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.models.organizations import Site, Unit


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    guard = "guard"
    resident = "resident"


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)  # stored lower-case
    display_name = fields.CharField(max_length=120)
    phone = fields.CharField(max_length=32, default="")
    password_hash = fields.CharField(max_length=255)
    locale = fields.CharField(max_length=8, default="zh-CN")
    is_active = fields.BooleanField(default=True)
    is_superuser = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Membership(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.RESTRICT
    )
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="memberships", on_delete=fields.RESTRICT
    )
    role = fields.CharEnumField(Role, max_length=16)
    unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="residents", null=True, on_delete=fields.RESTRICT
    )
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int
    site_id: int
    unit_id: int | None

    class Meta:
        table = "memberships"
        unique_together = (("user", "site", "role", "unit"),)
