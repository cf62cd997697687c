"""The append-only audit log: who changed what, when, with the before and after."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    # Plain ids rather than foreign keys: the record must outlive whatever it names.
    actor_user_id = fields.IntField(null=True)
    actor_device_id = fields.IntField(null=True)
    organization_id = fields.IntField(null=True)
    site_id = fields.IntField(null=True, db_index=True)
    action = fields.CharField(max_length=64)
    entity = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=64)
    before: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    request_id = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_events"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._saved_in_db:
            await super().save(*args, **kwargs)
            return
        raise PermissionError("audit events are append-only")

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise PermissionError("audit events are append-only")
