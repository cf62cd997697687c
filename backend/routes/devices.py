"""Devices: list, issue a bridge token, rename, revoke."""

from __future__ import annotations

from backend.api import Call, Router
from backend.routes.organizations import page
from backend.schemas.common import ListQuery, Page
from backend.schemas.devices import BridgeCreated, BridgeIn, DeviceOut, DevicePatch
from backend.services import devices as svc

router = Router("devices")


@router.get(
    "/api/sites/{site_id:int}/devices",
    summary="Phones and bridges of a site",
    query=ListQuery,
    response=Page[DeviceOut],
)
async def list_devices(call: Call) -> Page[DeviceOut]:
    rows, total = await svc.list_devices(call.actor, call.path["site_id"], call.query)
    return page(DeviceOut, rows, total, call.query)


@router.post(
    "/api/sites/{site_id:int}/devices",
    summary="Register a bridge; its token is shown once",
    body=BridgeIn,
    response=BridgeCreated,
    status=201,
)
async def create_bridge(call: Call) -> BridgeCreated:
    device, token = await svc.create_bridge(call.actor, call.path["site_id"], call.body, call.info)
    return BridgeCreated(**DeviceOut.model_validate(device).model_dump(), token=token)


@router.patch(
    "/api/devices/{device_id:int}", summary="Rename a device", body=DevicePatch, response=DeviceOut
)
async def update_device(call: Call) -> DeviceOut:
    device = await svc.update_device(call.actor, call.path["device_id"], call.body, call.info)
    return DeviceOut.model_validate(device)


@router.post(
    "/api/devices/{device_id:int}/revoke",
    summary="Revoke a device: its sessions end at once",
    response=DeviceOut,
)
async def revoke_device(call: Call) -> DeviceOut:
    device = await svc.revoke_device(call.actor, call.path["device_id"], call.info)
    return DeviceOut.model_validate(device)
