"""BLE bridges: their configuration and health, pairing tags, and what they deliver.

A bridge authenticates with its own device token (issued by an admin, revocable). It sends
batches of sightings and beacon events, each batch once: the batch id is the idempotency key,
recorded in the same transaction as everything the batch changes. Badge sightings become patrol
scans of the checkpoints the bridge covers (an EID badge is proof; a static id is copyable, so
such a scan is only suspicious); equipment beacons keep their fire equipment's state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import (
    BatchTooLarge,
    Forbidden,
    MutationIdConflict,
    NotFound,
    ValidationFailed,
)
from backend.events import Event
from backend.http import ClientInfo
from backend.models.bridge import (
    Badge,
    BeaconEvent,
    BeaconKind,
    BridgeBatch,
    BridgeState,
    Sighting,
)
from backend.models.devices import Device, DeviceKind
from backend.models.equipment import FireEquipment
from backend.models.patrol import (
    Checkpoint,
    ReviewStatus,
    RoundStatus,
    Scan,
    ScanMethod,
    Tag,
    TagKind,
    Verdict,
)
from backend.models.users import Membership, Role, User
from backend.schemas.bridge import (
    BadgeIn,
    BadgePatch,
    BatchIn,
    BatchOut,
    BoundTo,
    BridgeConfig,
    BridgeHealth,
    BridgeInfo,
    BridgeSettings,
    CoverageIn,
    HeartbeatIn,
    KnownTag,
    PairIn,
    SightingIn,
    Target,
    Targets,
)
from backend.schemas.patrol import ScanIn
from backend.sealing import Sealer, SealError
from backend.services import audit, equipment, notices, rounds
from backend.services.bulk import insert_rows
from backend.services.eid import EidError, resolve_eid
from backend.services.patrol import tag_purpose
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site
from backend.services.scans import Judgement, plausibility, scan_out
from backend.settings import Settings

# How far an EID is searched beyond the accepted window, to tell a stale one from a stranger.
_EID_STALE_SEARCH = 48


def badge_purpose(kind: BeaconKind, identifier: str) -> str:
    return f"badge:{kind.value}:{identifier}"


def bridge_of(actor: Actor) -> Device:
    """The bridge making this request; people and phones are refused."""
    device = actor.device
    if not actor.is_device or device is None or device.kind != DeviceKind.bridge:
        raise Forbidden("bridges only")
    if device.site_id is None:
        raise Forbidden("bridge without a site")
    return device


async def _state(device: Device) -> BridgeState:
    state, _ = await BridgeState.get_or_create(device_id=device.id)
    return state


def _tag_kind(kind: BeaconKind) -> TagKind:
    return TagKind.ble_eid if kind == BeaconKind.eddystone_eid else TagKind.ble_static


async def _known(site_id: int) -> list[KnownTag]:
    known: list[KnownTag] = []
    names = dict(await Checkpoint.filter(site_id=site_id).values_list("id", "name"))
    for tag in await Tag.filter(
        site_id=site_id, kind__in=[TagKind.ble_static, TagKind.ble_eid], is_active=True
    ).order_by("id"):
        if tag.checkpoint_id is None:
            continue
        kind, _, ident = tag.identifier.partition("/")
        if kind not in BeaconKind.__members__:
            continue
        name = str(names.get(tag.checkpoint_id, ""))
        known.append(
            KnownTag(
                kind=BeaconKind(kind),
                ident=ident,
                name=tag.label or name,
                bound_to=BoundTo(type="checkpoint", id=tag.checkpoint_id, name=name),
            )
        )
    users = dict(await User.all().values_list("id", "display_name"))
    for badge in await Badge.filter(site_id=site_id, is_active=True).order_by("id"):
        who = str(users.get(badge.user_id, ""))
        known.append(
            KnownTag(
                kind=badge.kind,
                ident=badge.identifier,
                name=badge.label or who,
                bound_to=BoundTo(type="badge", id=badge.user_id, name=who),
            )
        )
    for item in await FireEquipment.filter(
        site_id=site_id, is_active=True, beacon_kind__isnull=False
    ).order_by("id"):
        assert item.beacon_kind is not None and item.beacon_ident is not None
        known.append(
            KnownTag(
                kind=item.beacon_kind,
                ident=item.beacon_ident,
                name=item.name,
                bound_to=BoundTo(type="equipment", id=item.id, name=item.name),
            )
        )
    return known


async def config(actor: Actor, settings: Settings) -> BridgeConfig:
    device = bridge_of(actor)
    assert device.site_id is not None
    return BridgeConfig(
        bridge=BridgeInfo(id=device.id, uid=device.uid, name=device.name, site_id=device.site_id),
        known=await _known(device.site_id),
        settings=BridgeSettings(
            heartbeat_seconds=settings.bridge_heartbeat_seconds,
            missing_after_seconds=settings.bridge_missing_after_seconds,
            low_battery_percent=settings.bridge_low_battery_percent,
        ),
    )


async def targets(actor: Actor) -> Targets:
    device = bridge_of(actor)
    site_id = device.site_id
    checkpoints = await Checkpoint.filter(site_id=site_id, is_active=True).order_by("name")
    guard_ids = await Membership.filter(
        site_id=site_id, is_active=True, role__in=list(STAFF)
    ).values_list("user_id", flat=True)
    guards = await User.filter(id__in=list(guard_ids), is_active=True).order_by("display_name")
    items = await FireEquipment.filter(site_id=site_id, is_active=True).order_by("name")
    return Targets(
        checkpoints=[Target(id=c.id, name=c.name) for c in checkpoints],
        guards=[Target(id=u.id, name=u.display_name) for u in guards],
        equipment=[Target(id=e.id, name=e.name, type=e.type.value) for e in items],
    )


async def pair(actor: Actor, data: PairIn, info: ClientInfo, sealer: Sealer) -> KnownTag:
    """Bind a tag the bridge sees to a checkpoint, a guard's badge or a piece of equipment."""
    device = bridge_of(actor)
    site_id = device.site_id
    assert site_id is not None
    target = data.target
    if target.type == "checkpoint":
        cp = await Checkpoint.get_or_none(id=target.id, site_id=site_id, is_active=True)
        if cp is None:
            raise ValidationFailed.field("target.id", "not_found")
        kind = _tag_kind(data.kind)
        identifier = f"{data.kind.value}/{data.ident}"
        secret = bytes.fromhex(data.identity_key) if data.identity_key else None
        sealed = sealer.seal(secret, tag_purpose(kind, identifier)) if secret else None
        async with in_transaction():
            if await Tag.exists(kind=kind, identifier=identifier):
                raise ValidationFailed.field("ident", "identifier_taken")
            tag = await Tag.create(
                site_id=site_id,
                checkpoint_id=cp.id,
                kind=kind,
                identifier=identifier,
                label=data.label,
                secret_sealed=sealed,
                eid_rotation_exponent=data.rotation_exponent,
                eid_clock_offset=data.clock_offset,
            )
            await audit.record(
                actor,
                info,
                "tag.paired",
                "tag",
                tag.id,
                site_id=site_id,
                after={"kind": kind.value, "identifier": identifier, "checkpoint_id": cp.id},
            )
        bound = BoundTo(type="checkpoint", id=cp.id, name=cp.name)
        return KnownTag(
            kind=data.kind, ident=data.ident, name=data.label or cp.name, bound_to=bound
        )
    if target.type == "badge":
        badge = await _create_badge(
            actor,
            site_id,
            BadgeIn.model_validate({**_keys(data), "user_id": target.id}),
            info,
            sealer,
            field_name="target.id",
        )
        user = await User.get(id=badge.user_id)
        bound = BoundTo(type="badge", id=user.id, name=user.display_name)
        return KnownTag(
            kind=badge.kind,
            ident=badge.identifier,
            name=badge.label or user.display_name,
            bound_to=bound,
        )
    item = await equipment.bind_beacon(actor, site_id, target.id, data.kind, data.ident, info)
    bound = BoundTo(type="equipment", id=item.id, name=item.name)
    return KnownTag(kind=data.kind, ident=data.ident, name=item.name, bound_to=bound)


