"""How far a goal is: pure computations on what the repository loaded (no I/O here).

Definitions (the GraphQL descriptions repeat them):

- A goal follows either its **contributions** or its **linked accounts**, never both.
- **Contributions**: progress is the sum of the contributions (a withdrawal is a negative contribution; the
  saved total may never fall below 0 on any day, so withdrawals are refused beyond it).
- **Linked accounts**: progress is the sum of their current balances (`Account.balance`), each converted
  into the goal's currency at the latest rate on or before today; a balance without a rate is left out and
  listed as unconverted. Progress is never below 0.
- **DEBT_PAYOFF with linked (liability) accounts**: the target is the amount to pay off; the debt is the sum
  of what each account owes (`max(0, -balance)`), and progress = target - debt, clamped to [0, target].
- **percent** = progress / target * 100 (2 decimals, may pass 100); **remaining** = max(0, target - progress).
- **Monthly saving required** = remaining / months left to the target date, rounded up to the currency's
  minor unit; months left are whole calendar months from today to the target date, a started month counting
  as one, at least 1 (so a target date that has passed asks for the whole remaining amount). Null without a
  target date.
- **Pace**: what the goal gained over the last 90 days, `value(today) - value(today - 90)`, where the value
  of a day is the saved total through that day (contributions) or the goal's value of the accounts' end-of-day
  balances (linked accounts; before an account's first day its opening balance counts).
- **On track** (null without a target date): the remaining amount is 0, or `pace / 90 * days left >=
  remaining` with days left = target date - today.
- **Projected completion**: today + ceil(remaining / (pace / 90)) days while the pace is positive (null when it
  is not, or beyond 100 years); for a reached goal, the day it completed (or today).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from enum import Enum
from functools import cached_property

from app.accounts.models import Account, Classification
from app.goals.models import MILESTONES, Goal, GoalKind
from app.money import minor_units
from app.networth.fx import ConversionNote, Converter, RateBook

WINDOW_DAYS = 90
MAX_PROJECTION_DAYS = 36525
MAX_POINTS = 1000
PERCENT_PLACES = Decimal("0.01")


class Interval(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@dataclass(frozen=True)
class Linked:
    """What the figures need of one linked account."""

    account_id: uuid.UUID
    currency: str
    balance: Decimal
    opening_balance: Decimal
    liability: bool

    @classmethod
    def of(cls, row: Account) -> Linked:
        return cls(row.id, row.currency.strip(), row.current_balance, row.opening_balance,
                   row.classification == Classification.LIABILITY.value)


@dataclass(eq=False)
class GoalInputs:
    """A goal with what was loaded for it: its linked accounts and its contributions summed per day.

    Compared and hashed by identity, so it can key a per-request DataLoader.
    """

    goal: Goal
    accounts: list[Account] = field(default_factory=list)
    days: list[tuple[dt.date, Decimal]] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.goal.currency.strip()

    @cached_property
    def linked(self) -> list[Linked]:
        """The accounts as figures need them (read once the accounts are loaded)."""
        return [Linked.of(row) for row in self.accounts]

    @property
    def follows_accounts(self) -> bool:
        return bool(self.accounts)


@dataclass(frozen=True)
class Figures:
    """Progress of one goal, in its currency."""

    currency: str
    target: Decimal
    progress: Decimal
    remaining: Decimal
    percent: Decimal
    gained: Decimal
    """Gained over the last 90 days (the pace)."""
    monthly_required: Decimal | None
    on_track: bool | None
    projected_on: dt.date | None
    conversions: list[ConversionNote]
    unconverted: list[tuple[Decimal, str]]


def _round(value: Decimal, currency: str, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=rounding)


def contributed_through(days: Iterable[tuple[dt.date, Decimal]], day: dt.date | None = None) -> Decimal:
    """The saved total through `day` (all days when None), never below 0."""
    return max(Decimal(0), sum((amount for d, amount in days if day is None or d <= day), Decimal(0)))


def accounts_value(goal: Goal, balances: Iterable[tuple[str, Decimal]], converter: Converter, day: dt.date
                   ) -> Decimal:
    """The goal's value of (currency, balance) pairs on `day`: their converted sum (never below 0), or for a
    DEBT_PAYOFF goal target - what they owe, clamped to [0, target]. Balances without a rate are skipped (the
    converter lists them)."""
    total = owed = Decimal(0)
    for currency, balance in balances:
        converted = converter.convert(balance, currency, day)
        if converted is None:
            continue
        total += converted
        owed += max(Decimal(0), -converted)
    if goal.kind == GoalKind.DEBT_PAYOFF.value:
        return min(goal.target_amount, max(Decimal(0), goal.target_amount - owed))
    return max(Decimal(0), total)


def months_left(today: dt.date, target: dt.date) -> int:
    """Whole calendar months from today to the target date, a started month counting as one; at least 1."""
    months = (target.year - today.year) * 12 + (target.month - today.month) + (1 if target.day > today.day else 0)
    return max(1, months)


def reached_milestones(progress: Decimal, target: Decimal) -> list[int]:
    """The milestone percents that `progress` reaches of `target` (exactly, without rounding)."""
    return [p for p in MILESTONES if target > 0 and progress * 100 >= target * p]


def current_progress(inputs: GoalInputs, book: RateBook, today: dt.date) -> tuple[Decimal, Converter]:
    """Today's progress (at the currency's minor units) and the converter that made it."""
    converter = Converter(book, inputs.currency)
    if inputs.follows_accounts:
        value = accounts_value(inputs.goal, ((a.currency, a.balance) for a in inputs.linked), converter, today)
    else:
        value = contributed_through(inputs.days)
    return _round(value, inputs.currency), converter


def value_on(inputs: GoalInputs, day: dt.date, balances: Mapping[tuple[uuid.UUID, dt.date], Decimal],
             converter: Converter) -> Decimal:
    """The goal's value at the end of `day` (contributions through it, or the accounts' balances of that day)."""
    if not inputs.follows_accounts:
        return contributed_through(inputs.days, day)
    pairs = ((a.currency, balances.get((a.account_id, day), a.opening_balance)) for a in inputs.linked)
    return accounts_value(inputs.goal, pairs, converter, day)


def measure(inputs: GoalInputs, *, book: RateBook, today: dt.date,
            balances: Mapping[tuple[uuid.UUID, dt.date], Decimal], completed_on: dt.date | None = None) -> Figures:
    """Every figure of a goal. `balances` holds the linked accounts' balances of today and of 90 days ago."""
    goal, currency = inputs.goal, inputs.currency
    target = goal.target_amount
    progress, converter = current_progress(inputs, book, today)
    remaining = max(Decimal(0), target - progress)
    percent = (progress * 100 / target).quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN) if target else Decimal(0)
    pace = Converter(book, currency)
    gained = value_on(inputs, today, balances, pace) - value_on(inputs, today - dt.timedelta(days=WINDOW_DAYS),
                                                                 balances, pace)
    monthly: Decimal | None = None
    on_track: bool | None = None
    if goal.target_date is not None:
        monthly = _round(remaining / months_left(today, goal.target_date), currency, ROUND_CEILING)
        days_left = (goal.target_date - today).days
        on_track = remaining == 0 or (days_left > 0 and gained > 0 and gained * days_left >= remaining * WINDOW_DAYS)
    projected: dt.date | None = None
    if remaining == 0:
        projected = completed_on or today
    elif gained > 0:
        days = int((remaining * WINDOW_DAYS / gained).to_integral_value(rounding=ROUND_CEILING))
        projected = today + dt.timedelta(days=days) if days <= MAX_PROJECTION_DAYS else None
    return Figures(currency=currency, target=target, progress=progress, remaining=remaining, percent=percent,
                   gained=_round(gained, currency), monthly_required=monthly, on_track=on_track,
                   projected_on=projected, conversions=converter.conversions, unconverted=converter.unconverted)


