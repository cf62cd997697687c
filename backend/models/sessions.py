"""Sign-in sessions (opaque tokens stored hashed) and the failed-login counters."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from backend.models.devices import Device
from backend.models.users import User


class Session(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="sessions", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    client_address = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=255, default="")

    user_id: int
    device_id: int | None

    class Meta:
        table = "sessions"


# Failed sign-ins per key (account:NAME or address:IP); in the database so processes share it.
class LoginThrottle(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    failures = fields.IntField(default=0)
    window_started_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    lockouts = fields.IntField(default=0)

    class Meta:
        table = "login_throttles"
