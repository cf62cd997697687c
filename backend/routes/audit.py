"""The audit log of a site."""

from __future__ import annotations

from backend.api import Call, Router
from backend.routes.organizations import page
from backend.schemas.audit import AuditEventOut, AuditQuery
from backend.schemas.common import Page
from backend.services import audit as svc

router = Router("audit")


@router.get(
    "/api/sites/{site_id:int}/audit",
    summary="Audit events of a site (newest first)",
    query=AuditQuery,
    response=Page[AuditEventOut],
)
async def list_audit(call: Call) -> Page[AuditEventOut]:
    q: AuditQuery = call.query
    rows, total = await svc.list_site_events(
        call.actor, call.path["site_id"], limit=q.limit, offset=q.offset, action=q.action or None
    )
    return page(AuditEventOut, rows, total, q)
