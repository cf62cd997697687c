"""Devices: list, issue a bridge token, rename, revoke."""

from __future__ import annotations

from backend.api import Call, Router
from backend.models.devices import Device
from backend.schemas.common import ListQuery, Page
from backend.schemas.devices import BridgeCreated, BridgeIn, DeviceOut, DeviceOwner, DevicePatch
from backend.services import devices as svc

router = Router("devices")


def device_out(device: Device) -> DeviceOut:
    # The owner is shown only when the service fetched it; a relation is never read lazily.
    owner = device.__dict__.get("_user")
    return DeviceOut(
        id=device.id,
        uid=device.uid,
        kind=device.kind,
        name=device.name,
        user_id=device.user_id,
        site_id=device.site_id,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
        revoked_at=device.revoked_at,
        revoked_by_id=device.revoked_by_id,
        user=DeviceOwner.model_validate(owner) if owner is not None else None,
    )


@router.get(
    "/api/sites/{site_id:int}/devices",
    summary="Phones and bridges of a site",
    query=ListQuery,
    response=Page[DeviceOut],
)
async def list_devices(call: Call) -> Page[DeviceOut]:
    rows, total = await svc.list_devices(call.actor, call.path["site_id"], call.query)
    q = call.query
    return Page[DeviceOut](
        items=[device_out(r) for r in rows], total=total, limit=q.limit, offset=q.offset
    )


@router.post(
    "/api/sites/{site_id:int}/devices",
    summary="Register a bridge; its token is shown once",
    body=BridgeIn,
    response=BridgeCreated,
    status=201,
)
async def create_bridge(call: Call) -> BridgeCreated:
    device, token = await svc.create_bridge(call.actor, call.path["site_id"], call.body, call.info)
    return BridgeCreated(**device_out(device).model_dump(), token=token)


@router.patch(
    "/api/devices/{device_id:int}", summary="Rename a device", body=DevicePatch, response=DeviceOut
)
async def update_device(call: Call) -> DeviceOut:
    device = await svc.update_device(call.actor, call.path["device_id"], call.body, call.info)
    return device_out(device)


@router.post(
    "/api/devices/{device_id:int}/revoke",
    summary="Revoke a device: its sessions end at once",
    response=DeviceOut,
)
async def revoke_device(call: Call) -> DeviceOut:
    device = await svc.revoke_device(call.actor, call.path["device_id"], call.info)
    return device_out(device)