def _keys(data: PairIn) -> dict[str, Any]:
    return data.model_dump(
        include={"kind", "ident", "label", "identity_key", "rotation_exponent", "clock_offset"}
    )


async def heartbeat(actor: Actor, data: HeartbeatIn) -> None:
    device = bridge_of(actor)
    state = await _state(device)
    state.last_heartbeat_at = datetime.now(UTC)
    state.version = data.version
    state.adapter = data.adapter.model_dump()
    state.spool_size = data.spool_size
    state.dead_letters = data.dead_letters
    await state.save()


# --- ingestion -------------------------------------------------------------------------------


@dataclass(slots=True)
class Ingested:
    out: BatchOut
    events: list[Event] = field(default_factory=list)


async def ingest(actor: Actor, data: BatchIn, settings: Settings, sealer: Sealer) -> Ingested:
    """Apply one batch exactly once; a replay answers `duplicate` and writes nothing."""
    device = bridge_of(actor)
    site_id = device.site_id
    assert site_id is not None
    if len(data.sightings) > settings.sync_max_batch or len(data.events) > settings.sync_max_batch:
        raise BatchTooLarge(limit=settings.sync_max_batch)
    if (found := await _replayed(device, data)) is not None:
        return Ingested(found)
    now = datetime.now(UTC)
    published: list[Event] = []
    try:
        async with in_transaction():
            await BridgeBatch.create(
                id=data.batch_id,
                device_id=device.id,
                site_id=site_id,
                received_at=now,
                sent_at=data.sent_at,
                sightings=len(data.sightings),
                events=len(data.events),
            )
            taken = set(
                await BeaconEvent.filter(id__in=[e.id for e in data.events]).values_list(
                    "id", flat=True
                )
            )
            if taken:
                raise ValidationFailed.field("events", "identifier_taken")
            await _store_sightings(device, site_id, data)
            await _store_events(device, site_id, data, now)
            published += await equipment.apply_sightings(
                site_id, device.id, data.sightings, settings.bridge_low_battery_percent
            )
            published += await equipment.apply_events(site_id, device.id, data.events, settings)
            published += await _badge_scans(device, data.sightings, settings, sealer)
            await _alert_supervisors(site_id, published, settings)
            state = await _state(device)
            state.last_batch_at = now
            await state.save(update_fields=["last_batch_at"])
    except IntegrityError:
        # The same batch raced in on another connection: it is applied there, once.
        if (found := await _replayed(device, data)) is not None:
            return Ingested(found)
        raise
    out = BatchOut(
        batch_id=data.batch_id,
        status="accepted",
        sightings=len(data.sightings),
        events=len(data.events),
    )
    return Ingested(out, published)


