"""The supervisor's board: what is happening on patrol at a site right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.models.patrol import ReviewStatus, Round, RoundStatus, Scan
from backend.models.users import User
from backend.services.permissions import MANAGERS, Actor, require_site

RECENT = timedelta(hours=24)


@dataclass(slots=True)
class Board:
    rounds_in_progress: list[Round]
    rounds_closed: list[Round]  # the last 24 h, with their missed and late checkpoints
    review_queue: list[Scan]
    last_scans: list[tuple[User, Scan]]  # each guard's latest scan at the site


async def board(actor: Actor, site_id: int, now: datetime) -> Board:
    require_site(actor, site_id, MANAGERS)
    in_progress = await Round.filter(
        site_id=site_id,
        status__in=[RoundStatus.in_progress, RoundStatus.scheduled],
        due_at__lte=now,
        closes_at__gte=now,
    ).order_by("due_at")
    closed = (
        await Round.filter(site_id=site_id, status=RoundStatus.closed, closes_at__gte=now - RECENT)
        .order_by("-closes_at")
        .limit(50)
    )
    queue = (
        await Scan.filter(site_id=site_id, review=ReviewStatus.pending)
        .order_by("-client_time")
        .limit(50)
    )
    recent = (
        await Scan.filter(site_id=site_id, client_time__gte=now - RECENT)
        .order_by("-client_time")
        .limit(500)
    )
    latest: dict[int, Scan] = {}
    for scan in recent:
        latest.setdefault(scan.guard_id, scan)
    users = {u.id: u for u in await User.filter(id__in=list(latest))}
    return Board(
        in_progress,
        [r for r in closed if any(s["status"] in ("missed", "late") for s in r.stops)],
        queue,
        [(users[g], s) for g, s in latest.items() if g in users],
    )


def sse_message(name: str, data: Any, event_id: str = "") -> bytes:
    """One server-sent event; `data` is already JSON text."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {data}\n\n".encode()
