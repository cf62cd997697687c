"""Aggregation, replayed with explicit timestamps: intervals, identity + TLM merge, presence
hysteresis and missing, low battery with hysteresis, tamper and motion on their rising edge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ble_bridge.aggregate import Aggregator, EventType, Thresholds
from ble_bridge.frames import ANBAO_SENSOR_COMPANY_ID, APPLE_COMPANY_ID, EDDYSTONE_UUID, TagKind
from tests.bridge import adverts

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
UID_ADDR = "C0:00:00:00:00:01"
IB_ADDR = "C0:00:00:00:00:02"
SENSOR_ADDR = "C0:00:00:00:00:03"
PHONE_ADDR = "5A:11:22:33:44:55"
NAMESPACE, INSTANCE = "a1b2c3d4e5f6a7b8c9d0", "00000000002a"
IB_UUID = uuid.UUID("e2c56db5-dffb-48d2-b060-d0f5a71096e0")


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uid(agg: Aggregator, at: datetime, rssi: int = -70, address: str = UID_ADDR) -> None:
    agg.observe(address, rssi, {}, {EDDYSTONE_UUID: adverts.eddystone_uid(NAMESPACE, INSTANCE)}, at)


def tlm(agg: Aggregator, at: datetime, mv: int, temp: float = 21.5) -> None:
    agg.observe(UID_ADDR, -71, {}, {EDDYSTONE_UUID: adverts.eddystone_tlm(mv, temp, 10, 100)}, at)


def sensor(agg: Aggregator, at: datetime, **flags: bool) -> None:
    data = adverts.anbao_sensor(battery=77, **flags)
    agg.observe(SENSOR_ADDR, -60, {ANBAO_SENSOR_COMPANY_ID: data}, {}, at)


def types(agg: Aggregator, at: datetime) -> list[EventType]:
    return [e.type for e in agg.drain(at).events]


def test_an_interval_has_first_last_strongest_and_count_per_tag() -> None:
    agg = Aggregator()
    uid(agg, s(1), -80)
    uid(agg, s(2), -65)
    uid(agg, s(4), -72)
    ib = adverts.ibeacon(IB_UUID, 100, 7)
    agg.observe(IB_ADDR.lower(), -90, {APPLE_COMPANY_ID: ib}, {}, s(3))
    interval = agg.drain(s(10))
    by_addr = {x.address: x for x in interval.sightings}
    assert set(by_addr) == {UID_ADDR, IB_ADDR}
    u = by_addr[UID_ADDR]
    assert (u.first_seen, u.last_seen, u.rssi_max, u.count) == (s(1), s(4), -65, 3)
    assert (u.kind, u.ident) == (TagKind.EDDYSTONE_UID, NAMESPACE + INSTANCE)
    i = by_addr[IB_ADDR]
    assert (i.kind, i.ident, i.count) == (TagKind.IBEACON, f"{IB_UUID}:100:7", 1)
    # the next interval starts empty
    assert agg.drain(s(20)).sightings == []
    uid(agg, s(21), -77)
    (again,) = agg.drain(s(30)).sightings
    assert (again.first_seen, again.count, again.rssi_max) == (s(21), 1, -77)


def test_tlm_of_the_same_address_adds_battery_and_temperature_to_the_identity() -> None:
    agg = Aggregator()
    tlm(agg, s(1), 2900, 19.25)
    uid(agg, s(2))
    (sighting,) = agg.drain(s(5)).sightings
    assert (sighting.kind, sighting.ident) == (TagKind.EDDYSTONE_UID, NAMESPACE + INSTANCE)
    assert sighting.battery_mv == 2900 and sighting.battery_percent == 90
    assert sighting.temperature_c == 19.25
    assert sighting.count == 2


def test_phones_stay_out_unless_their_address_is_bound() -> None:
    agg = Aggregator()
    agg.observe(PHONE_ADDR, -50, {0x0006: b"\x01\x09"}, {}, s(1))
    agg.observe(PHONE_ADDR, -50, {}, {}, s(2))
    assert agg.drain(s(3)).sightings == []
    assert [t.address for t in agg.tags()] == [PHONE_ADDR]  # scan still shows it

    bound = Aggregator(known_addresses=[PHONE_ADDR.lower()])
    bound.observe(PHONE_ADDR, -50, {}, {}, s(1))
    bound.observe(PHONE_ADDR, -52, {}, {}, s(2))
    interval = bound.drain(s(3))
    (sighting,) = interval.sightings
    assert (sighting.kind, sighting.ident) == (TagKind.ADDRESS, PHONE_ADDR)
    assert [e.type for e in interval.events] == [EventType.PRESENT]


def test_presence_needs_k_sightings_then_one_missing_then_back() -> None:
    agg = Aggregator(Thresholds(present_after=3, missing_after=timedelta(minutes=5)))
    uid(agg, s(0))
    uid(agg, s(1))
    assert types(agg, s(2)) == []
    uid(agg, s(3))
    interval = agg.drain(s(4))
    (present,) = interval.events
    assert present.type == EventType.PRESENT and present.at == s(3)
    assert (present.kind, present.ident, present.address) == (
        TagKind.EDDYSTONE_UID,
        NAMESPACE + INSTANCE,
        UID_ADDR,
    )
    uid(agg, s(60))
    assert types(agg, s(299 + 60)) == []  # 4:59 unseen: still present
    (missing,) = agg.drain(s(300 + 60)).events
    assert missing.type == EventType.MISSING
    assert missing.at == s(360) and missing.detail["last_seen"] == s(60).isoformat()
    assert types(agg, s(10_000)) == []  # one missing event, not one per tick
    uid(agg, s(10_001))
    uid(agg, s(10_002))
    assert types(agg, s(10_003)) == []  # back, but not yet K sightings
    uid(agg, s(10_004))
    assert types(agg, s(10_005)) == [EventType.PRESENT]


def test_a_gap_without_ticks_still_yields_missing_then_present() -> None:
    agg = Aggregator(Thresholds(present_after=1, missing_after=timedelta(seconds=60)))
    uid(agg, s(0))
    uid(agg, s(500))  # nobody called tick() in between
    interval = agg.drain(s(501))
    assert [(e.type, e.at) for e in interval.events] == [
        (EventType.PRESENT, s(0)),
        (EventType.MISSING, s(60)),
        (EventType.PRESENT, s(500)),
    ]


def test_low_battery_fires_once_with_hysteresis() -> None:
    agg = Aggregator(Thresholds(low_battery_percent=20, battery_hysteresis=5))
    uid(agg, s(0))
    tlm(agg, s(1), 2300)  # 30 %
    assert EventType.LOW_BATTERY not in types(agg, s(2))
    tlm(agg, s(3), 2150)  # 15 %
    interval = agg.drain(s(4))
    (low,) = [e for e in interval.events if e.type == EventType.LOW_BATTERY]
    assert low.detail == {"battery_percent": 15, "battery_mv": 2150}
    assert low.ident == NAMESPACE + INSTANCE
    tlm(agg, s(5), 2140)
    tlm(agg, s(6), 2210)  # 21 %: above the threshold but inside the hysteresis band
    tlm(agg, s(7), 2150)
    assert types(agg, s(8)) == []
    tlm(agg, s(9), 2260)  # 26 %: recovered (a new battery)
    tlm(agg, s(10), 2100)  # 10 %
    assert types(agg, s(11)) == [EventType.LOW_BATTERY]


def test_gatt_battery_reading_counts_too() -> None:
    agg = Aggregator()
    ib = adverts.ibeacon(IB_UUID, 1, 1)
    agg.observe(IB_ADDR, -60, {APPLE_COMPANY_ID: ib}, {}, s(0))
    agg.set_battery(IB_ADDR, 12, s(1))
    interval = agg.drain(s(2))
    assert [e.type for e in interval.events] == [EventType.LOW_BATTERY]
    assert interval.sightings[0].battery_percent == 12
    agg.set_battery("AA:AA:AA:AA:AA:AA", 1, s(3))  # never heard: ignored
    assert agg.drain(s(4)).events == []


def test_tamper_and_motion_are_passed_on_at_their_rising_edge() -> None:
    agg = Aggregator(Thresholds(present_after=1))
    sensor(agg, s(0))
    sensor(agg, s(1), tamper=True)
    sensor(agg, s(2), tamper=True)
    sensor(agg, s(3), tamper=True, motion=True)
    sensor(agg, s(4), motion=True)
    interval = agg.drain(s(5))
    assert [(e.type, e.at) for e in interval.events] == [
        (EventType.PRESENT, s(0)),
        (EventType.TAMPER, s(1)),
        (EventType.MOTION, s(3)),
    ]
    tamper = interval.events[1]
    assert (tamper.kind, tamper.ident) == (TagKind.ADDRESS, SENSOR_ADDR)
    assert tamper.detail == {"company_id": ANBAO_SENSOR_COMPANY_ID}
    (sighting,) = interval.sightings
    assert sighting.battery_percent == 77
    sensor(agg, s(6))
    sensor(agg, s(7), tamper=True)  # opened again
    assert types(agg, s(8)) == [EventType.TAMPER]


def test_eid_tags_rotate_and_get_no_presence_events() -> None:
    agg = Aggregator(Thresholds(present_after=1, missing_after=timedelta(seconds=30)))
    eid = {EDDYSTONE_UUID: adverts.eddystone_eid("0011223344556677")}
    agg.observe(UID_ADDR, -60, {}, eid, s(0))
    agg.observe(UID_ADDR, -60, {}, eid, s(1))
    interval = agg.drain(s(2))
    assert interval.events == []
    assert (interval.sightings[0].kind, interval.sightings[0].ident) == (
        TagKind.EDDYSTONE_EID,
        "0011223344556677",
    )
    rotated = {EDDYSTONE_UUID: adverts.eddystone_eid("8899aabbccddeeff")}
    agg.observe(UID_ADDR, -60, {}, rotated, s(3))
    assert agg.drain(s(100)).sightings[0].ident == "8899aabbccddeeff"
    assert agg.drain(s(200)).events == []


def test_strangers_are_forgotten_after_missing_after() -> None:
    agg = Aggregator(Thresholds(missing_after=timedelta(seconds=60)))
    for i in range(50):
        agg.observe(f"5A:00:00:00:00:{i:02X}", -90, {}, {}, s(i))
    assert len(agg.tags()) == 50
    agg.drain(s(200))
    assert agg.tags() == []


def test_json_shapes_follow_the_backend_contract() -> None:
    ids = iter([uuid.UUID(int=7)])
    agg = Aggregator(Thresholds(present_after=1), new_id=lambda: next(ids))
    uid(agg, s(0))
    tlm(agg, s(1), 3100, 22.0)
    interval = agg.drain(s(2))
    assert interval.sightings[0].to_json() == {
        "address": UID_ADDR,
        "kind": "eddystone_uid",
        "ident": NAMESPACE + INSTANCE,
        "first_seen": s(0).isoformat(),
        "last_seen": s(1).isoformat(),
        "rssi_max": -70,
        "count": 2,
        "battery_percent": 100,
        "battery_mv": 3100,
        "temperature_c": 22.0,
    }
    assert interval.events[0].to_json() == {
        "id": str(uuid.UUID(int=7)),
        "type": "present",
        "kind": "eddystone_uid",
        "ident": NAMESPACE + INSTANCE,
        "address": UID_ADDR,
        "at": s(0).isoformat(),
        "detail": {"rssi": -70},
    }


def test_thresholds_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="present_after"):
        Thresholds(present_after=0)
    with pytest.raises(ValueError, match="missing_after"):
        Thresholds(missing_after=timedelta(0))
    with pytest.raises(ValueError, match="battery_full_mv"):
        Thresholds(battery_empty_mv=3000, battery_full_mv=3000)
