"""Passes checked at the gate: contractors' passes (one person, one active pass, limited to
zones and a period) and goods-out passes (物品出门证) that a unit requests, its authorised
approver stamps, and the exit guard checks item by item. Both are scanned as signed codes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import (
    ActivePassExists,
    AnbaoError,
    DuplicateName,
    InvalidPass,
    InvalidState,
    MutationIdConflict,
    NotFound,
    NotUnitApprover,
    PassExpired,
    PassNotApproved,
    PassNotYetValid,
    PassRefused,
    PassRevoked,
    PassUsed,
    PassWrongSite,
    ValidationFailed,
    ZoneNotAllowed,
)
from backend.http import ClientInfo
from backend.i18n import translate
from backend.models.organizations import Unit, Zone
from backend.models.passes import (
    ContractorEntry,
    ContractorPass,
    ContractorPassStatus,
    GoodsOutPass,
    GoodsPassStatus,
    UnitApprover,
)
from backend.models.sync import ChangeOp
from backend.models.users import Membership, Role
from backend.models.visitors import Invite
from backend.schemas.passes import (
    ApproverIn,
    ApproverOut,
    ContractorEntryOut,
    ContractorPassIn,
    ContractorPassOut,
    ContractorPassQuery,
    GoodsDecisionIn,
    GoodsExitIn,
    GoodsExitMutationArgs,
    GoodsPassIn,
    GoodsPassOut,
    GoodsPassQuery,
    PassCheckOut,
    PassState,
    RevokeIn,
    ScanIn,
    ScanMutationArgs,
)
from backend.sealing import Sealer
from backend.services import audit, invites
from backend.services.changes import record_change
from backend.services.gate import each, moment, one, seal_id, site_unit, staff_site
from backend.services.pass_tokens import (
    PassClaims,
    PassKind,
    issue,
    stamp,
    stamp_matches,
    verify,
)
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site

CONTRACTOR_MAX_WINDOW = timedelta(days=366)
GOODS_MAX_WINDOW = timedelta(days=31)


def _window(valid_from: datetime, valid_until: datetime, now: datetime, longest: timedelta) -> None:
    if valid_until <= valid_from:
        raise ValidationFailed.field("valid_until", "window_order")
    if valid_until <= now:
        raise ValidationFailed.field("valid_until", "in_the_past")
    if valid_until - valid_from > longest:
        raise ValidationFailed.field("valid_until", "window_too_long")


def _claims(sealer: Sealer, code: str, kind: PassKind, site_id: int) -> PassClaims:
    claims = verify(sealer, code)
    if claims.kind != kind:
        raise InvalidPass(f"not a {kind.name} pass")
    if claims.site_id != site_id:
        raise PassWrongSite()
    return claims


def _is_staff(actor: Actor, site_id: int) -> bool:
    return actor.is_superuser or bool(actor.roles_at(site_id).intersection(STAFF))


def _pick_unit(actor: Actor, site_id: int, unit_id: int | None, *, any_unit: bool) -> int:
    units = actor.unit_ids(site_id)
    if unit_id is None:
        if any_unit or len(units) != 1:
            raise ValidationFailed.field("unit_id", "host_unit_required")
        (unit_id,) = units
    elif not any_unit and unit_id not in units:
        raise ValidationFailed.field("unit_id", "not_found")
    return unit_id


# --- contractor passes -----------------------------------------------------------------------


def contractor_purpose(pass_id: object) -> str:
    return f"contractor-id:{pass_id}"


def pass_state(p: ContractorPass, at: datetime) -> PassState:
    if p.status == ContractorPassStatus.revoked:
        return "revoked"
    if at < p.valid_from:
        return "not_yet_valid"
    if at > p.valid_until:
        return "expired"
    return "active"


def contractor_out(p: ContractorPass, sealer: Sealer, now: datetime) -> ContractorPassOut:
    code = issue(
        sealer, PassClaims(PassKind.contractor, p.id, p.site_id, p.valid_from, p.valid_until)
    )
    return ContractorPassOut(
        id=p.id,
        site_id=p.site_id,
        company=p.company,
        person_name=p.person_name,
        phone=p.phone,
        id_kind=p.id_kind,
        id_masked=p.id_masked,
        photo_sha256=p.photo_sha256,
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        zone_ids=list(p.zone_ids),
        status=p.status,
        state=pass_state(p, now),
        issued_by_id=p.issued_by_id,
        revoked_at=p.revoked_at,
        revoke_reason=p.revoke_reason,
        created_at=p.created_at,
        code=code,
        link=invites.pass_link(code),
    )


async def _contractor_changed(p: ContractorPass, sealer: Sealer) -> ContractorPassOut:
    out = contractor_out(p, sealer, datetime.now(UTC))
    await record_change(
        p.site_id, "contractor_pass", p.id, ChangeOp.upsert, out.model_dump(mode="json")
    )
    return out


async def issue_contractor_pass(
    actor: Actor, site_id: int, data: ContractorPassIn, info: ClientInfo, sealer: Sealer
) -> ContractorPassOut:
    await staff_site(actor, site_id, MANAGERS)
    assert actor.user is not None
    now = datetime.now(UTC)
    _window(data.valid_from, data.valid_until, now, CONTRACTOR_MAX_WINDOW)
    zone_ids = sorted(set(data.zone_ids))
    found = await Zone.filter(id__in=zone_ids, site_id=site_id, is_active=True).count()
    if found != len(zone_ids):
        raise ValidationFailed.field("zone_ids", "not_found")
    pass_id = uuid.uuid4()
    sealed = seal_id(sealer, data.id_kind.value, data.id_number, contractor_purpose(pass_id))
    async with in_transaction():
        # One person, one pass: a second while one is still good is refused, not stacked.
        if await ContractorPass.exists(
            site_id=site_id,
            id_index=sealed.index,
            status=ContractorPassStatus.active,
            valid_until__gt=now,
        ):
            raise ActivePassExists()
        p = await ContractorPass.create(
            id=pass_id,
            site_id=site_id,
            company=data.company,
            person_name=data.person_name,
            phone=data.phone or "",
            id_kind=sealed.kind,
            id_sealed=sealed.sealed,
            id_index=sealed.index,
            id_masked=sealed.masked,
            photo_sha256=data.photo_sha256,
            valid_from=data.valid_from.astimezone(UTC),
            valid_until=data.valid_until.astimezone(UTC),
            zone_ids=zone_ids,
            issued_by_id=actor.user.id,
            created_at=now,
        )
        await audit.record(
            actor,
            info,
            "contractor_pass.issued",
            "contractor_pass",
            p.id,
            site_id=site_id,
            after={"company": p.company, "id_masked": p.id_masked},
        )
        return await _contractor_changed(p, sealer)


async def revoke_contractor_pass(
    actor: Actor, pass_id: uuid.UUID, data: RevokeIn, info: ClientInfo, sealer: Sealer
) -> ContractorPassOut:
    assert actor.user is not None
    async with in_transaction():
        p = await ContractorPass.filter(id=pass_id).select_for_update().first()
        if p is None:
            raise NotFound("contractor pass")
        require_site(actor, p.site_id, MANAGERS)
        if p.status == ContractorPassStatus.revoked:
            raise InvalidState(status=p.status.value)
        p.status = ContractorPassStatus.revoked
        p.revoked_at = datetime.now(UTC)
        p.revoked_by_id = actor.user.id
        p.revoke_reason = data.reason
        await p.save(update_fields=["status", "revoked_at", "revoked_by_id", "revoke_reason"])
        await audit.record(
            actor,
            info,
            "contractor_pass.revoked",
            "contractor_pass",
            p.id,
            site_id=p.site_id,
            after={"reason": data.reason},
        )
        return await _contractor_changed(p, sealer)


async def list_contractor_passes(
    actor: Actor, site_id: int, listing: ContractorPassQuery, sealer: Sealer
) -> tuple[list[ContractorPassOut], int]:
    require_site(actor, site_id, STAFF)
    now = datetime.now(UTC)
    query = ContractorPass.filter(site_id=site_id)
    active = ContractorPassStatus.active
    if listing.state == "revoked":
        query = query.filter(status=ContractorPassStatus.revoked)
    elif listing.state == "expired":
        query = query.filter(status=active, valid_until__lt=now)
    elif listing.state == "not_yet_valid":
        query = query.filter(status=active, valid_from__gt=now)
    elif listing.state == "active":
        query = query.filter(status=active, valid_from__lte=now, valid_until__gte=now)
    if listing.q:
        query = query.filter(Q(company__icontains=listing.q) | Q(person_name__icontains=listing.q))
    total = await query.count()
    rows = await query.order_by("-created_at").offset(listing.offset).limit(listing.limit)
    return [contractor_out(p, sealer, now) for p in rows], total


def refuse_contractor(p: ContractorPass, at: datetime, zone_id: int | None) -> None:
    """Raise the reason this pass does not let its holder in at `at` (into `zone_id`)."""
    state = pass_state(p, at)
    if state == "revoked":
        raise PassRevoked()
    if state == "not_yet_valid":
        raise PassNotYetValid()
    if state == "expired":
        raise PassExpired()
    if zone_id is not None and p.zone_ids and zone_id not in p.zone_ids:
        raise ZoneNotAllowed()


async def _scan(actor: Actor, site_id: int, data: ScanIn, sealer: Sealer) -> ContractorEntryOut:
    await staff_site(actor, site_id)
    assert actor.user is not None
    if await ContractorEntry.exists(id=data.id):
        raise MutationIdConflict("contractor entry id in use")
    claims = _claims(sealer, data.code, PassKind.contractor, site_id)
    p = await ContractorPass.get_or_none(id=claims.id, site_id=site_id)
    if p is None:
        raise InvalidPass("no such pass")
    if data.zone_id is not None and not await Zone.exists(id=data.zone_id, site_id=site_id):
        raise ValidationFailed.field("zone_id", "not_found")
    now = datetime.now(UTC)
    at = moment(data.client_time, now)
    refuse_contractor(p, at, data.zone_id)
    entry = await ContractorEntry.create(
        id=data.id,
        site_id=site_id,
        contractor_pass_id=p.id,
        zone_id=data.zone_id,
        guard_id=actor.user.id,
        device_id=actor.device_id,
        scanned_at=at,
        server_time=now,
    )
    return ContractorEntryOut(
        id=entry.id,
        site_id=site_id,
        contractor_pass_id=p.id,
        zone_id=entry.zone_id,
        guard_id=entry.guard_id,
        scanned_at=entry.scanned_at,
        contractor_pass=contractor_out(p, sealer, now),
    )


async def scan_contractor_pass(
    actor: Actor, site_id: int, data: ScanIn, sealer: Sealer
) -> ContractorEntryOut:
    return await one(lambda: _scan(actor, site_id, data, sealer))


async def scan_contractor_passes(
    actor: Actor, items: Sequence[ScanMutationArgs], sealer: Sealer
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _scan(actor, a.site_id, a, sealer))


# --- goods-out passes ------------------------------------------------------------------------


def goods_content(p: GoodsOutPass) -> dict[str, Any]:
    """What the stamp vouches for: any change to it after approval breaks the signature."""
    return {
        "id": str(p.id),
        "site_id": p.site_id,
        "unit_id": p.unit_id,
        "items": p.items,
        "carrier": p.carrier,
        "plate": p.plate,
        "valid_from": p.valid_from.astimezone(UTC).isoformat(),
        "valid_until": p.valid_until.astimezone(UTC).isoformat(),
        "approver_id": p.decided_by_id,
        "approved_at": p.decided_at.astimezone(UTC).isoformat() if p.decided_at else None,
    }


async def goods_out(p: GoodsOutPass, sealer: Sealer) -> GoodsPassOut:
    await p.fetch_related("unit", "requested_by", "decided_by")
    code = ""
    if p.status in (GoodsPassStatus.approved, GoodsPassStatus.exited):
        code = issue(
            sealer, PassClaims(PassKind.goods, p.id, p.site_id, p.valid_from, p.valid_until)
        )
    return GoodsPassOut(
        id=p.id,
        site_id=p.site_id,
        unit_id=p.unit_id,
        unit_label=p.unit.label,
        requested_by_id=p.requested_by_id,
        requested_by_name=p.requested_by.display_name,
        carrier=p.carrier,
        plate=p.plate,
        reason=p.reason,
        items=list(p.items),
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        status=p.status,
        decided_by_id=p.decided_by_id,
        decided_by_name=p.decided_by.display_name if p.decided_by else "",
        decided_at=p.decided_at,
        decision_note=p.decision_note,
        signature=p.signature,
        exited_at=p.exited_at,
        exited_by_id=p.exited_by_id,
        items_out=list(p.items_out),
        exit_note=p.exit_note,
        created_at=p.created_at,
        code=code,
        link=invites.pass_link(code) if code else "",
    )


async def _goods_changed(p: GoodsOutPass, sealer: Sealer) -> GoodsPassOut:
    out = await goods_out(p, sealer)
    await record_change(p.site_id, "goods_pass", p.id, ChangeOp.upsert, out.model_dump(mode="json"))
    return out


async def request_goods_pass(
    actor: Actor, site_id: int, data: GoodsPassIn, info: ClientInfo, sealer: Sealer
) -> GoodsPassOut:
    await staff_site(actor, site_id, (Role.resident,))
    assert actor.user is not None
    unit_id = _pick_unit(actor, site_id, data.unit_id, any_unit=actor.is_superuser)
    await site_unit(site_id, unit_id, "unit_id")
    now = datetime.now(UTC)
    _window(data.valid_from, data.valid_until, now, GOODS_MAX_WINDOW)
    items = [item.model_dump() for item in data.items]
    async with in_transaction():
        p = await GoodsOutPass.create(
            id=uuid.uuid4(),
            site_id=site_id,
            unit_id=unit_id,
            requested_by_id=actor.user.id,
            carrier=data.carrier,
            plate=data.plate,
            reason=data.reason,
            items=items,
            items_text=" ".join(i["name"] for i in items),
            valid_from=data.valid_from.astimezone(UTC),
            valid_until=data.valid_until.astimezone(UTC),
            created_at=now,
        )
        await audit.record(actor, info, "goods_pass.requested", "goods_pass", p.id, site_id=site_id)
        return await _goods_changed(p, sealer)


async def _visible_goods_pass(
    actor: Actor, pass_id: uuid.UUID, *, lock: bool = False
) -> GoodsOutPass:
    query = GoodsOutPass.filter(id=pass_id)
    p = await (query.select_for_update() if lock else query).first()
    if p is None:
        raise NotFound("goods-out pass")
    require_site(actor, p.site_id, tuple(Role))
    if not _is_staff(actor, p.site_id) and p.unit_id not in actor.unit_ids(p.site_id):
        raise NotFound("goods-out pass")
    return p


async def get_goods_pass(actor: Actor, pass_id: uuid.UUID, sealer: Sealer) -> GoodsPassOut:
    return await goods_out(await _visible_goods_pass(actor, pass_id), sealer)


async def decide_goods_pass(
    actor: Actor, pass_id: uuid.UUID, data: GoodsDecisionIn, info: ClientInfo, sealer: Sealer
) -> GoodsPassOut:
    assert actor.user is not None
    async with in_transaction():
        p = await _visible_goods_pass(actor, pass_id, lock=True)
        # The stamp is the unit's, not the property manager's: only its named approver, still
        # a resident of the unit, may put it on.
        approver = await UnitApprover.exists(
            unit_id=p.unit_id, user_id=actor.user.id
        ) and await Membership.exists(
            user_id=actor.user.id,
            site_id=p.site_id,
            unit_id=p.unit_id,
            role=Role.resident,
            is_active=True,
        )
        if not approver:
            raise NotUnitApprover()
        if p.status != GoodsPassStatus.requested:
            raise InvalidState(status=p.status.value)
        p.decided_by_id = actor.user.id
        p.decided_at = datetime.now(UTC)
        p.decision_note = data.note
        if data.decision == "approved":
            p.status = GoodsPassStatus.approved
            p.signature = stamp(sealer, goods_content(p))
        else:
            p.status = GoodsPassStatus.rejected
        await p.save()
        await audit.record(
            actor,
            info,
            f"goods_pass.{data.decision}",
            "goods_pass",
            p.id,
            site_id=p.site_id,
            after={"note": data.note, "signature": p.signature},
        )
        return await _goods_changed(p, sealer)


def refuse_goods(p: GoodsOutPass, at: datetime, sealer: Sealer) -> None:
    if p.status in (GoodsPassStatus.requested, GoodsPassStatus.rejected):
        raise PassNotApproved()
    if p.status == GoodsPassStatus.exited:
        raise PassUsed()
    if at < p.valid_from:
        raise PassNotYetValid()
    if at > p.valid_until:
        raise PassExpired()
    if not stamp_matches(sealer, goods_content(p), p.signature):
        raise InvalidPass("the stamp does not match the pass")


async def _exit(actor: Actor, site_id: int, data: GoodsExitIn, sealer: Sealer) -> GoodsPassOut:
    await staff_site(actor, site_id)
    assert actor.user is not None
    claims = _claims(sealer, data.code, PassKind.goods, site_id)
    p = await GoodsOutPass.filter(id=claims.id, site_id=site_id).select_for_update().first()
    if p is None:
        raise InvalidPass("no such pass")
    now = datetime.now(UTC)
    at = moment(data.client_time, now)
    refuse_goods(p, at, sealer)
    ticked = sorted(set(data.items_out))
    if len(ticked) != len(data.items_out) or any(i < 0 or i >= len(p.items) for i in ticked):
        raise ValidationFailed.field("items_out", "item_index")
    p.status = GoodsPassStatus.exited
    p.exited_at = at
    p.exited_by_id = actor.user.id
    p.items_out = ticked
    p.exit_note = data.note
    await p.save(update_fields=["status", "exited_at", "exited_by_id", "items_out", "exit_note"])
    return await _goods_changed(p, sealer)


async def record_goods_exit(
    actor: Actor, site_id: int, data: GoodsExitIn, sealer: Sealer
) -> GoodsPassOut:
    return await one(lambda: _exit(actor, site_id, data, sealer))


async def record_goods_exits(
    actor: Actor, items: Sequence[GoodsExitMutationArgs], sealer: Sealer
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _exit(actor, a.site_id, a, sealer))


async def list_goods_passes(
    actor: Actor, site_id: int, listing: GoodsPassQuery, sealer: Sealer
) -> tuple[list[GoodsPassOut], int]:
    """The archive: every pass of the site (a resident: of their units), searchable by item,
    carrier or plate."""
    require_site(actor, site_id, tuple(Role))
    query = GoodsOutPass.filter(site_id=site_id)
    if not _is_staff(actor, site_id):
        query = query.filter(unit_id__in=sorted(actor.unit_ids(site_id)) or [0])
    if listing.status is not None:
        query = query.filter(status=listing.status)
    if listing.unit_id is not None:
        query = query.filter(unit_id=listing.unit_id)
    if listing.q:
        query = query.filter(
            Q(items_text__icontains=listing.q)
            | Q(carrier__icontains=listing.q)
            | Q(plate__icontains=listing.q.upper())
        )
    total = await query.count()
    rows = await query.order_by("-created_at").offset(listing.offset).limit(listing.limit)
    return [await goods_out(p, sealer) for p in rows], total


# --- unit approvers --------------------------------------------------------------------------


async def _unit(actor: Actor, unit_id: int, roles: Sequence[Role]) -> Unit:
    unit = await Unit.get_or_none(id=unit_id)
    if unit is None:
        raise NotFound("unit")
    require_site(actor, unit.site_id, roles)
    return unit


async def list_approvers(actor: Actor, unit_id: int) -> list[ApproverOut]:
    await _unit(actor, unit_id, MANAGERS)
    rows = await UnitApprover.filter(unit_id=unit_id).select_related("user").order_by("id")
    return [
        ApproverOut(
            id=r.id,
            unit_id=r.unit_id,
            user_id=r.user_id,
            display_name=r.user.display_name,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def add_approver(
    actor: Actor, unit_id: int, data: ApproverIn, info: ClientInfo
) -> ApproverOut:
    unit = await _unit(actor, unit_id, (Role.admin,))
    assert actor.user is not None
    if not await Membership.exists(
        user_id=data.user_id,
        site_id=unit.site_id,
        unit_id=unit.id,
        role=Role.resident,
        is_active=True,
    ):
        raise ValidationFailed.field("user_id", "not_unit_resident")
    async with in_transaction():
        if await UnitApprover.exists(unit_id=unit.id, user_id=data.user_id):
            raise DuplicateName("already an approver")
        row = await UnitApprover.create(
            unit_id=unit.id,
            user_id=data.user_id,
            added_by_id=actor.user.id,
            created_at=datetime.now(UTC),
        )
        await audit.record(
            actor,
            info,
            "unit.approver_added",
            "unit",
            unit.id,
            site_id=unit.site_id,
            after={"user_id": data.user_id},
        )
    user = await row.user
    return ApproverOut(
        id=row.id,
        unit_id=unit.id,
        user_id=row.user_id,
        display_name=user.display_name,
        created_at=row.created_at,
    )


async def remove_approver(actor: Actor, unit_id: int, user_id: int, info: ClientInfo) -> None:
    unit = await _unit(actor, unit_id, (Role.admin,))
    async with in_transaction():
        deleted = await UnitApprover.filter(unit_id=unit.id, user_id=user_id).delete()
        if not deleted:
            raise NotFound("approver")
        await audit.record(
            actor,
            info,
            "unit.approver_removed",
            "unit",
            unit.id,
            site_id=unit.site_id,
            before={"user_id": user_id},
        )


# --- scanning any code -----------------------------------------------------------------------

_KIND_NAMES: dict[PassKind, Literal["invite", "contractor", "goods"]] = {
    PassKind.invite: "invite",
    PassKind.contractor: "contractor",
    PassKind.goods: "goods",
}


async def check_code(
    actor: Actor, site_id: int, code: str, info: ClientInfo, sealer: Sealer
) -> PassCheckOut:
    """What a scanned code is and whether the gate may accept it now; changes nothing."""
    await staff_site(actor, site_id)
    claims = verify(sealer, code)
    if claims.site_id != site_id:
        raise PassWrongSite()
    now = datetime.now(UTC)
    refuse: Callable[[], None]
    if claims.kind == PassKind.invite:
        invite = await Invite.get_or_none(id=claims.id, site_id=site_id).select_related("unit")
        if invite is None:
            raise InvalidPass("no such invite")
        record = invites.invite_out(invite, invite.unit.label, sealer).model_dump(mode="json")
        refuse = partial(invites.refuse_invite, invite, now)
    elif claims.kind == PassKind.contractor:
        contractor = await ContractorPass.get_or_none(id=claims.id, site_id=site_id)
        if contractor is None:
            raise InvalidPass("no such pass")
        record = contractor_out(contractor, sealer, now).model_dump(mode="json")
        refuse = partial(refuse_contractor, contractor, now, None)
    else:
        goods = await GoodsOutPass.get_or_none(id=claims.id, site_id=site_id)
        if goods is None:
            raise InvalidPass("no such pass")
        record = (await goods_out(goods, sealer)).model_dump(mode="json")
        refuse = partial(refuse_goods, goods, now, sealer)
    refusal = ""
    try:
        refuse()
    except (PassRefused, InvalidPass) as exc:
        refusal = exc.code
    return PassCheckOut(
        kind=_KIND_NAMES[claims.kind],
        id=claims.id,
        ok=not refusal,
        refusal=refusal,
        message=translate(info.language, f"error.{refusal}") if refusal else "",
        record=record,
    )
