"""The duty log: guards write entries (online or through sync); everyone on duty reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from backend.errors import MutationIdConflict, ValidationFailed
from backend.http import ClientInfo
from backend.models.duty_log import DutyLogEntry
from backend.models.organizations import Zone
from backend.models.sync import ChangeOp
from backend.schemas.duty_log import DutyEntryIn, DutyEntryOut, DutyLogQuery
from backend.services import audit
from backend.services.changes import record_change
from backend.services.organizations import _active_site
from backend.services.permissions import STAFF, Actor, require_site

ENTITY = "duty_log"


def entry_out(entry: DutyLogEntry, author_name: str) -> DutyEntryOut:
    return DutyEntryOut(
        id=entry.id,
        site_id=entry.site_id,
        zone_id=entry.zone_id,
        author_id=entry.author_id,
        author_name=author_name,
        category=entry.category,
        text=entry.text,
        client_time=entry.client_time,
        server_time=entry.server_time,
    )


async def add_entry(
    actor: Actor, site_id: int, data: DutyEntryIn, info: ClientInfo
) -> DutyEntryOut:
    """Write an entry; call inside a transaction (the sync push and the route both do)."""
    require_site(actor, site_id, STAFF)
    await _active_site(site_id)
    assert actor.user is not None
    if data.zone_id is not None and not await Zone.exists(
        id=data.zone_id, site_id=site_id, is_active=True
    ):
        raise ValidationFailed("zone", fields=[{"field": "zone_id", "code": "not_found"}])
    if await DutyLogEntry.exists(id=data.id):
        # Same id through the plain API twice, or a guessed id: never overwrite an entry.
        raise MutationIdConflict("duty log entry id in use")
    now = datetime.now(UTC)
    entry = await DutyLogEntry.create(
        id=data.id,
        site_id=site_id,
        zone_id=data.zone_id,
        author_id=actor.user.id,
        device_id=actor.device_id,
        category=data.category,
        text=data.text,
        client_time=data.client_time or now,
        server_time=now,
    )
    out = entry_out(entry, actor.user.display_name)
    await record_change(site_id, ENTITY, entry.id, ChangeOp.upsert, out.model_dump(mode="json"))
    await audit.record(
        actor,
        info,
        "duty_log.added",
        ENTITY,
        entry.id,
        site_id=site_id,
        after={"category": entry.category, "zone_id": entry.zone_id},
    )
    return out


async def add_entry_now(
    actor: Actor, site_id: int, data: DutyEntryIn, info: ClientInfo
) -> DutyEntryOut:
    async with in_transaction():
        return await add_entry(actor, site_id, data, info)


async def list_entries(
    actor: Actor, site_id: int, listing: DutyLogQuery
) -> tuple[list[DutyEntryOut], int]:
    require_site(actor, site_id, STAFF)
    query = DutyLogEntry.filter(site_id=site_id)
    if listing.category is not None:
        query = query.filter(category=listing.category)
    if listing.zone_id is not None:
        query = query.filter(zone_id=listing.zone_id)
    if listing.q:
        query = query.filter(text__icontains=listing.q)
    total = await query.count()
    rows = (
        await query.select_related("author")
        .order_by("-server_time")
        .offset(listing.offset)
        .limit(listing.limit)
    )
    return [entry_out(r, r.author.display_name) for r in rows], total
