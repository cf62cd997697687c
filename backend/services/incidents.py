"""Incident reports: guards report (online or through sync) with photos uploaded first, staff
comment and add photos, supervisors assign, resolve, close and reopen; every step is kept on the
incident's append-only timeline, and workflow changes in the audit log too.

Residents have no access to incidents: a complaint from a resident reaches the guard house in
person or by phone and is reported by a guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import (
    AnbaoError,
    Forbidden,
    Inactive,
    InvalidState,
    MediaMissing,
    MutationIdConflict,
    NotFound,
    ValidationFailed,
)
from backend.http import ClientInfo
from backend.models.incidents import (
    Incident,
    IncidentPhoto,
    IncidentStatus,
    Severity,
    TimelineEntry,
    TimelineKind,
)
from backend.models.media import Media
from backend.models.organizations import Site, Zone
from backend.models.patrol import Checkpoint
from backend.models.sync import ChangeOp
from backend.models.users import Membership, User
from backend.schemas.incidents import (
    MAX_PHOTOS,
    CommentMutationArgs,
    IncidentDetailOut,
    IncidentIn,
    IncidentOut,
    IncidentQuery,
    PhotoOut,
    PhotosMutationArgs,
    TimelineEntryOut,
)
from backend.services import audit, media, notices
from backend.services.changes import record_change
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site
from backend.settings import Settings

ENTITY = "incident"
REPORTED = "incident.reported"  # live events on the board, after the change commits
UPDATED = "incident.updated"
# Reported at these severities, an incident alerts the site's supervisors and stays on the
# board until it is resolved.
ALERTING = (Severity.high, Severity.critical)
OPEN = (IncidentStatus.open, IncidentStatus.assigned)
# The workflow: which statuses each supervisor action starts from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[IncidentStatus, ...], IncidentStatus, TimelineKind]] = {
    "assign": (OPEN, IncidentStatus.assigned, TimelineKind.assigned),
    "resolve": (OPEN, IncidentStatus.resolved, TimelineKind.resolved),
    "close": ((IncidentStatus.resolved,), IncidentStatus.closed, TimelineKind.closed),
    "reopen": (
        (IncidentStatus.resolved, IncidentStatus.closed),
        IncidentStatus.open,
        TimelineKind.reopened,
    ),
}


# --- reading -------------------------------------------------------------------------------


async def _names(user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(await User.filter(id__in=ids).values_list("id", "display_name"))


async def outs(incidents: Sequence[Incident]) -> list[IncidentOut]:
    """Incidents as the API shows them, with their photos (a query for all, not one each)."""
    photos: dict[Any, list[PhotoOut]] = {i.id: [] for i in incidents}
    rows = (
        await IncidentPhoto.filter(incident_id__in=[i.id for i in incidents])
        .select_related("media")
        .order_by("position")
        if incidents
        else []
    )
    for p in rows:
        m: Media = p.media
        photos[p.incident_id].append(
            PhotoOut(
                sha256=m.sha256,
                position=p.position,
                kind=m.kind,
                size=m.size,
                width=m.width,
                height=m.height,
                **media.urls(m.sha256),
                added_by_id=p.added_by_id,
                added_at=p.added_at,
            )
        )
    names = await _names([i.reporter_id for i in incidents] + [i.assignee_id for i in incidents])
    return [
        IncidentOut(
            id=i.id,
            site_id=i.site_id,
            zone_id=i.zone_id,
            checkpoint_id=i.checkpoint_id,
            latitude=i.latitude,
            longitude=i.longitude,
            place=i.place,
            type=i.type,
            severity=i.severity,
            status=i.status,
            description=i.description,
            reporter_id=i.reporter_id,
            reporter_name=names.get(i.reporter_id, ""),
            assignee_id=i.assignee_id,
            assignee_name=names.get(i.assignee_id) if i.assignee_id is not None else None,
            photos=photos[i.id],
            reported_at=i.reported_at,
            received_at=i.received_at,
            updated_at=i.updated_at,
        )
        for i in incidents
    ]


async def _detail(incident: Incident) -> IncidentDetailOut:
    (out,) = await outs([incident])
    entries = await TimelineEntry.filter(incident_id=incident.id).order_by("id")
    names = await _names(e.actor_id for e in entries)
    return IncidentDetailOut(
        **out.model_dump(),
        timeline=[
            TimelineEntryOut(
                id=e.id,
                kind=e.kind,
                actor_id=e.actor_id,
                actor_name=names.get(e.actor_id, ""),
                text=e.text,
                data=e.data,
                client_time=e.client_time,
                at=e.at,
            )
            for e in entries
        ],
    )


async def _visible(actor: Actor, incident_id: uuid.UUID, roles: Iterable[Any]) -> Incident:
    incident = await Incident.get_or_none(id=incident_id)
    if incident is None:
        raise NotFound("no such incident")
    require_site(actor, incident.site_id, roles)
    return incident


async def get_incident(actor: Actor, incident_id: uuid.UUID) -> IncidentDetailOut:
    return await _detail(await _visible(actor, incident_id, STAFF))


async def list_incidents(actor: Actor, q: IncidentQuery) -> tuple[list[IncidentOut], int]:
    if q.site_id is not None:
        require_site(actor, q.site_id, STAFF)
        query = Incident.filter(site_id=q.site_id)
    elif actor.is_superuser:
        query = Incident.all()
    else:
        sites = actor.site_ids(STAFF)
        if not sites:
            raise Forbidden("incidents are for staff")
        query = Incident.filter(site_id__in=sorted(sites))
    if q.zone_id is not None:
        query = query.filter(zone_id=q.zone_id)
    for name in ("type", "severity", "status"):
        wanted = getattr(q, name)
        if wanted:
            query = query.filter(**{f"{name}__in": wanted.split(",")})
    if q.since is not None:
        query = query.filter(reported_at__gte=q.since)
    if q.until is not None:
        query = query.filter(reported_at__lt=q.until)
    if q.q:
        query = query.filter(Q(description__icontains=q.q) | Q(place__icontains=q.q))
    total = await query.count()
    rows = await query.order_by("-reported_at", "-received_at").offset(q.offset).limit(q.limit)
    return await outs(rows), total


async def open_alerts(site_id: int, limit: int = 50) -> list[Incident]:
    """High and critical incidents not yet resolved: what the board keeps in view."""
    return (
        await Incident.filter(site_id=site_id, status__in=list(OPEN), severity__in=list(ALERTING))
        .order_by("-reported_at")
        .limit(limit)
    )


# --- reporting -----------------------------------------------------------------------------


def _json(out: IncidentOut) -> dict[str, Any]:
    return out.model_dump(mode="json")


async def _checked_location(site_id: int, data: IncidentIn) -> int | None:
    """The zone of the report: the one named, else the checkpoint's; both must be of the site."""
    zone_id = data.zone_id
    if zone_id is not None and not await Zone.exists(id=zone_id, site_id=site_id, is_active=True):
        raise ValidationFailed.field("zone_id", "not_found")
    if data.checkpoint_id is not None:
        cp = await Checkpoint.get_or_none(id=data.checkpoint_id, site_id=site_id, is_active=True)
        if cp is None:
            raise ValidationFailed.field("checkpoint_id", "not_found")
        if zone_id is None:
            zone_id = cp.zone_id
    return zone_id


