"""The gate screen's summary, each site's gate calendar, and the blocklist."""

from __future__ import annotations

from backend.api import Call, Router
from backend.schemas.common import ListQuery, Page
from backend.schemas.gate import (
    BlocklistIn,
    BlocklistOut,
    BlocklistPatch,
    GatePolicyOut,
    GatePolicyPatch,
    GateSummaryOut,
)
from backend.services import gate as svc
from backend.services import visitors

router = Router("gate")


@router.get(
    "/api/sites/{site_id:int}/gate",
    summary="The gate screen: on site now, pending decisions, expected today, vehicles in",
    response=GateSummaryOut,
)
async def gate_summary(call: Call) -> GateSummaryOut:
    return await visitors.gate_summary(
        call.actor, call.path["site_id"], call.request.app.state.sealer
    )


@router.get(
    "/api/sites/{site_id:int}/gate-policy",
    summary="When the site's gate is after hours: nights, weekends, holidays",
    response=GatePolicyOut,
)
async def get_policy(call: Call) -> GatePolicyOut:
    return await svc.get_policy(call.actor, call.path["site_id"])


@router.patch(
    "/api/sites/{site_id:int}/gate-policy",
    summary="Change the site's gate calendar (admin)",
    body=GatePolicyPatch,
    response=GatePolicyOut,
)
async def update_policy(call: Call) -> GatePolicyOut:
    return await svc.update_policy(call.actor, call.path["site_id"], call.body, call.info)


@router.get(
    "/api/sites/{site_id:int}/blocklist",
    summary="The site's blocklist (supervisor)",
    query=ListQuery,
    response=Page[BlocklistOut],
)
async def list_blocklist(call: Call) -> Page[BlocklistOut]:
    q: ListQuery = call.query
    rows, total = await svc.list_blocklist(call.actor, call.path["site_id"], q)
    return Page[BlocklistOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/blocklist",
    summary="Add someone to the blocklist (supervisor)",
    body=BlocklistIn,
    response=BlocklistOut,
    status=201,
)
async def add_blocklist_entry(call: Call) -> BlocklistOut:
    return await svc.add_blocklist_entry(
        call.actor, call.path["site_id"], call.body, call.info, call.request.app.state.sealer
    )


@router.patch(
    "/api/blocklist/{entry_id:int}",
    summary="Change or lift a blocklist entry (supervisor)",
    body=BlocklistPatch,
    response=BlocklistOut,
)
async def update_blocklist_entry(call: Call) -> BlocklistOut:
    return await svc.update_blocklist_entry(call.actor, call.path["entry_id"], call.body, call.info)
