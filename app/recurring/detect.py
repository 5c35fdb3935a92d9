"""Finding series in a merchant's charges: pure functions, no I/O.

A series is a run of charges from one merchant in one currency whose gaps all fit one interval (within its
tolerance) and whose amounts are similar (each of the earlier charges within 10 % of their median; the last
one may differ: a price change). Two charges closer than a quarter of the interval count as one period with
a DUPLICATE charge. When all of a merchant's charges do not form one series, they are split by amount and
each part is tried alone; two series of one merchant at one interval are a DUPLICATE subscription.
"""

from __future__ import annotations

import calendar
import datetime as dt
import statistics
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from app.networth.figures import rounded
from app.recurring.repository import Charge

AMOUNT_TOLERANCE = Decimal("0.10")
PRICE_INCREASE = Decimal("0.05")
"""The last charge is a price increase when above the earlier median by more than this share."""


class Interval(str, Enum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"


class Flag(str, Enum):
    PRICE_INCREASE = "PRICE_INCREASE"
    MISSED = "MISSED"
    DUPLICATE = "DUPLICATE"


@dataclass(frozen=True)
class Spec:
    interval: Interval
    low: int
    high: int
    """Gaps in days that fit the interval."""
    tolerance: int
    """Days a charge may be late before it counts as missed."""
    min_occurrences: int
    months: int = 0
    days: int = 0


SPECS = [
    Spec(Interval.WEEKLY, 5, 9, 2, 3, days=7),
    Spec(Interval.MONTHLY, 25, 35, 4, 3, months=1),
    Spec(Interval.QUARTERLY, 80, 100, 7, 3, months=3),
    Spec(Interval.YEARLY, 350, 380, 10, 2, months=12),
]


@dataclass
class Series:
    key: str
    merchant: str
    currency: str
    interval: Interval
    account_id: uuid.UUID
    category_id: uuid.UUID | None
    average_amount: Decimal
    last_amount: Decimal
    last_date: dt.date
    next_expected_date: dt.date
    next_expected_amount: Decimal
    occurrences: int
    charge_ids: list[uuid.UUID]
    flags: list[Flag] = field(default_factory=list)

    def monthly_cost(self) -> Decimal:
        """The series' average amount per month (for the subscription audit)."""
        per_year = {Interval.WEEKLY: Decimal(52), Interval.MONTHLY: Decimal(12), Interval.QUARTERLY: Decimal(4),
                    Interval.YEARLY: Decimal(1)}[self.interval]
        return rounded(self.average_amount * per_year / 12, self.currency)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_date(spec: Spec, day: dt.date) -> dt.date:
    return add_months(day, spec.months) if spec.months else day + dt.timedelta(days=spec.days)


def _spec_for(gap: float) -> Spec | None:
    return next((s for s in SPECS if s.low <= gap <= s.high), None)


def _similar(amounts: Sequence[Decimal]) -> bool:
    typical = statistics.median(amounts)
    return all(abs(a - typical) <= typical * AMOUNT_TOLERANCE for a in amounts)


def fit(charges: Sequence[Charge], today: dt.date) -> Series | None:
    """The series `charges` (one merchant and currency, by day) form, or None."""
    if len(charges) < 2:
        return None
    gaps = [(b.booked_on - a.booked_on).days for a, b in zip(charges, charges[1:], strict=False)]
    spec = _spec_for(statistics.median(gaps))
    if spec is None:
        return None
    # charges closer than a quarter interval fall into one period: keep the first of each period
    periods: list[Charge] = [charges[0]]
    duplicate_charge = False
    for charge in charges[1:]:
        if (charge.booked_on - periods[-1].booked_on).days * 4 < spec.low:
            duplicate_charge = True
        else:
            periods.append(charge)
    if len(periods) < spec.min_occurrences:
        return None
    if any(not spec.low <= (b.booked_on - a.booked_on).days <= spec.high
           for a, b in zip(periods, periods[1:], strict=False)):
        return None
    amounts = [c.amount for c in periods]
    earlier = amounts[:-1]
    if not _similar(earlier):
        return None
    typical = statistics.median(earlier)
    last = periods[-1]
    expected = next_date(spec, last.booked_on)
    overdue = (today - expected).days
    if overdue > spec.tolerance + (next_date(spec, expected) - expected).days:
        return None  # two charges missed: the series has ended
    flags: list[Flag] = []
    if last.amount > typical * (1 + PRICE_INCREASE):
        flags.append(Flag.PRICE_INCREASE)
    if overdue > spec.tolerance:
        flags.append(Flag.MISSED)
    if duplicate_charge:
        flags.append(Flag.DUPLICATE)
    currency = last.currency
    return Series(key=last.key, merchant=last.merchant, currency=currency, interval=spec.interval,
                  account_id=last.account_id, category_id=last.category_id,
                  average_amount=rounded(sum(amounts, Decimal(0)) / len(amounts), currency),
                  last_amount=last.amount, last_date=last.booked_on, next_expected_date=expected,
                  next_expected_amount=last.amount, occurrences=len(periods),
                  charge_ids=[c.id for c in charges], flags=flags)


def _by_amount(charges: Sequence[Charge]) -> list[list[Charge]]:
    """`charges` split into groups of similar amounts (each within 10 % of its group's smallest), by day."""
    groups: list[list[Charge]] = []
    for charge in sorted(charges, key=lambda c: (c.amount, c.booked_on)):
        if groups and charge.amount - groups[-1][0].amount <= groups[-1][0].amount * AMOUNT_TOLERANCE:
            groups[-1].append(charge)
        else:
            groups.append([charge])
    return [sorted(g, key=lambda c: (c.booked_on, c.id)) for g in groups]


def detect(charges: Iterable[Charge], today: dt.date) -> list[Series]:
    """Every series in `charges` (ordered by merchant key, currency, day), ordered by merchant and amount."""
    grouped: dict[tuple[str, str], list[Charge]] = {}
    for charge in charges:
        grouped.setdefault((charge.key, charge.currency), []).append(charge)
    found: list[Series] = []
    for group in grouped.values():
        whole = fit(group, today)
        if whole is not None:
            found.append(whole)
            continue
        parts = [s for s in (fit(part, today) for part in _by_amount(group)) if s is not None]
        for series in parts:
            if any(o is not series and o.interval == series.interval for o in parts):
                series.flags.append(Flag.DUPLICATE)
        found.extend(parts)
    for series in found:
        series.flags = sorted(set(series.flags), key=lambda f: list(Flag).index(f))
    return sorted(found, key=lambda s: (s.key, s.currency, s.average_amount))
