"""Spending and cash flow over a date range, per currency or converted into one.

Rules (the GraphQL descriptions repeat them):
- A split transaction counts by its split lines, each in its own category; linked transfers and lines in
  TRANSFER-kind categories never count. Pending and posted transactions both count.
- A line in an INCOME category is income (signed: a negative line there lowers income); a line in an
  EXPENSE category is spending, so a positive line there (a refund) lowers spending. An uncategorized
  line is spending when negative and income when positive.
- Spending and expenses are positive magnitudes; net = income - expenses; the savings rate is net / income,
  null when income is not positive.
- Without a target currency every figure stays in its own currency (one group per currency). With one,
  figures are converted at the rate of each transaction's booking day (or the latest earlier day, noted
  with `exact = false`); what has no rate is listed as unconverted, never guessed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.categories.models import Category
from app.errors import Collector, DomainError, ErrorCode
from app.money import parse_currency
from app.networth.fx import ConversionNote, Converter, RateBook, load_book
from app.reports import repository as repo

MAX_YEARS = 10
SHARE_PLACES = Decimal("0.0001")
UNCATEGORIZED = "Uncategorized"
NO_MERCHANT = "No merchant"


class GroupBy(str, Enum):
    CATEGORY = "CATEGORY"
    MERCHANT = "MERCHANT"
    ACCOUNT = "ACCOUNT"
    MONTH = "MONTH"


class Interval(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass
class SpendingGroup:
    key: str | None
    """The group's raw key: a category or account id, a merchant, a month's first day; None: none."""
    currency: str
    amount: Decimal
    """Positive magnitude (negative only when refunds exceed spending), at 4 places."""
    transactions: int
    share: Decimal | None = None
    category: Category | None = None
    parent: Category | None = None
    account: Account | None = None
    merchant: str | None = None
    month: dt.date | None = None
    label: str = ""
    """A display name: the category, merchant or account name, or the month as YYYY-MM."""


@dataclass
class SpendingReport:
    start: dt.date
    end: dt.date
    group_by: GroupBy
    roll_up: bool
    currency: str | None
    groups: list[SpendingGroup]
    totals: list[tuple[Decimal, str]]
    conversions: list[ConversionNote] = field(default_factory=list)
    unconverted: list[tuple[Decimal, str]] = field(default_factory=list)


@dataclass
class CashFlowPeriod:
    start: dt.date
    end: dt.date
    currency: str
    income: Decimal = Decimal(0)
    expenses: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        return self.income - self.expenses

    @property
    def savings_rate(self) -> Decimal | None:
        """net / income at 4 places; None when income is not positive."""
        if self.income <= 0:
            return None
        return (self.net / self.income).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)


@dataclass
class CashFlowReport:
    start: dt.date
    end: dt.date
    interval: Interval
    currency: str | None
    periods: list[CashFlowPeriod]
    totals: list[CashFlowPeriod]
    conversions: list[ConversionNote] = field(default_factory=list)
    unconverted: list[tuple[Decimal, str]] = field(default_factory=list)


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return dt.date(day.year + years, 3, 1)


def check_window(start: dt.date, end: dt.date, currency: str | None) -> str | None:
    """Validate the range (from <= to, at most 10 years) and the currency; returns the currency code."""
    errors = Collector()
    if start > end:
        errors.add(ErrorCode.INVALID, "`from` must be on or before `to`.", "to")
    elif end >= _years_later(start, MAX_YEARS):
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"The range may span at most {MAX_YEARS} years.", "to")
    code = None
    if currency is not None:
        try:
            code = parse_currency(currency)
        except DomainError as exc:
            errors.extend(exc)
    errors.raise_if_any()
    return code


def _share(amount: Decimal, total: Decimal) -> Decimal | None:
    if not total:
        return None
    return (amount / total).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)


def _notes(converter: Converter | None) -> tuple[list[ConversionNote], list[tuple[Decimal, str]]]:
    if converter is None:
        return [], []
    return converter.conversions, converter.unconverted


async def _converter(session: AsyncSession, user_id: uuid.UUID, target: str | None, currencies: Iterable[str],
                     start: dt.date, end: dt.date) -> Converter | None:
    """A converter into `target` with the rates of the window (one statement, none when nothing is foreign)."""
    if target is None:
        return None
    foreign = {c for c in currencies if c != target}
    if not foreign:
        return Converter(book=RateBook(), target=target)
    book = await load_book(session, user_id, foreign | {target}, start=start, end=end)
    return Converter(book=book, target=target)


async def spending(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date,
                   group_by: GroupBy = GroupBy.CATEGORY, roll_up: bool = False,
                   currency: str | None = None) -> SpendingReport:
    """Spending per group over [start, end]: at most three statements whatever the data."""
    target = check_window(start, end, currency)
    key = "CATEGORY_ROLLED_UP" if group_by is GroupBy.CATEGORY and roll_up else group_by.value
    rows = await repo.spending_rows(session, user_id, start=start, end=end, key=key, target=target)
    converter = await _converter(session, user_id, target, {r.currency for r in rows}, start, end)

    found: dict[tuple[str | None, str], SpendingGroup] = {}
    for row in rows:
        amount = row.amount
        if converter is not None and row.day is not None:
            converted = converter.convert(row.amount, row.currency, row.day)
            if converted is None:
                continue
            amount = converted
        cur = target or row.currency
        group = found.get((row.key, cur))
        if group is None:
            group = found[(row.key, cur)] = SpendingGroup(key=row.key, currency=cur, amount=Decimal(0),
                                                          transactions=0)
        group.amount += amount
        group.transactions += row.transactions

    groups = list(found.values())
    await _attach(session, user_id, group_by, groups)
    groups.sort(key=lambda g: (g.currency, -g.amount, g.label.lower(), g.key or ""))
    totals: dict[str, Decimal] = {}
    for group in groups:
        totals[group.currency] = totals.get(group.currency, Decimal(0)) + group.amount
    for group in groups:
        group.share = _share(group.amount, totals[group.currency])
    if target is not None and target not in totals:
        totals[target] = Decimal(0)
    conversions, unconverted = _notes(converter)
    return SpendingReport(start=start, end=end, group_by=group_by, roll_up=roll_up and group_by is GroupBy.CATEGORY,
                          currency=target, groups=groups,
                          totals=[(totals[cur], cur) for cur in sorted(totals)],
                          conversions=conversions, unconverted=unconverted)


async def _attach(session: AsyncSession, user_id: uuid.UUID, group_by: GroupBy, groups: list[SpendingGroup]
                  ) -> None:
    """Give each group its category (with parent), account, merchant or month and a label: at most one statement."""
    if group_by is GroupBy.MERCHANT:
        for group in groups:
            group.merchant = group.key
            group.label = group.key or NO_MERCHANT
        return
    if group_by is GroupBy.MONTH:
        for group in groups:
            group.month = dt.date.fromisoformat(group.key) if group.key else None
            group.label = group.month.strftime("%Y-%m") if group.month else ""
        return
    ids = sorted({uuid.UUID(g.key) for g in groups if g.key is not None})
    if group_by is GroupBy.ACCOUNT:
        accounts = {a.id: a for a in await repo.accounts_by_ids(session, user_id, ids)}
        for group in groups:
            group.account = accounts.get(uuid.UUID(group.key)) if group.key else None
            group.label = group.account.name if group.account else ""
        return
    categories = {c.id: c for c in await repo.categories_with_parents(session, user_id, ids)}
    for group in groups:
        category = categories.get(uuid.UUID(group.key)) if group.key else None
        group.category = category
        group.label = category.name if category else UNCATEGORIZED
        if category is not None and category.parent_id is not None:
            group.parent = categories.get(category.parent_id)


def bucket_start(day: dt.date, interval: Interval) -> dt.date:
    """The first day of the interval holding `day` (ISO weeks start on Monday), as Postgres' date_trunc."""
    if interval is Interval.DAY:
        return day
    if interval is Interval.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if interval is Interval.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_bucket(start: dt.date, interval: Interval) -> dt.date:
    if interval is Interval.DAY:
        return start + dt.timedelta(days=1)
    if interval is Interval.WEEK:
        return start + dt.timedelta(days=7)
    if interval is Interval.MONTH:
        return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return dt.date(start.year + 1, 1, 1)


