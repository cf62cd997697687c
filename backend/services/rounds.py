"""Tours and their rounds: generated from schedules, started and ended by guards, filled by
scans, and closed by a job that marks every checkpoint done, late or missed."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import AnbaoError, DuplicateName, InvalidState, NotFound, ValidationFailed
from backend.events import Event
from backend.http import ClientInfo
from backend.models.organizations import Site, Zone
from backend.models.patrol import (
    Checkpoint,
    ReviewStatus,
    Round,
    RoundStatus,
    Scan,
    Tag,
    TagKind,
    Tour,
    TourOrder,
    Verdict,
)
from backend.models.users import Role
from backend.schemas.patrol import (
    EndRoundMutationArgs,
    HotspotIn,
    PlanQuery,
    RoundOut,
    RoundQuery,
    RoundStopOut,
    StartRoundMutationArgs,
    TourIn,
    TourPatch,
)
from backend.services import audit, notices
from backend.services.listing import apply_patch
from backend.services.organizations import active_site
from backend.services.patrol import code_hash
from backend.services.permissions import STAFF, Actor, require_site
from backend.services.schedules import Schedule, parse_hhmm, slots
from backend.settings import Settings

GENERATE_AHEAD = timedelta(hours=36)
# A scan this long after a round closed still fills its checkpoint, marked late.
LATE_GRACE = timedelta(minutes=15)
# A round can be started this long before it falls due.
EARLY_START = timedelta(minutes=10)
OPEN = (RoundStatus.scheduled, RoundStatus.in_progress, RoundStatus.ended_early)
# A stop a scan can still fill: pending, or missed by a round the job closed before a scan made
# inside its window (and grace) reached the server.
FILLABLE = ("pending", "missed")
UPDATED = "round.updated"


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


@dataclass(slots=True)
class Plan:
    site: Site
    salt: str
    checkpoints: list[tuple[Checkpoint, str]]  # with the zone's name
    tags: list[tuple[TagKind, str, int]]  # kind, salted hash, checkpoint id
    tours: list[Tour]
    rounds: list[Round]
    my_scans: list[Scan]  # the caller's own, newest first: verdicts and review decisions


async def patrol_plan(actor: Actor, site_id: int, q: PlanQuery, now: datetime) -> Plan:
    """What a guard's phone keeps for patrolling without signal: checkpoints with their zone and
    checklist, the tours and rounds around now (hotspots included), the caller's own recent
    scans as judged, and for QR and plain NFC tags only a salted hash of each code with its
    checkpoint."""
    require_site(actor, site_id, STAFF)
    site = await active_site(site_id)
    salt = secrets.token_hex(16)
    cps = await Checkpoint.filter(site_id=site.id, is_active=True).order_by("name")
    zones = dict(await Zone.filter(site_id=site.id).values_list("id", "name"))
    tags = await Tag.filter(
        site_id=site.id,
        kind__in=[TagKind.qr, TagKind.nfc_uid],
        is_active=True,
        checkpoint_id__in=[cp.id for cp in cps],
    ).order_by("id")
    rows = await Round.filter(
        site_id=site.id,
        closes_at__gte=now - timedelta(hours=q.hours_back),
        due_at__lte=now + timedelta(hours=q.hours_ahead),
    ).order_by("due_at", "id")
    tours = await Tour.filter(
        Q(is_active=True) | Q(id__in=list({r.tour_id for r in rows})), site_id=site.id
    ).order_by("name")
    mine = (
        await Scan.filter(
            site_id=site.id,
            guard_id=actor.user_id,
            client_time__gte=now - timedelta(hours=q.hours_back),
        )
        .order_by("-client_time")
        .limit(200)
    )
    return Plan(
        site=site,
        salt=salt,
        checkpoints=[(cp, zones.get(cp.zone_id, "") if cp.zone_id else "") for cp in cps],
        tags=[
            (t.kind, code_hash(salt, t.kind, t.identifier), t.checkpoint_id)
            for t in tags
            if t.checkpoint_id is not None
        ],
        tours=tours,
        rounds=rows,
        my_scans=mine,
    )


def round_data(rnd: Round) -> dict[str, Any]:
    """A round as the API shows it (`RoundOut`), JSON-ready: sync results and live events."""
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
    ).model_dump(mode="json")


def updated_event(rnd: Round) -> Event:
    """`round.updated`: a closed round changed (a late-synced scan filled a missed stop)."""
    return Event(rnd.site_id, UPDATED, round_data(rnd))


async def _round_for(actor: Actor, round_id: int, site_id: int | None = None) -> Round:
    """The round, locked for this transaction; 404 when it is not at `site_id` (if given)."""
    rnd = await Round.filter(id=round_id).select_for_update().first()
    if rnd is None or (site_id is not None and rnd.site_id != site_id):
        raise NotFound("round")
    require_site(actor, rnd.site_id, STAFF)
    return rnd


def _when(at: datetime | None, now: datetime, max_skew: timedelta) -> datetime:
    """The phone's time of a round action, bounded: never after the server's now, and refused
    when the phone's clock runs ahead by more than the skew allowed."""
    if at is None:
        return now
    if at > now + max_skew:
        raise ValidationFailed.field("client_time", "in_future")
    return min(at.astimezone(UTC), now)


