"""The per-site change feed that `pull` serves: recording, reading by cursor, compacting."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.errors import BadCursor
from backend.models.sync import Change, ChangeOp, SiteSequence
from backend.services.bulk import db_datetimes, dialect_of, dump_json, insert_rows
from backend.services.permissions import STAFF, Actor

_CURSOR_PREFIX = "c1."
STAFF_AUDIENCE = "staff"
_CHANGE_COLUMNS = ("site_id", "seq", "entity", "entity_id", "op", "audience", "data", "at")


def unit_audience(unit_id: int) -> str:
    return f"unit:{unit_id}"


_ALLOCATE = (
    'INSERT INTO "site_sequences" ("site_id", "seq", "horizon") VALUES ({marks}, 0) '
    'ON CONFLICT ("site_id") DO UPDATE SET "seq" = "site_sequences"."seq" + excluded."seq" '
    'RETURNING "seq"'
)
_ALLOCATE_SQL = {
    "sqlite": _ALLOCATE.format(marks="?, ?"),
    "postgres": _ALLOCATE.format(marks="$1, $2"),
}


async def allocate_seqs(site_id: int, count: int) -> int:
    """Reserve `count` sequence numbers of a site; returns the first. Call inside a transaction.

    One statement that creates or bumps the site's row. The row stays locked until the
    transaction ends, so sequence numbers of one site commit in the order they were given, and
    a reader that has seen seq N has seen everything below N.
    """
    db = SiteSequence._meta.db
    rows = await db.execute_query_dict(_ALLOCATE_SQL[dialect_of(SiteSequence)], [site_id, count])
    return int(rows[0]["seq"]) - count + 1


async def record_changes(
    site_id: int,
    entity: str,
    items: Sequence[tuple[object, ChangeOp, dict[str, Any] | None]],
    *,
    audience: str = STAFF_AUDIENCE,
) -> None:
    """Append changes (entity id, op, data) of one site; call inside the transaction that made
    them."""
    if not items:
        return
    first = await allocate_seqs(site_id, len(items))
    now = db_datetimes(Change)(datetime.now(UTC))
    # `str(op)` is the value (a StrEnum), without the enum's slower property lookup.
    await insert_rows(
        Change,
        _CHANGE_COLUMNS,
        [
            (site_id, seq, entity, str(entity_id), str(op), audience, dump_json(data), now)
            for seq, (entity_id, op, data) in enumerate(items, first)
        ],
    )


async def record_change(
    site_id: int,
    entity: str,
    entity_id: object,
    op: ChangeOp,
    data: dict[str, Any] | None,
    *,
    audience: str = STAFF_AUDIENCE,
) -> None:
    await record_changes(site_id, entity, [(entity_id, op, data)], audience=audience)


def encode_cursor(positions: dict[int, int]) -> str:
    raw = json.dumps({str(k): v for k, v in sorted(positions.items())}, separators=(",", ":"))
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[int, int]:
    if not cursor:
        return {}
    if not cursor.startswith(_CURSOR_PREFIX) or len(cursor) > 4096:
        raise BadCursor("unknown cursor format")
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        positions = {int(k): int(v) for k, v in data.items()}
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise BadCursor(str(exc)) from exc
    if any(v < 0 or k <= 0 for k, v in positions.items()):
        raise BadCursor("negative position")
    return positions


@dataclass(slots=True)
class PullPage:
    changes: list[Change]
    cursor: str
    more: bool
    reset_sites: list[int]


async def pull(actor: Actor, cursor: str | None, limit: int) -> PullPage:
    positions = decode_cursor(cursor)
    sites = sorted(actor.site_ids())
    # Sites no longer visible drop out of the cursor: their changes stop flowing at once.
    positions = {s: positions.get(s, 0) for s in sites}
    horizons = {row.site_id: row.horizon for row in await SiteSequence.filter(site_id__in=sites)}
    reset_sites = [s for s in sites if 0 < positions[s] < horizons.get(s, 0)]
    for s in reset_sites:
        positions[s] = 0  # the client drops what it holds of the site and reads it again
    # One index range per site, in site order: a single OR over the sites would make the
    # database gather every newer change of every site and sort them before the LIMIT.
    rows: list[Change] = []
    for s in sites:
        if len(rows) > limit:
            break
        query = Change.filter(site_id=s, seq__gt=positions[s])
        if not actor.roles_at(s).intersection(STAFF):
            units = [unit_audience(u) for u in sorted(actor.unit_ids(s))]
            query = query.filter(audience__in=units or ["-"])
        rows += await query.order_by("seq").limit(limit + 1 - len(rows))
    more = len(rows) > limit
    rows = rows[:limit]
    for change in rows:
        positions[change.site_id] = max(positions[change.site_id], change.seq)
    # Pages run in (site, seq) order, so a site is fully read once the page passed beyond it;
    # its position may then skip the compacted gap below the horizon.
    last_site = rows[-1].site_id if rows else None
    for s in sites:
        if not more or (last_site is not None and last_site > s):
            positions[s] = max(positions[s], horizons.get(s, 0))
    return PullPage(rows, encode_cursor(positions), more, reset_sites)


async def compact(now: datetime, tombstone_retention: timedelta) -> int:
    """Drop superseded changes and old tombstones; returns how many rows went.

    Pulling from zero still yields every live entity (its newest change is kept). A client whose
    cursor is older than a dropped tombstone cannot learn of that delete, so the site's horizon
    moves past it and such a cursor gets `reset`.
    """
    db = Change._meta.db
    # Keeps the newest change of each entity. There is no index for this on purpose: every
    # push would pay for it, and compaction runs rarely, off the request path.
    superseded = (
        "DELETE FROM changes WHERE id NOT IN (SELECT MAX(id) FROM changes "
        "GROUP BY site_id, entity, entity_id)"
    )
    before = await Change.all().count()
    await db.execute_script(superseded)
    cutoff = now - tombstone_retention
    old = await Change.filter(op=ChangeOp.delete, at__lt=cutoff).values("site_id", "seq")
    horizon: dict[int, int] = {}
    for row in old:
        horizon[row["site_id"]] = max(horizon.get(row["site_id"], 0), row["seq"])
    for site_id, seq in horizon.items():
        await Change.filter(site_id=site_id, op=ChangeOp.delete, seq__lte=seq).delete()
        await SiteSequence.filter(site_id=site_id, horizon__lt=seq).update(horizon=seq)
    return before - await Change.all().count()