def buckets(start: dt.date, end: dt.date, interval: Interval) -> list[tuple[dt.date, dt.date, dt.date]]:
    """(interval's first day, period start, period end) for every interval touching [start, end], clipped."""
    out = []
    first = bucket_start(start, interval)
    while first <= end:
        following = next_bucket(first, interval)
        out.append((first, max(first, start), min(following - dt.timedelta(days=1), end)))
        first = following
    return out


async def cash_flow(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date,
                    interval: Interval = Interval.MONTH, currency: str | None = None) -> CashFlowReport:
    """Income, expenses, net and savings rate per interval over [start, end]: at most two statements."""
    target = check_window(start, end, currency)
    rows = await repo.flow_rows(session, user_id, start=start, end=end, interval=interval.value, target=target)
    converter = await _converter(session, user_id, target, {r.currency for r in rows}, start, end)

    sums: dict[tuple[dt.date, str], list[Decimal]] = {}
    for row in rows:
        income, expenses = row.income, row.expenses
        if converter is not None and row.day is not None:
            # converted as signed flows, so what has no rate is listed as the net flow (money in positive)
            converted_in = converter.convert(income, row.currency, row.day) if income else Decimal(0)
            converted_out = converter.convert(-expenses, row.currency, row.day) if expenses else Decimal(0)
            if converted_in is None or converted_out is None:
                continue
            income, expenses = converted_in, -converted_out
        slot = sums.setdefault((row.bucket, target or row.currency), [Decimal(0), Decimal(0)])
        slot[0] += income
        slot[1] += expenses

    currencies = sorted({cur for _, cur in sums} | ({target} if target else set()))
    periods: list[CashFlowPeriod] = []
    totals = {cur: CashFlowPeriod(start=start, end=end, currency=cur) for cur in currencies}
    for first, period_start, period_end in buckets(start, end, interval):
        for cur in currencies:
            income, expenses = sums.get((first, cur), (Decimal(0), Decimal(0)))
            periods.append(CashFlowPeriod(start=period_start, end=period_end, currency=cur, income=income,
                                          expenses=expenses))
            totals[cur].income += income
            totals[cur].expenses += expenses
    conversions, unconverted = _notes(converter)
    return CashFlowReport(start=start, end=end, interval=interval, currency=target, periods=periods,
                          totals=[totals[cur] for cur in currencies], conversions=conversions,
                          unconverted=unconverted)
