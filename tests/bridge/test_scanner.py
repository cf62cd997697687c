"""Scanning with unmodified bleak against the fake BlueZ: every frame kind reaches the bridge,
passive scanning through an advertisement monitor, and adapters that are missing, powered
off or vanish mid-scan are reported and recovered from without a crash."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ble_bridge.aggregate import Aggregator, EventType, Thresholds
from ble_bridge.frames import TagKind
from ble_bridge.scanner import Advertisement, Scanner, ScannerState, or_patterns
from tests.bridge import adverts
from tests.bridge.fake_bluez import FakeBluez, FakeTag

IB_UUID = uuid.UUID("e2c56db5-dffb-48d2-b060-d0f5a71096e0")
NAMESPACE, INSTANCE = "a1b2c3d4e5f6a7b8c9d0", "0000000000aa"
EDDYSTONE = adverts.EDDYSTONE_UUID

IBEACON_TAG = FakeTag(
    "C0:00:00:00:00:01", {adverts.APPLE_COMPANY_ID: adverts.ibeacon(IB_UUID, 3, 9)}, rssi=-55
)
PHONE = FakeTag(
    "5A:00:00:00:00:99", {adverts.APPLE_COMPANY_ID: bytes.fromhex("10050b1c")}, rssi=-40
)


def eddystone_tag() -> FakeTag:
    return FakeTag(
        "C0:00:00:00:00:02",
        rssi=-70,
        cycle=[
            ({}, {EDDYSTONE: adverts.eddystone_uid(NAMESPACE, INSTANCE)}),
            ({}, {EDDYSTONE: adverts.eddystone_tlm(2950, 24.5, 99, 1000)}),
        ],
    )


@dataclass
class Run:
    aggregator: Aggregator
    scanner: Scanner
    states: list[ScannerState] = field(default_factory=list)
    ads: list[Advertisement] = field(default_factory=list)

    async def until(self, check: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            # polling: the condition lives in the fake's thread and the scanner's callbacks
            while not check():  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    def addresses(self) -> set[str]:
        return {a.address for a in self.ads}


@asynccontextmanager
async def scanning(mode: str = "auto", **thresholds: object) -> AsyncIterator[Run]:
    agg = Aggregator(Thresholds(**thresholds))  # type: ignore[arg-type]
    run: Run

    def seen(ad: Advertisement) -> None:
        run.ads.append(ad)
        agg.observe(ad.address, ad.rssi, ad.manufacturer_data, ad.service_data, ad.at)

    scanner = Scanner(
        "hci0",
        seen,
        mode=mode,  # type: ignore[arg-type]
        poll_seconds=0.1,
        retry_max_seconds=0.3,
        on_state=lambda s: run.states.append(s),
    )
    run = Run(agg, scanner)
    stop = asyncio.Event()
    task = asyncio.create_task(scanner.run(stop))
    try:
        yield run
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task  # the scanner never raises, even here


async def test_every_frame_kind_reaches_the_bridge(bluez: FakeBluez) -> None:
    bluez.add_adapter()
    bluez.put_tag(IBEACON_TAG)
    bluez.put_tag(eddystone_tag())
    bluez.put_tag(
        FakeTag("C0:00:00:00:00:03", {}, {EDDYSTONE: adverts.eddystone_eid("0123456789abcdef")})
    )
    bluez.put_tag(
        FakeTag(
            "C0:00:00:00:00:04",
            {adverts.ANBAO_SENSOR_COMPANY_ID: adverts.anbao_sensor(tamper=True, battery=64)},
        )
    )
    bluez.put_tag(PHONE)
    async with scanning(present_after=1) as run:
        await run.until(lambda: len(run.aggregator.tags()) == 5 and len(run.ads) > 40)
        assert run.scanner.state.scanning and not run.scanner.state.passive
    interval = run.aggregator.drain(run.ads[-1].at)
    seen = {s.address: s for s in interval.sightings}
    assert set(seen) == {f"C0:00:00:00:00:0{i}" for i in range(1, 5)}  # not the phone
    assert (seen["C0:00:00:00:00:01"].kind, seen["C0:00:00:00:00:01"].ident) == (
        TagKind.IBEACON,
        f"{IB_UUID}:3:9",
    )
    uid = seen["C0:00:00:00:00:02"]
    assert (uid.kind, uid.ident) == (TagKind.EDDYSTONE_UID, NAMESPACE + INSTANCE)
    assert (uid.battery_mv, uid.temperature_c) == (2950, 24.5)  # from the TLM frames
    assert -73 <= uid.rssi_max <= -67
    assert seen["C0:00:00:00:00:03"].kind == TagKind.EDDYSTONE_EID
    sensor = seen["C0:00:00:00:00:04"]
    assert (sensor.kind, sensor.battery_percent) == (TagKind.ADDRESS, 64)
    tampers = [e for e in interval.events if e.type == EventType.TAMPER]
    assert [e.address for e in tampers] == ["C0:00:00:00:00:04"]
    assert bluez.discovering() == set()  # discovery stopped when the scan ended


async def test_passive_scanning_listens_through_a_monitor(bluez: FakeBluez) -> None:
    bluez.add_adapter(passive=True)
    bluez.put_tag(IBEACON_TAG)
    bluez.put_tag(eddystone_tag())
    bluez.put_tag(PHONE)
    async with scanning() as run:
        await run.until(lambda: {"C0:00:00:00:00:01", "C0:00:00:00:00:02"} <= run.addresses())
        await asyncio.sleep(0.3)
        assert run.scanner.state.passive and run.scanner.state.scanning
        assert bluez.calls("StartDiscovery") == []  # no active scan requests on air
        (patterns,) = bluez.monitors()
        assert patterns == [(p[0], int(p[1]), p[2]) for p in or_patterns()]
    assert PHONE.address not in run.addresses()  # matches no pattern: BlueZ never passes it on
    assert bluez.monitors() == []  # unregistered at the end


async def test_forced_passive_on_an_adapter_without_monitors_says_why(bluez: FakeBluez) -> None:
    bluez.add_adapter(passive=False)
    bluez.put_tag(IBEACON_TAG)
    async with scanning(mode="passive") as run:
        await run.until(lambda: any(s.message for s in run.states))
        await asyncio.sleep(0.2)
    message = next(s.message for s in run.states if s.message)
    assert "passive scanning on Linux requires BlueZ" in message
    assert run.ads == []


async def test_auto_mode_scans_actively_when_passive_is_unsupported(bluez: FakeBluez) -> None:
    bluez.add_adapter(passive=False)
    bluez.put_tag(IBEACON_TAG)
    async with scanning(mode="auto") as run:
        await run.until(lambda: IBEACON_TAG.address in run.addresses())
        assert not run.scanner.state.passive
    assert len(bluez.calls("StartDiscovery")) == 1


async def test_missing_adapter_is_reported_until_it_is_plugged_in(bluez: FakeBluez) -> None:
    bluez.put_tag(IBEACON_TAG)
    async with scanning() as run:
        await run.until(lambda: len(run.states) >= 2)  # reported, and retried
        state = run.scanner.state
        assert not state.scanning and not state.adapter.present
        assert state.message is not None and "hci0 not found" in state.message
        bluez.add_adapter()
        await run.until(lambda: IBEACON_TAG.address in run.addresses())
        assert run.scanner.state.scanning and run.scanner.state.message is None


async def test_powered_off_adapter_is_reported_and_resumes_when_powered(bluez: FakeBluez) -> None:
    bluez.add_adapter(powered=False)
    bluez.put_tag(IBEACON_TAG)
    async with scanning() as run:
        await run.until(lambda: run.scanner.state.message is not None)
        message = run.scanner.state.message
        assert message is not None and "powered off" in message
        assert run.scanner.state.adapter.present
        bluez.set_powered(True)
        await run.until(lambda: IBEACON_TAG.address in run.addresses())
        # switched off mid-scan: reported again, and back when it is on
        bluez.set_powered(False)
        await run.until(lambda: not run.scanner.state.scanning)
        assert "powered off" in (run.scanner.state.message or "")
        before = len(run.ads)
        bluez.set_powered(True)
        await run.until(lambda: len(run.ads) > before + 5)
        assert run.scanner.state.scanning


async def test_adapter_that_disappears_mid_scan_is_reported_and_recovered(bluez: FakeBluez) -> None:
    bluez.add_adapter()
    bluez.put_tag(IBEACON_TAG)
    async with scanning() as run:
        await run.until(lambda: len(run.ads) > 5)
        bluez.remove_adapter()  # the USB dongle is pulled
        await run.until(lambda: not run.scanner.state.scanning)
        assert "hci0 not found" in (run.scanner.state.message or "")
        await asyncio.sleep(0.5)
        during = len(run.ads)
        await asyncio.sleep(0.3)
        assert len(run.ads) == during  # nothing heard while it is gone
        bluez.add_adapter()  # ... and plugged back in
        await run.until(lambda: len(run.ads) > during + 5)
        assert run.scanner.state.scanning and run.scanner.state.message is None
    messages = [s.message for s in run.states if s.message]
    assert messages and all("not found" in m for m in messages)


async def test_bluez_not_running_is_reported(bluez: FakeBluez, monkeypatch: object) -> None:
    import os

    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent/anbao-test-bus"
    async with scanning() as run:
        await run.until(lambda: run.scanner.state.message is not None)
    assert "no system D-Bus" in (run.scanner.state.message or "")
