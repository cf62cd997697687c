"""Scanning with bleak's BleakScanner, kept alive through a missing, powered-off or vanishing
adapter: the trouble is reported in words and scanning resumes, with backoff, when it is over.

Passive scanning (the radio only listens, the tags' batteries are spared scan responses) needs
BlueZ's advertisement monitor, which bleak drives with "or patterns": we ask for Apple
manufacturer data (iBeacon), Eddystone service data and each registered vendor's company id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs, OrPattern, OrPatternLike
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from ble_bridge.adapter import AdapterProbe, AdapterState
from ble_bridge.backoff import Backoff
from ble_bridge.config import ScanMode
from ble_bridge.frames import APPLE_COMPANY_ID, DEFAULT_REGISTRY, VendorRegistry

log = logging.getLogger("anbao_bridge.scanner")

_EDDYSTONE_UUID16 = b"\xaa\xfe"  # 0xFEAA, little-endian as on air


@dataclass(frozen=True, slots=True)
class Advertisement:
    address: str
    rssi: int
    manufacturer_data: dict[int, bytes]
    service_data: dict[str, bytes]
    at: datetime


@dataclass(frozen=True, slots=True)
class ScannerState:
    adapter: AdapterState
    scanning: bool
    passive: bool
    message: str | None = None


def or_patterns(registry: VendorRegistry = DEFAULT_REGISTRY) -> list[OrPatternLike]:
    """What a passive scan listens for: every frame kind we parse."""
    patterns: list[OrPatternLike] = [
        OrPattern(0, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, b"\x4c\x00\x02\x15"),
        OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, _EDDYSTONE_UUID16),
    ]
    for company_id in registry.company_ids:
        if company_id != APPLE_COMPANY_ID:
            patterns.append(
                OrPattern(
                    0,
                    AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA,
                    company_id.to_bytes(2, "little"),
                )
            )
    return patterns


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scanner:
    def __init__(
        self,
        adapter: str,
        on_advertisement: Callable[[Advertisement], None],
        *,
        mode: ScanMode = "auto",
        registry: VendorRegistry = DEFAULT_REGISTRY,
        poll_seconds: float = 2.0,
        retry_max_seconds: float = 60.0,
        on_state: Callable[[ScannerState], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.adapter = adapter
        self.mode = mode
        self.registry = registry
        self.poll_seconds = poll_seconds
        self._on_advertisement = on_advertisement
        self._on_state = on_state
        self._clock = clock
        self._backoff = Backoff(initial=1.0, maximum=retry_max_seconds)
        self._passive_failed = False  # auto mode fell back to active after BlueZ refused
        self.state = ScannerState(AdapterState(adapter, present=False), False, False, None)
        self.devices: dict[str, BLEDevice] = {}  # by address, as BlueZ last reported them

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until `stop` is set; never raises for adapter or BlueZ trouble."""
        probe = AdapterProbe(self.adapter)
        try:
            while not stop.is_set():
                adapter = await probe.state()
                problem = adapter.problem()
                if problem is not None:
                    self._report(ScannerState(adapter, False, False, problem))
                    await _wait(stop, self._backoff.next())
                    continue
                passive = self.mode == "passive" or (
                    self.mode == "auto" and adapter.passive_capable and not self._passive_failed
                )
                scanner = self._make_scanner(passive)
                try:
                    await scanner.start()
                except (BleakError, OSError, EOFError, TimeoutError) as exc:
                    if passive and self.mode == "auto":
                        self._passive_failed = True
                        log.warning("passive scanning refused (%s); scanning actively", exc)
                        continue
                    message = f"cannot start scanning on {self.adapter}: {exc}"
                    self._report(ScannerState(adapter, False, passive, message))
                    await _wait(stop, self._backoff.next())
                    continue
                self._report(ScannerState(adapter, True, passive, None))
                self._backoff.reset()
                try:
                    while not stop.is_set():
                        await _wait(stop, self.poll_seconds)
                        adapter = await probe.state()
                        problem = adapter.problem()
                        if problem is not None:
                            self._report(ScannerState(adapter, False, passive, problem))
                            break
                finally:
                    await _stop_quietly(scanner)
        finally:
            await probe.close()

    def _make_scanner(self, passive: bool) -> BleakScanner:
        bluez: BlueZScannerArgs = {"adapter": self.adapter}
        if passive:
            bluez["or_patterns"] = or_patterns(self.registry)
        return BleakScanner(
            self._detected, scanning_mode="passive" if passive else "active", bluez=bluez
        )

    def _detected(self, device: BLEDevice, data: AdvertisementData) -> None:
        self.devices[device.address] = device
        self._on_advertisement(
            Advertisement(
                address=device.address,
                rssi=data.rssi,
                manufacturer_data=data.manufacturer_data,
                service_data=data.service_data,
                at=self._clock(),
            )
        )

    def _report(self, state: ScannerState) -> None:
        previous, self.state = self.state, state
        if state.message and state.message != previous.message:
            log.warning("%s (will retry)", state.message)
        elif state.scanning and not previous.scanning:
            mode = "passively" if state.passive else "actively"
            log.info("scanning %s on %s", mode, self.adapter)
        if self._on_state is not None:
            self._on_state(state)


async def _stop_quietly(scanner: BleakScanner) -> None:
    # After the adapter vanished, BlueZ answers StopDiscovery with an error: scanning is over.
    with contextlib.suppress(BleakError, OSError, EOFError, TimeoutError):
        async with asyncio.timeout(5):
            await scanner.stop()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
