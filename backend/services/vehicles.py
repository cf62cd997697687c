"""Vehicles: residents' registered cars and their spots, entries and exits at the gate (time in,
time out, how long), and the overnight check, whose problems are pushed to the owner."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import (
    AnbaoError,
    DuplicateName,
    InvalidState,
    MutationIdConflict,
    NotFound,
    ValidationFailed,
)
from backend.http import ClientInfo
from backend.i18n import translate
from backend.models.organizations import Unit
from backend.models.sync import ChangeOp
from backend.models.users import Membership, Role, User
from backend.models.vehicles import (
    OwnerNotice,
    Vehicle,
    VehicleCheck,
    VehicleCheckItem,
    VehicleCondition,
    VehicleEntry,
)
from backend.models.visitors import Visit
from backend.schemas.common import ListQuery
from backend.schemas.vehicles import (
    VehicleCheckFinishIn,
    VehicleCheckFinishMutationArgs,
    VehicleCheckIn,
    VehicleCheckItemIn,
    VehicleCheckItemMutationArgs,
    VehicleCheckItemOut,
    VehicleCheckMutationArgs,
    VehicleCheckOut,
    VehicleEntryIn,
    VehicleEntryMutationArgs,
    VehicleEntryOut,
    VehicleEntryQuery,
    VehicleExitIn,
    VehicleExitMutationArgs,
    VehicleIn,
    VehicleOut,
    VehiclePatch,
    VehicleQuery,
)
from backend.services import audit, notices
from backend.services.changes import record_change
from backend.services.gate import each, moment, one, site_unit, staff_site
from backend.services.listing import apply_patch
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site
from backend.settings import Settings
from backend.webpush import Urgency

# --- registered vehicles ---------------------------------------------------------------------


async def vehicle_out(vehicle: Vehicle) -> VehicleOut:
    unit = await Unit.get_or_none(id=vehicle.unit_id) if vehicle.unit_id else None
    return VehicleOut(
        id=vehicle.id,
        site_id=vehicle.site_id,
        unit_id=vehicle.unit_id,
        unit_label=unit.label if unit else "",
        owner_id=vehicle.owner_id,
        plate=vehicle.plate,
        plate_override=vehicle.plate_override,
        parking_spot=vehicle.parking_spot,
        description=vehicle.description,
        is_active=vehicle.is_active,
        created_at=vehicle.created_at,
    )


async def _check_owner(site_id: int, unit_id: int | None, owner_id: int | None) -> None:
    if owner_id is None:
        return
    if unit_id is None or not await Membership.exists(
        user_id=owner_id, site_id=site_id, unit_id=unit_id, role=Role.resident, is_active=True
    ):
        raise ValidationFailed.field("owner_id", "not_unit_resident")


async def list_vehicles(
    actor: Actor, site_id: int, listing: VehicleQuery
) -> tuple[list[VehicleOut], int]:
    require_site(actor, site_id, tuple(Role))
    query = Vehicle.filter(site_id=site_id)
    if not (actor.is_superuser or actor.roles_at(site_id).intersection(STAFF)):
        query = query.filter(unit_id__in=sorted(actor.unit_ids(site_id)) or [0])
    if not listing.include_inactive:
        query = query.filter(is_active=True)
    if listing.unit_id is not None:
        query = query.filter(unit_id=listing.unit_id)
    if listing.q:
        query = query.filter(plate__icontains=listing.q.upper())
    total = await query.count()
    rows = await query.order_by("plate").offset(listing.offset).limit(listing.limit)
    return [await vehicle_out(v) for v in rows], total


async def register_vehicle(
    actor: Actor, site_id: int, data: VehicleIn, info: ClientInfo
) -> VehicleOut:
    await staff_site(actor, site_id, MANAGERS)
    await site_unit(site_id, data.unit_id, "unit_id")
    await _check_owner(site_id, data.unit_id, data.owner_id)
    async with in_transaction():
        if await Vehicle.exists(site_id=site_id, plate=data.plate):
            raise DuplicateName(plate=data.plate)
        vehicle = await Vehicle.create(
            site_id=site_id,
            unit_id=data.unit_id,
            owner_id=data.owner_id,
            plate=data.plate,
            plate_override=data.plate_override,
            parking_spot=data.parking_spot,
            description=data.description,
        )
        await audit.record(
            actor,
            info,
            "vehicle.registered",
            "vehicle",
            vehicle.id,
            site_id=site_id,
            after={"plate": vehicle.plate, "unit_id": vehicle.unit_id},
        )
        out = await vehicle_out(vehicle)
        await record_change(
            site_id, "vehicle", vehicle.id, ChangeOp.upsert, out.model_dump(mode="json")
        )
    return out


async def update_vehicle(
    actor: Actor, vehicle_id: int, patch: VehiclePatch, info: ClientInfo
) -> VehicleOut:
    vehicle = await Vehicle.get_or_none(id=vehicle_id)
    if vehicle is None:
        raise NotFound("vehicle")
    require_site(actor, vehicle.site_id, MANAGERS)
    fields = patch.model_fields_set
    unit_id = patch.unit_id if "unit_id" in fields else vehicle.unit_id
    owner_id = patch.owner_id if "owner_id" in fields else vehicle.owner_id
    await site_unit(vehicle.site_id, unit_id, "unit_id")
    await _check_owner(vehicle.site_id, unit_id, owner_id)
    async with in_transaction():
        before, after = apply_patch(vehicle, patch)
        try:
            await vehicle.save()
        except IntegrityError as exc:
            raise DuplicateName(str(exc)) from exc
        await audit.record(
            actor,
            info,
            "vehicle.updated",
            "vehicle",
            vehicle.id,
            site_id=vehicle.site_id,
            before=before,
            after=after,
        )
        out = await vehicle_out(vehicle)
        await record_change(
            vehicle.site_id, "vehicle", vehicle.id, ChangeOp.upsert, out.model_dump(mode="json")
        )
    return out


# --- entries and exits -----------------------------------------------------------------------


async def entries_out(entries: Sequence[VehicleEntry], now: datetime) -> list[VehicleEntryOut]:
    ids = {e.vehicle_id for e in entries if e.vehicle_id is not None}
    known = (
        {v.id: v for v in await Vehicle.filter(id__in=ids).select_related("unit")} if ids else {}
    )
    out = []
    for e in entries:
        vehicle = known.get(e.vehicle_id) if e.vehicle_id is not None else None
        out.append(
            VehicleEntryOut(
                id=e.id,
                site_id=e.site_id,
                plate=e.plate,
                plate_override=e.plate_override,
                kind="resident" if vehicle else "visitor",
                vehicle_id=e.vehicle_id,
                unit_label=vehicle.unit.label if vehicle and vehicle.unit else "",
                parking_spot=vehicle.parking_spot if vehicle else "",
                visit_id=e.visit_id,
                note=e.note,
                entered_at=e.entered_at,
                exited_at=e.exited_at,
                duration_seconds=int((e.exited_at - e.entered_at).total_seconds())
                if e.exited_at
                else None,
                entered_by_id=e.entered_by_id,
                exited_by_id=e.exited_by_id,
            )
        )
    return out


async def _entry_changed(entry: VehicleEntry) -> VehicleEntryOut:
    (out,) = await entries_out([entry], datetime.now(UTC))
    await record_change(
        entry.site_id, "vehicle_entry", entry.id, ChangeOp.upsert, out.model_dump(mode="json")
    )
    return out


async def _enter(actor: Actor, site_id: int, data: VehicleEntryIn) -> VehicleEntryOut:
    await staff_site(actor, site_id)
    assert actor.user is not None
    if await VehicleEntry.exists(id=data.id):
        raise MutationIdConflict("vehicle entry id in use")
    if data.visit_id is not None and not await Visit.exists(id=data.visit_id, site_id=site_id):
        raise ValidationFailed.field("visit_id", "not_found")
    inside = await VehicleEntry.filter(site_id=site_id, plate=data.plate, exited_at=None).first()
    if inside is not None:
        # The same plate twice inside: an exit was missed, or a cloned plate. A person looks.
        raise InvalidState(status="inside", entry_id=str(inside.id))
    now = datetime.now(UTC)
    vehicle = await Vehicle.filter(site_id=site_id, plate=data.plate, is_active=True).first()
    entry = await VehicleEntry.create(
        id=data.id,
        site_id=site_id,
        plate=data.plate,
        plate_override=data.plate_override,
        vehicle_id=vehicle.id if vehicle else None,
        visit_id=data.visit_id,
        note=data.note,
        entered_at=moment(data.client_time, now),
        entered_by_id=actor.user.id,
        device_id=actor.device_id,
        server_time=now,
    )
    return await _entry_changed(entry)


async def record_entry(actor: Actor, site_id: int, data: VehicleEntryIn) -> VehicleEntryOut:
    return await one(lambda: _enter(actor, site_id, data))


async def record_entries(
    actor: Actor, items: Sequence[VehicleEntryMutationArgs]
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _enter(actor, a.site_id, a))


async def _exit(actor: Actor, entry_id: uuid.UUID, data: VehicleExitIn) -> VehicleEntryOut:
    entry = await VehicleEntry.filter(id=entry_id).select_for_update().first()
    if entry is None:
        raise NotFound("vehicle entry")
    require_site(actor, entry.site_id, STAFF)
    assert actor.user is not None
    if entry.exited_at is not None:
        raise InvalidState(status="exited")
    entry.exited_at = max(moment(data.client_time, datetime.now(UTC)), entry.entered_at)
    entry.exited_by_id = actor.user.id
    if data.note:
        entry.note = f"{entry.note}\n{data.note}".strip()
    await entry.save(update_fields=["exited_at", "exited_by_id", "note"])
    return await _entry_changed(entry)


async def record_exit(actor: Actor, entry_id: uuid.UUID, data: VehicleExitIn) -> VehicleEntryOut:
    return await one(lambda: _exit(actor, entry_id, data))


async def record_exits(
    actor: Actor, items: Sequence[VehicleExitMutationArgs]
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _exit(actor, a.entry_id, a))


async def list_entries(
    actor: Actor, site_id: int, listing: VehicleEntryQuery
) -> tuple[list[VehicleEntryOut], int]:
    require_site(actor, site_id, STAFF)
    query = VehicleEntry.filter(site_id=site_id)
    if listing.inside is not None:
        query = query.filter(exited_at__isnull=listing.inside)
    if listing.since is not None:
        query = query.filter(entered_at__gte=listing.since)
    if listing.q:
        query = query.filter(plate__icontains=listing.q.upper())
    total = await query.count()
    rows = await query.order_by("-entered_at").offset(listing.offset).limit(listing.limit)
    return await entries_out(rows, datetime.now(UTC)), total


# --- the overnight check ---------------------------------------------------------------------


def _item_out(item: VehicleCheckItem) -> VehicleCheckItemOut:
    return VehicleCheckItemOut(
        id=item.id,
        check_id=item.check_id,
        site_id=item.site_id,
        plate=item.plate,
        plate_override=item.plate_override,
        vehicle_id=item.vehicle_id,
        parking_spot=item.parking_spot,
        condition=item.condition,
        note=item.note,
        photos=list(item.photos),
        owner_notice=item.owner_notice,
        noted_by_id=item.noted_by_id,
        noted_at=item.noted_at,
    )


async def check_report(check: VehicleCheck) -> VehicleCheckOut:
    guard = await check.guard
    items = await VehicleCheckItem.filter(check_id=check.id).order_by("noted_at")
    return VehicleCheckOut(
        id=check.id,
        site_id=check.site_id,
        guard_id=check.guard_id,
        guard_name=guard.display_name,
        note=check.note,
        started_at=check.started_at,
        finished_at=check.finished_at,
        problems=sum(1 for i in items if i.condition != VehicleCondition.ok),
        items=[_item_out(i) for i in items],
    )


async def _check_changed(check: VehicleCheck) -> VehicleCheckOut:
    out = await check_report(check)
    await record_change(
        check.site_id, "vehicle_check", check.id, ChangeOp.upsert, out.model_dump(mode="json")
    )
    return out


async def _start(actor: Actor, site_id: int, data: VehicleCheckIn) -> VehicleCheckOut:
    await staff_site(actor, site_id)
    assert actor.user is not None
    if await VehicleCheck.exists(id=data.id):
        raise MutationIdConflict("vehicle check id in use")
    now = datetime.now(UTC)
    check = await VehicleCheck.create(
        id=data.id,
        site_id=site_id,
        guard_id=actor.user.id,
        note=data.note,
        started_at=moment(data.client_time, now),
        server_time=now,
    )
    return await _check_changed(check)


async def start_check(actor: Actor, site_id: int, data: VehicleCheckIn) -> VehicleCheckOut:
    return await one(lambda: _start(actor, site_id, data))


async def start_checks(
    actor: Actor, items: Sequence[VehicleCheckMutationArgs]
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _start(actor, a.site_id, a))


async def _open_check(actor: Actor, check_id: uuid.UUID) -> VehicleCheck:
    check = await VehicleCheck.filter(id=check_id).select_for_update().first()
    if check is None:
        raise NotFound("vehicle check")
    require_site(actor, check.site_id, STAFF)
    if check.finished_at is not None:
        raise InvalidState(status="finished")
    return check


async def _owners(vehicle: Vehicle | None) -> list[int]:
    """Who to tell about a car: its owner, or else the residents of its unit."""
    if vehicle is None:
        return []
    if vehicle.owner_id is not None:
        return [vehicle.owner_id]
    if vehicle.unit_id is None:
        return []
    residents = await Membership.filter(
        site_id=vehicle.site_id, unit_id=vehicle.unit_id, role=Role.resident, is_active=True
    )
    return [m.user_id for m in residents]


def _problem_message(item: VehicleCheckItem) -> Callable[[User], notices.Message]:
    def build(user: User) -> notices.Message:
        language = notices.language_of(user)
        condition = translate(language, f"vehicle.condition.{item.condition.value}")
        spot = item.parking_spot or "-"
        return notices.Message(
            kind="vehicle.problem",
            title=translate(language, "notice.vehicle_problem.title"),
            body=translate(
                language,
                "notice.vehicle_problem.body",
                plate=item.plate,
                spot=spot,
                condition=condition,
            ),
            url="/",
            tag=f"vehicle-{item.plate}",
            data={
                "check_item_id": str(item.id),
                "site_id": item.site_id,
                "plate": item.plate,
                "parking_spot": item.parking_spot,
                "condition": item.condition.value,
                "note": item.note,
            },
            urgency=Urgency.high,
        )

    return build


async def _tell_owner(
    item: VehicleCheckItem, vehicle: Vehicle | None, settings: Settings
) -> OwnerNotice:
    """Queue a push notice to the owner for a problem (in this transaction); `no_owner` when
    nobody can be told, so the control room follows it up."""
    if item.condition == VehicleCondition.ok:
        return OwnerNotice.none
    users = await notices.recipients(await _owners(vehicle), "alerts")
    queued = await notices.notify(
        users,
        _problem_message(item),
        site_id=item.site_id,
        ref=f"vehicle_check_item:{item.id}",
        ttl_seconds=settings.push_ttl_seconds,
    )
    return OwnerNotice.sent if queued else OwnerNotice.no_owner


async def _note(
    actor: Actor, check_id: uuid.UUID, data: VehicleCheckItemIn, settings: Settings
) -> VehicleCheckOut:
    check = await _open_check(actor, check_id)
    assert actor.user is not None
    if await VehicleCheckItem.exists(id=data.id):
        raise MutationIdConflict("vehicle check item id in use")
    now = datetime.now(UTC)
    vehicle = await Vehicle.filter(site_id=check.site_id, plate=data.plate, is_active=True).first()
    item = await VehicleCheckItem.create(
        id=data.id,
        check_id=check.id,
        site_id=check.site_id,
        plate=data.plate,
        plate_override=data.plate_override,
        vehicle_id=vehicle.id if vehicle else None,
        parking_spot=data.parking_spot or (vehicle.parking_spot if vehicle else ""),
        condition=data.condition,
        note=data.note,
        photos=list(data.photos),
        noted_by_id=actor.user.id,
        noted_at=max(moment(data.client_time, now), check.started_at),
        server_time=now,
    )
    item.owner_notice = await _tell_owner(item, vehicle, settings)
    await item.save(update_fields=["owner_notice"])
    return await _check_changed(check)


async def note_vehicle(
    actor: Actor, check_id: uuid.UUID, data: VehicleCheckItemIn, settings: Settings
) -> VehicleCheckOut:
    return await one(lambda: _note(actor, check_id, data, settings))


async def note_vehicles(
    actor: Actor, items: Sequence[VehicleCheckItemMutationArgs], settings: Settings
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _note(actor, a.check_id, a, settings))


async def _finish(actor: Actor, check_id: uuid.UUID, data: VehicleCheckFinishIn) -> VehicleCheckOut:
    check = await _open_check(actor, check_id)
    check.finished_at = max(moment(data.client_time, datetime.now(UTC)), check.started_at)
    if data.note:
        check.note = f"{check.note}\n{data.note}".strip()
    await check.save(update_fields=["finished_at", "note"])
    return await _check_changed(check)


async def finish_check(
    actor: Actor, check_id: uuid.UUID, data: VehicleCheckFinishIn
) -> VehicleCheckOut:
    return await one(lambda: _finish(actor, check_id, data))


async def finish_checks(
    actor: Actor, items: Sequence[VehicleCheckFinishMutationArgs]
) -> list[dict[str, Any] | AnbaoError]:
    return await each(items, lambda a: _finish(actor, a.check_id, a))


async def get_check(actor: Actor, check_id: uuid.UUID) -> VehicleCheckOut:
    check = await VehicleCheck.get_or_none(id=check_id)
    if check is None:
        raise NotFound("vehicle check")
    require_site(actor, check.site_id, STAFF)
    return await check_report(check)


async def list_checks(
    actor: Actor, site_id: int, listing: ListQuery
) -> tuple[list[VehicleCheckOut], int]:
    require_site(actor, site_id, STAFF)
    query = VehicleCheck.filter(site_id=site_id)
    total = await query.count()
    rows = await query.order_by("-started_at").offset(listing.offset).limit(listing.limit)
    return [await check_report(c) for c in rows], total
