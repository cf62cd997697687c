"""Registered vehicles, entries and exits at the gate, and the overnight vehicle check."""

from __future__ import annotations

from backend.api import Call, Router
from backend.schemas.common import ListQuery, Page
from backend.schemas.vehicles import (
    VehicleCheckFinishIn,
    VehicleCheckIn,
    VehicleCheckItemIn,
    VehicleCheckOut,
    VehicleEntryIn,
    VehicleEntryOut,
    VehicleEntryQuery,
    VehicleExitIn,
    VehicleIn,
    VehicleOut,
    VehiclePatch,
    VehicleQuery,
)
from backend.services import vehicles as svc

router = Router("vehicles")


@router.get(
    "/api/sites/{site_id:int}/vehicles",
    summary="Registered vehicles (a resident: their unit's)",
    query=VehicleQuery,
    response=Page[VehicleOut],
)
async def list_vehicles(call: Call) -> Page[VehicleOut]:
    q: VehicleQuery = call.query
    rows, total = await svc.list_vehicles(call.actor, call.path["site_id"], q)
    return Page[VehicleOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/vehicles",
    summary="Register a resident's vehicle and its parking spot (supervisor)",
    body=VehicleIn,
    response=VehicleOut,
    status=201,
)
async def register_vehicle(call: Call) -> VehicleOut:
    return await svc.register_vehicle(call.actor, call.path["site_id"], call.body, call.info)


@router.patch(
    "/api/vehicles/{vehicle_id:int}",
    summary="Change a registered vehicle (supervisor)",
    body=VehiclePatch,
    response=VehicleOut,
)
async def update_vehicle(call: Call) -> VehicleOut:
    return await svc.update_vehicle(call.actor, call.path["vehicle_id"], call.body, call.info)


@router.get(
    "/api/sites/{site_id:int}/vehicle-entries",
    summary="Vehicle entries and exits, newest first (`inside=true`: still in)",
    query=VehicleEntryQuery,
    response=Page[VehicleEntryOut],
)
async def list_entries(call: Call) -> Page[VehicleEntryOut]:
    q: VehicleEntryQuery = call.query
    rows, total = await svc.list_entries(call.actor, call.path["site_id"], q)
    return Page[VehicleEntryOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/vehicle-entries",
    summary="Record a vehicle coming in",
    body=VehicleEntryIn,
    response=VehicleEntryOut,
    status=201,
)
async def record_entry(call: Call) -> VehicleEntryOut:
    return await svc.record_entry(call.actor, call.path["site_id"], call.body)


@router.post(
    "/api/vehicle-entries/{entry_id:uuid}/exit",
    summary="Record a vehicle leaving",
    body=VehicleExitIn,
    response=VehicleEntryOut,
)
async def record_exit(call: Call) -> VehicleEntryOut:
    return await svc.record_exit(call.actor, call.path["entry_id"], call.body)


@router.get(
    "/api/sites/{site_id:int}/vehicle-checks",
    summary="Overnight vehicle checks, newest first",
    query=ListQuery,
    response=Page[VehicleCheckOut],
)
async def list_checks(call: Call) -> Page[VehicleCheckOut]:
    q: ListQuery = call.query
    rows, total = await svc.list_checks(call.actor, call.path["site_id"], q)
    return Page[VehicleCheckOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/vehicle-checks",
    summary="Start an overnight vehicle check",
    body=VehicleCheckIn,
    response=VehicleCheckOut,
    status=201,
)
async def start_check(call: Call) -> VehicleCheckOut:
    return await svc.start_check(call.actor, call.path["site_id"], call.body)


@router.get(
    "/api/vehicle-checks/{check_id:uuid}",
    summary="One overnight check with every car looked at",
    response=VehicleCheckOut,
)
async def get_check(call: Call) -> VehicleCheckOut:
    return await svc.get_check(call.actor, call.path["check_id"])


@router.post(
    "/api/vehicle-checks/{check_id:uuid}/items",
    summary="Note a car's condition (with photos); a problem is pushed to its owner",
    body=VehicleCheckItemIn,
    response=VehicleCheckOut,
    status=201,
)
async def note_vehicle(call: Call) -> VehicleCheckOut:
    return await svc.note_vehicle(call.actor, call.path["check_id"], call.body, call.settings)


@router.post(
    "/api/vehicle-checks/{check_id:uuid}/finish",
    summary="Finish an overnight check",
    body=VehicleCheckFinishIn,
    response=VehicleCheckOut,
)
async def finish_check(call: Call) -> VehicleCheckOut:
    return await svc.finish_check(call.actor, call.path["check_id"], call.body)