# What a person must go and look at; "back" and "motion" only show on the board.
_PUSHED_ALERTS = frozenset({"missing", "low_battery", "tamper"})


async def _alert_supervisors(site_id: int, events: list[Event], settings: Settings) -> None:
    for e in events:
        what = str(e.data.get("alert", ""))
        if e.name != equipment.ALERT or what not in _PUSHED_ALERTS:
            continue
        await notices.alert_supervisors(
            site_id,
            f"equipment_{what}",
            {"name": e.data["name"], "equipment_id": e.data["equipment_id"]},
            settings=settings,
            url=f"/equipment/{e.data['equipment_id']}",
            ref=f"equipment:{e.data['equipment_id']}:{what}:{e.data['at']}",
        )


async def _replayed(device: Device, data: BatchIn) -> BatchOut | None:
    batch = await BridgeBatch.get_or_none(id=data.batch_id)
    if batch is None:
        return None
    if batch.device_id != device.id:
        raise MutationIdConflict("batch id used by another bridge")
    return BatchOut(
        batch_id=data.batch_id, status="duplicate", sightings=batch.sightings, events=batch.events
    )


_SIGHTING_COLUMNS = (
    "site_id",
    "device_id",
    "batch_id",
    "kind",
    "ident",
    "address",
    "first_seen",
    "last_seen",
    "rssi_max",
    "count",
    "battery_percent",
    "battery_mv",
    "temperature_c",
)