def _period_end(day: dt.date, interval: Interval) -> dt.date:
    if interval is Interval.DAY:
        return day
    if interval is Interval.WEEK:
        return day + dt.timedelta(days=6 - day.weekday())  # Sunday
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def sample_days(start: dt.date, end: dt.date, interval: Interval) -> list[dt.date]:
    """The last day of each period (DAY, WEEK ending Sunday, MONTH) from `start` to `end`, and `end` itself."""
    days: list[dt.date] = []
    day = start
    while day <= end:
        last = min(_period_end(day, interval), end)
        days.append(last)
        if len(days) > MAX_POINTS:
            break
        day = last + dt.timedelta(days=1)
    return days


def earliest_start(end: dt.date, interval: Interval) -> dt.date:
    """The earliest start that keeps a history within MAX_POINTS points."""
    if interval is Interval.DAY:
        return end - dt.timedelta(days=MAX_POINTS - 1)
    if interval is Interval.WEEK:
        return end - dt.timedelta(days=7 * (MAX_POINTS - 2))
    months = end.year * 12 + end.month - 1 - (MAX_POINTS - 1)
    return dt.date(max(1, months // 12), months % 12 + 1, 1)


def history(inputs: GoalInputs, days: Sequence[dt.date], *, book: RateBook,
            balances: Mapping[tuple[uuid.UUID, dt.date], Decimal]) -> list[tuple[dt.date, Decimal]]:
    """(day, the goal's value at the end of that day) for each sample day; linked balances at each day's rate."""
    converter = Converter(book, inputs.currency)
    return [(day, _round(value_on(inputs, day, balances, converter), inputs.currency)) for day in days]
