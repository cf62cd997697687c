"""The guards' part of the demo: checkpoints with printable QR labels and the tours that walk
them (a round is open whatever the hour `anbao demo` runs at), fire equipment to inspect, the
night's duty log and an open incident. Made through the same services as real ones."""

from __future__ import annotations

import uuid
from typing import Any

from backend.models.organizations import Site, Zone
from backend.models.patrol import TagKind
from backend.schemas.duty_log import DutyEntryIn
from backend.schemas.equipment import EquipmentIn
from backend.schemas.incidents import IncidentIn
from backend.schemas.patrol import CheckpointIn, TagIn, TourIn
from backend.sealing import Sealer
from backend.services import duty_log, equipment, incidents, patrol, rounds
from backend.services.gate_demo import INFO, actor_named
from backend.services.permissions import Actor

_EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]

# (name, zone index, checklist): zones as in demo._SITES.
_COMMUNITY_CHECKPOINTS: list[tuple[str, int, list[dict[str, str]]]] = [
    ("南大门岗亭 South gate booth", 0, []),
    (
        "1 号楼大堂 Building 1 lobby",
        1,
        [{"key": "door_closed", "label": "门禁已关闭 Access door shut"}],
    ),
    (
        "3 号楼消防通道 Building 3 fire exit",
        1,
        [
            {"key": "exit_clear", "label": "通道畅通 Exit clear"},
            {"key": "exit_sign", "label": "疏散指示灯亮 Exit sign lit"},
        ],
    ),
    (
        "车库入口 Car park ramp",
        2,
        [
            {"key": "shutter", "label": "卷帘门正常 Shutter works"},
            {"key": "remark", "label": "备注 Remark", "kind": "note"},
        ],
    ),
    (
        "配电房 Power room",
        2,
        [
            {"key": "locked", "label": "门已上锁 Door locked"},
            {"key": "no_smell", "label": "无异味异响 No smell or noise"},
            {"key": "reading", "label": "电表读数 Meter reading", "kind": "note"},
            {"key": "fault_photo", "label": "异常拍照 Photo of what is wrong", "kind": "photo"},
        ],
    ),
    ("中心花园凉亭 Garden pavilion", 3, []),
]

_TOWER_CHECKPOINTS: list[tuple[str, int, list[dict[str, str]]]] = [
    ("大堂前台 Lobby desk", 0, []),
    (
        "12 层消防楼梯 Floor 12 stairwell",
        1,
        [{"key": "exit_clear", "label": "通道畅通 Exit clear"}],
    ),
    ("B2 车库 Car park B2", 2, []),
]

# (name, type, zone index, location)
_EQUIPMENT = [
    ("灭火器 E-01 Extinguisher", "extinguisher", 1, "1 号楼 1 层电梯厅 Building 1, lift lobby"),
    ("灭火器 E-02 Extinguisher", "extinguisher", 1, "3 号楼 2 层走廊 Building 3, floor 2"),
    ("灭火器 E-03 Extinguisher", "extinguisher", 2, "车库 B1 入口 Car park entrance"),
    ("消火栓 H-01 Hydrant", "hydrant", 3, "中心花园东侧 Garden, east side"),
    ("消防软管卷盘 R-01 Hose reel", "hose_reel", 2, "车库 B1 中部 Car park, middle"),
    ("火灾报警控制器 Alarm panel", "alarm_panel", 0, "南大门岗亭 South gate booth"),
    ("应急照明 L-01 Emergency light", "emergency_light", 1, "3 号楼楼梯间 Building 3 stairs"),
]

# (author, category, zone index or None, text), oldest first.
_DUTY_LOG: list[tuple[str, str, int | None, str]] = [
    (
        "guard2",
        "handover",
        None,
        "交班：南大门道闸抬杆偏慢，已报物业维修。Handover: the barrier is slow; maintenance told.",
    ),
    ("guard", "patrol", 3, "中心花园路灯两盏不亮。Two garden lamps are out."),
    ("guard", "visitor", 0, "送水师傅李师傅由赵保安陪同入内。Water delivery escorted by Zhao."),
]


async def _checkpoints(
    admin: Actor,
    site: Site,
    zones: list[Zone],
    rows: list[tuple[str, int, list[dict[str, str]]]],
    sealer: Sealer,
) -> list[int]:
    ids = []
    for name, zone, checklist in rows:
        cp = await patrol.create_checkpoint(
            admin,
            site.id,
            CheckpointIn.model_validate(
                {"name": name, "zone_id": zones[zone].id, "checklist": checklist}
            ),
            INFO,
        )
        # The server makes each QR code; the labels PDF (on the supervisor's board) prints them.
        await patrol.create_tag(
            admin, site.id, TagIn(kind=TagKind.qr, checkpoint_id=cp.id, label=name), INFO, sealer
        )
        ids.append(cp.id)
    return ids


def _tour(name: str, start: str, end: str, every: int, stops: list[int], **more: Any) -> TourIn:
    return TourIn.model_validate(
        {
            "name": name,
            "days": _EVERY_DAY,
            "start_time": start,
            "end_time": end,
            "every_minutes": every,
            "window_minutes": every,
            "stops": stops,
            **more,
        }
    )


async def add_demo_patrol(sites: list[Site], zones: list[list[Zone]], sealer: Sealer) -> None:
    """Seed both demo sites' rounds, the community's equipment, duty log and an incident; call
    inside the demo's transaction, after add_demo_gate."""
    community, tower = sites
    admin = await actor_named("admin")
    stops = await _checkpoints(admin, community, zones[0], _COMMUNITY_CHECKPOINTS, sealer)
    # Night rounds back to back, so one is open at any hour of the night; fewer by day.
    await rounds.create_tour(
        admin, community.id, _tour("夜间巡更 Night round", "20:00", "08:00", 120, stops), INFO
    )
    await rounds.create_tour(
        admin,
        community.id,
        _tour("日间巡更 Day round", "08:00", "20:00", 180, stops[:4], order="fixed"),
        INFO,
    )
    tower_stops = await _checkpoints(admin, tower, zones[1], _TOWER_CHECKPOINTS, sealer)
    await rounds.create_tour(
        admin, tower.id, _tour("大厦巡更 Tower round", "00:00", "00:00", 120, tower_stops), INFO
    )

    for name, kind, zone, location in _EQUIPMENT:
        await equipment.create_equipment(
            admin,
            community.id,
            EquipmentIn.model_validate(
                {"name": name, "type": kind, "zone_id": zones[0][zone].id, "location": location}
            ),
            INFO,
        )

    for username, category, where, text in _DUTY_LOG:
        await duty_log.add_entry(
            await actor_named(username),
            community.id,
            DutyEntryIn.model_validate(
                {
                    "id": str(uuid.uuid4()),
                    "text": text,
                    "category": category,
                    "zone_id": None if where is None else zones[0][where].id,
                }
            ),
            INFO,
        )

    await incidents.report_incident(
        await actor_named("guard"),
        community.id,
        IncidentIn.model_validate(
            {
                "id": uuid.uuid4(),
                "type": "facility_fault",
                "severity": "medium",
                "description": (
                    "车库 B1 东侧三盏灯管损坏，地面较暗。"
                    "Three tubes are out in the east of car park B1."
                ),
                "zone_id": zones[0][2].id,
                "place": "车库 B1 东侧 Car park B1, east",
            }
        ),
        INFO,
        None,
    )
