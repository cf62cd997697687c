"""Sync bookkeeping: applied mutations (the idempotency record) and the per-site change feed."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class MutationStatus(StrEnum):
    applied = "applied"
    rejected = "rejected"


class AppliedMutation(Model):
    # The client's UUID for the mutation: replaying it returns this row and writes nothing.
    id = fields.UUIDField(primary_key=True)
    user_id = fields.IntField()
    device_id = fields.IntField(null=True)
    name = fields.CharField(max_length=64)
    status = fields.CharEnumField(MutationStatus, max_length=16)
    code = fields.CharField(max_length=64, default="")
    result: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    client_time = fields.DatetimeField()
    server_time = fields.DatetimeField()
    clock_skew_seconds = fields.IntField(default=0)

    class Meta:
        table = "applied_mutations"


class SiteSequence(Model):
    # One row per site; locked while a change is recorded so sequence numbers commit in order.
    site_id = fields.IntField(primary_key=True)
    seq = fields.BigIntField(default=0)
    # Changes at or below this were compacted away: a cursor older than it must reset.
    horizon = fields.BigIntField(default=0)

    class Meta:
        table = "site_sequences"


class ChangeOp(StrEnum):
    upsert = "upsert"
    delete = "delete"


class Change(Model):
    id = fields.BigIntField(primary_key=True)
    site_id = fields.IntField()
    seq = fields.BigIntField()
    entity = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=64)
    op = fields.CharEnumField(ChangeOp, max_length=8)
    # Who may receive it: "staff" (admins, supervisors, guards) or "unit:<id>" (its residents).
    audience = fields.CharField(max_length=32, default="staff")
    data: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "changes"
        unique_together = (("site_id", "seq"),)
