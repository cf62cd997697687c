"""The gate house's shared rules: each site's gate calendar (when the gate is after hours), the
blocklist, ID numbers kept as sealed value + keyed hash + mask, and applying a run of sync
mutations one savepoint each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import AnbaoError, NotFound, ValidationFailed
from backend.http import ClientInfo
from backend.models.organizations import Site, Unit
from backend.models.users import Membership, Role
from backend.models.visitors import BlocklistEntry, GatePolicy
from backend.schemas.common import ListQuery
from backend.schemas.gate import (
    BlocklistIn,
    BlocklistOut,
    BlocklistPatch,
    GatePolicyOut,
    GatePolicyPatch,
)
from backend.sealing import Sealer
from backend.services import audit
from backend.services.identity import mask_id
from backend.services.listing import apply_patch
from backend.services.organizations import active_site
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site

T = TypeVar("T")
ID_INDEX_PURPOSE = "id-number"


# --- applying mutations ----------------------------------------------------------------------


async def each(
    items: Iterable[T], apply: Callable[[T], Awaitable[BaseModel]]
) -> list[dict[str, Any] | AnbaoError]:
    """Apply items one by one, each in a savepoint: a refused one leaves nothing behind and
    never stops the rest. Outcomes are JSON-ready data or the error."""
    outcomes: list[dict[str, Any] | AnbaoError] = []
    for item in items:
        try:
            async with in_transaction():
                result = await apply(item)
        except AnbaoError as exc:
            outcomes.append(exc)
        else:
            outcomes.append(result.model_dump(mode="json"))
    return outcomes


async def one(apply: Callable[[], Awaitable[T]]) -> T:
    """A plain-API write: one transaction."""
    async with in_transaction():
        return await apply()


def moment(client_time: datetime | None, now: datetime) -> datetime:
    """When something happened at the gate: the phone's time (it may have been offline), never
    later than the server's."""
    if client_time is None:
        return now
    return min(client_time.astimezone(UTC), now)


async def staff_site(actor: Actor, site_id: int, roles: Sequence[Role] = STAFF) -> Site:
    require_site(actor, site_id, roles)
    return await active_site(site_id)


async def site_unit(site_id: int, unit_id: int | None, field: str) -> Unit | None:
    if unit_id is None:
        return None
    unit = await Unit.get_or_none(id=unit_id, site_id=site_id, is_active=True)
    if unit is None:
        raise ValidationFailed.field(field, "not_found")
    return unit


async def site_staff_member(site_id: int, user_id: int, field: str) -> None:
    """The user is a guard, supervisor or admin of the site (an escort, say)."""
    if not await Membership.exists(
        user_id=user_id, site_id=site_id, role__in=list(STAFF), is_active=True
    ):
        raise ValidationFailed.field(field, "not_staff")


# --- ID numbers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedId:
    kind: str
    sealed: str
    index: str
    masked: str


def id_index(sealer: Sealer, kind: str, number: str) -> str:
    # The kind is part of the hashed value: a passport never matches a resident ID by accident.
    return sealer.blind_index(f"{kind}:{number}", ID_INDEX_PURPOSE)


def seal_id(sealer: Sealer, kind: str, number: str, purpose: str) -> SealedId:
    """An ID number as it is kept: sealed for one record, its keyed hash, its mask."""
    return SealedId(
        kind,
        sealer.seal(number.encode(), purpose),
        id_index(sealer, kind, number),
        mask_id(number),
    )


# --- the gate calendar -----------------------------------------------------------------------


async def gate_policy(site_id: int) -> GatePolicy:
    policy = await GatePolicy.get_or_none(site_id=site_id)
    return policy if policy is not None else GatePolicy(site_id=site_id)


def is_after_hours(at: datetime, site: Site, policy: GatePolicy) -> bool:
    """Nights (the site's window, which may cross midnight), holidays and, if the site says so,
    weekends other than workdays in lieu: all in the site's time zone."""
    local = at.astimezone(ZoneInfo(site.timezone))
    day = local.date().isoformat()
    if day in (policy.holidays or []):
        return True
    if policy.weekends_after_hours and local.weekday() >= 5 and day not in (policy.workdays or []):
        return True
    start, end, now = site.after_hours_start, site.after_hours_end, local.strftime("%H:%M")
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end


def _policy_out(site: Site, policy: GatePolicy, now: datetime) -> GatePolicyOut:
    return GatePolicyOut(
        site_id=site.id,
        timezone=site.timezone,
        after_hours_start=site.after_hours_start,
        after_hours_end=site.after_hours_end,
        weekends_after_hours=policy.weekends_after_hours,
        holidays=[date.fromisoformat(d) for d in policy.holidays or []],
        workdays=[date.fromisoformat(d) for d in policy.workdays or []],
        visit_hours=policy.visit_hours,
        after_hours_now=is_after_hours(now, site, policy),
    )


