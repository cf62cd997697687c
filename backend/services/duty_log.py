"""The duty log: guards write entries (online or through sync); everyone on duty reads them.

An entry is itself an append-only record (author, device, both clocks), so writing one adds no
separate audit event.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from backend.errors import AnbaoError, Inactive, MutationIdConflict, NotFound, ValidationFailed
from backend.http import ClientInfo
from backend.models.duty_log import DutyLogEntry
from backend.models.organizations import Site, Zone
from backend.models.sync import ChangeOp
from backend.schemas.duty_log import DutyEntryIn, DutyEntryOut, DutyLogQuery
from backend.services.bulk import (
    db_datetime_texts,
    db_datetimes,
    existing_ids,
    fetch_by_ids,
    insert_rows,
)
from backend.services.changes import record_changes
from backend.services.permissions import STAFF, Actor, require_site

ENTITY = "duty_log"
_COLUMNS = (
    "id",
    "site_id",
    "zone_id",
    "author_id",
    "device_id",
    "category",
    "text",
    "client_time",
    "server_time",
)


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


async def add_entries(
    actor: Actor,
    items: Sequence[tuple[int, DutyEntryIn]],
    info: ClientInfo,
    *,
    look_first: bool = True,
) -> list[dict[str, Any] | AnbaoError]:
    """Write entries given as (site id, entry); each succeeds or fails on its own.

    Returns each entry as JSON-ready data (the `DutyEntryOut` shape) or its error. Call inside
    a transaction. The sync push hands over a whole run of mutations at once, the plain API
    one; lookups are made once for the lot, and no object is built per entry (a push of 500 is
    a hot path).

    An entry's id is the client's. With `look_first`, an id already in use is refused with
    `mutation_id_conflict`; without, the ids are not looked up and one in use makes the insert
    raise IntegrityError (the push's first try: it then rolls back and tries again looking).
    """
    assert actor.user is not None
    site_rows = await fetch_by_ids(Site, ("id", "is_active"), {s for s, _ in items})
    sites = {r["id"]: bool(r["is_active"]) for r in site_rows}
    zone_ids = {d.zone_id for _, d in items if d.zone_id is not None}
    zone_rows = await fetch_by_ids(Zone, ("id", "site_id", "is_active"), zone_ids)
    zones = {(r["id"], r["site_id"]) for r in zone_rows if r["is_active"]}
    entry_ids = [d.id for _, d in items]
    # Which ids are taken is asked of the database while the entries are built below; an id in
    # use (rare: a retried plain-API write, a guessed id) is taken out again afterwards.
    lookup = asyncio.ensure_future(
        existing_ids(DutyLogEntry, entry_ids) if look_first else _nothing_taken()
    )
    now = datetime.now(UTC)
    now_text = now.isoformat()
    to_db = db_datetimes(DutyLogEntry)
    texts = db_datetime_texts(DutyLogEntry)
    now_db = to_db(now)
    author_id, author_name = actor.user.id, actor.user.display_name
    device_id = actor.device_id
    allowed: dict[int, AnbaoError | None] = {}  # per site: the permission check's outcome
    outcomes: list[dict[str, Any] | AnbaoError] = []
    rows: list[tuple[Any, ...]] = []
    changes: dict[int, list[tuple[object, ChangeOp, dict[str, Any] | None]]] = defaultdict(list)
    written: set[str] = set()  # an id twice in one call is written once
    try:
        for (site_id, data), entry_id in zip(items, entry_ids, strict=True):
            if site_id not in allowed:
                allowed[site_id] = _site_refusal(actor, site_id)
            refused = allowed[site_id]
            if refused is not None:
                outcomes.append(refused)
                continue
            try:
                if site_id not in sites:
                    raise NotFound("site")
                if not sites[site_id]:
                    raise Inactive("site")
                if data.zone_id is not None and (data.zone_id, site_id) not in zones:
                    raise ValidationFailed.field("zone_id", "not_found")
                if entry_id in written:
                    raise MutationIdConflict("duty log entry id in use")
            except AnbaoError as exc:
                outcomes.append(exc)
                continue
            written.add(entry_id)
            client_iso, client_db = texts((data.client_time or now).astimezone(UTC))
            category = str(data.category)  # the enum's value, without its property lookup
            out = {
                "id": entry_id,
                "site_id": site_id,
                "zone_id": data.zone_id,
                "author_id": author_id,
                "author_name": author_name,
                "category": category,
                "text": data.text,
                "client_time": client_iso,
                "server_time": now_text,
            }
            rows.append(
                (
                    entry_id,
                    site_id,
                    data.zone_id,
                    author_id,
                    device_id,
                    category,
                    data.text,
                    client_db,
                    now_db,
                )
            )
            changes[site_id].append((entry_id, ChangeOp.upsert, out))
            outcomes.append(out)
    except BaseException:
        lookup.cancel()
        raise
    taken = await lookup
    if taken:
        # A retried plain-API write or a guessed id: an entry is never overwritten.
        rows = [row for row in rows if row[0] not in taken]
        outcomes = [
            MutationIdConflict("duty log entry id in use")
            if isinstance(o, dict) and o["id"] in taken
            else o
            for o in outcomes
        ]
        for site_changes in changes.values():
            site_changes[:] = [c for c in site_changes if c[0] not in taken]
    await insert_rows(DutyLogEntry, _COLUMNS, rows)
    for site_id, site_changes in changes.items():
        await record_changes(site_id, ENTITY, site_changes)
    return outcomes


async def _nothing_taken() -> set[str]:
    return set()


def _site_refusal(actor: Actor, site_id: int) -> AnbaoError | None:
    try:
        require_site(actor, site_id, STAFF)
    except AnbaoError as exc:
        return exc
    return None


async def add_entry(
    actor: Actor, site_id: int, data: DutyEntryIn, info: ClientInfo
) -> DutyEntryOut:
    async with in_transaction():
        (outcome,) = await add_entries(actor, [(site_id, data)], info)
    if isinstance(outcome, AnbaoError):
        raise outcome
    return DutyEntryOut.model_validate(outcome)


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
