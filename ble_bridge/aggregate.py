"""Advertisements → per-tag sightings per interval, and presence, battery and flag events.

Pure: every call passes the time in, nothing here reads a clock, so a test can replay a day of
radio traffic in milliseconds. A tag is keyed by its BLE address; its identity comes from the
identity frame it sends (iBeacon, Eddystone UID or EID), its battery and temperature from the
TLM or vendor frames of the same address (or a GATT read).

Presence has hysteresis: a tag is `present` after `present_after` sightings without a gap of
`missing_after`, and `missing` once it has been unseen that long (one event each way). EID
tags get no presence events: their address and id rotate, so "unseen" says nothing; the
backend judges them from their sightings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ble_bridge.frames import (
    DEFAULT_REGISTRY,
    EddystoneTlm,
    Frame,
    TagKind,
    VendorRegistry,
    VendorStatus,
    parse_advertisement,
)


class EventType(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    LOW_BATTERY = "low_battery"
    TAMPER = "tamper"
    MOTION = "motion"


@dataclass(frozen=True, slots=True)
class Thresholds:
    present_after: int = 2  # sightings before a tag counts as present
    missing_after: timedelta = timedelta(minutes=5)
    low_battery_percent: int = 20
    battery_hysteresis: int = 5  # low until back above the threshold plus this
    battery_empty_mv: int = 2000  # TLM millivolts read as 0 % (a spent lithium coin cell)
    battery_full_mv: int = 3000  # ... and as 100 %

    def __post_init__(self) -> None:
        if self.present_after < 1:
            raise ValueError("present_after must be at least 1")
        if self.missing_after <= timedelta(0):
            raise ValueError("missing_after must be positive")
        if not 0 <= self.low_battery_percent <= 100:
            raise ValueError("low_battery_percent is 0-100")
        if self.battery_full_mv <= self.battery_empty_mv:
            raise ValueError("battery_full_mv must be above battery_empty_mv")

    def battery_percent(self, mv: int) -> int:
        span = self.battery_full_mv - self.battery_empty_mv
        return max(0, min(100, round((mv - self.battery_empty_mv) * 100 / span)))


@dataclass(frozen=True, slots=True)
class Sighting:
    address: str
    kind: TagKind
    ident: str
    first_seen: datetime
    last_seen: datetime
    rssi_max: int
    count: int
    battery_percent: int | None
    battery_mv: int | None
    temperature_c: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind.value,
            "ident": self.ident,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "rssi_max": self.rssi_max,
            "count": self.count,
            "battery_percent": self.battery_percent,
            "battery_mv": self.battery_mv,
            "temperature_c": self.temperature_c,
        }


@dataclass(frozen=True, slots=True)
class Event:
    id: uuid.UUID
    type: EventType
    kind: TagKind
    ident: str
    address: str
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type.value,
            "kind": self.kind.value,
            "ident": self.ident,
            "address": self.address,
            "at": self.at.isoformat(),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class Interval:
    sightings: list[Sighting]
    events: list[Event]


@dataclass(frozen=True, slots=True)
class TagView:
    """What `anbao-bridge scan` shows of one nearby tag."""

    address: str
    kind: TagKind
    ident: str
    recognized: bool
    rssi: int
    rssi_max: int
    battery_percent: int | None
    battery_mv: int | None
    temperature_c: float | None
    last_seen: datetime
    present: bool


@dataclass(slots=True)
class _Tag:
    address: str
    kind: TagKind = TagKind.ADDRESS
    ident: str = ""
    recognized: bool = False  # sent a frame we parse, so it is a tag and not a phone
    battery_mv: int | None = None
    battery_percent: int | None = None
    temperature_c: float | None = None
    rssi: int = -127
    last_seen: datetime | None = None
    streak: int = 0
    present: bool = False
    low_battery: bool = False
    tamper: bool = False
    motion: bool = False
    # the current interval
    first: datetime | None = None
    last: datetime | None = None
    rssi_max: int = -127
    count: int = 0


class Aggregator:
    def __init__(
        self,
        thresholds: Thresholds | None = None,
        *,
        registry: VendorRegistry = DEFAULT_REGISTRY,
        known_addresses: Iterable[str] = (),
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.registry = registry
        self.known_addresses = frozenset(a.upper() for a in known_addresses)
        self._new_id = new_id
        self._tags: dict[str, _Tag] = {}
        self._events: list[Event] = []

    def observe(
        self,
        address: str,
        rssi: int,
        manufacturer_data: Mapping[int, bytes],
        service_data: Mapping[str, bytes],
        at: datetime,
    ) -> None:
        """One advertisement as bleak reports it."""
        self.observe_frames(
            address, rssi, parse_advertisement(manufacturer_data, service_data, self.registry), at
        )

    def observe_frames(self, address: str, rssi: int, frames: list[Frame], at: datetime) -> None:
        address = address.upper()
        tag = self._tags.get(address)
        if tag is None:
            tag = self._tags[address] = _Tag(address, ident=address)
        limit = self.thresholds.missing_after
        if tag.last_seen is not None and at - tag.last_seen >= limit:
            # Nobody called tick() during the gap: the tag went missing back then.
            self._missing(tag, tag.last_seen + limit)
            tag.streak = 0
        tag.rssi = rssi
        tag.last_seen = at
        tag.streak += 1
        if tag.first is None:
            tag.first = at
        tag.last = at
        tag.count += 1
        if rssi > tag.rssi_max:
            tag.rssi_max = rssi

        battery_changed = False
        for frame in frames:
            if isinstance(frame, EddystoneTlm):
                tag.recognized = True
                tag.temperature_c = frame.temperature_c
                mv = frame.battery_mv
                if mv is not None and mv != tag.battery_mv:
                    tag.battery_mv = mv
                    tag.battery_percent = self.thresholds.battery_percent(mv)
                    battery_changed = True
            elif isinstance(frame, VendorStatus):
                tag.recognized = True
                if (
                    frame.battery_percent is not None
                    and frame.battery_percent != tag.battery_percent
                ):
                    tag.battery_percent = frame.battery_percent
                    battery_changed = True
                if frame.tamper != tag.tamper:
                    self._flag(tag, EventType.TAMPER, frame.tamper, at, frame.company_id)
                if frame.motion != tag.motion:
                    self._flag(tag, EventType.MOTION, frame.motion, at, frame.company_id)
            else:  # an identity frame
                tag.kind = frame.kind
                tag.ident = frame.ident
                tag.recognized = True
        if (
            not tag.present
            and tag.streak >= self.thresholds.present_after
            and tag.kind != TagKind.EDDYSTONE_EID
            and self._reportable(tag)
        ):
            tag.present = True
            self._emit(tag, EventType.PRESENT, at, {"rssi": rssi})
        if battery_changed:
            self._check_battery(tag, at)

    def set_battery(self, address: str, percent: int, at: datetime) -> None:
        """A battery level read over GATT (0x2A19)."""
        tag = self._tags.get(address.upper())
        if tag is None or not 0 <= percent <= 100:
            return
        tag.battery_percent = percent
        self._check_battery(tag, at)

    def tick(self, now: datetime) -> None:
        """Declare tags unseen for `missing_after` missing and forget stale strangers."""
        limit = self.thresholds.missing_after
        stale = []
        for address, tag in self._tags.items():
            if tag.last_seen is None or now - tag.last_seen < limit:
                continue
            if tag.present:
                self._missing(tag, tag.last_seen + limit)
            if tag.count == 0 or not self._reportable(tag):  # nothing left to report
                stale.append(address)
        for address in stale:
            del self._tags[address]

    def drain(self, now: datetime) -> Interval:
        """The interval's sightings and the events so far; the next interval starts empty."""
        self.tick(now)
        sightings = []
        for tag in self._tags.values():
            if tag.count and tag.first is not None and tag.last is not None:
                if self._reportable(tag):
                    sightings.append(
                        Sighting(
                            address=tag.address,
                            kind=tag.kind,
                            ident=tag.ident,
                            first_seen=tag.first,
                            last_seen=tag.last,
                            rssi_max=tag.rssi_max,
                            count=tag.count,
                            battery_percent=tag.battery_percent,
                            battery_mv=tag.battery_mv,
                            temperature_c=tag.temperature_c,
                        )
                    )
                tag.first = tag.last = None
                tag.count = 0
                tag.rssi_max = -127
        events, self._events = self._events, []
        return Interval(sightings, events)

    def tags(self) -> list[TagView]:
        """Every tag heard and not yet forgotten, strongest signal first."""
        views = [
            TagView(
                address=t.address,
                kind=t.kind,
                ident=t.ident,
                recognized=t.recognized,
                rssi=t.rssi,
                rssi_max=t.rssi_max,
                battery_percent=t.battery_percent,
                battery_mv=t.battery_mv,
                temperature_c=t.temperature_c,
                last_seen=t.last_seen,
                present=t.present,
            )
            for t in self._tags.values()
            if t.last_seen is not None
        ]
        views.sort(key=lambda v: (-v.rssi, v.address))
        return views

    def _reportable(self, tag: _Tag) -> bool:
        # Phones, headphones and cars stay out of the batches unless an admin bound the address.
        return tag.recognized or tag.address in self.known_addresses

    def _missing(self, tag: _Tag, at: datetime) -> None:
        if tag.present:
            tag.present = False
            detail = {"last_seen": tag.last_seen.isoformat() if tag.last_seen else None}
            self._emit(tag, EventType.MISSING, at, detail)

    def _check_battery(self, tag: _Tag, at: datetime) -> None:
        percent = tag.battery_percent
        if percent is None or not self._reportable(tag):
            return
        limit = self.thresholds.low_battery_percent
        if not tag.low_battery and percent < limit:
            tag.low_battery = True
            detail = {"battery_percent": percent, "battery_mv": tag.battery_mv}
            self._emit(tag, EventType.LOW_BATTERY, at, detail)
        elif tag.low_battery and percent >= limit + self.thresholds.battery_hysteresis:
            tag.low_battery = False

    def _flag(self, tag: _Tag, kind: EventType, on: bool, at: datetime, company_id: int) -> None:
        # Flags repeat in every advertisement while they last: only the rising edge is news.
        name = kind.value
        was = bool(getattr(tag, name))
        if on and not was:
            self._emit(tag, kind, at, {"company_id": company_id})
        setattr(tag, name, on)

    def _emit(self, tag: _Tag, kind: EventType, at: datetime, detail: dict[str, Any]) -> None:
        self._events.append(
            Event(self._new_id(), kind, tag.kind, tag.ident, tag.address, at, detail)
        )