async def _attach(
    actor: Actor, incident: Incident, hashes: list[str], first: int, now: datetime
) -> None:
    assert actor.user is not None
    if hashes:
        await IncidentPhoto.bulk_create(
            [
                IncidentPhoto(
                    incident_id=incident.id,
                    media_id=sha,
                    position=first + i,
                    added_by_id=actor.user.id,
                    added_at=now,
                )
                for i, sha in enumerate(hashes)
            ]
        )


async def _report_one(
    actor: Actor, site_id: int, data: IncidentIn, info: ClientInfo, settings: Settings | None
) -> dict[str, Any]:
    assert actor.user is not None
    require_site(actor, site_id, STAFF)
    site = await Site.get_or_none(id=site_id)
    if site is None:
        raise NotFound("site")
    if not site.is_active:
        raise Inactive("site")
    existing = await Incident.get_or_none(id=data.id)
    if existing is not None:
        if existing.reporter_id != actor.user.id or existing.site_id != site_id:
            raise MutationIdConflict("incident id in use")
        # The same report again (a retry after a lost answer, or sent again under a new
        # mutation id once its photos were up): the incident as stored, nothing written.
        return _json((await outs([existing]))[0])
    zone_id = await _checked_location(site_id, data)
    hashes = list(dict.fromkeys(data.photos))
    missing = await media.missing_photos(actor, site_id, hashes)
    if missing:
        raise MediaMissing(f"{len(missing)} photo(s) not uploaded", missing=missing)
    now = datetime.now(UTC)
    incident = await Incident.create(
        id=data.id,
        site_id=site_id,
        zone_id=zone_id,
        checkpoint_id=data.checkpoint_id,
        latitude=data.latitude,
        longitude=data.longitude,
        place=data.place,
        type=data.type,
        severity=data.severity,
        status=IncidentStatus.open,
        description=data.description,
        reporter_id=actor.user.id,
        device_id=actor.device_id,
        reported_at=(data.client_time or now).astimezone(UTC),
        received_at=now,
        updated_at=now,
    )
    await _attach(actor, incident, hashes, 1, now)
    await TimelineEntry.create(
        incident_id=incident.id,
        kind=TimelineKind.reported,
        actor_id=actor.user.id,
        device_id=actor.device_id,
        text="",
        data={"severity": data.severity.value, "photos": hashes},
        client_time=data.client_time,
        at=now,
    )
    out = _json((await outs([incident]))[0])
    await record_change(site_id, ENTITY, incident.id, ChangeOp.upsert, out)
    if incident.severity in ALERTING:
        await alert_supervisors(incident, settings)
    return out


