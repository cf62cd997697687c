"""Incident reports: report, list, read, comment, add photos, the supervisor's workflow, PDF."""

from __future__ import annotations

import anyio.to_thread
from starlette.responses import Response

from backend.api import Call, Router
from backend.events import Event
from backend.routes.media import store
from backend.schemas.common import Page
from backend.schemas.incidents import (
    AssignIn,
    CommentIn,
    IncidentDetailOut,
    IncidentIn,
    IncidentOut,
    IncidentQuery,
    NoteIn,
    PhotosIn,
    ReopenIn,
)
from backend.services import incident_pdf
from backend.services import incidents as svc

router = Router("incidents")


def _publish(call: Call, name: str, out: IncidentOut) -> None:
    call.request.app.state.bus.publish(Event(out.site_id, name, out.model_dump(mode="json")))


@router.get(
    "/api/incidents",
    summary="Incidents of the caller's sites (staff), newest first, with filters",
    query=IncidentQuery,
    response=Page[IncidentOut],
)
async def list_incidents(call: Call) -> Page[IncidentOut]:
    """Filters: `site_id`, `zone_id`, `type`, `severity`, `status` (each comma-separated, any
    of), `since`/`until` (the phone's report time), `q` (description or place)."""
    q: IncidentQuery = call.query
    rows, total = await svc.list_incidents(call.actor, q)
    return Page[IncidentOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/incidents",
    summary="Report an incident (online; offline reports go through sync as incident.report)",
    body=IncidentIn,
    response=IncidentOut,
    status=201,
)
async def report(call: Call) -> IncidentOut:
    """Photos are uploaded first (PUT /api/media/{sha256}) and named here by hash; one not
    uploaded by the caller answers 422 media_missing with `details.missing`, and nothing is
    written. The same report id sent again answers the incident as stored."""
    out = await svc.report_incident(
        call.actor, call.path["site_id"], call.body, call.info, call.settings
    )
    _publish(call, svc.REPORTED, out)
    return out


@router.get(
    "/api/incidents/{incident_id:uuid}",
    summary="An incident with its photos and timeline (staff of its site)",
    response=IncidentDetailOut,
)
async def get_incident(call: Call) -> IncidentDetailOut:
    return await svc.get_incident(call.actor, call.path["incident_id"])


@router.get(
    "/api/incidents/{incident_id:uuid}.pdf",
    summary="An incident as a PDF, with its photos and timeline (supervisors, admins)",
    media_type="application/pdf",
)
async def incident_pdf_file(call: Call) -> Response:
    doc = await svc.incident_document(call.actor, call.path["incident_id"])
    pdf = await anyio.to_thread.run_sync(
        incident_pdf.render_incident, doc, store(call), call.info.language, call.settings.cjk_font
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="incident-{doc.detail.id}.pdf"'},
    )


@router.post(
    "/api/incidents/{incident_id:uuid}/comments",
    summary="Comment on an incident (staff of its site)",
    body=CommentIn,
    response=IncidentDetailOut,
    status=201,
)
async def comment(call: Call) -> IncidentDetailOut:
    body: CommentIn = call.body
    return await svc.comment(call.actor, call.path["incident_id"], body.text, body.client_time)


@router.post(
    "/api/incidents/{incident_id:uuid}/photos",
    summary="Add photos to an incident, uploaded first (staff of its site; 10 at most)",
    body=PhotosIn,
    response=IncidentDetailOut,
)
async def add_photos(call: Call) -> IncidentDetailOut:
    body: PhotosIn = call.body
    out = await svc.add_photos(call.actor, call.path["incident_id"], body.photos, body.client_time)
    _publish(call, svc.UPDATED, out)
    return out


async def _step(
    call: Call, action: str, text: str, assignee_id: int | None = None
) -> IncidentDetailOut:
    out = await svc.transition(
        call.actor, call.path["incident_id"], action, call.info, text=text, assignee_id=assignee_id
    )
    _publish(call, svc.UPDATED, out)
    return out


@router.post(
    "/api/incidents/{incident_id:uuid}/assign",
    summary="Assign (or reassign) an open incident to a staff member (supervisors, admins)",
    body=AssignIn,
    response=IncidentDetailOut,
)
async def assign(call: Call) -> IncidentDetailOut:
    body: AssignIn = call.body
    return await _step(call, "assign", body.note, body.assignee_id)


@router.post(
    "/api/incidents/{incident_id:uuid}/resolve",
    summary="Mark an open or assigned incident resolved (supervisors, admins)",
    body=NoteIn,
    response=IncidentDetailOut,
)
async def resolve(call: Call) -> IncidentDetailOut:
    return await _step(call, "resolve", call.body.note)


@router.post(
    "/api/incidents/{incident_id:uuid}/close",
    summary="Close a resolved incident (supervisors, admins)",
    body=NoteIn,
    response=IncidentDetailOut,
)
async def close(call: Call) -> IncidentDetailOut:
    return await _step(call, "close", call.body.note)


@router.post(
    "/api/incidents/{incident_id:uuid}/reopen",
    summary="Reopen a resolved or closed incident, with a reason (supervisors, admins)",
    body=ReopenIn,
    response=IncidentDetailOut,
)
async def reopen(call: Call) -> IncidentDetailOut:
    return await _step(call, "reopen", call.body.reason)
