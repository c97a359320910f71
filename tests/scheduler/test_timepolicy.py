"""The allowed-time policy in UTC: daylight-saving nights, skipped and repeated local hours,
weekdays, midnight spans, and agreement with a minute-by-minute scan of the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.scheduler.timepolicy import AllowedTimePolicy

EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
HOUR = 3600


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def hours(intervals: list[tuple[int, int]]) -> list[float]:
    return [(b - a) / HOUR for a, b in intervals]


def one_night(policy: AllowedTimePolicy, zone: str, noon_before: str) -> tuple[int, int]:
    """The single interval between noon UTC on `noon_before` and noon the next day."""
    start = utc(noon_before + "T12:00")
    (interval,) = policy.intervals(zone, start, start + 24 * HOUR)
    return interval


def test_spring_forward_night_is_five_hours() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(0), time(6))
    assert one_night(policy, "Europe/Berlin", "2025-03-29") == (
        utc("2025-03-29T23:00"),  # 00:00 CET
        utc("2025-03-30T04:00"),  # 06:00 CEST
    )
    week = policy.intervals("Europe/Berlin", utc("2025-03-27T12:00"), utc("2025-04-01T12:00"))
    assert hours(week) == [6, 6, 5, 6, 6]


def test_fall_back_night_is_seven_hours() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(0), time(6))
    assert one_night(policy, "Europe/Berlin", "2025-10-25") == (
        utc("2025-10-25T22:00"),  # 00:00 CEST
        utc("2025-10-26T05:00"),  # 06:00 CET
    )


def test_end_in_the_skipped_hour_closes_at_the_jump() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(0), time(2, 30))
    # 02:30 does not exist that night: the clock jumps from 02:00 CET to 03:00 CEST at 01:00Z.
    assert one_night(policy, "Europe/Berlin", "2025-03-29") == (
        utc("2025-03-29T23:00"),
        utc("2025-03-30T01:00"),
    )


def test_start_in_the_skipped_hour_opens_at_the_jump() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(2, 30), time(5))
    assert one_night(policy, "Europe/Berlin", "2025-03-29") == (
        utc("2025-03-30T01:00"),
        utc("2025-03-30T03:00"),
    )


def test_a_window_inside_the_skipped_hour_is_empty_that_night() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(2, 10), time(2, 50))
    nights = policy.intervals("Europe/Berlin", utc("2025-03-28T12:00"), utc("2025-03-31T12:00"))
    assert nights == [
        (utc("2025-03-29T01:10"), utc("2025-03-29T01:50")),
        (utc("2025-03-31T00:10"), utc("2025-03-31T00:50")),
    ]


def test_the_repeated_hour_counts_from_its_first_pass() -> None:
    opens_inside = AllowedTimePolicy(EVERY_DAY, time(2, 30), time(5))
    assert one_night(opens_inside, "Europe/Berlin", "2025-10-25") == (
        utc("2025-10-26T00:30"),  # 02:30 CEST, the first time the clock reads it
        utc("2025-10-26T04:00"),  # 05:00 CET
    )
    closes_inside = AllowedTimePolicy(EVERY_DAY, time(0), time(2, 30))
    assert one_night(closes_inside, "Europe/Berlin", "2025-10-25") == (
        utc("2025-10-25T22:00"),
        utc("2025-10-26T00:30"),
    )


def test_weekdays_and_spans_over_midnight() -> None:
    policy = AllowedTimePolicy(WEEKDAYS, time(22), time(6))
    week = policy.intervals("UTC", utc("2026-01-05T00:00"), utc("2026-01-12T00:00"))  # Mon-Mon
    assert week == [
        (utc(f"2026-01-{day:02}T22:00"), utc(f"2026-01-{day + 1:02}T06:00")) for day in range(5, 10)
    ]


def test_southern_hemisphere_and_half_hour_shifts() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(0), time(6))
    # Sydney falls back from AEDT (+11) to AEST (+10) at 03:00 local on 6 April 2025.
    assert hours([one_night(policy, "Australia/Sydney", "2025-04-05")]) == [7]
    # Lord Howe Island moves its clocks by half an hour.
    assert hours([one_night(policy, "Australia/Lord_Howe", "2025-04-05")]) == [6.5]
    assert hours([one_night(policy, "Australia/Lord_Howe", "2025-10-04")]) == [5.5]


def test_a_whole_day_policy_is_one_interval_and_clipped_to_the_horizon() -> None:
    policy = AllowedTimePolicy(EVERY_DAY, time(9), time(9))
    start, end = utc("2025-10-24T10:17"), utc("2025-10-28T03:00")
    assert policy.intervals("Europe/Berlin", start, end) == [(start, end)]
    monday_only = AllowedTimePolicy(frozenset({0}), time(9), time(9))
    assert monday_only.intervals("Europe/Berlin", start, end) == [(utc("2025-10-27T08:00"), end)]


def test_invalid_policies_and_zones_are_rejected() -> None:
    with pytest.raises(ValueError, match="weekdays"):
        AllowedTimePolicy(frozenset({7}), time(0), time(6))
    with pytest.raises(ValueError, match="tzinfo"):
        AllowedTimePolicy(EVERY_DAY, time(0, tzinfo=UTC), time(6))
    policy = AllowedTimePolicy(EVERY_DAY, time(0), time(6))
    with pytest.raises(ValueError, match="time zone"):
        policy.intervals("Mars/Olympus_Mons", 0, 86400)


# -- agreement with a brute-force reading of the wall clock -------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
]
# Daylight-saving changes in 2025 in those zones, so that most examples cross one.
CHANGE_DAYS = [
    date(2025, 3, 9),
    date(2025, 3, 30),
    date(2025, 4, 6),
    date(2025, 9, 7),
    date(2025, 9, 28),
    date(2025, 10, 5),
    date(2025, 10, 26),
    date(2025, 11, 2),
]


def scan(policy: AllowedTimePolicy, zone: str, start: int, end: int) -> list[tuple[int, int]]:
    """The policy's definition read off the wall clock minute by minute: an occurrence opens at
    the first minute the local clock shows its start time or later, and closes at the first
    minute it shows its end time or later (every boundary here falls on a whole minute)."""
    tz = ZoneInfo(zone)
    first = start - 3 * 86400
    minutes = range(first, end + 3 * 86400, 60)
    walls = [datetime.fromtimestamp(t, tz).replace(tzinfo=None) for t in minutes]

    def reached(local: datetime) -> int:
        return next(t for t, wall in zip(minutes, walls, strict=True) if wall >= local)

    allowed: list[tuple[int, int]] = []
    day = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    while day <= datetime.fromtimestamp(end, tz).date():
        if day.weekday() in policy.weekdays:
            closes_on = day if policy.end > policy.start else day + timedelta(days=1)
            a = max(start, reached(datetime.combine(day, policy.start)))
            b = min(end, reached(datetime.combine(closes_on, policy.end)))
            if a < b:
                if allowed and a <= allowed[-1][1]:
                    allowed[-1] = (allowed[-1][0], b)
                else:
                    allowed.append((a, b))
        day += timedelta(days=1)
    return allowed


@settings(max_examples=40, deadline=None, database=None, derandomize=True)
@given(
    zone=st.sampled_from(ZONES),
    day=st.one_of(st.sampled_from(CHANGE_DAYS), st.dates(date(2024, 1, 1), date(2026, 12, 31))),
    offset_min=st.integers(-36 * 60, 12 * 60),
    length_min=st.integers(1, 4 * 24 * 60),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    start_min=st.integers(0, 24 * 60 - 1),
    end_min=st.integers(0, 24 * 60 - 1),
)
def test_intervals_match_a_scan_of_the_wall_clock(
    zone: str,
    day: date,
    offset_min: int,
    length_min: int,
    weekdays: frozenset[int],
    start_min: int,
    end_min: int,
) -> None:
    policy = AllowedTimePolicy(weekdays, time(*divmod(start_min, 60)), time(*divmod(end_min, 60)))
    start = int(datetime.combine(day, time(), UTC).timestamp()) + offset_min * 60
    end = start + length_min * 60
    assert policy.intervals(zone, start, end) == scan(policy, zone, start, end)
