"""The duty log of a site."""

from __future__ import annotations

from backend.api import Call, Router
from backend.schemas.common import Page
from backend.schemas.duty_log import DutyEntryIn, DutyEntryOut, DutyLogQuery
from backend.services import duty_log as svc

router = Router("duty_log")


@router.get(
    "/api/sites/{site_id:int}/duty-log",
    summary="The site's duty log, newest first",
    query=DutyLogQuery,
    response=Page[DutyEntryOut],
)
async def list_entries(call: Call) -> Page[DutyEntryOut]:
    q: DutyLogQuery = call.query
    rows, total = await svc.list_entries(call.actor, call.path["site_id"], q)
    return Page[DutyEntryOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/duty-log",
    summary="Write a duty log entry",
    body=DutyEntryIn,
    response=DutyEntryOut,
    status=201,
)
async def add_entry(call: Call) -> DutyEntryOut:
    return await svc.add_entry(call.actor, call.path["site_id"], call.body, call.info)
