"""Budget periods: which days a period covers, computed in Python (the SQL receives them as arrays).

- MONTHLY with `start_day` 1..28: a period runs from that day of one month to the day before it in the next
  (payday the 25th: 25 October to 24 November). Days 29..31 are refused because not every month has them.
- WEEKLY with `start_day` an ISO weekday 1..7 (1 = Monday): seven days from that weekday.
- YEARLY with `start_day` a month 1..12: twelve months from the first day of that month.

A `Period` is half-open: `start` is its first day, `end` the first day of the next period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.budgets.models import BudgetPeriod

START_DAY_RANGE: dict[BudgetPeriod, range] = {
    BudgetPeriod.MONTHLY: range(1, 29),
    BudgetPeriod.WEEKLY: range(1, 8),
    BudgetPeriod.YEARLY: range(1, 13),
}


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date
    """Exclusive: the first day of the next period."""

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day < self.end


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def period_start(kind: BudgetPeriod | str, start_day: int, day: dt.date) -> dt.date:
    """The first day of the period of this kind that contains `day`."""
    kind = BudgetPeriod(kind)
    if kind is BudgetPeriod.MONTHLY:
        if day.day >= start_day:
            return day.replace(day=start_day)
        year, month = _add_months(day.year, day.month, -1)
        return dt.date(year, month, start_day)
    if kind is BudgetPeriod.WEEKLY:
        return day - dt.timedelta(days=(day.isoweekday() - start_day) % 7)
    year = day.year if day.month >= start_day else day.year - 1
    return dt.date(year, start_day, 1)


def following(kind: BudgetPeriod | str, start: dt.date) -> dt.date:
    """The first day of the period after the one starting on `start`."""
    kind = BudgetPeriod(kind)
    if kind is BudgetPeriod.WEEKLY:
        return start + dt.timedelta(days=7)
    year, month = _add_months(start.year, start.month, 1 if kind is BudgetPeriod.MONTHLY else 12)
    return dt.date(year, month, start.day)


def period_containing(kind: BudgetPeriod | str, start_day: int, day: dt.date) -> Period:
    start = period_start(kind, start_day, day)
    return Period(start, following(kind, start))


def periods_through(kind: BudgetPeriod | str, start_day: int, first_day: dt.date, on: dt.date) -> list[Period]:
    """Every period from the one containing `first_day` through the one containing `on`, in order.

    When `on` comes before the first period, only the period containing `on` (nothing rolls into it).
    """
    last = period_containing(kind, start_day, on)
    start = period_start(kind, start_day, first_day)
    if start >= last.start:
        return [last]
    periods: list[Period] = []
    while start < last.start:
        end = following(kind, start)
        periods.append(Period(start, end))
        start = end
    periods.append(last)
    return periods


def today_in(time_zone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date in `time_zone` (UTC when the name is unknown)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
