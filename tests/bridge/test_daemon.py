"""`anbao-bridge run` as a real process against the fake BlueZ and a backend on a real port:
sightings, events and heartbeats arrive; a backend that is down, then up, and a bridge
SIGKILLed mid-upload still deliver every batch exactly once; a revoked token stops it with a
clear message; a refused batch is kept as a dead letter; SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter

from ble_bridge.daemon import EXIT_LOCKED
from tests.bridge import adverts
from tests.bridge.conftest import FakeApi
from tests.bridge.fake_bluez import FakeBluez, FakeTag
from tests.bridge.procs import BridgeCli, wait_for

NAMESPACE, INSTANCE = "a1b2c3d4e5f6a7b8c9d0", "0000000000aa"
UID_IDENT = NAMESPACE + INSTANCE
EDDYSTONE = adverts.EDDYSTONE_UUID


def extinguisher(battery_mv: int = 2950) -> FakeTag:
    return FakeTag(
        "C0:00:00:00:00:02",
        rssi=-70,
        cycle=[
            ({}, {EDDYSTONE: adverts.eddystone_uid(NAMESPACE, INSTANCE)}),
            ({}, {EDDYSTONE: adverts.eddystone_tlm(battery_mv, 21.0, 5, 50)}),
        ],
    )


def badge() -> FakeTag:
    return FakeTag(
        "C0:00:00:00:00:01",
        {adverts.APPLE_COMPANY_ID: adverts.ibeacon(uuid.UUID(int=0xB), 7, 1)},
        rssi=-50,
    )


def sensor() -> FakeTag:
    data = adverts.anbao_sensor(tamper=True, battery=55)
    return FakeTag("C0:00:00:00:00:04", {adverts.ANBAO_SENSOR_COMPANY_ID: data}, rssi=-65)


def test_run_delivers_sightings_events_and_heartbeats(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter(passive=True)
    bluez.put_tag(extinguisher(battery_mv=2100))  # 10 %: low
    bluez.put_tag(badge())
    bluez.put_tag(sensor())
    proc = cli.start("run")
    api = fake_api.state

    def everything() -> bool:
        types = {(e["type"], e["address"]) for e in api.events()}
        return {
            ("present", "C0:00:00:00:00:02"),
            ("low_battery", "C0:00:00:00:00:02"),
            ("present", "C0:00:00:00:00:01"),
            ("tamper", "C0:00:00:00:00:04"),
        } <= types and len(api.heartbeats) >= 2

    wait_for(everything, what="sightings, events and heartbeats")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, cli.log()

    sightings = api.sightings()
    uid = [s for s in sightings if s["address"] == "C0:00:00:00:00:02"]
    assert {(s["kind"], s["ident"]) for s in uid} == {("eddystone_uid", UID_IDENT)}
    assert any(s["battery_mv"] == 2100 and s["battery_percent"] == 10 for s in uid)
    assert {s["ident"] for s in sightings if s["kind"] == "ibeacon"} == {
        f"{uuid.UUID(int=0xB)}:7:1"
    }
    beat = api.heartbeats[-1]
    assert beat["adapter"] == {
        "present": True,
        "powered": True,
        "address": "00:1A:7D:DA:71:13",
        "passive": True,
    }
    assert beat["spool_size"] >= 0 and beat["dead_letters"] == 0
    assert "stopped; " in cli.log()


def test_backend_down_then_up_and_a_kill_mid_upload_deliver_exactly_once(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    bluez.put_tag(extinguisher())
    bluez.put_tag(badge())
    api, server = fake_api.state, fake_api.server
    server.stop()  # the backend is down when the bridge starts
    first = cli.start("run")
    wait_for(lambda: len(cli.spooled()) >= 4, what="batches spooled while the backend is down")
    assert "backend unreachable" in cli.log()

    api.hold()  # the backend records the first batch but its answer never reaches the bridge
    server.start()
    wait_for(lambda: api.held, what="a batch in flight")
    first.send_signal(signal.SIGKILL)
    first.wait()
    api.let_go()
    (in_flight,) = api.held
    left = cli.spooled()
    assert left[0] == in_flight  # not acknowledged: still spooled under its id

    second = cli.start("run")
    wait_for(lambda: set(left) <= set(api.accepted) and not cli.spooled(), what="the spool drained")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0, cli.log()

    assert api.duplicates == [in_flight]  # the replay was recognized, not stored twice
    seen = Counter((s["address"], s["first_seen"]) for s in api.sightings())
    assert seen and max(seen.values()) == 1, "a sighting was delivered twice"
    assert not api.held[1:]  # only the one batch was in flight at the kill


def test_a_revoked_token_stops_the_bridge_and_keeps_the_spool(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    bluez.put_tag(badge())
    fake_api.state.revoked = True
    proc = cli.start("run")
    assert proc.wait(timeout=30) == 3
    log = cli.log()
    assert "refused this bridge's token" in log and "revoked" in log
    assert fake_api.state.accepted == {}
    assert cli.token not in log  # the secret is never printed


def test_a_refused_batch_becomes_a_dead_letter_and_the_rest_flows(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    bluez.put_tag(badge())
    api = fake_api.state
    api.refuse_next = 1
    proc = cli.start("run")
    wait_for(lambda: api.refused and len(api.accepted) >= 2, what="a refusal, then deliveries")
    wait_for(lambda: any(h["dead_letters"] == 1 for h in api.heartbeats), what="heartbeat")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert api.refused[0] not in api.accepted
    status = cli.run("status", "--json")
    report = json.loads(status.stdout)
    (dead,) = report["dead_letters"]
    assert dead["batch_id"] == api.refused[0] and dead["status"] == 422
    assert "refused by the test" in dead["error"]


def test_sigterm_spools_the_interval_in_hand(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    bluez.put_tag(badge())
    cli.extra["ANBAO_BRIDGE_BATCH_SECONDS"] = "3600"  # no interval ends on its own
    proc = cli.start("run")
    wait_for(lambda: len(fake_api.state.heartbeats) >= 2, what="the bridge running")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert fake_api.state.accepted == {}
    (batch,) = cli.spooled()  # kept for the next start, not lost
    cli.extra.clear()
    again = cli.start("run")
    wait_for(lambda: batch in fake_api.state.accepted, what="delivery after restart")
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=20) == 0


def test_one_bridge_per_spool(bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli) -> None:
    bluez.add_adapter()
    first = cli.start("run")
    wait_for(lambda: fake_api.state.heartbeats, what="the first bridge running")
    second = cli.run("run")
    assert second.returncode == EXIT_LOCKED
    assert "another anbao-bridge is running" in second.stderr
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0


def test_a_pulled_adapter_reaches_the_backend_without_waiting_for_the_next_beat(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    bluez.put_tag(badge())
    api = fake_api.state
    api.settings["heartbeat_seconds"] = 3600
    proc = cli.start("run")
    wait_for(lambda: api.heartbeats and api.heartbeats[-1]["adapter"]["present"], what="first beat")
    bluez.remove_adapter()
    wait_for(lambda: not api.heartbeats[-1]["adapter"]["present"], timeout=10, what="adapter gone")
    bluez.add_adapter()
    wait_for(lambda: api.heartbeats[-1]["adapter"]["present"], timeout=10, what="adapter back")
    assert len(api.heartbeats) <= 4  # one per change, not a stream
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "hci0 not found" in cli.log()


def test_gatt_battery_of_a_tag_that_advertises_none(
    bluez: FakeBluez, fake_api: FakeApi, cli: BridgeCli
) -> None:
    bluez.add_adapter()
    tag = badge()
    tag.battery = 15
    bluez.put_tag(tag)
    cli.extra["ANBAO_BRIDGE_GATT_BATTERY_HOURS"] = "24"
    proc = cli.start("run")
    api = fake_api.state
    wait_for(
        lambda: (
            any(s["battery_percent"] == 15 for s in api.sightings())
            and any(e["type"] == "low_battery" for e in api.events())
        ),
        what="a GATT battery reading delivered",
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert bluez.gatt_reads == 1  # once a day, not once an interval
