"""The parcel room (staff) and a resident's own parcels and pickup pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from backend.api import Call, Router
from backend.schemas.common import Page
from backend.schemas.parcels import (
    FindIn,
    FindOut,
    MyParcelsQuery,
    ParcelBatchIn,
    ParcelIn,
    ParcelOut,
    ParcelQuery,
    PickupIn,
    PickupPassOut,
    RecipientOut,
    RecipientQuery,
    ReturnIn,
    ShelfCheckIn,
    ShelfCheckOut,
)
from backend.services import parcels as svc

router = Router("parcels")


def _id(call: Call) -> str:
    value = call.path["parcel_id"]
    assert isinstance(value, uuid.UUID)
    return str(value)


@router.get(
    "/api/sites/{site_id:int}/parcels",
    summary="Parcels of a site (staff): waiting, overdue, by unit or shelf, history",
    query=ParcelQuery,
    response=Page[ParcelOut],
)
async def list_parcels(call: Call) -> Page[ParcelOut]:
    q: ParcelQuery = call.query
    rows, total = await svc.list_parcels(
        call.actor, call.path["site_id"], q, call.settings, datetime.now(UTC)
    )
    return Page[ParcelOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.post(
    "/api/sites/{site_id:int}/parcels",
    summary="Register a parcel left at the guard room; its recipients get a push notice",
    body=ParcelIn,
    response=ParcelOut,
    status=201,
)
async def receive_parcel(call: Call) -> ParcelOut:
    """Offline phones send the same as the `parcel.receive` sync mutation."""
    return await svc.receive_parcel(
        call.actor, call.path["site_id"], call.body, call.info, call.settings
    )


@router.post(
    "/api/sites/{site_id:int}/parcels/batch",
    summary="Register a courier's drop at once (all or nothing)",
    body=ParcelBatchIn,
    response=list[ParcelOut],
    status=201,
)
async def receive_batch(call: Call) -> list[ParcelOut]:
    return await svc.receive_batch(
        call.actor, call.path["site_id"], call.body, call.info, call.settings
    )


@router.get(
    "/api/sites/{site_id:int}/parcel-recipients",
    summary="Find a parcel's recipient by unit number or resident name (staff)",
    query=RecipientQuery,
    response=list[RecipientOut],
)
async def search_recipients(call: Call) -> list[RecipientOut]:
    q: RecipientQuery = call.query
    return await svc.search_recipients(call.actor, call.path["site_id"], q.q, q.limit)


@router.post(
    "/api/sites/{site_id:int}/parcels/find",
    summary="The waiting parcels a pickup code or a resident's pickup pass opens (staff)",
    body=FindIn,
    response=FindOut,
)
async def find(call: Call) -> FindOut:
    """Wrong codes are counted per guard and per site; past the limit `429 pickup_throttled`."""
    return await svc.find(
        call.actor, call.path["site_id"], call.body, call.settings, datetime.now(UTC)
    )


@router.post(
    "/api/sites/{site_id:int}/parcels/shelf-check",
    summary="Compare a count of each shelf with the parcels on record (staff)",
    body=ShelfCheckIn,
    response=ShelfCheckOut,
)
async def shelf_check(call: Call) -> ShelfCheckOut:
    return await svc.shelf_check(call.actor, call.path["site_id"], call.body, call.info)


@router.get(
    "/api/parcels/{parcel_id:uuid}",
    summary="One parcel (staff of its site, or a resident of its unit, who also sees the code)",
    response=ParcelOut,
)
async def get_parcel(call: Call) -> ParcelOut:
    return await svc.get_parcel(call.actor, _id(call))


@router.post(
    "/api/parcels/{parcel_id:uuid}/pickup",
    summary="Hand a parcel over (code, pickup pass, or a supervisor's reason)",
    body=PickupIn,
    response=ParcelOut,
)
async def pick_up(call: Call) -> ParcelOut:
    return await svc.pick_up(
        call.actor, _id(call), call.body, call.info, call.settings, datetime.now(UTC)
    )


@router.post(
    "/api/parcels/{parcel_id:uuid}/return",
    summary="Return a waiting parcel to the sender (staff)",
    body=ReturnIn,
    response=ParcelOut,
)
async def return_parcel(call: Call) -> ParcelOut:
    return await svc.return_parcel(
        call.actor, _id(call), call.body.reason, call.info, datetime.now(UTC)
    )


@router.get(
    "/api/me/parcels",
    summary="My parcels: waiting (with pickup codes) or history",
    query=MyParcelsQuery,
    response=Page[ParcelOut],
)
async def my_parcels(call: Call) -> Page[ParcelOut]:
    q: MyParcelsQuery = call.query
    rows, total = await svc.my_parcels(call.actor, q)
    return Page[ParcelOut](items=rows, total=total, limit=q.limit, offset=q.offset)


@router.get(
    "/api/me/pickup-pass",
    summary="My pickup pass (a signed, short-lived QR) and my waiting parcels' codes",
    response=PickupPassOut,
)
async def pickup_pass(call: Call) -> PickupPassOut:
    return await svc.pickup_pass(call.actor, call.settings, datetime.now(UTC))
