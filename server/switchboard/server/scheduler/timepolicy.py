"""The allowed-time policy: weekly local wall-clock windows, turned into UTC intervals.

An occurrence opens on each listed weekday at the local time `start` and closes at the local time
`end` on the same day, or on the next day when `end <= start` (so `start == end` is 24 hours).
Each boundary is the first instant at which the local wall clock reads that time or later:

- a time that exists once is that instant;
- a time in a repeated hour (clocks going back) is its first occurrence (PEP 495 `fold=0`), so an
  occurrence spanning the repeated hour lasts an hour longer (00:00-06:00 is 7 hours that night);
- a time in a skipped hour (clocks going forward) is the instant of the jump, so an occurrence
  spanning it lasts an hour less (00:00-06:00 on the spring-forward night in Europe/Berlin is
  5 hours), a policy ending at 02:30 that night closes at the jump, 03:00 local, and one that both
  opens and closes inside the skipped hour is empty that night.

Times are integer seconds since the Unix epoch (UTC); intervals are half-open `[start, end)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = timedelta(days=1)


@dataclass(frozen=True)
class AllowedTimePolicy:
    """Changes may run only inside these weekly local-time windows (in the element's zone)."""

    weekdays: frozenset[int]
    """Days on which an occurrence opens: 0 is Monday ... 6 is Sunday (`date.weekday()`)."""
    start: time
    """Local wall-clock time an occurrence opens (naive `time`)."""
    end: time
    """Local wall-clock time it closes; `end <= start` closes it on the following day."""

    def __post_init__(self) -> None:
        if not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be in 0..6, got {sorted(self.weekdays)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("policy times are local wall-clock times without a tzinfo")

    def intervals(self, zone: str, start: int, end: int) -> list[tuple[int, int]]:
        """The allowed UTC intervals in `[start, end)` for an element in IANA time zone `zone`:
        sorted, disjoint and non-adjacent (touching occurrences are merged)."""
        tz = time_zone(zone)
        first = datetime.fromtimestamp(start, tz).date() - DAY
        last = datetime.fromtimestamp(end, tz).date()
        merged: list[tuple[int, int]] = []
        day = first
        while day <= last:
            if day.weekday() in self.weekdays:
                opens = first_instant(datetime.combine(day, self.start), tz)
                closes_on = day if self.end > self.start else day + DAY
                closes = first_instant(datetime.combine(closes_on, self.end), tz)
                a, b = max(opens, start), min(closes, end)
                if a < b:
                    if merged and a <= merged[-1][1]:
                        merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
                    else:
                        merged.append((a, b))
            day += DAY
        return merged


def time_zone(zone: str) -> ZoneInfo:
    """The IANA time zone `zone`; ValueError if it is unknown."""
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc


def first_instant(local: datetime, tz: ZoneInfo) -> int:
    """The first instant (epoch seconds) at which the wall clock in `tz` reads `local` or later."""
    earlier = int(local.replace(tzinfo=tz, fold=0).timestamp())
    if _wall(earlier, tz) == local:
        return earlier  # exists; fold=0 is the first of two in a repeated hour
    # Skipped: fold=0 used the offset before the jump (after it), fold=1 the one after (before it).
    lo = int(local.replace(tzinfo=tz, fold=1).timestamp())
    hi = earlier
    while hi - lo > 1:  # the wall clock rises monotonically across a single jump
        mid = (lo + hi) // 2
        if _wall(mid, tz) >= local:
            hi = mid
        else:
            lo = mid
    return hi


def _wall(instant: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(instant, UTC).astimezone(tz).replace(tzinfo=None)
