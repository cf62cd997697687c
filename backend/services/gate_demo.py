"""The gate house's part of the demo: visitors on site and gone, a blocklist entry, an invite,
residents' cars and cars inside, a contractor's pass, a stamped goods-out pass. Made through
the same services as real ones, so the demo shows what they produce."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.http import ClientInfo
from backend.models.organizations import Site, Unit, Zone
from backend.models.users import User
from backend.schemas.gate import BlocklistIn
from backend.schemas.invites import InviteIn
from backend.schemas.passes import (
    ApproverIn,
    ContractorPassIn,
    GoodsDecisionIn,
    GoodsItem,
    GoodsPassIn,
)
from backend.schemas.vehicles import VehicleEntryIn, VehicleIn
from backend.schemas.visitors import CheckOutIn, VisitIn
from backend.sealing import Sealer
from backend.services import gate, invites, passes, vehicles, visitors
from backend.services.identity import DocumentKind
from backend.services.permissions import Actor, load_roles

INFO = ClientInfo(request_id="demo", address="", user_agent="", language="zh-CN", is_https=False)


async def actor_named(username: str) -> Actor:
    user = await User.get(username=username)
    return Actor(user=user, roles=await load_roles(user))


def _daytime(site: Site, now: datetime, hours_ago: float) -> datetime:
    """A moment in the gate's daytime (10:00 local) today or yesterday, so demo visitors are in
    whatever the hour `anbao demo` runs at."""
    tz = ZoneInfo(site.timezone)
    local = now.astimezone(tz)
    day = local.date() if local.time() >= time(11) else local.date() - timedelta(days=1)
    return datetime.combine(day, time(10), tz).astimezone(UTC) - timedelta(hours=hours_ago)


async def add_demo_gate(sites: list[Site], units: dict[str, Unit], sealer: Sealer) -> None:
    """Seed both demo sites' gates; call inside the demo's transaction."""
    community, tower = sites
    now = datetime.now(UTC)
    guard, guard2 = await actor_named("guard"), await actor_named("guard2")
    supervisor, resident = await actor_named("supervisor"), await actor_named("resident")
    home = units["3-1-502"]

    def visit(**fields: Any) -> VisitIn:
        return VisitIn.model_validate({"id": uuid.uuid4(), **fields})

    await visitors.register_visit(
        guard,
        community.id,
        visit(
            name="张伟 Zhang Wei",
            phone="13800138000",
            id_kind="resident_id",
            id_number="11010519491231002X",
            host_unit_id=home.id,
            plate="沪A·D12345",
            client_time=_daytime(community, now, 0),
        ),
        INFO,
        sealer,
    )
    await visitors.register_visit(
        guard,
        community.id,
        visit(
            name="李师傅 Li (water)",
            phone="13912345678",
            purpose="water",
            escort_id=guard2.user.id if guard2.user else None,
            client_time=_daytime(community, now, -0.5),
        ),
        INFO,
        sealer,
    )
    gone = await visitors.register_visit(
        guard,
        community.id,
        visit(
            name="王芳 Wang Fang",
            phone="13700001111",
            id_kind="passport",
            id_number="E12345678",
            host_unit_id=units["1-2-201"].id,
            purpose="business",
            client_time=_daytime(community, now, 24),
        ),
        INFO,
        sealer,
    )
    await visitors.check_out(
        guard, gone.id, CheckOutIn(client_time=_daytime(community, now, 23)), INFO
    )
    await gate.add_blocklist_entry(
        supervisor,
        community.id,
        BlocklistIn(
            phone="13900000000", reason="多次尾随业主进门 tailgated residents several times"
        ),
        INFO,
        sealer,
    )
    await invites.create_invite(
        resident,
        community.id,
        InviteIn(
            guest_name="陈阿姨 Aunt Chen",
            guest_phone="13611112222",
            headcount=2,
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(hours=8),
        ),
        INFO,
        sealer,
    )
    await vehicles.register_vehicle(
        supervisor,
        community.id,
        VehicleIn(
            plate="沪B·12345",
            unit_id=home.id,
            owner_id=resident.user.id if resident.user else None,
            parking_spot="B1-017",
            description="白色 特斯拉 white Tesla",
        ),
        INFO,
    )
    for plate, hours in (("沪B12345", 12), ("苏E·A8888", 1)):
        await vehicles.record_entry(
            guard,
            community.id,
            VehicleEntryIn(id=uuid.uuid4(), plate=plate, client_time=now - timedelta(hours=hours)),
        )

    tower_admin = await actor_named("admin")
    tower_supervisor, tenant = await actor_named("tower-supervisor"), await actor_named("tenant")
    office = units["12F-1203"]
    floor = await Zone.get(site_id=tower.id, name="12 层 Floor 12")
    await passes.issue_contractor_pass(
        tower_supervisor,
        tower.id,
        ContractorPassIn(
            company="上海修缮工程有限公司 Fixit Shanghai",
            person_name="周建国 Zhou Jianguo",
            phone="13512345678",
            id_kind=DocumentKind.RESIDENT_ID,
            id_number="310104198001011239",
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=6),
            zone_ids=[floor.id],
        ),
        INFO,
        sealer,
    )
    assert tenant.user is not None
    await passes.add_approver(tower_admin, office.id, ApproverIn(user_id=tenant.user.id), INFO)
    goods = await passes.request_goods_pass(
        tenant,
        tower.id,
        GoodsPassIn(
            carrier="顺达搬家 Shunda Movers",
            reason="旧家具处理 old furniture out",
            items=[
                GoodsItem(name="办公椅 office chair", quantity=4),
                GoodsItem(name="打印机 printer"),
            ],
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=1),
        ),
        INFO,
        sealer,
    )
    await passes.decide_goods_pass(
        tenant, goods.id, GoodsDecisionIn(decision="approved"), INFO, sealer
    )
