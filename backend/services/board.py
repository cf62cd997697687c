"""The supervisor's board: what is happening on patrol at a site right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.models.incidents import Incident
from backend.models.media import Media
from backend.models.patrol import Checkpoint, ReviewStatus, Round, RoundStatus, Scan, ScanPhoto
from backend.models.users import User
from backend.services.incidents import open_alerts
from backend.services.permissions import MANAGERS, Actor, require_site

RECENT = timedelta(hours=24)
MAX_FINDINGS = 50


@dataclass(slots=True)
class Finding:
    """What a guard reported at a checkpoint's checklist: items answered "no", notes, photos."""

    scan: Scan
    failed: list[str]  # the items' labels
    notes: list[tuple[str, str]]  # (label, text)
    photos: list[tuple[str, Media]] = field(default_factory=list)  # (label, photo)


@dataclass(slots=True)
class Board:
    rounds_in_progress: list[Round]
    rounds_closed: list[Round]  # the last 24 h, with their missed and late checkpoints
    review_queue: list[Scan]
    last_scans: list[tuple[User, Scan]]  # each guard's latest scan at the site
    checkpoint_names: dict[int, str]  # of every checkpoint the lists above mention
    guard_names: dict[int, str]  # of every guard the lists above mention
    # High and critical incidents not yet resolved, newest first.
    incidents: list[Incident] = field(default_factory=list)
    # Checklist answers of the last 24 h with an item answered "no", a note or a photo, newest
    # first.
    findings: list[Finding] = field(default_factory=list)


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
    problems = [r for r in closed if any(s["status"] in ("missed", "late") for s in r.stops)]
    rounds = [*in_progress, *problems]
    # Photo answers are strings too; those not kept as photos (malformed, not the guard's)
    # are told nowhere, so a finding is decided once its photos are known.
    answered = [s for s in recent if _worth_telling(s.answers)]
    photos = await _scan_photos(answered)
    cp_ids = {s["checkpoint_id"] for r in rounds for s in r.stops}
    cp_ids.update(s.checkpoint_id for s in [*queue, *latest.values(), *answered] if s.checkpoint_id)
    checkpoints = await Checkpoint.filter(id__in=list(cp_ids)).values_list(
        "id", "name", "checklist"
    )
    checklists = {int(i): items for i, _, items in checkpoints}
    found = [
        f
        for f in (
            _finding(s, checklists.get(s.checkpoint_id or 0, []), photos.get(str(s.id), {}))
            for s in answered
        )
        if f.failed or f.notes or f.photos
    ][:MAX_FINDINGS]
    guard_ids = {*latest, *(s.guard_id for s in queue), *(f.scan.guard_id for f in found)}
    guard_ids.update(r.guard_id for r in rounds if r.guard_id is not None)
    users = {u.id: u for u in await User.filter(id__in=list(guard_ids))}
    return Board(
        in_progress,
        problems,
        queue,
        [(users[g], s) for g, s in latest.items() if g in users],
        {int(i): str(n) for i, n, _ in checkpoints},
        {u.id: u.display_name or u.username for u in users.values()},
        incidents=await open_alerts(site_id),
        findings=found,
    )


def _worth_telling(answers: dict[str, Any]) -> bool:
    """An item answered "no", or a note or a photo (both strings) with something in it."""
    return any(v is False or (isinstance(v, str) and v.strip()) for v in answers.values())


async def _scan_photos(scans: list[Scan]) -> dict[str, dict[str, Media]]:
    """The photos kept with these scans: scan id -> item key -> photo."""
    out: dict[str, dict[str, Media]] = {}
    if not scans:
        return out
    rows = await ScanPhoto.filter(scan_id__in=[s.id for s in scans]).select_related("media")
    for row in rows:
        out.setdefault(str(row.scan_id), {})[row.key] = row.media
    return out


def _finding(scan: Scan, checklist: list[dict[str, Any]], photos: dict[str, Media]) -> Finding:
    """Answers in the checklist's order, named by its labels (a key since taken off the list
    keeps its key as its name). A photo item's answer is its photo, never a note."""
    labels = {item["key"]: item["label"] for item in checklist}
    photo_keys = {item["key"] for item in checklist if item.get("kind") == "photo"} | set(photos)
    order = {key: i for i, key in enumerate(labels)}
    answers = sorted(scan.answers.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return Finding(
        scan,
        [labels.get(k, k) for k, v in answers if v is False],
        [
            (labels.get(k, k), v.strip())
            for k, v in answers
            if isinstance(v, str) and v.strip() and k not in photo_keys
        ],
        [(labels.get(k, k), photos[k]) for k, _ in answers if k in photos],
    )


def sse_message(name: str, data: Any, event_id: str = "") -> bytes:
    """One server-sent event; `data` is already JSON text."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {data}\n\n".encode()
