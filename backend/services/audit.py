"""Writing and reading the append-only audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backend.http import ClientInfo
from backend.models.audit import AuditEvent
from backend.services.permissions import MANAGERS, Actor, require_site


async def record(
    actor: Actor | None,
    info: ClientInfo,
    action: str,
    entity: str,
    entity_id: object,
    *,
    site_id: int | None = None,
    organization_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    return await AuditEvent.create(
        at=datetime.now(UTC),
        actor_user_id=actor.user_id if actor else None,
        actor_device_id=actor.device_id if actor else None,
        organization_id=organization_id,
        site_id=site_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id=info.request_id,
    )


async def list_site_events(
    actor: Actor, site_id: int, *, limit: int, offset: int, action: str | None
) -> tuple[list[AuditEvent], int]:
    require_site(actor, site_id, MANAGERS)
    query = AuditEvent.filter(site_id=site_id)
    if action:
        query = query.filter(action__startswith=action)
    total = await query.count()
    rows = await query.order_by("-id").offset(offset).limit(limit)
    return rows, total
