"""Fire equipment: the register, and the state its beacon reports through the bridges.

Between the monthly hand checks, a beacon on each extinguisher tells whether it is still there
(seen), moved or tampered with (vendor flags) and how its battery is; a change that needs a
person raises an alert on the supervisors' board.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.errors import NotFound, ValidationFailed
from backend.events import Event
from backend.http import ClientInfo
from backend.models.bridge import BeaconEvent, BeaconKind, EventType
from backend.models.equipment import FireEquipment
from backend.models.users import Role
from backend.schemas.bridge import BeaconEventIn, SightingIn
from backend.schemas.equipment import EquipmentIn, EquipmentPatch, EquipmentQuery
from backend.services import audit
from backend.services.listing import apply_patch
from backend.services.organizations import active_site, check_zone
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site
from backend.settings import Settings

ALERT = "equipment.alert"


def _alert(item: FireEquipment, what: str, at: datetime, **extra: Any) -> Event:
    data = {"equipment_id": item.id, "name": item.name, "alert": what, "at": at.isoformat()}
    return Event(item.site_id, ALERT, {**data, **extra})


async def list_equipment(
    actor: Actor, site_id: int, q: EquipmentQuery
) -> tuple[list[FireEquipment], int]:
    require_site(actor, site_id, STAFF)
    query = FireEquipment.filter(site_id=site_id)
    if not q.include_inactive:
        query = query.filter(is_active=True)
    if q.zone_id is not None:
        query = query.filter(zone_id=q.zone_id)
    if q.type is not None:
        query = query.filter(type=q.type)
    if q.q:
        query = query.filter(name__icontains=q.q)
    if q.alerting:
        query = query.filter(Q(missing=True) | Q(battery_low=True) | Q(tamper_at__isnull=False))
    total = await query.count()
    rows = await query.order_by("name").offset(q.offset).limit(q.limit)
    return rows, total


async def get_equipment(actor: Actor, equipment_id: int) -> FireEquipment:
    item = await FireEquipment.get_or_none(id=equipment_id)
    if item is None:
        raise NotFound("equipment")
    require_site(actor, item.site_id, STAFF)
    return item


async def _check_beacon(
    kind: BeaconKind | None, ident: str | None, exclude: int | None = None
) -> None:
    if kind is None:
        return
    query = FireEquipment.filter(beacon_kind=kind, beacon_ident=ident)
    if exclude is not None:
        query = query.exclude(id=exclude)
    if await query.exists():
        raise ValidationFailed.field("beacon_ident", "identifier_taken")


async def create_equipment(
    actor: Actor, site_id: int, data: EquipmentIn, info: ClientInfo
) -> FireEquipment:
    require_site(actor, site_id, (Role.admin,))
    site = await active_site(site_id)
    await check_zone(site.id, data.zone_id)
    async with in_transaction():
        if await FireEquipment.exists(site_id=site.id, name=data.name):
            raise ValidationFailed.field("name", "name_taken")
        await _check_beacon(data.beacon_kind, data.beacon_ident)
        item = await FireEquipment.create(site_id=site.id, **data.model_dump())
        await audit.record(
            actor,
            info,
            "equipment.created",
            "equipment",
            item.id,
            site_id=site.id,
            after=data.model_dump(mode="json"),
        )
    return item


async def update_equipment(
    actor: Actor, equipment_id: int, patch: EquipmentPatch, info: ClientInfo
) -> FireEquipment:
    item = await FireEquipment.get_or_none(id=equipment_id)
    if item is None:
        raise NotFound("equipment")
    require_site(actor, item.site_id, (Role.admin,))
    await check_zone(item.site_id, patch.zone_id, current=item.zone_id)
    async with in_transaction():
        if (
            patch.name
            and await FireEquipment.filter(site_id=item.site_id, name=patch.name)
            .exclude(id=item.id)
            .exists()
        ):
            raise ValidationFailed.field("name", "name_taken")
        await _check_beacon(patch.beacon_kind, patch.beacon_ident, exclude=item.id)
        before, after = apply_patch(item, patch)
        await item.save()
        await audit.record(
            actor,
            info,
            "equipment.updated",
            "equipment",
            item.id,
            site_id=item.site_id,
            before=before,
            after=after,
        )
    return item


async def acknowledge(actor: Actor, equipment_id: int, info: ClientInfo) -> FireEquipment:
    """A supervisor has looked: tamper and motion marks are cleared (kept in the history)."""
    item = await FireEquipment.get_or_none(id=equipment_id)
    if item is None:
        raise NotFound("equipment")
    require_site(actor, item.site_id, MANAGERS)
    before = {
        "tamper_at": item.tamper_at.isoformat() if item.tamper_at else None,
        "moved_at": item.moved_at.isoformat() if item.moved_at else None,
    }
    async with in_transaction():
        item.tamper_at = None
        item.moved_at = None
        await item.save(update_fields=["tamper_at", "moved_at"])
        await audit.record(
            actor,
            info,
            "equipment.acknowledged",
            "equipment",
            item.id,
            site_id=item.site_id,
            before=before,
            after={"tamper_at": None, "moved_at": None},
        )
    return item


async def history(actor: Actor, equipment_id: int, limit: int = 100) -> list[BeaconEvent]:
    item = await get_equipment(actor, equipment_id)
    return await BeaconEvent.filter(equipment_id=item.id).order_by("-at").limit(limit)


async def bind_beacon(
    actor: Actor,
    site_id: int,
    equipment_id: int,
    kind: BeaconKind,
    ident: str,
    info: ClientInfo,
) -> FireEquipment:
    """Pairing from a bridge: the equipment gets this beacon (replacing an older one)."""
    if kind == BeaconKind.eddystone_eid:
        raise ValidationFailed.field("kind", "static_beacon_only")
    item = await FireEquipment.get_or_none(id=equipment_id, site_id=site_id, is_active=True)
    if item is None:
        raise ValidationFailed.field("target.id", "not_found")
    async with in_transaction():
        await _check_beacon(kind, ident, exclude=item.id)
        before = {"beacon_kind": item.beacon_kind, "beacon_ident": item.beacon_ident}
        item.beacon_kind, item.beacon_ident = kind, ident
        item.missing, item.missing_since, item.battery_low = False, None, False
        await item.save()
        await audit.record(
            actor,
            info,
            "equipment.beacon_paired",
            "equipment",
            item.id,
            site_id=site_id,
            before=before,
            after={"beacon_kind": kind.value, "beacon_ident": ident},
        )
    return item


async def _by_beacon(site_id: int, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    if not keys:
        return {}
    items = await FireEquipment.filter(
        site_id=site_id, is_active=True, beacon_ident__in=[i for _, i in keys]
    )
    return {
        (i.beacon_kind.value, i.beacon_ident): i
        for i in items
        if i.beacon_kind is not None and i.beacon_ident is not None
    }


async def apply_sightings(
    site_id: int, device_id: int, sightings: Sequence[SightingIn], low_percent: int = 0
) -> list[Event]:
    """Keep last seen, signal and battery; a missing item seen again is back."""
    found = await _by_beacon(site_id, {(s.kind.value, s.ident) for s in sightings})
    events: list[Event] = []
    for s in sorted(sightings, key=lambda x: x.last_seen):
        item = found.get((s.kind.value, s.ident))
        if item is None:
            continue
        seen = s.last_seen.astimezone(UTC)
        if item.last_seen_at is not None and item.last_seen_at > seen:
            continue
        item.last_seen_at, item.last_bridge_id, item.last_rssi = seen, device_id, s.rssi_max
        if s.battery_percent is not None:
            item.battery_percent = s.battery_percent
            low = low_percent > 0 and s.battery_percent < low_percent
            if low and not item.battery_low:
                events.append(_alert(item, "low_battery", seen, percent=s.battery_percent))
            item.battery_low = low if low_percent > 0 else item.battery_low
        if item.missing and (item.missing_since is None or seen > item.missing_since):
            item.missing, item.missing_since = False, None
            events.append(_alert(item, "back", seen))
        await item.save()
    return events


async def apply_events(
    site_id: int, device_id: int, incoming: Sequence[BeaconEventIn], settings: Settings
) -> list[Event]:
    found = await _by_beacon(site_id, {(e.kind.value, e.ident) for e in incoming})
    events: list[Event] = []
    for e in sorted(incoming, key=lambda x: x.at):
        item = found.get((e.kind.value, e.ident))
        if item is None:
            continue
        await BeaconEvent.filter(id=e.id).update(equipment_id=item.id)
        at = e.at.astimezone(UTC)
        if e.type == EventType.missing:
            # Seen after the bridge gave up on it (by another bridge, say): not missing.
            if not item.missing and (item.last_seen_at is None or item.last_seen_at <= at):
                item.missing, item.missing_since = True, at
                events.append(_alert(item, "missing", at))
        elif e.type == EventType.present:
            if item.missing:
                item.missing, item.missing_since = False, None
                events.append(_alert(item, "back", at))
        elif e.type == EventType.low_battery:
            if not item.battery_low:
                item.battery_low = True
                events.append(_alert(item, "low_battery", at, **_detail(e)))
        elif e.type == EventType.tamper:
            item.tamper_at = at
            events.append(_alert(item, "tamper", at, **_detail(e)))
        elif e.type == EventType.motion:
            item.moved_at = at
            events.append(_alert(item, "motion", at, **_detail(e)))
        await item.save()
    return events


def _detail(e: BeaconEventIn) -> dict[str, Any]:
    return {"detail": {k: v for k, v in e.detail.items() if isinstance(v, int | float | str)}}


async def alerting(site_id: int) -> list[FireEquipment]:
    """What needs a person now, for the board."""
    return await FireEquipment.filter(
        Q(missing=True) | Q(battery_low=True) | Q(tamper_at__isnull=False),
        site_id=site_id,
        is_active=True,
    ).order_by("name")