async def report_incidents(
    actor: Actor,
    items: Sequence[tuple[int, IncidentIn]],
    info: ClientInfo,
    settings: Settings | None = None,
) -> list[dict[str, Any] | AnbaoError]:
    """Report incidents given as (site id, report); each succeeds or fails on its own, and a
    failing one writes nothing (every check comes before the first write). Call inside a
    transaction: the sync push's, or `report_incident`'s."""
    outcomes: list[dict[str, Any] | AnbaoError] = []
    for site_id, data in items:
        try:
            outcomes.append(await _report_one(actor, site_id, data, info, settings))
        except AnbaoError as exc:
            if exc.status >= 500:
                raise
            outcomes.append(exc)
    return outcomes


async def report_incident(
    actor: Actor, site_id: int, data: IncidentIn, info: ClientInfo, settings: Settings | None
) -> IncidentOut:
    async with in_transaction():
        (outcome,) = await report_incidents(actor, [(site_id, data)], info, settings)
    if isinstance(outcome, AnbaoError):
        raise outcome
    return IncidentOut.model_validate(outcome)


async def alert_supervisors(incident: Incident, settings: Settings | None) -> None:
    """The supervisor alert for a high-severity report: a push notice to the site's supervisors,
    queued in the report's own transaction (so it goes out once, and only if the report
    stands)."""
    await notices.alert_supervisors(
        incident.site_id,
        "incident",
        {
            "incident_id": str(incident.id),
            "type": incident.type.value,
            "severity": incident.severity.value,
            "summary": (incident.place + " " if incident.place else "") + incident.description[:80],
        },
        settings=settings,
        url=f"/incidents/{incident.id}",
        ref=f"incident:{incident.id}",
    )


# --- later steps -----------------------------------------------------------------------------


async def _locked(incident_id: uuid.UUID) -> Incident:
    # Re-read under a row lock: two supervisors acting at once act one after the other.
    return await Incident.filter(id=incident_id).select_for_update().get()


async def _touched(incident: Incident, now: datetime) -> dict[str, Any]:
    incident.updated_at = now
    await incident.save(update_fields=["updated_at", "status", "assignee_id"])
    out = _json((await outs([incident]))[0])
    await record_change(incident.site_id, ENTITY, incident.id, ChangeOp.upsert, out)
    return out


async def _comment_one(
    actor: Actor, incident_id: uuid.UUID, text: str, client_time: datetime | None
) -> dict[str, Any]:
    assert actor.user is not None
    await _visible(actor, incident_id, STAFF)
    now = datetime.now(UTC)
    incident = await _locked(incident_id)
    await TimelineEntry.create(
        incident_id=incident.id,
        kind=TimelineKind.comment,
        actor_id=actor.user.id,
        device_id=actor.device_id,
        text=text,
        data={},
        client_time=client_time,
        at=now,
    )
    return await _touched(incident, now)


async def _add_photos_one(
    actor: Actor, incident_id: uuid.UUID, photos: list[str], client_time: datetime | None
) -> dict[str, Any]:
    assert actor.user is not None
    await _visible(actor, incident_id, STAFF)
    now = datetime.now(UTC)
    incident = await _locked(incident_id)
    if incident.status == IncidentStatus.closed:
        raise InvalidState("closed: reopen it first", status=incident.status.value)
    attached: list[str] = await IncidentPhoto.filter(incident_id=incident.id).values_list(
        "media_id", flat=True
    )  # type: ignore[assignment]
    new = [h for h in dict.fromkeys(photos) if h not in set(attached)]
    if len(attached) + len(new) > MAX_PHOTOS:
        raise ValidationFailed.field("photos", "too_many_photos")
    missing = await media.missing_photos(actor, incident.site_id, new)
    if missing:
        raise MediaMissing(f"{len(missing)} photo(s) not uploaded", missing=missing)
    if not new:
        return _json((await outs([incident]))[0])  # all there already: nothing to record
    await _attach(actor, incident, new, len(attached) + 1, now)
    await TimelineEntry.create(
        incident_id=incident.id,
        kind=TimelineKind.photos_added,
        actor_id=actor.user.id,
        device_id=actor.device_id,
        text="",
        data={"photos": new},
        client_time=client_time,
        at=now,
    )
    return await _touched(incident, now)


