"""Residents' invites: a guest pre-registered for a time window, carried as a signed pass code
(a QR code shared as a link) that the gate scans to check the guest in, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import (
    Forbidden,
    InvalidPass,
    InvalidState,
    MutationIdConflict,
    NotFound,
    PassExpired,
    PassNotYetValid,
    PassRevoked,
    PassUsed,
    PassWrongSite,
    ValidationFailed,
)
from backend.http import ClientInfo
from backend.models.organizations import Site
from backend.models.sync import ChangeOp
from backend.models.users import Role
from backend.models.visitors import Invite, InviteStatus
from backend.schemas.invites import InviteIn, InviteOut, InviteQuery
from backend.sealing import Sealer
from backend.services import audit
from backend.services.changes import record_change
from backend.services.gate import site_unit, staff_site
from backend.services.pass_tokens import PassClaims, PassKind, issue, verify
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site

ENTITY = "invite"
MAX_WINDOW = timedelta(days=31)
PASS_LINK = "/pass/{code}"  # the web app's page that shows the QR to the guest


def pass_link(code: str) -> str:
    return PASS_LINK.format(code=code)


def invite_code(sealer: Sealer, invite: Invite) -> str:
    return issue(
        sealer,
        PassClaims(
            PassKind.invite, invite.id, invite.site_id, invite.valid_from, invite.valid_until
        ),
    )


def invite_out(invite: Invite, unit_label: str, sealer: Sealer) -> InviteOut:
    code = invite_code(sealer, invite)
    return InviteOut(
        id=invite.id,
        site_id=invite.site_id,
        unit_id=invite.unit_id,
        unit_label=unit_label,
        created_by_id=invite.created_by_id,
        guest_name=invite.guest_name,
        guest_phone=invite.guest_phone,
        purpose=invite.purpose,
        headcount=invite.headcount,
        plate=invite.plate,
        note=invite.note,
        valid_from=invite.valid_from,
        valid_until=invite.valid_until,
        status=invite.status,
        used_at=invite.used_at,
        revoked_at=invite.revoked_at,
        code=code,
        link=pass_link(code),
    )


async def _record(invite: Invite, unit_label: str, sealer: Sealer) -> InviteOut:
    out = invite_out(invite, unit_label, sealer)
    await record_change(
        invite.site_id, ENTITY, invite.id, ChangeOp.upsert, out.model_dump(mode="json")
    )
    return out


def _is_manager(actor: Actor, site_id: int) -> bool:
    return actor.is_superuser or bool(actor.roles_at(site_id).intersection(MANAGERS))


def check_window(valid_from: datetime, valid_until: datetime, now: datetime) -> None:
    if valid_until <= valid_from:
        raise ValidationFailed.field("valid_until", "window_order")
    if valid_until <= now:
        raise ValidationFailed.field("valid_until", "in_the_past")
    if valid_until - valid_from > MAX_WINDOW:
        raise ValidationFailed.field("valid_until", "window_too_long")


async def create_invite(
    actor: Actor, site_id: int, data: InviteIn, info: ClientInfo, sealer: Sealer
) -> InviteOut:
    await staff_site(actor, site_id, (*MANAGERS, Role.resident))
    assert actor.user is not None
    units = actor.unit_ids(site_id)
    unit_id = data.unit_id
    if unit_id is None:
        if _is_manager(actor, site_id) or len(units) != 1:
            raise ValidationFailed.field("unit_id", "host_unit_required")
        (unit_id,) = units
    elif not _is_manager(actor, site_id) and unit_id not in units:
        raise ValidationFailed.field("unit_id", "not_found")
    unit = await site_unit(site_id, unit_id, "unit_id")
    assert unit is not None
    now = datetime.now(UTC)
    check_window(data.valid_from, data.valid_until, now)
    invite_id = data.id or uuid.uuid4()
    async with in_transaction():
        existing = await Invite.get_or_none(id=invite_id)
        if existing is not None:
            if existing.created_by_id == actor.user.id and existing.site_id == site_id:
                return invite_out(existing, unit.label, sealer)  # a retried create
            raise MutationIdConflict("invite id in use")
        invite = await Invite.create(
            id=invite_id,
            site_id=site_id,
            unit_id=unit.id,
            created_by_id=actor.user.id,
            guest_name=data.guest_name,
            guest_phone=data.guest_phone or "",
            purpose=data.purpose,
            headcount=data.headcount,
            plate=data.plate,
            note=data.note,
            valid_from=data.valid_from.astimezone(UTC),
            valid_until=data.valid_until.astimezone(UTC),
            status=InviteStatus.active,
            created_at=now,
        )
        await audit.record(
            actor,
            info,
            "invite.created",
            ENTITY,
            invite.id,
            site_id=site_id,
            after={"unit_id": unit.id, "valid_until": invite.valid_until.isoformat()},
        )
        return await _record(invite, unit.label, sealer)


async def _visible_invite(actor: Actor, invite_id: uuid.UUID) -> Invite:
    invite = await Invite.get_or_none(id=invite_id).select_related("unit")
    if invite is None:
        raise NotFound("invite")
    require_site(actor, invite.site_id, tuple(Role))
    staff = actor.is_superuser or actor.roles_at(invite.site_id).intersection(STAFF)
    if not staff and invite.unit_id not in actor.unit_ids(invite.site_id):
        raise NotFound("invite")  # another unit's guest does not exist for a resident
    return invite


async def list_invites(
    actor: Actor, site_id: int, listing: InviteQuery, sealer: Sealer
) -> tuple[list[InviteOut], int]:
    require_site(actor, site_id, tuple(Role))
    site = await Site.get(id=site_id)
    query = Invite.filter(site_id=site_id)
    if not (actor.is_superuser or actor.roles_at(site_id).intersection(STAFF)):
        query = query.filter(unit_id__in=sorted(actor.unit_ids(site_id)) or [0])
    if listing.status is not None:
        query = query.filter(status=listing.status)
    if listing.day is not None:
        tz = ZoneInfo(site.timezone)
        # In UTC: SQLite compares stored times as text, all of them written in UTC.
        start = datetime.combine(listing.day, datetime.min.time(), tz).astimezone(UTC)
        query = query.filter(valid_from__lt=start + timedelta(days=1), valid_until__gt=start)
    if listing.q:
        query = query.filter(
            Q(guest_name__icontains=listing.q) | Q(guest_phone__contains=listing.q)
        )
    total = await query.count()
    rows = (
        await query.select_related("unit")
        .order_by("-valid_from")
        .offset(listing.offset)
        .limit(listing.limit)
    )
    return [invite_out(r, r.unit.label, sealer) for r in rows], total


async def revoke_invite(
    actor: Actor, invite_id: uuid.UUID, info: ClientInfo, sealer: Sealer
) -> InviteOut:
    invite = await _visible_invite(actor, invite_id)
    assert actor.user is not None
    resident = invite.unit_id in actor.unit_ids(invite.site_id)
    if not (resident or _is_manager(actor, invite.site_id)):
        raise Forbidden("only the unit's residents or a supervisor revoke an invite")
    async with in_transaction():
        invite = await Invite.select_for_update().get(id=invite.id)
        if invite.status != InviteStatus.active:
            raise InvalidState(status=invite.status.value)
        invite.status = InviteStatus.revoked
        invite.revoked_at = datetime.now(UTC)
        invite.revoked_by_id = actor.user.id
        await invite.save(update_fields=["status", "revoked_at", "revoked_by_id"])
        await audit.record(actor, info, "invite.revoked", ENTITY, invite.id, site_id=invite.site_id)
        unit = await invite.unit
        return await _record(invite, unit.label, sealer)


async def claim_invite(sealer: Sealer, site_id: int, code: str, at: datetime) -> Invite:
    """The invite a scanned code names, if it admits a guest at `at`; else the refusal.

    Call inside the transaction that registers the visit: the invite is locked and marked
    used there, so the same code cannot check two guests in.
    """
    claims = verify(sealer, code)
    if claims.kind != PassKind.invite:
        raise InvalidPass("not an invite")
    if claims.site_id != site_id:
        raise PassWrongSite()
    invite = await Invite.filter(id=claims.id).select_for_update().first()
    if invite is None or invite.site_id != site_id:
        raise InvalidPass("no such invite")
    refuse_invite(invite, at)
    return invite


def refuse_invite(invite: Invite, at: datetime) -> None:
    """Raise the reason an invite cannot check a guest in at `at`, if there is one."""
    if invite.status == InviteStatus.revoked:
        raise PassRevoked()
    if invite.status == InviteStatus.used:
        raise PassUsed()
    if at < invite.valid_from:
        raise PassNotYetValid()
    if at > invite.valid_until:
        raise PassExpired()


async def mark_used(invite: Invite, at: datetime, sealer: Sealer) -> None:
    invite.status = InviteStatus.used
    invite.used_at = at
    await invite.save(update_fields=["status", "used_at"])
    unit = await invite.unit
    await _record(invite, unit.label, sealer)