async def _store_sightings(device: Device, site_id: int, data: BatchIn) -> None:
    batch = str(data.batch_id)
    rows = [
        (
            site_id,
            device.id,
            batch,
            s.kind.value,
            s.ident,
            s.address,
            s.first_seen.astimezone(UTC),
            s.last_seen.astimezone(UTC),
            s.rssi_max,
            s.count,
            s.battery_percent,
            s.battery_mv,
            s.temperature_c,
        )
        for s in data.sightings
    ]
    await insert_rows(Sighting, _SIGHTING_COLUMNS, rows)


async def _store_events(device: Device, site_id: int, data: BatchIn, now: datetime) -> None:
    if not data.events:
        return
    await BeaconEvent.bulk_create(
        [
            BeaconEvent(
                id=e.id,
                site_id=site_id,
                device_id=device.id,
                batch_id=data.batch_id,
                type=e.type,
                kind=e.kind,
                ident=e.ident,
                address=e.address,
                at=e.at.astimezone(UTC),
                received_at=now,
                detail=e.detail,
            )
            for e in data.events
        ]
    )


# An EID badge with its identity key opened: (badge, key, rotation exponent).
_EidBadge = tuple[Badge, bytes, int]


def _open_eid_badges(badges: Sequence[Badge], sealer: Sealer) -> list[_EidBadge]:
    """The EID badges' keys, opened once per batch rather than once per sighting."""
    opened = []
    for badge in badges:
        if badge.kind != BeaconKind.eddystone_eid or badge.secret_sealed is None:
            continue
        if badge.eid_rotation_exponent is None:
            continue
        try:
            ik = sealer.open(badge.secret_sealed, badge_purpose(badge.kind, badge.identifier))
        except SealError:
            continue
        opened.append((badge, ik, badge.eid_rotation_exponent))
    return opened


def _resolve_badge(
    s: SightingIn, statics: dict[tuple[str, str], Badge], eids: list[_EidBadge]
) -> tuple[Badge | None, bool]:
    """The badge a sighting shows, and whether its EID is stale (outside ±1 rotation)."""
    if s.kind != BeaconKind.eddystone_eid:
        return statics.get((s.kind.value, s.ident)), False
    eid = bytes.fromhex(s.ident)
    seen = int(s.last_seen.timestamp())
    for badge, ik, exp in eids:
        counter = seen - (badge.eid_clock_offset or 0)
        try:
            if resolve_eid(eid, ik, exp, counter, window=1) is not None:
                return badge, False
            if resolve_eid(eid, ik, exp, counter, window=_EID_STALE_SEARCH) is not None:
                return badge, True
        except EidError:
            continue
    return None, False


