"""Budget status: limit, rollover, spending, pace and projection per line and in total.

For each budget the periods that matter are planned in Python (with rollover: every period from the first
one, the one containing `starts_on`; without: only the asked one). The spending of all lines of all the
budgets in all those periods comes from ONE statement (`repository.spent_rows`); figures in another currency
convert at their day's rate from one rate book (one more statement, only when there are such figures).

Rollover, per line: the first period carries nothing; SURPLUS carries max(0, available - spent) into the
next period, SURPLUS_AND_DEFICIT carries available - spent (negative after an overspent period). The line's
current limit applies to every period.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets import repository as repo
from app.budgets.models import Budget, BudgetLine, Rollover
from app.budgets.periods import Period, period_containing, periods_through
from app.money import format_decimal, minor_units
from app.networth.fx import ConversionNote, Converter, RateBook, load_book

ZERO = Decimal(0)
STORED = Decimal("0.0001")
PERCENT = Decimal("0.01")
MISSING_RATE = "MISSING_RATE"


def _q(value: Decimal) -> Decimal:
    return value.quantize(STORED, rounding=ROUND_HALF_EVEN)


_PREC40 = Context(prec=40)


def _div(a: Decimal, b: Decimal) -> Decimal:
    """a / b at 40 digits (half-even)."""
    return _PREC40.divide(a, b)


@dataclass(frozen=True)
class BudgetWarning:
    """A figure the status could not include: `amount` in `currency` spent on `line_id` in the period
    starting `period_start` had no exchange rate into the budget's currency."""

    code: str
    message: str
    line_id: uuid.UUID
    period_start: dt.date
    amount: Decimal
    currency: str


@dataclass
class Figures:
    limit: Decimal = ZERO
    carried: Decimal = ZERO
    """Carried over from earlier periods (negative: a deficit)."""
    spent: Decimal = ZERO
    unconverted: dict[str, Decimal] = field(default_factory=dict)
    """Spending in the asked period and in those rolled into it that had no rate, by currency."""

    @property
    def available(self) -> Decimal:
        return self.limit + self.carried

    @property
    def remaining(self) -> Decimal:
        return self.available - self.spent

    @property
    def over(self) -> bool:
        return self.spent > self.available

    @property
    def utilization(self) -> Decimal | None:
        """Spent in percent of available, at 2 places; None when nothing is available."""
        if self.available <= 0:
            return None
        return (_div(self.spent * 100, self.available)).quantize(PERCENT, rounding=ROUND_HALF_EVEN)

    def reached(self, threshold: int) -> bool:
        """Whether spending reached `threshold` percent of what is available (exactly, without rounding).

        Spending with nothing (or less than nothing) available counts as over 100 %, so as every threshold.
        """
        if self.spent <= 0:
            return False
        if self.available <= 0:
            return True
        return self.spent * 100 >= self.available * threshold


@dataclass
class LineStatus:
    line: BudgetLine
    figures: Figures


@dataclass
class BudgetStatus:
    budget: Budget
    on: dt.date
    period: Period
    lines: list[LineStatus]
    total: Figures
    conversions: list[ConversionNote]
    warnings: list[BudgetWarning]

    @property
    def days_elapsed(self) -> int:
        """Days of the period up to and including `on`."""
        return (self.on - self.period.start).days + 1

    @property
    def days_left(self) -> int:
        """Days of the period after `on`."""
        return (self.period.end - self.on).days - 1

    def daily_pace(self, figures: Figures) -> Decimal:
        """Average spending per elapsed day."""
        return _q(_div(figures.spent, Decimal(self.days_elapsed)))

    def projected(self, figures: Figures) -> Decimal:
        """Spending at the end of the period if it goes on at today's pace."""
        return _q(_div(figures.spent * self.period.days, Decimal(self.days_elapsed)))

    def projected_overrun(self, figures: Figures) -> Decimal:
        """How far the projection goes past what is available (0 when it stays within)."""
        return max(ZERO, self.projected(figures) - figures.available)


def plan_periods(budget: Budget, on: dt.date) -> list[Period]:
    """The periods whose spending decides the status on `on`: only the current one without rollover."""
    if budget.rollover == Rollover.NONE.value:
        return [period_containing(budget.period, budget.start_day, on)]
    return periods_through(budget.period, budget.start_day, budget.starts_on, on)


async def compute(session: AsyncSession, user_id: uuid.UUID, budgets: Sequence[tuple[Budget, Sequence[BudgetLine]]],
                  on: dt.date) -> list[BudgetStatus]:
    """The status on `on` of each budget, in the order given: one statement for the spending, one more for
    exchange rates when a line spent in another currency."""
    plans = {budget.id: plan_periods(budget, on) for budget, _ in budgets}
    rows = await repo.spent_rows(session, user_id, [
        repo.PeriodBounds(budget.id, budget.currency.strip(), [p.start for p in plans[budget.id]]
                          + [plans[budget.id][-1].end])
        for budget, lines in budgets if lines])
    foreign = {r.currency for r in rows if r.day is not None}
    book: RateBook | None = None
    if foreign:
        currencies = foreign | {budget.currency.strip() for budget, _ in budgets}
        start = min(p[0].start for p in plans.values())
        end = max(p[-1].end for p in plans.values()) - dt.timedelta(days=1)
        book = await load_book(session, user_id, currencies, start=start, end=end)
    spent: dict[tuple[uuid.UUID, dt.date], list[repo.SpentRow]] = {}
    for row in sorted(rows, key=lambda r: (r.currency, r.day or dt.date.min)):
        spent.setdefault((row.line_id, row.period_start), []).append(row)
    return [_assemble(budget, lines, plans[budget.id], on, spent, book) for budget, lines in budgets]


def _assemble(budget: Budget, lines: Sequence[BudgetLine], periods: list[Period], on: dt.date,
              spent: dict[tuple[uuid.UUID, dt.date], list[repo.SpentRow]],
              book: RateBook | None) -> BudgetStatus:
    currency = budget.currency.strip()
    converter = Converter(book, currency) if book is not None else None
    rollover = Rollover(budget.rollover)
    warnings: list[BudgetWarning] = []
    total = Figures()
    statuses: list[LineStatus] = []
    for line in lines:
        figures = Figures(limit=Decimal(line.limit))
        for i, period in enumerate(periods):
            if i:  # roll the previous period's balance into this one
                left = figures.available - figures.spent
                figures.carried = max(ZERO, left) if rollover is Rollover.SURPLUS else left
            figures.spent = ZERO
            for row in spent.get((line.id, period.start), ()):
                amount = row.spent
                if row.day is not None:
                    assert converter is not None
                    converted = converter.convert(row.spent, row.currency, row.day)
                    if converted is None:
                        figures.unconverted[row.currency] = figures.unconverted.get(row.currency, ZERO) + row.spent
                        warnings.append(BudgetWarning(
                            MISSING_RATE, f"No {row.currency}/{currency} exchange rate on or before {row.day}: "
                            f"{format_decimal(row.spent, minor_units(row.currency))} {row.currency} spent that day "
                            "is left out.",
                            line.id, period.start, row.spent, row.currency))
                        continue
                    amount = converted
                figures.spent += amount
        statuses.append(LineStatus(line, figures))
        total.limit += figures.limit
        total.carried += figures.carried
        total.spent += figures.spent
        for code, amount in figures.unconverted.items():
            total.unconverted[code] = total.unconverted.get(code, ZERO) + amount
    return BudgetStatus(budget=budget, on=on, period=periods[-1], lines=statuses, total=total,
                        conversions=converter.conversions if converter else [], warnings=warnings)
