"""Tours and their rounds: generated from schedules, started and ended by guards, filled by
scans, and closed by a job that marks every checkpoint done, late or missed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import Conflict, DuplicateName, NotFound, ValidationFailed
from backend.http import ClientInfo
from backend.models.organizations import Zone
from backend.models.patrol import (
    Checkpoint,
    ReviewStatus,
    Round,
    RoundStatus,
    Scan,
    Tour,
    TourOrder,
    Verdict,
)
from backend.models.users import Role
from backend.schemas.patrol import HotspotIn, RoundQuery, TourIn, TourPatch
from backend.services import audit
from backend.services.listing import apply_patch
from backend.services.organizations import active_site
from backend.services.permissions import STAFF, Actor, require_site
from backend.services.schedules import Schedule, parse_hhmm, slots

GENERATE_AHEAD = timedelta(hours=36)
# A scan this long after a round closed still fills its checkpoint, marked late.
LATE_GRACE = timedelta(minutes=15)
# A round can be started this long before it falls due.
EARLY_START = timedelta(minutes=10)
OPEN = (RoundStatus.scheduled, RoundStatus.in_progress, RoundStatus.ended_early)


def schedule_of(tour: Tour) -> Schedule:
    return Schedule(
        days=frozenset(tour.days),
        start=parse_hhmm(tour.start_time),
        end=parse_hhmm(tour.end_time),
        every=timedelta(minutes=tour.every_minutes),
        window=timedelta(minutes=tour.window_minutes),
    )


async def list_tours(actor: Actor, site_id: int) -> list[Tour]:
    require_site(actor, site_id, STAFF)
    return await Tour.filter(site_id=site_id).order_by("name")


async def create_tour(actor: Actor, site_id: int, data: TourIn, info: ClientInfo) -> Tour:
    require_site(actor, site_id, (Role.admin,))
    site = await active_site(site_id)
    found: set[int] = set(
        await Checkpoint.filter(id__in=data.stops, site_id=site.id, is_active=True).values_list(
            "id", flat=True
        )  # type: ignore[arg-type]
    )
    missing = [i for i, cp in enumerate(data.stops) if cp not in found]
    if missing:
        raise ValidationFailed.field(f"stops.{missing[0]}", "not_found")
    async with in_transaction():
        if await Tour.exists(site_id=site.id, name=data.name):
            raise DuplicateName(name=data.name)
        tour = await Tour.create(site=site, **data.model_dump())
        await audit.record(
            actor,
            info,
            "tour.created",
            "tour",
            tour.id,
            site_id=site.id,
            after={"name": tour.name, "stops": tour.stops, "days": tour.days},
        )
    await generate_rounds(datetime.now(UTC), tour_ids=[tour.id])
    return tour


async def update_tour(actor: Actor, tour_id: int, patch: TourPatch, info: ClientInfo) -> Tour:
    tour = await Tour.get_or_none(id=tour_id)
    if tour is None:
        raise NotFound("tour")
    require_site(actor, tour.site_id, (Role.admin,))
    async with in_transaction():
        before, after = apply_patch(tour, patch)
        await tour.save()
        if patch.is_active is False:
            # Rounds not yet begun go with the tour; begun ones run to their end.
            await Round.filter(
                tour_id=tour.id, status=RoundStatus.scheduled, due_at__gt=datetime.now(UTC)
            ).delete()
        await audit.record(
            actor,
            info,
            "tour.updated",
            "tour",
            tour.id,
            site_id=tour.site_id,
            before=before,
            after=after,
        )
    return tour


async def create_hotspot(
    actor: Actor, site_id: int, data: HotspotIn, info: ClientInfo, now: datetime
) -> Tour:
    """Extra rounds over one zone's checkpoints, every day until the hotspot expires."""
    require_site(actor, site_id, (Role.admin, Role.supervisor))
    site = await active_site(site_id)
    zone = await Zone.get_or_none(id=data.zone_id, site_id=site.id, is_active=True)
    if zone is None:
        raise ValidationFailed.field("zone_id", "not_found")
    stops = (
        await Checkpoint.filter(zone_id=zone.id, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not stops:
        raise ValidationFailed.field("zone_id", "no_checkpoints")
    expires = now + timedelta(days=data.days)
    local_day = now.astimezone(ZoneInfo(site.timezone)).strftime("%Y-%m-%d")
    async with in_transaction():
        tour = await Tour.create(
            site=site,
            name=f"{zone.name} · {local_day} · {uuid.uuid4().hex[:4]}",
            order=TourOrder.any,
            days=[1, 2, 3, 4, 5, 6, 7],
            start_time=data.start_time,
            end_time=data.end_time,
            every_minutes=data.every_minutes,
            window_minutes=data.window_minutes,
            stops=list(stops),
            hotspot_zone_id=zone.id,
            expires_at=expires,
        )
        await audit.record(
            actor,
            info,
            "hotspot.created",
            "tour",
            tour.id,
            site_id=site.id,
            after={
                "zone_id": zone.id,
                "days": data.days,
                "every_minutes": data.every_minutes,
                "note": data.note,
            },
        )
    await generate_rounds(now, tour_ids=[tour.id])
    return tour


async def expire_hotspots(now: datetime) -> int:
    """Hotspot tours past their date stop making rounds."""
    expired = await Tour.filter(is_active=True, expires_at__lte=now).values_list("id", flat=True)
    if not expired:
        return 0
    await Tour.filter(id__in=list(expired)).update(is_active=False)
    await Round.filter(
        tour_id__in=list(expired), status=RoundStatus.scheduled, due_at__gt=now
    ).delete()
    return len(expired)


async def generate_rounds(now: datetime, tour_ids: list[int] | None = None) -> int:
    """Make the rounds due from now until GENERATE_AHEAD; existing ones are left alone."""
    query = Tour.filter(is_active=True, site__is_active=True).select_related("site")
    if tour_ids is not None:
        query = query.filter(id__in=tour_ids)
    made = 0
    for tour in await query:
        window = timedelta(minutes=tour.window_minutes)
        due = [
            s
            for s in slots(
                schedule_of(tour), ZoneInfo(tour.site.timezone), now - window, now + GENERATE_AHEAD
            )
        ]
        if not due:
            continue
        stops = [{"checkpoint_id": cp, "status": "pending"} for cp in tour.stops]
        existing = set(
            await Round.filter(tour_id=tour.id, due_at__in=[s.due_at for s in due]).values_list(
                "due_at", flat=True
            )
        )
        fresh = [
            Round(
                tour_id=tour.id,
                site_id=tour.site_id,
                due_at=s.due_at,
                closes_at=s.closes_at,
                stops=stops,
            )
            for s in due
            if s.due_at not in existing
        ]
        await Round.bulk_create(fresh, ignore_conflicts=True)
        made += len(fresh)
    return made


async def list_rounds(actor: Actor, site_id: int, q: RoundQuery, now: datetime) -> list[Round]:
    require_site(actor, site_id, STAFF)
    return await Round.filter(
        site_id=site_id,
        closes_at__gte=now - timedelta(hours=q.hours_back),
        due_at__lte=now + timedelta(hours=q.hours_ahead),
    ).order_by("due_at", "id")


async def _round_for(actor: Actor, round_id: int) -> Round:
    rnd = await Round.get_or_none(id=round_id)
    if rnd is None:
        raise NotFound("round")
    require_site(actor, rnd.site_id, STAFF)
    return rnd


async def start_round(actor: Actor, round_id: int, info: ClientInfo, now: datetime) -> Round:
    rnd = await _round_for(actor, round_id)
    if rnd.status != RoundStatus.scheduled:
        raise Conflict("round already started or over")
    if not rnd.due_at - EARLY_START <= now < rnd.closes_at:
        raise Conflict("round not open now")
    async with in_transaction():
        rnd.status, rnd.guard_id, rnd.started_at = RoundStatus.in_progress, actor.user_id, now
        await rnd.save(update_fields=["status", "guard_id", "started_at"])
        await audit.record(actor, info, "round.started", "round", rnd.id, site_id=rnd.site_id)
    return rnd


async def end_round(
    actor: Actor, round_id: int, reason: str, info: ClientInfo, now: datetime
) -> Round:
    """End a round early; only with a reason, and only the guard who walks it (or a manager)."""
    rnd = await _round_for(actor, round_id)
    if rnd.status != RoundStatus.in_progress:
        raise Conflict("round not in progress")
    if rnd.guard_id != actor.user_id:
        require_site(actor, rnd.site_id, (Role.admin, Role.supervisor))
    async with in_transaction():
        rnd.status, rnd.ended_at, rnd.end_reason = RoundStatus.ended_early, now, reason
        await rnd.save(update_fields=["status", "ended_at", "end_reason"])
        await audit.record(
            actor,
            info,
            "round.ended_early",
            "round",
            rnd.id,
            site_id=rnd.site_id,
            after={"reason": reason},
        )
    return rnd


async def credit_scan(scan: Scan) -> Round | None:
    """Fill the checkpoint in the round this scan belongs to, if any.

    Only valid scans, and suspicious ones a supervisor accepted, count. The round the guard
    started comes first; otherwise the earliest open round of a tour through the checkpoint.
    """
    if scan.checkpoint_id is None or scan.verdict == Verdict.rejected:
        return None
    if scan.verdict == Verdict.suspicious and scan.review.value != "accepted":
        return None
    when = scan.client_time
    candidates = (
        await Round.filter(
            Q(guard_id=scan.guard_id) | Q(guard_id=None),
            site_id=scan.site_id,
            status__in=list(OPEN),
            due_at__lte=when + EARLY_START,
            closes_at__gte=when - LATE_GRACE,
        )
        .select_related("tour")
        .order_by("due_at")
    )
    # The round the phone named comes first, then the guard's own, then the earliest open one.
    candidates.sort(key=lambda r: (r.id != scan.round_id, r.guard_id != scan.guard_id, r.due_at))
    for rnd in candidates:
        for stop in rnd.stops:
            if stop["checkpoint_id"] == scan.checkpoint_id and stop["status"] == "pending":
                if rnd.tour.order == TourOrder.fixed and any(
                    s["status"] == "pending" for s in rnd.stops[: rnd.stops.index(stop)]
                ):
                    break  # in a fixed-order tour an earlier checkpoint comes first
                if scan.review.value != "accepted" and _too_soon(rnd, when):
                    # "Not before": checkpoints cleared faster than the tour allows are doubted.
                    scan.verdict = Verdict.suspicious
                    scan.reasons = sorted({*scan.reasons, "too_soon"})
                    scan.review = ReviewStatus.pending
                    await scan.save(update_fields=["verdict", "reasons", "review"])
                    return None
                stop["status"] = "late" if when > rnd.closes_at else "done"
                stop["scan_id"], stop["at"] = str(scan.id), when.isoformat()
                await Round.filter(id=rnd.id).update(stops=rnd.stops)
                return rnd
    return None


def _too_soon(rnd: Round, when: datetime) -> bool:
    spacing = rnd.tour.min_spacing_seconds
    if not spacing:
        return False
    done = [datetime.fromisoformat(s["at"]) for s in rnd.stops if s.get("at")]
    return any(abs((when - at).total_seconds()) < spacing for at in done)


async def close_rounds(now: datetime) -> list[Round]:
    """Close rounds past their window and grace: every checkpoint left pending is missed."""
    closed = []
    for rnd in await Round.filter(status__in=list(OPEN), closes_at__lte=now - LATE_GRACE):
        for stop in rnd.stops:
            if stop["status"] == "pending":
                stop["status"] = "missed"
        rnd.status = RoundStatus.closed
        await rnd.save(update_fields=["status", "stops"])
        closed.append(rnd)
    return closed