async def _badge_scans(
    device: Device, sightings: Sequence[SightingIn], settings: Settings, sealer: Sealer
) -> list[Event]:
    site_id = device.site_id
    state = await _state(device)
    if not state.covers or not sightings:
        return []
    checkpoints = await Checkpoint.filter(id__in=state.covers, site_id=site_id, is_active=True)
    if not checkpoints:
        return []
    badges = await Badge.filter(site_id=site_id, is_active=True)
    statics = {(b.kind.value, b.identifier): b for b in badges if b.secret_sealed is None}
    eids = _open_eid_badges(badges, sealer)
    users: dict[int, User] = {}
    lingering = timedelta(seconds=settings.patrol_duplicate_seconds)
    published: list[Event] = []
    for s in sorted(sightings, key=lambda x: x.first_seen):
        badge, stale = _resolve_badge(s, statics, eids)
        if badge is None:
            continue
        if badge.user_id not in users:
            users[badge.user_id] = await User.get(id=badge.user_id)
        guard = users[badge.user_id]
        when = s.first_seen.astimezone(UTC)
        for cp in checkpoints:
            # A guard standing by a bridge is one visit, not one scan per reporting interval.
            if await Scan.filter(
                guard_id=guard.id,
                checkpoint_id=cp.id,
                method=ScanMethod.ble,
                client_time__gte=when - lingering,
                client_time__lte=s.last_seen,
            ).exists():
                continue
            j = Judgement(checkpoint=cp)
            if stale:
                j.reasons.append("stale_eid")
            else:
                if badge.kind != BeaconKind.eddystone_eid:
                    j.reasons.append("weak_badge")
                probe = ScanIn(
                    id=uuid.uuid4(),
                    site_id=cp.site_id,
                    method=ScanMethod.ble,
                    client_time=when,
                )
                await plausibility(Actor(user=guard), probe, settings, 0, j)
            verdict = j.verdict
            now = datetime.now(UTC)
            scan = await Scan.create(
                id=uuid.uuid4(),
                site_id=cp.site_id,
                checkpoint=cp,
                tag=None,
                guard_id=guard.id,
                device_id=device.id,
                method=ScanMethod.ble,
                reading={"badge_id": badge.id, "ident": s.ident, "bridge_id": device.id},
                answers={},
                client_time=when,
                server_time=now,
                clock_skew_seconds=0,
                verdict=verdict,
                reasons=sorted(set(j.reasons)),
                review=ReviewStatus.pending if verdict == Verdict.suspicious else ReviewStatus.none,
            )
            credited = await rounds.credit_scan(scan)
            published.append(Event(cp.site_id, "scan.recorded", scan_out(scan)))
            if credited is not None and credited.status == RoundStatus.closed:
                # Delivered late (the bridge was offline): a missed stop is filled after all.
                published.append(rounds.updated_event(credited))
    return published


# --- administration --------------------------------------------------------------------------


def _health(device: Device, state: BridgeState | None, settings: Settings) -> BridgeHealth:
    beat = state.last_heartbeat_at if state else None
    limit = timedelta(seconds=3 * settings.bridge_heartbeat_seconds)
    return BridgeHealth(
        device_id=device.id,
        name=device.name,
        revoked=device.revoked_at is not None,
        covers=list(state.covers) if state else [],
        last_heartbeat_at=beat,
        last_batch_at=state.last_batch_at if state else None,
        version=state.version if state else "",
        adapter=dict(state.adapter) if state else {},
        spool_size=state.spool_size if state else 0,
        dead_letters=state.dead_letters if state else 0,
        stale=beat is None or datetime.now(UTC) - beat > limit,
    )


async def list_bridges(actor: Actor, site_id: int, settings: Settings) -> list[BridgeHealth]:
    require_site(actor, site_id, MANAGERS)
    return await bridges_of_site(site_id, settings)


async def bridges_of_site(site_id: int, settings: Settings) -> list[BridgeHealth]:
    devices = await Device.filter(
        site_id=site_id, kind=DeviceKind.bridge, revoked_at__isnull=True
    ).order_by("name", "id")
    states = {
        s.device_id: s for s in await BridgeState.filter(device_id__in=[d.id for d in devices])
    }
    return [_health(d, states.get(d.id), settings) for d in devices]


async def _bridge_for_admin(actor: Actor, device_id: int) -> Device:
    device = await Device.get_or_none(id=device_id, kind=DeviceKind.bridge)
    if device is None or device.site_id is None:
        raise NotFound("device")
    require_site(actor, device.site_id, (Role.admin,))
    return device


