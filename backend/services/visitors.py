"""Visits at the gate: registering a visitor (walk-in, returning or invited), the blocklist and
after-hours holds and their decisions, escorts, check-out, overstays, the gate screen's
summary and the CSV export.

A visit is held rather than refused when a rule needs a person to decide: a blocklisted
visitor waits for a supervisor (`pending_approval`), an after-hours one for the control room
or a supervisor (`pending_confirmation`); whoever decides is recorded and audited.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from backend.errors import (
    AnbaoError,
    EscortOnly,
    Forbidden,
    InvalidState,
    MutationIdConflict,
    NotCheckedIn,
    NotFound,
    ValidationFailed,
)
from backend.http import ClientInfo
from backend.models.sync import ChangeOp
from backend.models.users import Role
from backend.models.vehicles import VehicleEntry
from backend.models.visitors import (
    Invite,
    InviteStatus,
    Visit,
    Visitor,
    VisitPurpose,
    VisitStatus,
)
from backend.schemas.gate import GateSummaryOut
from backend.schemas.visitors import (
    CheckOutIn,
    CheckOutMutationArgs,
    DecisionIn,
    DecisionMutationArgs,
    EscortIn,
    ExportQuery,
    VisitIn,
    VisitMutationArgs,
    VisitorOut,
    VisitOut,
    VisitQuery,
)
from backend.sealing import Sealer, SealError
from backend.services import audit, invites, vehicles
from backend.services.changes import record_change
from backend.services.gate import (
    blocklist_match,
    each,
    gate_policy,
    id_index,
    is_after_hours,
    moment,
    one,
    seal_id,
    site_staff_member,
    site_unit,
    staff_site,
)
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site

ENTITY = "visit"
# Crews the security plan has a guard walk from the gate to the door and back.
ESCORT_PURPOSES = frozenset({VisitPurpose.delivery, VisitPurpose.moving, VisitPurpose.water})
# Purposes that visit someone: the gate names the unit.
HOST_PURPOSES = frozenset(
    {VisitPurpose.visit, VisitPurpose.moving, VisitPurpose.business, VisitPurpose.interview}
)
PENDING = (VisitStatus.pending_approval, VisitStatus.pending_confirmation)
EXPORT_LIMIT = 50_000
SUMMARY_LIMIT = 200
_RELATED = ("visitor", "host_unit", "escort", "decided_by", "blocklist_entry")


def visitor_purpose(visitor_id: object) -> str:
    # Bound into the sealed value: a number copied onto another visitor's row will not open.
    return f"visitor-id:{visitor_id}"


def visit_out(visit: Visit, now: datetime, *, staff: bool = True) -> VisitOut:
    """Needs the relations in `_RELATED` fetched."""
    visitor = visit.visitor
    unit = visit.host_unit
    escort = visit.escort
    decided = visit.decided_by
    entry = visit.blocklist_entry
    return VisitOut(
        id=visit.id,
        site_id=visit.site_id,
        status=visit.status,
        visitor_id=visitor.id,
        name=visitor.name,
        phone=visitor.phone,
        id_kind=visitor.id_kind,
        id_masked=visitor.id_masked,
        host_unit_id=visit.host_unit_id,
        host_unit_label=unit.label if unit else "",
        invite_id=visit.invite_id,
        purpose=visit.purpose,
        headcount=visit.headcount,
        plate=visit.plate,
        plate_override=visit.plate_override,
        photo_sha256=visit.photo_sha256,
        note=visit.note,
        after_hours=visit.after_hours,
        blocklisted=visit.blocklist_entry_id is not None,
        blocklist_reason=entry.reason if entry and staff else "",
        escort_required=visit.escort_required,
        escort_id=visit.escort_id,
        escort_name=escort.display_name if escort else "",
        arrived_at=visit.arrived_at,
        checked_in_at=visit.checked_in_at,
        expected_until=visit.expected_until,
        overstayed=_overstayed(visit, now),
        checked_out_at=visit.checked_out_at,
        registered_by_id=visit.registered_by_id,
        decided_by_id=visit.decided_by_id,
        decided_by_name=decided.display_name if decided else "",
        decided_at=visit.decided_at,
        decision_note=visit.decision_note,
        server_time=visit.server_time,
    )


def _overstayed(visit: Visit, now: datetime) -> bool:
    return (
        visit.status == VisitStatus.on_site
        and visit.expected_until is not None
        and visit.expected_until < now
    )


async def _load(visit_id: uuid.UUID, *, lock: bool = False) -> Visit:
    query = Visit.filter(id=visit_id)
    if lock:
        query = query.select_for_update()
    visit = await query.first()
    if visit is None:
        raise NotFound("visit")
    await visit.fetch_related(*_RELATED)
    return visit


async def _changed(visit: Visit) -> VisitOut:
    """Reload, record the change for the gate phones, and answer."""
    fresh = await _load(visit.id)
    out = visit_out(fresh, datetime.now(UTC))
    await record_change(
        visit.site_id, ENTITY, visit.id, ChangeOp.upsert, out.model_dump(mode="json")
    )
    return out


# --- registering -----------------------------------------------------------------------------


async def _visitor_for(
    site_id: int, data: VisitIn, name: str, phone: str, sealer: Sealer, now: datetime
) -> Visitor:
    """The visitor this registration is about: picked, found by ID or phone and name, or new.

    A returning visitor's details are refreshed with what the gate typed this time.
    """
    visitor: Visitor | None = None
    if data.visitor_id is not None:
        visitor = await Visitor.get_or_none(id=data.visitor_id, site_id=site_id, purged_at=None)
        if visitor is None:
            raise ValidationFailed.field("visitor_id", "not_found")
    index = (
        id_index(sealer, data.id_kind.value, data.id_number)
        if data.id_kind and data.id_number
        else None
    )
    if visitor is None and index is not None:
        visitor = await Visitor.filter(site_id=site_id, id_index=index, purged_at=None).first()
    if visitor is None and phone:
        visitor = (
            await Visitor.filter(site_id=site_id, phone=phone, name__iexact=name, purged_at=None)
            .order_by("-last_visit_at")
            .first()
        )
    if visitor is None:
        visitor = Visitor(id=uuid.uuid4(), site_id=site_id, created_at=now)
    visitor.name = name or visitor.name
    visitor.phone = phone or visitor.phone or ""  # an invited guest may have given none
    if data.id_kind and data.id_number:
        sealed = seal_id(sealer, data.id_kind.value, data.id_number, visitor_purpose(visitor.id))
        visitor.id_kind, visitor.id_sealed = sealed.kind, sealed.sealed
        visitor.id_index, visitor.id_masked = sealed.index, sealed.masked
    if data.photo_sha256:
        visitor.photo_sha256 = data.photo_sha256
    visitor.last_visit_at = now
    await visitor.save()
    return visitor


async def _register(
    actor: Actor, site_id: int, data: VisitIn, info: ClientInfo, sealer: Sealer
) -> VisitOut:
    site = await staff_site(actor, site_id)
    assert actor.user is not None
    if await Visit.exists(id=data.id):
        # A retried plain-API write or a guessed id: a visit is never overwritten.
        raise MutationIdConflict("visit id in use")
    now = datetime.now(UTC)
    arrived = moment(data.client_time, now)
    invite: Invite | None = None
    if data.invite_code:
        invite = await invites.claim_invite(sealer, site_id, data.invite_code, arrived)
    picked = (
        await Visitor.get_or_none(id=data.visitor_id, site_id=site_id, purged_at=None)
        if data.visitor_id
        else None
    )
    name = data.name or (invite.guest_name if invite else "") or (picked.name if picked else "")
    phone = data.phone or (invite.guest_phone if invite else "") or (picked.phone if picked else "")
    if not name:
        raise ValidationFailed.field("name", "missing")
    if not phone and invite is None:
        raise ValidationFailed.field("phone", "missing")
    purpose = data.purpose or (invite.purpose if invite else VisitPurpose.visit)
    host_unit_id = data.host_unit_id or (invite.unit_id if invite else None)
    if host_unit_id is None and purpose in HOST_PURPOSES:
        raise ValidationFailed.field("host_unit_id", "host_unit_required")
    unit = await site_unit(site_id, host_unit_id, "host_unit_id")
    escort_required = purpose in ESCORT_PURPOSES
    if data.escort_id is not None:
        await site_staff_member(site_id, data.escort_id, "escort_id")
    elif escort_required:
        raise ValidationFailed.field("escort_id", "escort_required")
    plate = data.plate or (invite.plate if invite else None)
    index = (
        id_index(sealer, data.id_kind.value, data.id_number)
        if data.id_kind and data.id_number
        else (picked.id_index if picked else None)
    )
    hit = await blocklist_match(site_id, name=name, phone=phone, plate=plate, index=index)
    policy = await gate_policy(site_id)
    after_hours = is_after_hours(arrived, site, policy)
    if hit is not None:
        status = VisitStatus.pending_approval
    elif after_hours:
        status = VisitStatus.pending_confirmation
    else:
        status = VisitStatus.on_site
    visitor = await _visitor_for(site_id, data, name, phone, sealer, now)
    visit = await Visit.create(
        id=data.id,
        site_id=site_id,
        visitor_id=visitor.id,
        host_unit_id=unit.id if unit else None,
        invite_id=invite.id if invite else None,
        purpose=purpose,
        headcount=data.headcount or (invite.headcount if invite else 1),
        plate=plate,
        plate_override=data.plate_override if data.plate else False,
        photo_sha256=data.photo_sha256,
        note=data.note,
        status=status,
        after_hours=after_hours,
        blocklist_entry_id=hit.id if hit else None,
        escort_required=escort_required,
        escort_id=data.escort_id,
        arrived_at=arrived,
        checked_in_at=arrived if status == VisitStatus.on_site else None,
        expected_until=_window_end(arrived, invite, policy.visit_hours)
        if status == VisitStatus.on_site
        else None,
        registered_by_id=actor.user.id,
        device_id=actor.device_id,
        client_time=(data.client_time or now).astimezone(UTC),
        server_time=now,
    )
    if invite is not None:
        await invites.mark_used(invite, arrived, sealer)
    if hit is not None:
        await audit.record(
            actor,
            info,
            "visit.held_blocklist",
            ENTITY,
            visit.id,
            site_id=site_id,
            after={"blocklist_entry_id": hit.id, "id_masked": visitor.id_masked},
        )
    return await _changed(visit)


def _window_end(start: datetime, invite: Invite | None, visit_hours: int) -> datetime:
    if invite is not None and invite.valid_until > start:
        return invite.valid_until
    return start + timedelta(hours=visit_hours)


async def register_visit(
    actor: Actor, site_id: int, data: VisitIn, info: ClientInfo, sealer: Sealer
) -> VisitOut:
    return await one(lambda: _register(actor, site_id, data, info, sealer))


async def register_visits(
    actor: Actor, items: Sequence[VisitMutationArgs], info: ClientInfo, sealer: Sealer
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _register(actor, a.site_id, a, info, sealer))


# --- decisions, escorts, check-out -----------------------------------------------------------


async def _staff_visit(actor: Actor, visit_id: uuid.UUID, roles: Sequence[Role] = STAFF) -> Visit:
    visit = await _load(visit_id, lock=True)
    require_site(actor, visit.site_id, roles)
    return visit


async def _decide(
    actor: Actor,
    visit_id: uuid.UUID,
    data: DecisionIn,
    client_time: datetime | None,
    info: ClientInfo,
) -> VisitOut:
    visit = await _staff_visit(actor, visit_id)
    assert actor.user is not None
    manager = actor.is_superuser or bool(actor.roles_at(visit.site_id).intersection(MANAGERS))
    if visit.status == VisitStatus.pending_approval:
        if not manager:
            raise Forbidden("a blocklisted visitor is approved by a supervisor")
    elif visit.status == VisitStatus.pending_confirmation:
        # The control room is another person than the guard who let the visitor in.
        if not manager and visit.registered_by_id == actor.user.id:
            raise Forbidden("after-hours visits are confirmed by the control room or a supervisor")
    else:
        raise InvalidState(status=visit.status.value)
    now = datetime.now(UTC)
    at = max(moment(client_time, now), visit.arrived_at)
    before = visit.status.value
    if data.decision == "refused":
        visit.status = VisitStatus.refused
    else:
        # A supervisor's approval of an after-hours visitor is also its confirmation.
        visit.status = VisitStatus.on_site
        visit.checked_in_at = at
        policy = await gate_policy(visit.site_id)
        invite = await Invite.get_or_none(id=visit.invite_id) if visit.invite_id else None
        visit.expected_until = _window_end(at, invite, policy.visit_hours)
    visit.decided_by_id = actor.user.id
    visit.decided_at = at
    visit.decision_note = data.note
    await visit.save()
    action = {
        (VisitStatus.pending_approval.value, "approved"): "visit.approved",
        (VisitStatus.pending_approval.value, "refused"): "visit.refused",
        (VisitStatus.pending_confirmation.value, "approved"): "visit.confirmed",
        (VisitStatus.pending_confirmation.value, "refused"): "visit.refused",
    }[(before, data.decision)]
    await audit.record(
        actor,
        info,
        action,
        ENTITY,
        visit.id,
        site_id=visit.site_id,
        before={"status": before},
        after={"status": visit.status.value, "note": data.note},
    )
    return await _changed(visit)


async def decide(actor: Actor, visit_id: uuid.UUID, data: DecisionIn, info: ClientInfo) -> VisitOut:
    return await one(lambda: _decide(actor, visit_id, data, None, info))


async def decide_many(
    actor: Actor, items: Sequence[DecisionMutationArgs], info: ClientInfo
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _decide(actor, a.visit_id, a, a.client_time, info))


async def assign_escort(
    actor: Actor, visit_id: uuid.UUID, data: EscortIn, info: ClientInfo
) -> VisitOut:
    async def apply() -> VisitOut:
        visit = await _staff_visit(actor, visit_id, MANAGERS)
        if visit.status not in (*PENDING, VisitStatus.on_site):
            raise InvalidState(status=visit.status.value)
        await site_staff_member(visit.site_id, data.escort_id, "escort_id")
        before = visit.escort_id
        visit.escort_id = data.escort_id
        await visit.save(update_fields=["escort_id"])
        await audit.record(
            actor,
            info,
            "visit.escort_changed",
            ENTITY,
            visit.id,
            site_id=visit.site_id,
            before={"escort_id": before},
            after={"escort_id": data.escort_id},
        )
        return await _changed(visit)

    return await one(apply)


async def _check_out(
    actor: Actor, visit_id: uuid.UUID, data: CheckOutIn, info: ClientInfo
) -> VisitOut:
    visit = await _staff_visit(actor, visit_id)
    assert actor.user is not None
    if visit.status != VisitStatus.on_site:
        raise NotCheckedIn(status=visit.status.value)
    if visit.escort_required and visit.escort_id != actor.user.id:
        raise EscortOnly("only the escorting guard signs this visit out")
    now = datetime.now(UTC)
    assert visit.checked_in_at is not None
    visit.checked_out_at = max(moment(data.client_time, now), visit.checked_in_at)
    visit.checked_out_by_id = actor.user.id
    visit.status = VisitStatus.checked_out
    if data.note:
        visit.note = f"{visit.note}\n{data.note}".strip()
    await visit.save()
    return await _changed(visit)


async def check_out(
    actor: Actor, visit_id: uuid.UUID, data: CheckOutIn, info: ClientInfo
) -> VisitOut:
    return await one(lambda: _check_out(actor, visit_id, data, info))


async def check_out_many(
    actor: Actor, items: Sequence[CheckOutMutationArgs], info: ClientInfo
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _check_out(actor, a.visit_id, a, info))


# --- reading ---------------------------------------------------------------------------------


def _is_staff(actor: Actor, site_id: int) -> bool:
    return actor.is_superuser or bool(actor.roles_at(site_id).intersection(STAFF))


async def get_visit(actor: Actor, visit_id: uuid.UUID) -> VisitOut:
    visit = await _load(visit_id)
    require_site(actor, visit.site_id, tuple(Role))
    staff = _is_staff(actor, visit.site_id)
    if not staff and visit.host_unit_id not in actor.unit_ids(visit.site_id):
        raise NotFound("visit")  # a resident sees only their own guests
    return visit_out(visit, datetime.now(UTC), staff=staff)


async def list_visits(
    actor: Actor, site_id: int, listing: VisitQuery
) -> tuple[list[VisitOut], int]:
    require_site(actor, site_id, tuple(Role))
    staff = _is_staff(actor, site_id)
    now = datetime.now(UTC)
    query = Visit.filter(site_id=site_id)
    if not staff:
        query = query.filter(host_unit_id__in=sorted(actor.unit_ids(site_id)) or [0])
    if listing.status is not None:
        query = query.filter(status=listing.status)
    if listing.overstayed:
        query = query.filter(status=VisitStatus.on_site, expected_until__lt=now)
    if listing.host_unit_id is not None:
        query = query.filter(host_unit_id=listing.host_unit_id)
    if listing.since is not None:
        query = query.filter(arrived_at__gte=listing.since)
    if listing.until is not None:
        query = query.filter(arrived_at__lt=listing.until)
    if listing.q:
        query = query.filter(
            Q(visitor__name__icontains=listing.q)
            | Q(visitor__phone__contains=listing.q)
            | Q(plate__icontains=listing.q)
        )
    total = await query.count()
    rows = (
        await query.select_related(*_RELATED)
        .order_by("-arrived_at")
        .offset(listing.offset)
        .limit(listing.limit)
    )
    return [visit_out(r, now, staff=staff) for r in rows], total


async def find_visitors(actor: Actor, site_id: int, phone: str) -> list[VisitorOut]:
    """Returning visitors by phone number, each with their last visit, for a prefilled form."""
    require_site(actor, site_id, STAFF)
    rows = (
        await Visitor.filter(site_id=site_id, phone=phone, purged_at=None)
        .order_by("-last_visit_at")
        .limit(10)
    )
    out = []
    for visitor in rows:
        last = (
            await Visit.filter(visitor_id=visitor.id)
            .select_related("host_unit")
            .order_by("-arrived_at")
            .first()
        )
        out.append(
            VisitorOut(
                id=visitor.id,
                name=visitor.name,
                phone=visitor.phone,
                id_kind=visitor.id_kind,
                id_masked=visitor.id_masked,
                photo_sha256=visitor.photo_sha256,
                last_visit_at=visitor.last_visit_at,
                last_host_unit_id=last.host_unit_id if last else None,
                last_host_unit_label=last.host_unit.label if last and last.host_unit else "",
                last_purpose=last.purpose if last else None,
                last_headcount=last.headcount if last else None,
                last_plate=last.plate if last else None,
            )
        )
    return out


async def gate_summary(actor: Actor, site_id: int, sealer: Sealer) -> GateSummaryOut:
    """The gate screen: who is on site, who waits for a decision, who is expected today, which
    vehicles are in."""
    site = await staff_site(actor, site_id)
    now = datetime.now(UTC)
    on_site = (
        await Visit.filter(site_id=site_id, status=VisitStatus.on_site)
        .select_related(*_RELATED)
        .order_by("expected_until")
        .limit(SUMMARY_LIMIT)
    )
    overstayed = await Visit.filter(
        site_id=site_id, status=VisitStatus.on_site, expected_until__lt=now
    ).count()
    pending = (
        await Visit.filter(site_id=site_id, status__in=list(PENDING))
        .select_related(*_RELATED)
        .order_by("arrived_at")
        .limit(SUMMARY_LIMIT)
    )
    tz = ZoneInfo(site.timezone)
    # In UTC: SQLite compares stored times as text, all of them written in UTC.
    today = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz).astimezone(UTC)
    expected = (
        await Invite.filter(
            site_id=site_id,
            status=InviteStatus.active,
            valid_from__lt=today + timedelta(days=1),
            valid_until__gt=now,
        )
        .select_related("unit")
        .order_by("valid_from")
        .limit(SUMMARY_LIMIT)
    )
    inside = (
        await VehicleEntry.filter(site_id=site_id, exited_at=None)
        .order_by("-entered_at")
        .limit(SUMMARY_LIMIT)
    )
    return GateSummaryOut(
        site_id=site_id,
        at=now,
        after_hours_now=is_after_hours(now, site, await gate_policy(site_id)),
        on_site=[visit_out(v, now) for v in on_site],
        overstayed=overstayed,
        pending=[visit_out(v, now) for v in pending],
        expected_today=[invites.invite_out(i, i.unit.label, sealer) for i in expected],
        vehicles_in=await vehicles.entries_out(inside, now),
    )


# --- export ----------------------------------------------------------------------------------

_COLUMNS = (
    "arrived_at",
    "checked_in_at",
    "checked_out_at",
    "status",
    "name",
    "phone",
    "id_kind",
    "id_number",
    "host_unit",
    "purpose",
    "headcount",
    "plate",
    "after_hours",
    "blocklisted",
    "decided_by",
    "escort",
)


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


async def export_visits(
    actor: Actor, site_id: int, query: ExportQuery, info: ClientInfo, sealer: Sealer
) -> tuple[str, str]:
    """(file name, CSV text). Masked unless an admin asks otherwise with a reason; audited."""
    site = await staff_site(actor, site_id, MANAGERS)
    if query.unmasked:
        if not (actor.is_superuser or Role.admin in actor.roles_at(site_id)):
            raise Forbidden("unmasked exports are for admins")
        if len(query.reason) < 4:
            raise ValidationFailed.field("reason", "reason_required")
    rows = Visit.filter(site_id=site_id)
    if query.since is not None:
        rows = rows.filter(arrived_at__gte=query.since)
    if query.until is not None:
        rows = rows.filter(arrived_at__lt=query.until)
    visits = await rows.select_related(*_RELATED).order_by("arrived_at").limit(EXPORT_LIMIT)
    tz = ZoneInfo(site.timezone)

    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    buffer = io.StringIO()
    buffer.write("\ufeff")  # spreadsheet programs read the UTF-8 Chinese text right with it
    writer = csv.writer(buffer)
    writer.writerow(_COLUMNS)
    for v in visits:
        visitor = v.visitor
        number = visitor.id_masked
        phone = visitor.phone if query.unmasked else mask_phone(visitor.phone)
        if query.unmasked and visitor.id_sealed:
            try:
                number = sealer.open(visitor.id_sealed, visitor_purpose(visitor.id)).decode()
            except SealError:
                number = visitor.id_masked  # sealed under a key this server lost
        writer.writerow(
            (
                local(v.arrived_at),
                local(v.checked_in_at),
                local(v.checked_out_at),
                v.status.value,
                visitor.name,
                phone,
                visitor.id_kind or "",
                number,
                v.host_unit.label if v.host_unit else "",
                v.purpose.value,
                v.headcount,
                v.plate or "",
                "yes" if v.after_hours else "",
                "yes" if v.blocklist_entry_id else "",
                v.decided_by.display_name if v.decided_by else "",
                v.escort.display_name if v.escort else "",
            )
        )
    await audit.record(
        actor,
        info,
        "visits.exported_unmasked" if query.unmasked else "visits.exported",
        "site",
        site_id,
        site_id=site_id,
        after={
            "rows": len(visits),
            "unmasked": query.unmasked,
            "reason": query.reason,
            "since": query.since.isoformat() if query.since else None,
            "until": query.until.isoformat() if query.until else None,
        },
    )
    stamp = datetime.now(tz).strftime("%Y%m%d-%H%M")
    return f"visits-{site_id}-{stamp}.csv", buffer.getvalue()
