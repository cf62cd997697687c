"""Checkpoints, tags and patrol coverage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio.to_thread
import orjson
from starlette.responses import Response, StreamingResponse

from backend.api import Call, Router
from backend.errors import ValidationFailed
from backend.events import Event
from backend.models.media import Media
from backend.models.patrol import Round, Tag
from backend.routes.organizations import page
from backend.schemas.common import ListQuery, Page
from backend.schemas.patrol import (
    BoardOut,
    ChecklistFinding,
    ChecklistItem,
    ChecklistNote,
    ChecklistPhoto,
    CheckpointIn,
    CheckpointOut,
    CheckpointPatch,
    CoverageOut,
    EndRoundIn,
    GuardLastScan,
    HotspotIn,
    LabelQuery,
    PatrolPlanOut,
    PlanCheckpoint,
    PlanQuery,
    PlanTag,
    PlanTour,
    ReviewIn,
    RoundOut,
    RoundQuery,
    RoundStopOut,
    ScanIn,
    ScanOut,
    ScanQuery,
    TagIn,
    TagOut,
    TagPatch,
    TourIn,
    TourOut,
    TourPatch,
)
from backend.services import board as board_svc
from backend.services import incidents, labels, media, rounds, scans
from backend.services import patrol as svc
from backend.services.permissions import MANAGERS, require_site

router = Router("patrol")


def tag_out(tag: Tag) -> TagOut:
    return TagOut(
        id=tag.id,
        site_id=tag.site_id,
        checkpoint_id=tag.checkpoint_id,
        kind=tag.kind,
        identifier=tag.identifier,
        label=tag.label,
        has_secret=tag.secret_sealed is not None,
        eid_rotation_exponent=tag.eid_rotation_exponent,
        sun_counter=tag.sun_counter,
        is_active=tag.is_active,
        created_at=tag.created_at,
    )


@router.get(
    "/api/sites/{site_id:int}/checkpoints",
    summary="Checkpoints of a site (staff)",
    query=ListQuery,
    response=Page[CheckpointOut],
)
async def list_checkpoints(call: Call) -> Page[CheckpointOut]:
    rows, total = await svc.list_checkpoints(call.actor, call.path["site_id"], call.query)
    return page(CheckpointOut, rows, total, call.query)


@router.post(
    "/api/sites/{site_id:int}/checkpoints",
    summary="Create a checkpoint (site admin)",
    body=CheckpointIn,
    response=CheckpointOut,
    status=201,
)
async def create_checkpoint(call: Call) -> CheckpointOut:
    cp = await svc.create_checkpoint(call.actor, call.path["site_id"], call.body, call.info)
    return CheckpointOut.model_validate(cp)


@router.patch(
    "/api/checkpoints/{checkpoint_id:int}",
    summary="Update or deactivate a checkpoint (site admin)",
    body=CheckpointPatch,
    response=CheckpointOut,
)
async def update_checkpoint(call: Call) -> CheckpointOut:
    cp = await svc.update_checkpoint(call.actor, call.path["checkpoint_id"], call.body, call.info)
    return CheckpointOut.model_validate(cp)


@router.get(
    "/api/sites/{site_id:int}/tags",
    summary="Tags of a site (supervisors, admins)",
    query=ListQuery,
    response=Page[TagOut],
)
async def list_tags(call: Call) -> Page[TagOut]:
    rows, total = await svc.list_tags(call.actor, call.path["site_id"], call.query)
    q = call.query
    return Page[TagOut](
        items=[tag_out(t) for t in rows], total=total, limit=q.limit, offset=q.offset
    )


@router.post(
    "/api/sites/{site_id:int}/tags",
    summary="Register a tag; its keys are sealed and never shown again",
    body=TagIn,
    response=TagOut,
    status=201,
)
async def create_tag(call: Call) -> TagOut:
    sealer = call.request.app.state.sealer
    tag = await svc.create_tag(call.actor, call.path["site_id"], call.body, call.info, sealer)
    return tag_out(tag)


@router.patch(
    "/api/tags/{tag_id:int}",
    summary="Bind, relabel or deactivate a tag (site admin)",
    body=TagPatch,
    response=TagOut,
)
async def update_tag(call: Call) -> TagOut:
    return tag_out(await svc.update_tag(call.actor, call.path["tag_id"], call.body, call.info))


@router.get(
    "/api/sites/{site_id:int}/patrol-coverage",
    summary="Zones with no checkpoint, checkpoints with no tag",
    response=CoverageOut,
)
async def coverage(call: Call) -> CoverageOut:
    zones, bare, untoured = await svc.coverage(call.actor, call.path["site_id"])
    return CoverageOut(
        zones_without_checkpoints=zones,
        checkpoints_without_tags=bare,
        checkpoints_in_no_tour=untoured,
    )


@router.post(
    "/api/sites/{site_id:int}/scans",
    summary="Record a checkpoint scan (online; offline scans go through sync)",
    body=ScanIn,
    response=ScanOut,
    status=201,
)
async def create_scan(call: Call) -> ScanOut:
    data: ScanIn = call.body
    if data.site_id != call.path["site_id"]:
        raise ValidationFailed("site", fields=[{"field": "site_id", "code": "not_found"}])
    out = await scans.record_scan(
        call.actor, data, call.info, call.settings, call.request.app.state.sealer
    )
    _publish(call, data.site_id, "scan.recorded", out)
    for event in scans.round_events(out):
        call.request.app.state.bus.publish(event)
    return ScanOut.model_validate(out)


@router.get(
    "/api/sites/{site_id:int}/scans",
    summary="Scans of a site, newest first (supervisors: the review queue)",
    query=ScanQuery,
    response=Page[ScanOut],
)
async def list_scans(call: Call) -> Page[ScanOut]:
    q: ScanQuery = call.query
    rows, total = await scans.list_scans(call.actor, call.path["site_id"], q, q.verdict, q.review)
    return Page[ScanOut](
        items=[ScanOut.model_validate(scans.scan_out(r)) for r in rows],
        total=total,
        limit=q.limit,
        offset=q.offset,
    )


@router.post(
    "/api/scans/{scan_id:uuid}/review",
    summary="Accept or reject a suspicious scan, with a note (audited)",
    body=ReviewIn,
    response=ScanOut,
)
async def review_scan(call: Call) -> ScanOut:
    body: ReviewIn = call.body
    scan = await scans.review_scan(
        call.actor, str(call.path["scan_id"]), body.decision, body.note, call.info
    )
    _publish(call, scan.site_id, "scan.reviewed", scans.scan_out(scan))
    return ScanOut.model_validate(scans.scan_out(scan))


def round_out(rnd: Round) -> RoundOut:
    stops = [RoundStopOut.model_validate(s) for s in rnd.stops]
    return RoundOut(
        id=rnd.id,
        tour_id=rnd.tour_id,
        site_id=rnd.site_id,
        due_at=rnd.due_at,
        closes_at=rnd.closes_at,
        status=rnd.status.value,
        guard_id=rnd.guard_id,
        end_reason=rnd.end_reason,
        stops=stops,
        done=sum(s.status in ("done", "late") for s in stops),
        total=len(stops),
    )


@router.get(
    "/api/sites/{site_id:int}/tours", summary="Tours of a site (staff)", response=list[TourOut]
)
async def list_tours(call: Call) -> list[TourOut]:
    tours = await rounds.list_tours(call.actor, call.path["site_id"])
    return [TourOut.model_validate(t) for t in tours]


@router.post(
    "/api/sites/{site_id:int}/tours",
    summary="Create a tour with its schedule; its rounds are generated at once",
    body=TourIn,
    response=TourOut,
    status=201,
)
async def create_tour(call: Call) -> TourOut:
    tour = await rounds.create_tour(call.actor, call.path["site_id"], call.body, call.info)
    return TourOut.model_validate(tour)


@router.patch(
    "/api/tours/{tour_id:int}",
    summary="Rename or deactivate a tour (site admin)",
    body=TourPatch,
    response=TourOut,
)
async def update_tour(call: Call) -> TourOut:
    tour = await rounds.update_tour(call.actor, call.path["tour_id"], call.body, call.info)
    return TourOut.model_validate(tour)


@router.get(
    "/api/sites/{site_id:int}/rounds",
    summary="Rounds around now, with each checkpoint's state (staff)",
    query=RoundQuery,
    response=list[RoundOut],
)
async def list_rounds(call: Call) -> list[RoundOut]:
    rows = await rounds.list_rounds(call.actor, call.path["site_id"], call.query, datetime.now(UTC))
    return [round_out(r) for r in rows]


@router.get(
    "/api/sites/{site_id:int}/patrol-plan",
    summary="What a guard's phone keeps for patrolling offline (staff)",
    query=PlanQuery,
    response=PatrolPlanOut,
)
async def patrol_plan(call: Call) -> PatrolPlanOut:
    """Checkpoints with zone and checklist, tours, rounds around now (hotspots included), and
    each QR or plain NFC tag as a salted hash of its code mapped to its checkpoint."""
    now = datetime.now(UTC)
    plan = await rounds.patrol_plan(call.actor, call.path["site_id"], call.query, now)
    return PatrolPlanOut(
        site_id=plan.site.id,
        timezone=plan.site.timezone,
        salt=plan.salt,
        checkpoints=[
            PlanCheckpoint(
                id=cp.id,
                name=cp.name,
                zone_id=cp.zone_id,
                zone_name=zone,
                checklist=[ChecklistItem.model_validate(item) for item in cp.checklist],
                latitude=cp.latitude,
                longitude=cp.longitude,
                radius_m=cp.radius_m,
            )
            for cp, zone in plan.checkpoints
        ],
        tags=[
            PlanTag(kind=kind.value, hash=digest, checkpoint_id=cp)
            for kind, digest, cp in plan.tags
        ],
        tours=[PlanTour.model_validate(t) for t in plan.tours],
        rounds=[round_out(r) for r in plan.rounds],
        my_scans=[ScanOut.model_validate(scans.scan_out(s)) for s in plan.my_scans],
        server_time=now,
    )


@router.post(
    "/api/rounds/{round_id:int}/start", summary="Start a round (a guard on duty)", response=RoundOut
)
async def start_round(call: Call) -> RoundOut:
    rnd = await rounds.start_round(call.actor, call.path["round_id"], call.info, datetime.now(UTC))
    _publish(call, rnd.site_id, "round.started", round_out(rnd).model_dump(mode="json"))
    return round_out(rnd)


@router.post(
    "/api/rounds/{round_id:int}/end",
    summary="End a round early, with a reason",
    body=EndRoundIn,
    response=RoundOut,
)
async def end_round(call: Call) -> RoundOut:
    body: EndRoundIn = call.body
    rnd = await rounds.end_round(
        call.actor, call.path["round_id"], body.reason, call.info, datetime.now(UTC)
    )
    _publish(call, rnd.site_id, "round.ended_early", round_out(rnd).model_dump(mode="json"))
    return round_out(rnd)


@router.post(
    "/api/sites/{site_id:int}/hotspots",
    summary="Extra rounds over a zone for some days (supervisor), on guards' schedules",
    body=HotspotIn,
    response=TourOut,
    status=201,
)
async def create_hotspot(call: Call) -> TourOut:
    tour = await rounds.create_hotspot(
        call.actor, call.path["site_id"], call.body, call.info, datetime.now(UTC)
    )
    return TourOut.model_validate(tour)


def _publish(call: Call, site_id: int, name: str, data: dict[str, object]) -> None:
    call.request.app.state.bus.publish(Event(site_id, name, data))


@router.get(
    "/api/sites/{site_id:int}/board",
    summary="The supervisor's board: rounds, problems, review queue, guards",
    response=BoardOut,
)
async def get_board(call: Call) -> BoardOut:
    b = await board_svc.board(call.actor, call.path["site_id"], datetime.now(UTC))
    return BoardOut(
        rounds_in_progress=[round_out(r) for r in b.rounds_in_progress],
        rounds_with_problems=[round_out(r) for r in b.rounds_closed],
        review_queue=[ScanOut.model_validate(scans.scan_out(s)) for s in b.review_queue],
        guards=[
            GuardLastScan(
                guard_id=u.id,
                guard_name=u.display_name,
                scan=ScanOut.model_validate(scans.scan_out(s)),
            )
            for u, s in b.last_scans
        ],
        checkpoint_names=b.checkpoint_names,
        guard_names=b.guard_names,
        incidents=await incidents.outs(b.incidents),
        checklist_findings=[
            ChecklistFinding(
                scan=ScanOut.model_validate(scans.scan_out(f.scan)),
                failed=f.failed,
                notes=[ChecklistNote(label=label, text=text) for label, text in f.notes],
                photos=[_checklist_photo(label, m) for label, m in f.photos],
            )
            for f in b.findings
        ],
        server_time=datetime.now(UTC),
    )


def _checklist_photo(label: str, m: Media) -> ChecklistPhoto:
    return ChecklistPhoto(
        label=label,
        sha256=m.sha256,
        kind=m.kind,
        width=m.width,
        height=m.height,
        **media.urls(m.sha256),
    )


_HEARTBEAT = 15.0


@router.get(
    "/api/sites/{site_id:int}/events",
    summary="Live board events (server-sent events): scans, rounds, reviews",
    media_type="text/event-stream",
)
async def events(call: Call) -> Response:
    """Events: scan.recorded, scan.reviewed, round.started, round.ended_early, round.closed,
    duty_log.added; `reload` when the listener fell behind and should fetch the board again."""
    site_id = call.path["site_id"]
    require_site(call.actor, site_id, MANAGERS)
    bus = call.request.app.state.bus
    request = call.request

    async def stream() -> AsyncIterator[bytes]:
        async with bus.listen(site_id) as queue:
            yield board_svc.sse_message("hello", orjson.dumps({"site_id": site_id}).decode())
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), _HEARTBEAT)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if event is None:
                    yield board_svc.sse_message("reload", "{}")
                    return
                yield board_svc.sse_message(event.name, orjson.dumps(event.data).decode())

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/api/sites/{site_id:int}/labels.pdf",
    summary="Printable QR labels of the site's checkpoints (A4, 8 a page)",
    query=LabelQuery,
    media_type="application/pdf",
)
async def labels_pdf(call: Call) -> Response:
    q: LabelQuery = call.query
    ids = [int(i) for i in q.checkpoint_ids.split(",") if i.strip()] if q.checkpoint_ids else None
    site_name, items = await labels.site_labels(call.actor, call.path["site_id"], ids)
    pdf = await anyio.to_thread.run_sync(
        labels.render_labels, site_name, items, call.settings.cjk_font
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="labels-site-{call.path["site_id"]}.pdf"'
        },
    )