async def set_coverage(
    actor: Actor, device_id: int, data: CoverageIn, info: ClientInfo, settings: Settings
) -> BridgeHealth:
    device = await _bridge_for_admin(actor, device_id)
    wanted = sorted(set(data.checkpoint_ids))
    rows: list[int] = await Checkpoint.filter(  # type: ignore[assignment]
        id__in=wanted, site_id=device.site_id
    ).values_list("id", flat=True)
    if missing := [c for c in data.checkpoint_ids if c not in set(rows)]:
        raise ValidationFailed.field(
            f"checkpoint_ids.{data.checkpoint_ids.index(missing[0])}", "not_found"
        )
    async with in_transaction():
        state = await _state(device)
        before = list(state.covers)
        state.covers = wanted
        await state.save(update_fields=["covers"])
        await audit.record(
            actor,
            info,
            "bridge.coverage_set",
            "device",
            device.id,
            site_id=device.site_id,
            before={"covers": before},
            after={"covers": wanted},
        )
    return _health(device, state, settings)


async def list_badges(actor: Actor, site_id: int) -> list[Badge]:
    require_site(actor, site_id, MANAGERS)
    return await Badge.filter(site_id=site_id).order_by("id")


async def create_badge(
    actor: Actor, site_id: int, data: BadgeIn, info: ClientInfo, sealer: Sealer
) -> Badge:
    require_site(actor, site_id, (Role.admin,))
    return await _create_badge(actor, site_id, data, info, sealer, field_name="user_id")


async def _create_badge(
    actor: Actor,
    site_id: int,
    data: BadgeIn,
    info: ClientInfo,
    sealer: Sealer,
    *,
    field_name: str,
) -> Badge:
    if not await Membership.exists(
        site_id=site_id, user_id=data.user_id, is_active=True, role__in=list(STAFF)
    ):
        raise ValidationFailed.field(field_name, "not_found")
    secret = bytes.fromhex(data.identity_key) if data.identity_key else None
    sealed = sealer.seal(secret, badge_purpose(data.kind, data.ident)) if secret else None
    async with in_transaction():
        if await Badge.exists(kind=data.kind, identifier=data.ident):
            raise ValidationFailed.field("ident", "identifier_taken")
        badge = await Badge.create(
            site_id=site_id,
            user_id=data.user_id,
            kind=data.kind,
            identifier=data.ident,
            label=data.label,
            secret_sealed=sealed,
            eid_rotation_exponent=data.rotation_exponent,
            eid_clock_offset=data.clock_offset,
        )
        await audit.record(
            actor,
            info,
            "badge.created",
            "badge",
            badge.id,
            site_id=site_id,
            after={"kind": data.kind.value, "identifier": data.ident, "user_id": data.user_id},
        )
    return badge


async def update_badge(actor: Actor, badge_id: int, patch: BadgePatch, info: ClientInfo) -> Badge:
    badge = await Badge.get_or_none(id=badge_id)
    if badge is None:
        raise NotFound("badge")
    require_site(actor, badge.site_id, (Role.admin,))
    changes = patch.model_dump(exclude_none=True)
    before = {k: getattr(badge, k) for k in changes}
    async with in_transaction():
        for key, value in changes.items():
            setattr(badge, key, value)
        await badge.save()
        await audit.record(
            actor,
            info,
            "badge.updated",
            "badge",
            badge.id,
            site_id=badge.site_id,
            before=before,
            after=changes,
        )
    return badge


async def purge_sightings(settings: Settings) -> int:
    """Raw sightings are bulky and only useful for a while; events and state stay."""
    cutoff = datetime.now(UTC) - timedelta(days=settings.bridge_sighting_retention_days)
    return await Sighting.filter(last_seen__lt=cutoff).delete()
