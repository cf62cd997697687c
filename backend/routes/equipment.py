"""Fire equipment and its beacon state."""

from __future__ import annotations

from backend.api import Call, Router
from backend.schemas.common import Page
from backend.schemas.equipment import (
    BeaconEventOut,
    EquipmentIn,
    EquipmentOut,
    EquipmentPatch,
    EquipmentQuery,
)
from backend.services import equipment as svc

router = Router("equipment")


@router.get(
    "/api/sites/{site_id:int}/fire-equipment",
    summary="Fire equipment of a site, with what its beacon reports",
    query=EquipmentQuery,
    response=Page[EquipmentOut],
)
async def list_equipment(call: Call) -> Page[EquipmentOut]:
    q: EquipmentQuery = call.query
    rows, total = await svc.list_equipment(call.actor, call.path["site_id"], q)
    items = [EquipmentOut.model_validate(r) for r in rows]
    return Page[EquipmentOut](items=items, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/fire-equipment",
    summary="Register fire equipment",
    body=EquipmentIn,
    response=EquipmentOut,
    status=201,
)
async def create_equipment(call: Call) -> EquipmentOut:
    item = await svc.create_equipment(call.actor, call.path["site_id"], call.body, call.info)
    return EquipmentOut.model_validate(item)


@router.get(
    "/api/fire-equipment/{equipment_id:int}",
    summary="One piece of fire equipment",
    response=EquipmentOut,
)
async def get_equipment(call: Call) -> EquipmentOut:
    return EquipmentOut.model_validate(
        await svc.get_equipment(call.actor, call.path["equipment_id"])
    )


@router.patch(
    "/api/fire-equipment/{equipment_id:int}",
    summary="Change, re-pair or deactivate fire equipment",
    body=EquipmentPatch,
    response=EquipmentOut,
)
async def update_equipment(call: Call) -> EquipmentOut:
    item = await svc.update_equipment(call.actor, call.path["equipment_id"], call.body, call.info)
    return EquipmentOut.model_validate(item)


@router.post(
    "/api/fire-equipment/{equipment_id:int}/acknowledge",
    summary="Clear tamper and motion marks once someone has looked",
    response=EquipmentOut,
)
async def acknowledge(call: Call) -> EquipmentOut:
    item = await svc.acknowledge(call.actor, call.path["equipment_id"], call.info)
    return EquipmentOut.model_validate(item)


@router.get(
    "/api/fire-equipment/{equipment_id:int}/history",
    summary="What the beacon reported: missing, back, low battery, tamper, motion",
    response=list[BeaconEventOut],
)
async def history(call: Call) -> list[BeaconEventOut]:
    rows = await svc.history(call.actor, call.path["equipment_id"])
    return [
        BeaconEventOut(
            id=str(r.id), type=r.type.value, at=r.at, device_id=r.device_id, detail=r.detail
        )
        for r in rows
    ]
