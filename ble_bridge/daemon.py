"""`anbao-bridge run`: scan, aggregate, spool, deliver, heartbeat, until SIGTERM.

Every `batch_seconds` the aggregator's interval goes into the spool (one transaction) and the
uplink is woken. On SIGTERM or SIGINT the current interval is spooled too, so a clean stop
loses nothing; a SIGKILL loses at most the interval in memory, never a spooled batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ble_bridge.aggregate import Aggregator, Thresholds
from ble_bridge.api import BackendClient, BackendError, RemoteConfig, TokenRejected
from ble_bridge.battery import BatteryError, read_battery
from ble_bridge.config import BridgeConfig
from ble_bridge.scanner import Advertisement, Scanner, ScannerState, utc_now
from ble_bridge.spool import Spool
from ble_bridge.uplink import Uplink, heartbeat_body

log = logging.getLogger("anbao_bridge.daemon")

EXIT_OK = 0
EXIT_TOKEN_REJECTED = 3
EXIT_LOCKED = 4


class SpoolLocked(Exception):
    pass


def lock_spool(path: Path) -> int:
    """One daemon per spool: a second would send the same batches in parallel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise SpoolLocked(f"another anbao-bridge is running on {path}") from exc
    return fd


class Daemon:
    def __init__(self, config: BridgeConfig, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self._clock = clock
        self.remote: RemoteConfig | None = None
        self.heartbeat_seconds = 60.0
        self.aggregator = Aggregator(self._thresholds(600, 20))
        self.scanner = Scanner(
            config.adapter,
            self._advertised,
            mode=config.scan_mode,
            poll_seconds=config.adapter_poll_seconds,
            retry_max_seconds=config.retry_max_seconds,
            on_state=self._scanner_state,
        )
        self._adapter_changed = asyncio.Event()
        self._adapter_key: tuple[bool, bool, bool, bool] | None = None
        self._battery_read_at: dict[str, datetime] = {}
        self.exit_code = EXIT_OK

    def _thresholds(self, missing_after: int, low_battery: int) -> Thresholds:
        c = self.config
        return Thresholds(
            present_after=c.present_after,
            missing_after=timedelta(seconds=missing_after),
            low_battery_percent=low_battery,
            battery_hysteresis=c.battery_hysteresis,
            battery_empty_mv=c.battery_empty_mv,
            battery_full_mv=c.battery_full_mv,
        )

    def _scanner_state(self, state: ScannerState) -> None:
        # The supervisor's board should learn at once that an adapter was pulled or came back.
        key = (state.adapter.present, state.adapter.powered, state.scanning, state.passive)
        if key != self._adapter_key:
            self._adapter_key = key
            self._adapter_changed.set()

    def _advertised(self, ad: Advertisement) -> None:
        self.aggregator.observe(ad.address, ad.rssi, ad.manufacturer_data, ad.service_data, ad.at)

    async def run(self, stop: asyncio.Event) -> int:
        self.config.require_backend()
        lock = lock_spool(self.config.spool_path)
        spool = Spool.open(self.config.spool_path)
        try:
            async with BackendClient(
                self.config.backend_url,
                self.config.token,
                timeout=self.config.http_timeout_seconds,
            ) as client:
                uplink = Uplink(
                    client,
                    spool,
                    retry_max_seconds=self.config.retry_max_seconds,
                    clock=self._clock,
                )
                wake = asyncio.Event()
                wake.set()  # deliver what an earlier run left in the spool
                log.info(
                    "anbao-bridge running: adapter %s, backend %s, %d batch(es) in the spool",
                    self.config.adapter,
                    self.config.backend_url,
                    spool.size(),
                )
                jobs = [
                    self.scanner.run(stop),
                    self._flush_loop(stop, spool, wake),
                    uplink.run(stop, wake),
                    self._heartbeat_loop(stop, client, spool),
                    self._config_loop(stop, client),
                ]
                if self.config.gatt_battery_hours > 0:
                    jobs.append(self._battery_loop(stop))
                await _until_first_failure(stop, jobs)
        except TokenRejected as exc:
            log.error("%s; stopping", exc.message)
            self.exit_code = EXIT_TOKEN_REJECTED
        finally:
            self._flush(spool)
            log.info("stopped; %d batch(es) left in the spool", spool.size())
            spool.close()
            os.close(lock)
        return self.exit_code

    def _flush(self, spool: Spool) -> int:
        now = self._clock()
        interval = self.aggregator.drain(now)
        return len(spool.add(interval.sightings, interval.events, now))

    async def _flush_loop(self, stop: asyncio.Event, spool: Spool, wake: asyncio.Event) -> None:
        while not await _stopped(stop, self.config.batch_seconds):
            if self._flush(spool):
                wake.set()

    async def _heartbeat_loop(
        self, stop: asyncio.Event, client: BackendClient, spool: Spool
    ) -> None:
        # The first heartbeat waits for the scanner's first look at the adapter (a few s at most).
        await _wait_any(stop, self._adapter_changed, 5.0)
        while not stop.is_set():
            self._adapter_changed.clear()
            state = self.scanner.state
            body = heartbeat_body(state.adapter, state.passive, spool, self._clock())
            try:
                await client.heartbeat(body)
            except TokenRejected:
                raise
            except BackendError as exc:
                log.debug("heartbeat not delivered: %s", exc.message)
            await _wait_any(stop, self._adapter_changed, self.heartbeat_seconds)

    async def _config_loop(self, stop: asyncio.Event, client: BackendClient) -> None:
        while True:
            try:
                remote = await client.config()
            except TokenRejected:
                raise
            except BackendError as exc:
                log.debug("config not fetched: %s", exc.message)
                delay = min(self.config.config_refresh_seconds, 30.0)
            else:
                self._apply(remote)
                delay = self.config.config_refresh_seconds
            if await _stopped(stop, delay):
                return

    def _apply(self, remote: RemoteConfig) -> None:
        if self.remote is None:
            log.info(
                "bridge %r of site %d: %d known tag(s)",
                remote.bridge.name,
                remote.bridge.site_id,
                len(remote.known),
            )
        self.remote = remote
        s = remote.settings
        self.heartbeat_seconds = float(s.heartbeat_seconds)
        self.aggregator.thresholds = self._thresholds(
            s.missing_after_seconds, s.low_battery_percent
        )
        self.aggregator.known_addresses = frozenset(
            k.ident.upper() for k in remote.known if k.kind == "address"
        )

    async def _battery_loop(self, stop: asyncio.Event) -> None:
        # Tags that advertise no battery get a GATT read now and then (it costs them power).
        every = timedelta(hours=self.config.gatt_battery_hours)
        while not await _stopped(stop, max(self.config.batch_seconds, 1.0)):
            now = self._clock()
            for tag in self.aggregator.tags():
                last = self._battery_read_at.get(tag.address)
                advertised = last is None and tag.battery_percent is not None
                if not tag.recognized or advertised or (last and now - last < every):
                    continue
                self._battery_read_at[tag.address] = now
                # The device BlueZ already knows: connecting by address would start a second
                # discovery from this client, which BlueZ refuses while we scan.
                device = self.scanner.devices.get(tag.address, tag.address)
                try:
                    percent = await read_battery(device, adapter=self.config.adapter)
                except BatteryError as exc:
                    log.info("battery of %s not read: %s", tag.address, exc)
                    continue
                self.aggregator.set_battery(tag.address, percent, self._clock())
                if stop.is_set():
                    return


async def _wait_any(stop: asyncio.Event, event: asyncio.Event, seconds: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())]
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` or until stopped; True when stopped."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


async def _until_first_failure(stop: asyncio.Event, jobs: list[Coroutine[Any, Any, None]]) -> None:
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