def _not_open(rnd: Round, detail: str) -> InvalidState:
    return InvalidState(
        detail,
        status=rnd.status.value,
        due_at=rnd.due_at.isoformat(),
        closes_at=rnd.closes_at.isoformat(),
    )


async def start_round(
    actor: Actor,
    round_id: int,
    info: ClientInfo,
    now: datetime,
    at: datetime | None = None,
    *,
    max_skew: timedelta = timedelta(0),
    site_id: int | None = None,
) -> Round:
    """Start a round at `at` (the phone's time; the server's `now` when online).

    The time must fall in the round's window (from EARLY_START before it is due until it
    closes). A start synced after the job closed the round is still recorded (who walked it and
    when); the round stays closed. Starting a round one walks already changes nothing.
    """
    when = _when(at, now, max_skew)
    async with in_transaction():
        rnd = await _round_for(actor, round_id, site_id)
        if rnd.guard_id == actor.user_id:
            return rnd  # started before (online, or from another phone): nothing to do
        if rnd.guard_id is not None:
            raise InvalidState("another guard walks this round", status=rnd.status.value)
        if rnd.status not in (RoundStatus.scheduled, RoundStatus.closed):
            raise InvalidState("round already over", status=rnd.status.value)
        if not rnd.due_at - EARLY_START <= when < rnd.closes_at:
            raise _not_open(rnd, "round not open at that time")
        rnd.guard_id, rnd.started_at = actor.user_id, when
        if rnd.status == RoundStatus.scheduled:
            rnd.status = RoundStatus.in_progress
        await rnd.save(update_fields=["status", "guard_id", "started_at"])
        await audit.record(
            actor,
            info,
            "round.started",
            "round",
            rnd.id,
            site_id=rnd.site_id,
            after={"started_at": when.isoformat(), "status": rnd.status.value},
        )
    return rnd


async def end_round(
    actor: Actor,
    round_id: int,
    reason: str,
    info: ClientInfo,
    now: datetime,
    at: datetime | None = None,
    *,
    max_skew: timedelta = timedelta(0),
    site_id: int | None = None,
) -> Round:
    """End a round early; only with a reason, and only the guard who walks it (or a manager).

    An end synced after the job closed the round is recorded on it (when and why) if it was
    made inside the window; the stops the job marked missed stay missed.
    """
    when = _when(at, now, max_skew)
    async with in_transaction():
        rnd = await _round_for(actor, round_id, site_id)
        late_sync = (
            rnd.status == RoundStatus.closed
            and rnd.guard_id is not None
            and rnd.ended_at is None
            and when < rnd.closes_at
        )
        if rnd.status != RoundStatus.in_progress and not late_sync:
            raise InvalidState("round not in progress", status=rnd.status.value)
        if rnd.guard_id != actor.user_id:
            require_site(actor, rnd.site_id, (Role.admin, Role.supervisor))
        if rnd.started_at is not None and when < rnd.started_at:
            when = rnd.started_at  # a phone's clock set back between the two taps
        if rnd.status == RoundStatus.in_progress:
            rnd.status = RoundStatus.ended_early
        rnd.ended_at, rnd.end_reason = when, reason
        await rnd.save(update_fields=["status", "ended_at", "end_reason"])
        await audit.record(
            actor,
            info,
            "round.ended_early",
            "round",
            rnd.id,
            site_id=rnd.site_id,
            after={"reason": reason, "ended_at": when.isoformat()},
        )
    return rnd


class MutationContext(Protocol):
    """The part of the push's `services.sync.MutationContext` round mutations use."""

    @property
    def info(self) -> ClientInfo: ...

    @property
    def settings(self) -> Settings: ...