async def comment_many(
    actor: Actor, items: Sequence[CommentMutationArgs], info: ClientInfo
) -> list[dict[str, Any] | AnbaoError]:
    """Comments from phones (sync); each on its own. Call inside a transaction."""
    outcomes: list[dict[str, Any] | AnbaoError] = []
    for item in items:
        try:
            outcomes.append(
                await _comment_one(actor, item.incident_id, item.text, item.client_time)
            )
        except AnbaoError as exc:
            if exc.status >= 500:
                raise
            outcomes.append(exc)
    return outcomes


async def add_photos_many(
    actor: Actor, items: Sequence[PhotosMutationArgs], info: ClientInfo
) -> list[dict[str, Any] | AnbaoError]:
    """Photos added later from phones (sync); each on its own. Call inside a transaction."""
    outcomes: list[dict[str, Any] | AnbaoError] = []
    for item in items:
        try:
            outcomes.append(
                await _add_photos_one(actor, item.incident_id, item.photos, item.client_time)
            )
        except AnbaoError as exc:
            if exc.status >= 500:
                raise
            outcomes.append(exc)
    return outcomes


async def comment(
    actor: Actor, incident_id: uuid.UUID, text: str, client_time: datetime | None
) -> IncidentDetailOut:
    async with in_transaction():
        await _comment_one(actor, incident_id, text, client_time)
    return await get_incident(actor, incident_id)


async def add_photos(
    actor: Actor, incident_id: uuid.UUID, photos: list[str], client_time: datetime | None
) -> IncidentDetailOut:
    async with in_transaction():
        await _add_photos_one(actor, incident_id, photos, client_time)
    return await get_incident(actor, incident_id)


async def _assignee(site_id: int, user_id: int) -> User:
    staff = await Membership.exists(
        user_id=user_id, site_id=site_id, role__in=list(STAFF), is_active=True, user__is_active=True
    )
    if not staff:
        raise ValidationFailed.field("assignee_id", "not_found")
    return await User.get(id=user_id)


async def transition(
    actor: Actor,
    incident_id: uuid.UUID,
    action: str,
    info: ClientInfo,
    *,
    text: str = "",
    assignee_id: int | None = None,
) -> IncidentDetailOut:
    """A supervisor's step in the workflow (see TRANSITIONS); refused with `invalid_state` from
    a status it does not start from, and with nothing changed."""
    assert actor.user is not None
    starts, target, kind = TRANSITIONS[action]
    incident = await _visible(actor, incident_id, MANAGERS)
    assignee = await _assignee(incident.site_id, assignee_id) if assignee_id is not None else None
    now = datetime.now(UTC)
    async with in_transaction():
        incident = await _locked(incident_id)
        if incident.status not in starts:
            raise InvalidState(f"{action} from {incident.status}", status=incident.status.value)
        before = {"status": incident.status.value, "assignee_id": incident.assignee_id}
        incident.status = target
        if assignee is not None:
            incident.assignee_id = assignee.id
        elif target == IncidentStatus.open:
            incident.assignee_id = None  # reopened: someone is assigned afresh
        after = {"status": target.value, "assignee_id": incident.assignee_id}
        data: dict[str, Any] = {"from": before["status"], "to": target.value}
        if assignee is not None:
            data |= {"assignee_id": assignee.id, "assignee_name": assignee.display_name}
        await TimelineEntry.create(
            incident_id=incident.id,
            kind=kind,
            actor_id=actor.user.id,
            device_id=actor.device_id,
            text=text,
            data=data,
            client_time=None,
            at=now,
        )
        await _touched(incident, now)
        await audit.record(
            actor,
            info,
            f"incident.{action}",
            ENTITY,
            incident.id,
            site_id=incident.site_id,
            before=before,
            after=after,
        )
    return await _detail(incident)


# --- the PDF -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentDocument:
    """Everything the PDF shows, gathered before rendering (which runs in a worker thread)."""

    detail: IncidentDetailOut
    site_name: str
    timezone: str
    zone_name: str
    checkpoint_name: str
    photo_names: dict[int, str]  # who added each photo, by user id
    requested_by: str


async def incident_document(actor: Actor, incident_id: uuid.UUID) -> IncidentDocument:
    """The incident for its PDF export (supervisors and admins of its site)."""
    incident = await _visible(actor, incident_id, MANAGERS)
    detail = await _detail(incident)
    site = await Site.get(id=incident.site_id)
    zone = await Zone.get_or_none(id=incident.zone_id) if incident.zone_id else None
    cp = await Checkpoint.get_or_none(id=incident.checkpoint_id) if incident.checkpoint_id else None
    assert actor.user is not None
    return IncidentDocument(
        detail=detail,
        site_name=site.name,
        timezone=site.timezone,
        zone_name=zone.name if zone else "",
        checkpoint_name=cp.name if cp else "",
        photo_names=await _names(p.added_by_id for p in detail.photos),
        requested_by=actor.user.display_name,
    )
