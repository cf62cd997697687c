"""Bridge benchmark (budget in DESIGN.md): parse + aggregate 1,000,000 recorded advertisements
on one core (budget: >= 100k advertisements/s), next to a bare loop that only unpacks the
same bytes with `struct` (the floor any Python parser stands on), in the same run.

Rates are per second of this process's CPU time (one thread, so one core): on a shared
machine wall-clock time also counts the time other processes held the core.

The recording mixes what a gate-house bridge hears: iBeacon badges, Eddystone UID beacons
interleaving TLM frames, EID badges, vendor sensors and phones, 300 addresses at ~2,000
advertisements a second, drained into a batch every 10 s of recorded time as the daemon does.
"""

from __future__ import annotations

import random
import struct
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ble_bridge.aggregate import Aggregator, Thresholds
from ble_bridge.frames import ANBAO_SENSOR_COMPANY_ID, APPLE_COMPANY_ID, EDDYSTONE_UUID
from tests.bridge import adverts

ADVERTISEMENTS = 1_000_000
TAGS = 300
PER_SECOND = 2000
BATCH_SECONDS = 10

Ad = tuple[str, dict[int, bytes], dict[str, bytes]]


def record(count: int, seed: int = 1) -> tuple[list[Ad], list[int], list[int]]:
    """A pool of distinct advertisements, and which one was heard at each step with its RSSI."""
    rng = random.Random(seed)
    pool: list[Ad] = []
    for n in range(TAGS):
        address = f"C0:00:00:00:{n >> 8:02X}:{n & 0xFF:02X}"
        kind = n % 20
        if kind < 8:
            data = adverts.ibeacon(uuid.UUID(int=n), n, n * 7 % 65536)
            pool.append((address, {APPLE_COMPANY_ID: data}, {}))
        elif kind < 14:
            uid = adverts.eddystone_uid(f"{n:020x}", f"{n:012x}")
            pool.append((address, {}, {EDDYSTONE_UUID: uid}))
            tlm = adverts.eddystone_tlm(2100 + n * 3, 21.5, n, n * 10)  # a few are low
            pool.append((address, {}, {EDDYSTONE_UUID: tlm}))
        elif kind < 16:
            pool.append((address, {}, {EDDYSTONE_UUID: adverts.eddystone_eid(f"{n:016x}")}))
        elif kind < 18:
            data = adverts.anbao_sensor(tamper=n % 3 == 0, battery=50)
            pool.append((address, {ANBAO_SENSOR_COMPANY_ID: data}, {}))
        else:
            phone = f"5A:00:00:00:{n >> 8:02X}:{n & 0xFF:02X}"
            pool.append((phone, {APPLE_COMPANY_ID: bytes.fromhex("10050b1c1a2b3c")}, {}))
    heard = [rng.randrange(len(pool)) for _ in range(count)]
    rssi = [rng.randint(-95, -40) for _ in range(count)]
    return pool, heard, rssi


def parse_and_aggregate(pool: list[Ad], heard: list[int], rssi: list[int]) -> tuple[float, int]:
    agg = Aggregator(Thresholds(missing_after=timedelta(minutes=5)))
    base = datetime(2025, 1, 1, tzinfo=UTC)
    step = timedelta(seconds=1 / PER_SECOND)
    per_batch = PER_SECOND * BATCH_SECONDS
    observe = agg.observe
    reported = 0
    start = time.process_time()
    at = base
    for i, index in enumerate(heard):
        if i % 100 == 0:
            at = base + step * i
        address, manufacturer, service = pool[index]
        observe(address, rssi[i], manufacturer, service, at)
        if i % per_batch == per_batch - 1:
            interval = agg.drain(at)
            reported += len(interval.sightings) + len(interval.events)
    interval = agg.drain(at)
    reported += len(interval.sightings) + len(interval.events)
    return time.process_time() - start, reported


_IBEACON = struct.Struct(">16sHHb")
_UID = struct.Struct(">bb10s6s")
_TLM = struct.Struct(">BBHhII")


def bare_unpack(pool: list[Ad], heard: list[int], rssi: list[int]) -> tuple[float, int]:
    """The same bytes, only unpacked: no values built, nothing aggregated."""
    fields = 0
    start = time.process_time()
    for i, index in enumerate(heard):
        _address, manufacturer, service = pool[index]
        _ = rssi[i]
        for company, data in manufacturer.items():
            if company == APPLE_COMPANY_ID and data[:2] == b"\x02\x15":
                fields += len(_IBEACON.unpack_from(data, 2))
            elif company == ANBAO_SENSOR_COMPANY_ID:
                fields += len(data)
        eddystone = service.get(EDDYSTONE_UUID)
        if eddystone is not None:
            if eddystone[0] == 0x20:
                fields += len(_TLM.unpack_from(eddystone))
            elif eddystone[0] == 0x00:
                fields += len(_UID.unpack_from(eddystone))
            else:
                fields += len(eddystone[2:10])
    return time.process_time() - start, fields


def run(count: int) -> dict[str, Any]:
    pool, heard, rssi = record(count)
    bare, _ = bare_unpack(pool, heard, rssi)
    full, reported = parse_and_aggregate(pool, heard, rssi)
    return {"count": count, "full": full, "bare": bare, "reported": reported}


def main() -> None:
    r = run(ADVERTISEMENTS)
    rate = r["count"] / r["full"]
    print(
        f"bridge parse + aggregate: {r['count']:,} advertisements in {r['full']:.2f} s "
        f"({rate:,.0f}/s, budget >= 100,000/s); bare struct unpack {r['bare']:.2f} s "
        f"({r['count'] / r['bare']:,.0f}/s); ratio {r['bare'] / r['full']:.3f} of the bare loop; "
        f"{r['reported']:,} sightings and events reported"
    )


if __name__ == "__main__":
    main()