async def get_policy(actor: Actor, site_id: int) -> GatePolicyOut:
    site = await staff_site(actor, site_id)
    return _policy_out(site, await gate_policy(site_id), datetime.now(UTC))


async def update_policy(
    actor: Actor, site_id: int, patch: GatePolicyPatch, info: ClientInfo
) -> GatePolicyOut:
    site = await staff_site(actor, site_id, (Role.admin,))
    async with in_transaction():
        policy = await gate_policy(site_id)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        for name in ("holidays", "workdays"):
            if name in changes:
                changes[name] = sorted({d.isoformat() for d in changes[name]})
        before = {k: getattr(policy, k) for k in changes}
        for name, value in changes.items():
            setattr(policy, name, value)
        await policy.save()
        await audit.record(
            actor,
            info,
            "gate.policy_updated",
            "site",
            site_id,
            site_id=site_id,
            before=before,
            after=changes,
        )
    return _policy_out(site, policy, datetime.now(UTC))


# --- the blocklist ---------------------------------------------------------------------------


def blocklist_out(entry: BlocklistEntry) -> BlocklistOut:
    return BlocklistOut.model_validate(entry)


async def list_blocklist(
    actor: Actor, site_id: int, listing: ListQuery
) -> tuple[list[BlocklistOut], int]:
    require_site(actor, site_id, MANAGERS)
    query = BlocklistEntry.filter(site_id=site_id)
    if not listing.include_inactive:
        query = query.filter(is_active=True)
    if listing.q:
        query = query.filter(
            Q(name__icontains=listing.q)
            | Q(phone__contains=listing.q)
            | Q(plate__icontains=listing.q)
            | Q(reason__icontains=listing.q)
        )
    total = await query.count()
    rows = await query.order_by("-id").offset(listing.offset).limit(listing.limit)
    return [blocklist_out(r) for r in rows], total


async def add_blocklist_entry(
    actor: Actor, site_id: int, data: BlocklistIn, info: ClientInfo, sealer: Sealer
) -> BlocklistOut:
    await staff_site(actor, site_id, MANAGERS)
    assert actor.user is not None
    if not (data.name or data.phone or data.plate or data.id_number):
        raise ValidationFailed.field("name", "missing")
    # Only the hash and the mask are kept: matching needs no more, and a list of people
    # refused entry is the last place to keep readable ID numbers.
    index = (
        id_index(sealer, data.id_kind, data.id_number) if data.id_kind and data.id_number else None
    )
    async with in_transaction():
        entry = await BlocklistEntry.create(
            site_id=site_id,
            name=data.name,
            phone=data.phone or "",
            plate=data.plate,
            id_kind=data.id_kind.value if data.id_kind else None,
            id_index=index,
            id_masked=mask_id(data.id_number) if data.id_number else "",
            reason=data.reason,
            added_by_id=actor.user.id,
            created_at=datetime.now(UTC),
        )
        await audit.record(
            actor,
            info,
            "blocklist.added",
            "blocklist_entry",
            entry.id,
            site_id=site_id,
            after={"name": entry.name, "id_masked": entry.id_masked, "reason": entry.reason},
        )
    return blocklist_out(entry)


async def update_blocklist_entry(
    actor: Actor, entry_id: int, patch: BlocklistPatch, info: ClientInfo
) -> BlocklistOut:
    entry = await BlocklistEntry.get_or_none(id=entry_id)
    if entry is None:
        raise NotFound("blocklist entry")
    require_site(actor, entry.site_id, MANAGERS)
    async with in_transaction():
        before, after = apply_patch(entry, patch)
        await entry.save()
        await audit.record(
            actor,
            info,
            "blocklist.updated",
            "blocklist_entry",
            entry.id,
            site_id=entry.site_id,
            before=before,
            after=after,
        )
    return blocklist_out(entry)


async def blocklist_match(
    site_id: int, *, name: str, phone: str, plate: str | None, index: str | None
) -> BlocklistEntry | None:
    """The first active entry this visitor matches: by ID hash, phone or plate; by name only
    an entry that has nothing else."""
    conditions = []
    if name.strip():
        conditions.append(Q(name__iexact=name.strip(), phone="", plate="", id_index=None))
    if phone:
        conditions.append(Q(phone=phone))
    if plate:
        conditions.append(Q(plate=plate))
    if index:
        conditions.append(Q(id_index=index))
    if not conditions:
        return None
    return (
        await BlocklistEntry.filter(site_id=site_id, is_active=True)
        .filter(Q(*conditions, join_type="OR"))
        .order_by("id")
        .first()
    )
