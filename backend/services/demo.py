"""The demo community and office building that `anbao demo` seeds into an empty database."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from backend.models.organizations import Organization, Site, SiteKind, Unit, Zone, ZoneKind
from backend.models.users import Membership, Role, User
from backend.services.auth import hash_password
from backend.services.gate_demo import add_demo_gate
from backend.services.parcels import add_demo_parcels
from backend.services.patrol_demo import add_demo_patrol
from backend.settings import Settings


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: str
    site: str


# (username, display name, role, site index, unit label)
_PEOPLE = [
    ("admin", "管理员 Admin", Role.admin, 0, None),
    ("supervisor", "李主管 Li (supervisor)", Role.supervisor, 0, None),
    ("guard", "王保安 Wang (guard)", Role.guard, 0, None),
    ("guard2", "赵保安 Zhao (guard)", Role.guard, 0, None),
    ("resident", "陈女士 Ms Chen (resident)", Role.resident, 0, "3-1-502"),
    ("resident2", "刘先生 Mr Liu (resident)", Role.resident, 0, "1-2-201"),
    ("tower-supervisor", "周主管 Zhou (supervisor)", Role.supervisor, 1, None),
    ("tower-guard", "孙保安 Sun (guard)", Role.guard, 1, None),
    ("tenant", "吴经理 Mr Wu (tenant)", Role.resident, 1, "12F-1203"),
]

DEMO_USERNAMES = [person[0] for person in _PEOPLE]

_SITES = [
    (
        "翠湖小区 Cuihu Community",
        SiteKind.community,
        "上海市浦东新区翠湖路 88 号",
        [
            ("南大门 South gate", ZoneKind.gate),
            ("1-3 号楼 Buildings 1-3", ZoneKind.building),
            ("地下车库 Car park B1", ZoneKind.car_park),
            ("中心花园 Garden", ZoneKind.area),
        ],
        ["1-1-101", "1-2-201", "2-1-301", "3-1-502", "3-2-601"],
    ),
    (
        "国贸大厦 Guomao Tower",
        SiteKind.building,
        "上海市黄浦区国贸路 1 号",
        [
            ("大堂 Lobby", ZoneKind.floor),
            ("12 层 Floor 12", ZoneKind.floor),
            ("地下车库 Car park B2", ZoneKind.car_park),
            ("货梯 Goods lift", ZoneKind.other),
        ],
        ["12F-1201", "12F-1203", "15F-1501"],
    ),
]


def demo_password(username: str) -> str:
    return f"{username}-demo-1"


async def is_empty() -> bool:
    return not await Organization.exists()


async def seed_demo(settings: Settings) -> list[DemoLogin]:
    """Seeds the demo; the caller checks that the database is empty first."""
    hashes = {u: await hash_password(demo_password(u), settings) for u, *_ in _PEOPLE}
    logins: list[DemoLogin] = []
    async with in_transaction():
        org = await Organization.create(name="安宝物业 Anbao Property (demo)")
        sites: list[Site] = []
        units: dict[str, Unit] = {}
        site_zones: list[list[Zone]] = []
        for name, kind, address, zones, unit_labels in _SITES:
            site = await Site.create(
                organization=org,
                name=name,
                kind=kind,
                address=address,
                timezone=settings.default_timezone,
            )
            sites.append(site)
            zone_rows = [await Zone.create(site=site, name=z, kind=k) for z, k in zones]
            site_zones.append(zone_rows)
            for label in unit_labels:
                units[label] = await Unit.create(site=site, label=label, zone=zone_rows[1])
        for username, display, role, site_index, unit_label in _PEOPLE:
            user = await User.create(
                username=username,
                display_name=display,
                password_hash=hashes[username],
                locale="zh-CN",
            )
            await Membership.create(
                user=user,
                site=sites[site_index],
                role=role,
                unit=units[unit_label] if unit_label else None,
            )
            logins.append(
                DemoLogin(username, demo_password(username), role.value, sites[site_index].name)
            )
        # The admin runs both sites.
        admin = await User.get(username="admin")
        await Membership.create(user=admin, site=sites[1], role=Role.admin)
        # Visitors, cars and passes at both gates.
        await add_demo_gate(sites, units, settings.sealer())
        # Parcels waiting at the community's guard room, and one already picked up.
        await add_demo_parcels(sites[0], await User.get(username="guard"), units)
        # Checkpoints, tours, fire equipment, the duty log and an open incident.
        await add_demo_patrol(sites, site_zones, settings.sealer())
    return logins
