"""Phones and bridges: listing, issuing bridge tokens, renaming and revoking."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from backend.errors import NotFound
from backend.http import ClientInfo
from backend.models.devices import Device, DeviceKind
from backend.models.sessions import Session
from backend.models.users import Membership, Role
from backend.schemas.common import ListQuery
from backend.schemas.devices import BridgeIn, DevicePatch
from backend.services import audit
from backend.services.auth import new_device_token, token_hash
from backend.services.listing import snapshot
from backend.services.organizations import active_site
from backend.services.permissions import MANAGERS, STAFF, Actor, require_site


async def _device_sites(device: Device) -> set[int]:
    """The sites a device belongs to: a bridge's own, a phone's user's staff sites."""
    if device.kind == DeviceKind.bridge:
        return {device.site_id} if device.site_id is not None else set()
    if device.user_id is None:
        return set()
    rows: list[int] = await Membership.filter(
        user_id=device.user_id, is_active=True, role__in=list(STAFF)
    ).values_list("site_id", flat=True)  # type: ignore[assignment]
    return set(rows)


async def _device_for(actor: Actor, device_id: int, roles: tuple[Role, ...]) -> tuple[Device, int]:
    """The device and one of its sites where the actor holds `roles`."""
    device = await Device.get_or_none(id=device_id)
    if device is None:
        raise NotFound("device")
    sites = await _device_sites(device)
    if actor.is_superuser and sites:
        return device, min(sites)
    allowed = sites & actor.site_ids(roles)
    if allowed:
        return device, min(allowed)
    visible = sites & actor.site_ids()
    require_site(actor, min(visible) if visible else -1, roles)  # raises NotFound or Forbidden
    raise NotFound("device")


async def list_devices(actor: Actor, site_id: int, listing: ListQuery) -> tuple[list[Device], int]:
    require_site(actor, site_id, MANAGERS)
    staff = Membership.filter(site_id=site_id, is_active=True, role__in=list(STAFF)).values_list(
        "user_id"
    )
    query = Device.filter(
        Q(kind=DeviceKind.bridge, site_id=site_id)
        | Q(kind=DeviceKind.phone, user_id__in=Subquery(staff))
    )
    if not listing.include_inactive:
        query = query.filter(revoked_at=None)
    if listing.q:
        query = query.filter(name__icontains=listing.q)
    total = await query.count()
    rows = (
        await query.select_related("user")
        .order_by("-last_seen_at", "id")
        .offset(listing.offset)
        .limit(listing.limit)
    )
    return rows, total


async def create_bridge(
    actor: Actor, site_id: int, data: BridgeIn, info: ClientInfo
) -> tuple[Device, str]:
    require_site(actor, site_id, (Role.admin,))
    await active_site(site_id)
    token = new_device_token()
    async with in_transaction():
        device = await Device.create(
            uid=uuid.uuid4(),
            kind=DeviceKind.bridge,
            name=data.name,
            site_id=site_id,
            token_hash=token_hash(token),
        )
        await audit.record(
            actor,
            info,
            "device.created",
            "device",
            device.id,
            site_id=site_id,
            after={"kind": "bridge", "name": data.name},
        )
    return device, token


async def update_device(
    actor: Actor, device_id: int, patch: DevicePatch, info: ClientInfo
) -> Device:
    device, site_id = await _device_for(actor, device_id, (Role.admin,))
    before = snapshot(device, ("name",))
    device.name = patch.name
    async with in_transaction():
        await device.save(update_fields=["name"])
        await audit.record(
            actor,
            info,
            "device.updated",
            "device",
            device.id,
            site_id=site_id,
            before=before,
            after=snapshot(device, ("name",)),
        )
    return device


async def revoke_device(actor: Actor, device_id: int, info: ClientInfo) -> Device:
    """Sign a lost phone (or a stolen bridge) out at once: its next request is refused."""
    device, site_id = await _device_for(actor, device_id, MANAGERS)
    if device.revoked_at is not None:
        return device
    now = datetime.now(UTC)
    async with in_transaction():
        device.revoked_at = now
        device.revoked_by_id = actor.user_id
        await device.save(update_fields=["revoked_at", "revoked_by_id"])
        await Session.filter(device_id=device.id, revoked_at=None).update(revoked_at=now)
        await audit.record(
            actor,
            info,
            "device.revoked",
            "device",
            device.id,
            site_id=site_id,
            after={"kind": device.kind, "user_id": device.user_id},
        )
    return device
