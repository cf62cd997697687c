"""Checkpoint scans and their verdicts: what a tap, a photographed code or a beacon proves.

Every scan from a device is kept with its verdict and reasons, even a rejected one: the record
is evidence. A malformed mutation (bad args, wrong site) is refused instead and keeps nothing.

    rejected   (never counts): unknown_tag, foreign_tag, tag_inactive, unbound_tag,
               bad_sun_params, bad_mac, replayed_counter, stale_eid, duplicate,
               outside_radius_only (position the only evidence), bad_checklist (an answer
               to an item the checkpoint does not have, or of the wrong kind, or a photo
               answer that is no SHA-256 of a photo the guard uploaded), round_closed
               (the scan names a closed round and was made after its window and late grace;
               one made inside them still counts, however late it syncs)
    suspicious (counts once a supervisor accepts it): manual_entry, outside_radius,
               impossible_speed, clock_skew, burst, too_soon (faster than the tour's
               "not before" spacing; decided when the scan is credited to a round),
               weak_badge (a static BLE badge seen by a bridge: services.bridge)
    valid      otherwise
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from backend.errors import AnbaoError, Inactive, NotFound, ValidationFailed
from backend.events import Event
from backend.http import ClientInfo
from backend.models.organizations import Site
from backend.models.patrol import (
    Checkpoint,
    ReviewStatus,
    Round,
    RoundStatus,
    Scan,
    ScanMethod,
    ScanPhoto,
    Tag,
    TagKind,
    Verdict,
)
from backend.schemas.common import ListQuery
from backend.schemas.patrol import ScanIn
from backend.sealing import Sealer, SealError
from backend.services import audit, media, notices, rounds
from backend.services.eid import EidError, resolve_eid
from backend.services.patrol import tag_purpose
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site
from backend.services.sun import (
    DecryptFailed,
    SunError,
    decrypt_picc_data,
    parse_sun_params,
    sdm_mac,
    session_mac_key,
)
from backend.settings import Settings

REJECTING = frozenset(
    {
        "unknown_tag",
        "foreign_tag",
        "tag_inactive",
        "unbound_tag",
        "bad_sun_params",
        "bad_mac",
        "replayed_counter",
        "round_closed",
        "stale_eid",
        "duplicate",
        "outside_radius_only",
        "bad_checklist",
    }
)
# How far an EID is searched beyond the accepted window, to tell a stale one from a stranger.
_EID_STALE_SEARCH = 48
# A photo item is answered with the photo's SHA-256, as the phone computed it.
_PHOTO_ANSWER = re.compile(r"[0-9a-f]{64}")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


@dataclass(slots=True)
class Judgement:
    tag: Tag | None = None
    checkpoint: Checkpoint | None = None
    reasons: list[str] = field(default_factory=list)
    sun_counter: int | None = None  # to store on the tag once the scan is accepted
    photos: dict[str, str] = field(default_factory=dict)  # item key -> a photo the guard holds

    @property
    def verdict(self) -> Verdict:
        if any(r in REJECTING for r in self.reasons):
            return Verdict.rejected
        return Verdict.suspicious if self.reasons else Verdict.valid


def _check_required(data: ScanIn) -> None:
    needs = {
        ScanMethod.qr: ("code",),
        ScanMethod.manual: ("code",),
        ScanMethod.nfc: ("uid",),
        ScanMethod.nfc_sun: ("e", "c"),
        ScanMethod.gps: ("checkpoint_id", "position"),
    }.get(data.method, ())
    for name in needs:
        if getattr(data, name) is None:
            raise ValidationFailed.field(name, "required_for_kind")
    if data.method == ScanMethod.ble and data.eid is None and data.address is None:
        raise ValidationFailed.field("eid", "required_for_kind")


async def _org_tags(site: Site, kind: TagKind) -> list[Tag]:
    return await Tag.filter(kind=kind, site__organization_id=site.organization_id)


async def _resolve_sun(data: ScanIn, site: Site, sealer: Sealer, j: Judgement) -> None:
    try:
        enc, mac = parse_sun_params(data.e or "", data.c or "")
    except SunError:
        j.reasons.append("bad_sun_params")
        return
    for tag in await _org_tags(site, TagKind.nfc_sun):
        if tag.secret_sealed is None:
            continue
        try:
            keys = sealer.open(tag.secret_sealed, tag_purpose(tag.kind, tag.identifier))
            picc = decrypt_picc_data(enc, keys[:16])
        except (SealError, DecryptFailed):
            continue
        if picc.uid.hex().upper() != tag.identifier:
            continue
        j.tag = tag
        expected = sdm_mac(session_mac_key(keys[16:], picc.uid, picc.read_counter))
        if not hmac.compare_digest(expected, mac):
            j.reasons.append("bad_mac")
        elif picc.read_counter <= tag.sun_counter:
            j.reasons.append("replayed_counter")
        else:
            j.sun_counter = picc.read_counter
        return


async def _resolve_eid(
    data: ScanIn, site: Site, sealer: Sealer, now: datetime, j: Judgement
) -> None:
    eid = bytes.fromhex(data.eid or "")
    for tag in await _org_tags(site, TagKind.ble_eid):
        if tag.secret_sealed is None or tag.eid_rotation_exponent is None:
            continue
        try:
            ik = sealer.open(tag.secret_sealed, tag_purpose(tag.kind, tag.identifier))
            counter = int(now.timestamp()) - (tag.eid_clock_offset or 0)
            if resolve_eid(eid, ik, tag.eid_rotation_exponent, counter, window=1) is not None:
                j.tag = tag
                return
            if (
                resolve_eid(eid, ik, tag.eid_rotation_exponent, counter, window=_EID_STALE_SEARCH)
                is not None
            ):
                j.tag = tag
                j.reasons.append("stale_eid")
                return
        except (SealError, EidError):
            continue


async def judge(
    actor: Actor,
    data: ScanIn,
    site: Site,
    settings: Settings,
    sealer: Sealer,
    skew: int,
    now: datetime,
) -> Judgement:
    j = Judgement()
    method = data.method
    if method in (ScanMethod.qr, ScanMethod.manual):
        j.tag = await Tag.get_or_none(kind=TagKind.qr, identifier=(data.code or "").upper())
        if method == ScanMethod.manual:
            j.reasons.append("manual_entry")
    elif method == ScanMethod.nfc:
        uid = (data.uid or "").replace(":", "").upper()
        j.tag = await Tag.get_or_none(kind=TagKind.nfc_uid, identifier=uid)
    elif method == ScanMethod.nfc_sun:
        await _resolve_sun(data, site, sealer, j)
    elif method == ScanMethod.ble and data.eid is not None:
        await _resolve_eid(data, site, sealer, now, j)
    elif method == ScanMethod.ble:
        j.tag = await Tag.get_or_none(kind=TagKind.ble_static, identifier=data.address)
    elif method == ScanMethod.gps:
        j.tag = await Tag.get_or_none(kind=TagKind.gps, identifier=f"gps-{data.checkpoint_id}")

    if j.tag is None:
        if "bad_sun_params" not in j.reasons:
            j.reasons.append("unknown_tag")
        return j
    if j.tag.site_id != site.id:
        j.reasons.append("foreign_tag")
        return j
    if not j.tag.is_active:
        j.reasons.append("tag_inactive")
    if j.tag.checkpoint_id is None:
        j.reasons.append("unbound_tag")
        return j
    j.checkpoint = await Checkpoint.get(id=j.tag.checkpoint_id)
    photos_held = await _held_photos(actor, data.answers, j.checkpoint.checklist, j)
    if not _answers_fit(data.answers, j.checkpoint.checklist) or not photos_held:
        j.reasons.append("bad_checklist")
        return j
    if data.round_id is not None:
        rnd = await Round.get_or_none(id=data.round_id, site_id=site.id)
        made = data.client_time or now
        if (
            rnd is not None
            and rnd.status == RoundStatus.closed
            and made > rnd.closes_at + rounds.LATE_GRACE
        ):
            j.reasons.append("round_closed")
            return j
    await plausibility(actor, data, settings, skew, j)
    return j


def _answers_fit(answers: dict[str, bool | str], checklist: list[dict[str, Any]]) -> bool:
    """Answers only to the checkpoint's own items, a yes/no to a check, text to a note, a
    SHA-256 to a photo."""
    kinds = {item["key"]: item.get("kind", "check") for item in checklist}
    for key, value in answers.items():
        kind = kinds.get(key)
        if kind is None:
            return False
        if kind == "check" and not isinstance(value, bool):
            return False
        if kind == "note" and (not isinstance(value, str) or len(value) > 500):
            return False
        if kind == "photo" and not (isinstance(value, str) and _PHOTO_ANSWER.fullmatch(value)):
            return False
    return True


async def _held_photos(
    actor: Actor, answers: dict[str, bool | str], checklist: list[dict[str, Any]], j: Judgement
) -> bool:
    """Whether every photo answer names a photo the guard uploaded (knowing a hash is not
    holding the photo: it would show another site's photo to this one). Those that do are put
    in `j.photos`, to be kept with the scan even when another answer is wrong."""
    kinds = {item["key"]: item.get("kind", "check") for item in checklist}
    photos = {k: v for k, v in answers.items() if kinds.get(k) == "photo"}
    formed = {k: v for k, v in photos.items() if isinstance(v, str) and _PHOTO_ANSWER.fullmatch(v)}
    if not formed:
        return not photos
    missing = set(await media.not_held(actor, sorted(set(formed.values()))))
    j.photos = {k: v for k, v in formed.items() if v not in missing}
    return len(j.photos) == len(photos)


async def plausibility(
    actor: Actor, data: ScanIn, settings: Settings, skew: int, j: Judgement
) -> None:
    cp = j.checkpoint
    assert cp is not None and actor.user is not None
    when = data.client_time or datetime.now(UTC)
    if data.position and cp.latitude is not None and cp.longitude is not None:
        off = distance_m(data.position.latitude, data.position.longitude, cp.latitude, cp.longitude)
        if off > cp.radius_m + (data.position.accuracy_m or 0):
            # Position is weak indoors, so it only raises doubt, unless it is all there is.
            j.reasons.append(
                "outside_radius_only" if data.method == ScanMethod.gps else "outside_radius"
            )
    if abs(skew) > settings.sync_max_clock_skew_seconds:
        j.reasons.append("clock_skew")
    window = timedelta(
        seconds=max(settings.patrol_burst_seconds, settings.patrol_duplicate_seconds)
    )
    recent = (
        await Scan.filter(
            guard_id=actor.user.id, client_time__gte=when - window, client_time__lte=when + window
        )
        .exclude(verdict=Verdict.rejected)
        .select_related("checkpoint")
        .order_by("-client_time")
    )
    dup_window = timedelta(seconds=settings.patrol_duplicate_seconds)
    if any(s.checkpoint_id == cp.id and abs(s.client_time - when) < dup_window for s in recent):
        j.reasons.append("duplicate")
        return
    burst_window = timedelta(seconds=settings.patrol_burst_seconds)
    burst = [s for s in recent if abs(s.client_time - when) <= burst_window]
    if len(burst) + 1 >= settings.patrol_burst_count:
        j.reasons.append("burst")
    before = [s for s in recent if s.client_time <= when]
    last = (
        before[0]
        if before
        else await Scan.filter(guard_id=actor.user.id, client_time__lt=when)
        .exclude(verdict=Verdict.rejected)
        .select_related("checkpoint")
        .order_by("-client_time")
        .first()
    )
    if last is not None and last.checkpoint is not None and cp.latitude is not None:
        prev = last.checkpoint
        if prev.latitude is not None and prev.longitude is not None and cp.longitude is not None:
            metres = distance_m(prev.latitude, prev.longitude, cp.latitude, cp.longitude)
            seconds = max((when - last.client_time).total_seconds(), 1.0)
            if metres / seconds > settings.patrol_max_speed_mps:
                j.reasons.append("impossible_speed")


def scan_out(scan: Scan) -> dict[str, Any]:
    return {
        "id": str(scan.id),
        "site_id": scan.site_id,
        "checkpoint_id": scan.checkpoint_id,
        "tag_id": scan.tag_id,
        "guard_id": scan.guard_id,
        "method": scan.method.value,
        "verdict": scan.verdict.value,
        "reasons": list(scan.reasons),
        "review": scan.review.value,
        "client_time": scan.client_time.isoformat(),
        "server_time": scan.server_time.isoformat(),
    }


async def record_scans(
    actor: Actor,
    items: Sequence[ScanIn],
    info: ClientInfo,
    settings: Settings,
    sealer: Sealer,
    skew: int,
) -> list[dict[str, Any] | AnbaoError]:
    """Judge and keep scans in order (each one's verdict may depend on the one before).

    Call inside a transaction.
    """
    assert actor.user is not None
    outcomes: list[dict[str, Any] | AnbaoError] = []
    for data in items:
        try:
            require_site(actor, data.site_id, STAFF)
            site = await Site.get_or_none(id=data.site_id)
            if site is None:
                raise NotFound("site")
            if not site.is_active:
                raise Inactive("site")
            _check_required(data)
            if await Scan.exists(id=data.id):
                raise ValidationFailed.field("id", "identifier_taken")
            if data.round_id is not None and not await Round.exists(
                id=data.round_id, site_id=data.site_id
            ):
                raise ValidationFailed.field("round_id", "not_found")
        except AnbaoError as exc:
            outcomes.append(exc)
            continue
        now = datetime.now(UTC)
        j = await judge(actor, data, site, settings, sealer, skew, now)
        verdict = j.verdict
        reading = {
            k: v
            for k, v in data.model_dump(
                include={"code", "uid", "e", "c", "eid", "address", "checkpoint_id"}
            ).items()
            if v is not None
        }
        scan = await Scan.create(
            id=data.id,
            site=site,
            checkpoint=j.checkpoint,
            tag=j.tag,
            guard_id=actor.user.id,
            round_id=data.round_id,
            device_id=actor.device_id,
            method=data.method,
            reading=reading,
            latitude=data.position.latitude if data.position else None,
            longitude=data.position.longitude if data.position else None,
            accuracy_m=data.position.accuracy_m if data.position else None,
            answers=data.answers,
            client_time=(data.client_time or now).astimezone(UTC),
            server_time=now,
            clock_skew_seconds=skew,
            verdict=verdict,
            reasons=sorted(set(j.reasons)),
            review=ReviewStatus.pending if verdict == Verdict.suspicious else ReviewStatus.none,
        )
        if j.photos:
            await ScanPhoto.bulk_create(
                [ScanPhoto(scan=scan, media_id=h, key=key) for key, h in sorted(j.photos.items())]
            )
        if j.sun_counter is not None and verdict != Verdict.rejected and j.tag is not None:
            # The counter only ever rises: a replay of this tap is refused from now on.
            await Tag.filter(id=j.tag.id, sun_counter__lt=j.sun_counter).update(
                sun_counter=j.sun_counter
            )
        credited = await rounds.credit_scan(scan)
        outcome = scan_out(scan)
        if credited is not None and credited.status == RoundStatus.closed:
            # A late-synced scan changed a closed round: `round_events` tells the board.
            outcome["round_updated"] = rounds.round_data(credited)
        outcomes.append(outcome)
    await _alert_reviews(outcomes)
    return outcomes


def round_events(outcome: dict[str, Any]) -> list[Event]:
    """The live events a recorded scan causes beyond `scan.recorded`: `round.updated` when it
    filled a stop of a round already closed."""
    changed = outcome.get("round_updated")
    return [Event(int(changed["site_id"]), rounds.UPDATED, changed)] if changed else []


async def _alert_reviews(outcomes: Sequence[dict[str, Any] | AnbaoError]) -> None:
    """Tell each site's supervisors that doubtful scans wait for review (one alert per site)."""
    pending: dict[int, int] = {}
    for o in outcomes:
        if isinstance(o, dict) and o["review"] == ReviewStatus.pending.value:
            pending[o["site_id"]] = pending.get(o["site_id"], 0) + 1
    for site_id, count in sorted(pending.items()):
        await notices.alert_supervisors(
            site_id, "scan_review", {"count": count}, url="/review", ref=f"scans:{site_id}"
        )


async def record_scan(
    actor: Actor, data: ScanIn, info: ClientInfo, settings: Settings, sealer: Sealer
) -> dict[str, Any]:
    async with in_transaction():
        (outcome,) = await record_scans(actor, [data], info, settings, sealer, 0)
    if isinstance(outcome, AnbaoError):
        raise outcome
    return outcome


async def list_scans(
    actor: Actor,
    site_id: int,
    listing: ListQuery,
    verdict: Verdict | None,
    review: ReviewStatus | None,
) -> tuple[list[Scan], int]:
    require_site(actor, site_id, MANAGERS)
    query = Scan.filter(site_id=site_id)
    if verdict is not None:
        query = query.filter(verdict=verdict)
    if review is not None:
        query = query.filter(review=review)
    total = await query.count()
    rows = await query.order_by("-client_time").offset(listing.offset).limit(listing.limit)
    return rows, total


async def review_scan(
    actor: Actor, scan_id: str, decision: str, note: str, info: ClientInfo
) -> Scan:
    """A supervisor's decision on a suspicious scan; audited."""
    scan = await Scan.get_or_none(id=scan_id)
    if scan is None:
        raise NotFound("scan")
    require_site(actor, scan.site_id, MANAGERS)
    if scan.review != ReviewStatus.pending:
        raise ValidationFailed.field("decision", "not_pending")
    before = {"review": scan.review.value}
    async with in_transaction():
        scan.review = ReviewStatus(decision)
        scan.reviewed_by_id = actor.user_id
        scan.reviewed_at = datetime.now(UTC)
        scan.review_note = note
        await scan.save(update_fields=["review", "reviewed_by_id", "reviewed_at", "review_note"])
        await rounds.credit_scan(scan)  # an accepted scan now counts
        await audit.record(
            actor,
            info,
            "scan.reviewed",
            "scan",
            scan.id,
            site_id=scan.site_id,
            before=before,
            after={"review": decision, "note": note},
        )
    return scan
