"""When rounds fall due: a tour's schedule, in its site's time zone, as UTC windows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Schedule:
    days: frozenset[int]  # ISO weekdays on which a run starts
    start: time
    end: time  # at or before start: the run ends the next day
    every: timedelta
    window: timedelta


@dataclass(frozen=True, slots=True)
class Slot:
    due_at: datetime  # UTC
    closes_at: datetime  # UTC


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def slots(schedule: Schedule, tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[Slot]:
    """Every round due in [start, end) (UTC), in order.

    A run belongs to the local day it starts on, so a 22:00–06:00 run on Fridays also gives the
    Saturday-morning rounds. Times are local wall-clock times; a round whose local time does not
    exist (a spring-forward gap) falls at the next valid instant, as zoneinfo resolves it.
    """
    local_first = start.astimezone(tz).date() - timedelta(days=1)  # yesterday's run may reach in
    local_last = end.astimezone(tz).date()
    day: date = local_first
    while day <= local_last:
        if day.isoweekday() in schedule.days:
            run_start = datetime.combine(day, schedule.start, tz)
            run_end = datetime.combine(day, schedule.end, tz)
            if run_end <= run_start:
                run_end += timedelta(days=1)
            # Step in UTC so that a DST change neither skips nor repeats a round.
            due = run_start.astimezone(UTC)
            stop = run_end.astimezone(UTC)
            while due < stop:
                if start <= due < end:
                    yield Slot(due, due + schedule.window)
                due += schedule.every
        day += timedelta(days=1)
