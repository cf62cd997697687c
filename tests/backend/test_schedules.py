"""Round schedules in a site's time zone, across midnight and daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.services.schedules import Schedule, Slot, slots

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(got: list[Slot], tz: ZoneInfo = SHANGHAI) -> list[str]:
    return [s.due_at.astimezone(tz).strftime("%a %H:%M") for s in got]


def test_a_night_run_crosses_midnight_and_belongs_to_the_day_it_starts() -> None:
    friday_nights = Schedule(
        frozenset({5}), time(22, 0), time(6, 0), timedelta(hours=2), timedelta(minutes=45)
    )
    # Friday 2026-11-27 00:00 to Sunday 00:00, Shanghai time.
    start = datetime(2026, 11, 27, tzinfo=SHANGHAI).astimezone(UTC)
    got = list(slots(friday_nights, SHANGHAI, start, start + timedelta(days=2)))
    assert local(got) == ["Fri 22:00", "Sat 00:00", "Sat 02:00", "Sat 04:00"]
    assert all(s.closes_at - s.due_at == timedelta(minutes=45) for s in got)
    assert all(s.due_at.utcoffset() == timedelta(0) for s in got)


def test_yesterdays_run_reaches_into_the_window() -> None:
    nightly = Schedule(
        frozenset(range(1, 8)), time(23, 0), time(3, 0), timedelta(hours=1), timedelta(minutes=30)
    )
    start = datetime(2026, 11, 25, 1, 30, tzinfo=SHANGHAI).astimezone(UTC)  # Wednesday 01:30
    got = list(slots(nightly, SHANGHAI, start, start + timedelta(hours=3)))
    assert local(got) == ["Wed 02:00"]  # from Tuesday's run; Wednesday's starts at 23:00


def test_day_runs_only_on_chosen_weekdays() -> None:
    weekdays = Schedule(
        frozenset({1, 2, 3, 4, 5}), time(9, 0), time(18, 0), timedelta(hours=3), timedelta(hours=1)
    )
    start = datetime(2026, 11, 28, tzinfo=SHANGHAI).astimezone(UTC)  # Saturday
    got = list(slots(weekdays, SHANGHAI, start, start + timedelta(days=3)))
    assert local(got) == ["Mon 09:00", "Mon 12:00", "Mon 15:00"]


def test_daylight_saving_neither_skips_nor_repeats_a_round() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    night = Schedule(
        frozenset(range(1, 8)), time(0, 0), time(5, 0), timedelta(hours=1), timedelta(minutes=20)
    )
    # 2026-03-29: clocks go 02:00 -> 03:00, so 00:00-05:00 local is four real hours.
    spring = datetime(2026, 3, 29, tzinfo=berlin).astimezone(UTC)
    got = list(slots(night, berlin, spring, spring + timedelta(hours=6)))
    assert len(got) == 4 and len({s.due_at for s in got}) == 4
    # 2026-10-25: 03:00 -> 02:00, so the same run is six real hours.
    autumn = datetime(2026, 10, 25, tzinfo=berlin).astimezone(UTC)
    got = list(slots(night, berlin, autumn, autumn + timedelta(hours=7)))
    assert len(got) == 6
    assert all(b.due_at - a.due_at == timedelta(hours=1) for a, b in itertools.pairwise(got))