Outcomes = Sequence[dict[str, Any] | AnbaoError]


async def start_rounds(
    actor: Actor, items: list[StartRoundMutationArgs], ctx: MutationContext
) -> Outcomes:
    """`patrol.start_round`: each round started at the phone's time, in the device's order."""
    now = datetime.now(UTC)
    skew = timedelta(seconds=ctx.settings.sync_max_clock_skew_seconds)
    out: list[dict[str, Any] | AnbaoError] = []
    for a in items:
        try:
            rnd = await start_round(
                actor, a.round_id, ctx.info, now, a.client_time, max_skew=skew, site_id=a.site_id
            )
        except AnbaoError as exc:
            out.append(exc)
        else:
            out.append(round_data(rnd))
    return out


async def end_rounds(
    actor: Actor, items: list[EndRoundMutationArgs], ctx: MutationContext
) -> Outcomes:
    """`patrol.end_round`: each round ended early with its reason at the phone's time."""
    now = datetime.now(UTC)
    skew = timedelta(seconds=ctx.settings.sync_max_clock_skew_seconds)
    out: list[dict[str, Any] | AnbaoError] = []
    for a in items:
        try:
            rnd = await end_round(
                actor,
                a.round_id,
                a.reason,
                ctx.info,
                now,
                a.client_time,
                max_skew=skew,
                site_id=a.site_id,
            )
        except AnbaoError as exc:
            out.append(exc)
        else:
            out.append(round_data(rnd))
    return out


async def credit_scan(scan: Scan) -> Round | None:
    """Fill the checkpoint in the round this scan belongs to, if any; answer that round.

    Only valid scans, and suspicious ones a supervisor accepted, count. The round the guard
    started comes first; otherwise the earliest round of a tour through the checkpoint whose
    window (plus LATE_GRACE) holds the scan's `client_time`. That decides, not when the scan
    reached the server: a scan made offline inside the window fills its stop even if the job
    closed the round (marking it missed) before the phone synced; the round stays closed.
    Call inside a transaction: the rounds are locked against the closing job.
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
            status__in=[*OPEN, RoundStatus.closed],
            due_at__lte=when + EARLY_START,
            closes_at__gte=when - LATE_GRACE,
        )
        .order_by("due_at", "id")
        .select_for_update()
    )
    tours = {t.id: t for t in await Tour.filter(id__in=list({r.tour_id for r in candidates}))}
    # The round the phone named comes first, then the guard's own, then the earliest one.
    candidates.sort(key=lambda r: (r.id != scan.round_id, r.guard_id != scan.guard_id, r.due_at))
    for rnd in candidates:
        tour = tours[rnd.tour_id]
        for stop in rnd.stops:
            if stop["checkpoint_id"] == scan.checkpoint_id and stop["status"] in FILLABLE:
                if tour.order == TourOrder.fixed and any(
                    s["status"] in FILLABLE for s in rnd.stops[: rnd.stops.index(stop)]
                ):
                    break  # in a fixed-order tour an earlier checkpoint comes first
                if scan.review.value != "accepted" and _too_soon(tour, rnd, when):
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


def _too_soon(tour: Tour, rnd: Round, when: datetime) -> bool:
    spacing = tour.min_spacing_seconds
    if not spacing:
        return False
    done = [datetime.fromisoformat(s["at"]) for s in rnd.stops if s.get("at")]
    return any(abs((when - at).total_seconds()) < spacing for at in done)


async def close_rounds(now: datetime) -> list[Round]:
    """Close rounds past their window and grace: every checkpoint left pending is missed."""
    closed = []
    # Locked: a scan crediting one of these rounds at this moment is seen, not overwritten.
    due = Round.filter(status__in=list(OPEN), closes_at__lte=now - LATE_GRACE)
    for rnd in await due.order_by("due_at", "id").select_for_update():
        for stop in rnd.stops:
            if stop["status"] == "pending":
                stop["status"] = "missed"
        rnd.status = RoundStatus.closed
        await rnd.save(update_fields=["status", "stops"])
        closed.append(rnd)
        missed = [s["checkpoint_id"] for s in rnd.stops if s["status"] == "missed"]
        if missed:
            await notices.alert_supervisors(
                rnd.site_id,
                "missed_checkpoints",
                {"round_id": rnd.id, "count": len(missed), "checkpoint_ids": missed},
                ref=f"round:{rnd.id}",
            )
    return closed
