"""Test data made directly through the models (one shared password hash keeps it fast)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from backend.models.devices import Device, DeviceKind
from backend.models.organizations import Organization, Site, SiteKind, Unit, Zone
from backend.models.users import Membership, Role, User
from backend.services.auth import new_device_token, token_hash

PASSWORD = "test-password-1"


@functools.cache
def password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


async def make_user(username: str, *, superuser: bool = False, **kw: Any) -> User:
    return await User.create(
        username=username,
        display_name=username.title(),
        password_hash=password_hash(),
        is_superuser=superuser,
        **kw,
    )


async def member(user: User, site: Site, role: Role, unit: Unit | None = None) -> Membership:
    return await Membership.create(user=user, site=site, role=role, unit=unit)


@dataclass
class SiteWorld:
    site: Site
    zone: Zone
    unit: Unit
    bridge: Device
    bridge_token: str
    users: dict[str, User] = field(default_factory=dict)


@dataclass
class World:
    org: Organization
    other_org: Organization
    a: SiteWorld
    b: SiteWorld
    superuser: User


async def make_site(org: Organization, name: str, prefix: str) -> SiteWorld:
    site = await Site.create(organization=org, name=name, kind=SiteKind.community)
    zone = await Zone.create(site=site, name=f"{prefix} gate")
    unit = await Unit.create(site=site, zone=zone, label=f"{prefix}-1-101")
    token = new_device_token()
    bridge = await Device.create(
        uid=uuid.uuid4(),
        kind=DeviceKind.bridge,
        name=f"{prefix} lobby bridge",
        site=site,
        token_hash=token_hash(token),
    )
    world = SiteWorld(site, zone, unit, bridge, token)
    for role in Role:
        user = await make_user(f"{role.value}_{prefix}")
        await member(user, site, role, unit if role == Role.resident else None)
        world.users[role.value] = user
    # A second guard: someone a guard can name but not manage.
    extra = await make_user(f"guard2_{prefix}")
    await member(extra, site, Role.guard)
    world.users["guard2"] = extra
    return world


async def make_world() -> World:
    org = await Organization.create(name="Org One")
    other = await Organization.create(name="Org Two")
    a = await make_site(org, "Site A", "a")
    b = await make_site(org, "Site B", "b")
    su = await make_user("root", superuser=True)
    return World(org, other, a, b, su)
