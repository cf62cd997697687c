"""Visits at the gate: registering, returning visitors, decisions, escorts, check-out, export."""

from __future__ import annotations

from starlette.responses import Response

from backend.api import Call, Router
from backend.events import Event
from backend.schemas.common import Page
from backend.schemas.visitors import (
    CheckOutIn,
    DecisionIn,
    EscortIn,
    ExportQuery,
    VisitIn,
    VisitorOut,
    VisitorQuery,
    VisitOut,
    VisitQuery,
)
from backend.services import visitors as svc

router = Router("visitors")


def _publish(call: Call, name: str, visit: VisitOut) -> None:
    call.request.app.state.bus.publish(Event(visit.site_id, name, visit.model_dump(mode="json")))


@router.get(
    "/api/sites/{site_id:int}/visits",
    summary="Visits of a site, newest first (a resident: their own guests)",
    query=VisitQuery,
    response=Page[VisitOut],
)
async def list_visits(call: Call) -> Page[VisitOut]:
    """`overstayed=true` lists visitors still on site past their window."""
    q: VisitQuery = call.query
    rows, total = await svc.list_visits(call.actor, call.path["site_id"], q)
    return Page[VisitOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/visits",
    summary="Register a visitor at the gate (walk-in, returning or with an invite code)",
    body=VisitIn,
    response=VisitOut,
    status=201,
)
async def register_visit(call: Call) -> VisitOut:
    """The answer's `status` says whether the visitor may go in (`on_site`) or waits for a
    supervisor (`pending_approval`: on the blocklist) or the control room
    (`pending_confirmation`: after hours)."""
    visit = await svc.register_visit(
        call.actor, call.path["site_id"], call.body, call.info, call.request.app.state.sealer
    )
    _publish(call, "visit.registered", visit)
    return visit


@router.get(
    "/api/sites/{site_id:int}/visitors",
    summary="Returning visitors by phone number, with their last visit (to prefill the form)",
    query=VisitorQuery,
    response=list[VisitorOut],
)
async def find_visitors(call: Call) -> list[VisitorOut]:
    return await svc.find_visitors(call.actor, call.path["site_id"], call.query.phone)


@router.get(
    "/api/sites/{site_id:int}/visits.csv",
    summary="Export visits as CSV (masked; unmasked for admins with a reason, audited)",
    query=ExportQuery,
    media_type="text/csv",
)
async def export_visits(call: Call) -> Response:
    name, text = await svc.export_visits(
        call.actor, call.path["site_id"], call.query, call.info, call.request.app.state.sealer
    )
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/visits/{visit_id:uuid}", summary="One visit", response=VisitOut)
async def get_visit(call: Call) -> VisitOut:
    return await svc.get_visit(call.actor, call.path["visit_id"])


@router.post(
    "/api/visits/{visit_id:uuid}/check-out",
    summary="Sign a visitor out (an escorted visit: only by its escort)",
    body=CheckOutIn,
    response=VisitOut,
)
async def check_out(call: Call) -> VisitOut:
    visit = await svc.check_out(call.actor, call.path["visit_id"], call.body, call.info)
    _publish(call, "visit.checked_out", visit)
    return visit


@router.post(
    "/api/visits/{visit_id:uuid}/decision",
    summary="Approve or refuse a held visitor (blocklist: supervisor; after hours: control room)",
    body=DecisionIn,
    response=VisitOut,
)
async def decide(call: Call) -> VisitOut:
    """A blocklisted visitor is decided by a supervisor or admin; an after-hours one by a
    supervisor, an admin, or a guard other than the one who registered them (the control
    room). Who decided is recorded and audited."""
    visit = await svc.decide(call.actor, call.path["visit_id"], call.body, call.info)
    _publish(call, "visit.decided", visit)
    return visit


@router.post(
    "/api/visits/{visit_id:uuid}/escort",
    summary="Hand an escorted visit to another guard (supervisor)",
    body=EscortIn,
    response=VisitOut,
)
async def assign_escort(call: Call) -> VisitOut:
    return await svc.assign_escort(call.actor, call.path["visit_id"], call.body, call.info)
