"""Net worth on a day, its history, and an account's balance history, all read from the `balances` table.

Net worth is the sum of the converted balances of every account, archived ones included (they still hold
money; an archived account whose balance is zero is left out of the per-account lines). Per point and
currency the positive balances and the negative balances are summed in SQL; each of the two sums is converted
into the target currency with the rate of the point's day (or the latest earlier one), and `assets` is the
rounded sum of the converted positive parts, `liabilities` the rounded magnitude of the negative parts and
`net_worth` their difference, so the three always agree to the cent. A currency without a rate is listed in
`unconverted` and left out of the figures instead of being guessed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.errors import DomainError, ErrorCode
from app.money import minor_units, parse_currency
from app.networth import repository as repo
from app.networth.fx import ConversionNote, Converter, Rate, RateBook, load_book, times

MAX_POINTS = 5000
"""The most points one `netWorthHistory` may have."""
MAX_HISTORY_DAYS = 3700
"""The longest window of `Account.balanceHistory` (about ten years of daily rows)."""


class Interval(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


_WIDE = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Half-even with room for any amount: rounding to minor units never runs out of digits."""


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the currency's minor units (as `format_decimal` writes it; never -0)."""
    value = amount.quantize(Decimal(1).scaleb(-minor_units(currency)), context=_WIDE)
    return value if value else value.copy_abs()


def _rounder(currency: str) -> Callable[[Decimal], Decimal]:
    """`rounded` for many amounts of one currency."""
    exponent = Decimal(1).scaleb(-minor_units(currency))

    def shown(amount: Decimal) -> Decimal:
        value = amount.quantize(exponent, context=_WIDE)
        return value if value else value.copy_abs()  # never -0

    return shown


@dataclass
class Figure:
    """Net worth at the end of one day, in one currency."""

    on: dt.date
    currency: str
    assets: Decimal
    liabilities: Decimal
    conversions: list[ConversionNote] = field(default_factory=list)
    unconverted: list[tuple[Decimal, str]] = field(default_factory=list)

    @property
    def net_worth(self) -> Decimal:
        return self.assets - self.liabilities


@dataclass
class AccountLine:
    account: Account
    balance: Decimal
    """In the account's currency."""
    converted: Decimal | None
    """In the figure's currency; None when no rate was found."""


@dataclass
class KindTotal:
    kind: str
    classification: str
    total: Decimal
    """Converted, signed; accounts without a rate are left out."""
    accounts: int


@dataclass
class NetWorth(Figure):
    lines: list[AccountLine] = field(default_factory=list)
    kinds: list[KindTotal] = field(default_factory=list)

    @property
    def unconverted_accounts(self) -> list[Account]:
        return [line.account for line in self.lines if line.converted is None]


def _figure(day: dt.date, target: str, sums: Iterable[tuple[str, Decimal, Decimal]], book: RateBook) -> Figure:
    converter = Converter(book, target)
    assets = liabilities = Decimal(0)
    for currency, positive, negative in sums:
        for part in (positive, negative):
            if not part:
                continue  # zero needs no rate
            converted = converter.convert(part, currency, day)
            if converted is None:
                continue
            if part > 0:
                assets += converted
            else:
                liabilities -= converted
    return Figure(day, target, rounded(assets, target), rounded(liabilities, target), converter.conversions,
                  converter.unconverted)


def target_currency(currency: str | None, base_currency: str) -> str:
    """The currency asked for (validated; field `currency`), else the user's base currency."""
    return parse_currency(currency, "currency") if currency is not None else base_currency.strip()


async def net_worth(session: AsyncSession, *, user_id: uuid.UUID, on: dt.date, currency: str) -> NetWorth:
    """Net worth at the end of `on` in `currency`, with lines per account and totals per kind: two statements."""
    held = await repo.balances_on(session, user_id, on)
    currencies = {account.currency.strip() for account, _ in held}
    book = await load_book(session, user_id, currencies | {currency}, start=on, end=on) if currencies else RateBook()
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    for account, balance in held:
        code = account.currency.strip()
        positive, negative = sums.get(code, (Decimal(0), Decimal(0)))
        sums[code] = (positive + max(balance, Decimal(0)), negative + min(balance, Decimal(0)))
    figure = _figure(on, currency, ((code, p, n) for code, (p, n) in sorted(sums.items())), book)
    converter = Converter(book, currency)
    lines: list[AccountLine] = []
    kinds: dict[str, KindTotal] = {}
    for account, balance in held:
        if account.archived and not balance:
            continue
        value = converter.convert(balance, account.currency.strip(), on) if balance else Decimal(0)
        converted = rounded(value, currency) if value is not None else None
        lines.append(AccountLine(account, balance, converted))
        total = kinds.setdefault(account.kind, KindTotal(account.kind, account.classification, Decimal(0), 0))
        total.accounts += 1
        if converted is not None:
            total.total += converted
    return NetWorth(on, currency, figure.assets, figure.liabilities, figure.conversions, figure.unconverted,
                    lines=lines, kinds=sorted(kinds.values(), key=lambda k: (k.classification, k.kind)))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def count_points(start: dt.date, end: dt.date, interval: Interval) -> int:
    """How many points `history` gives for [start, end] (arithmetic, without building them)."""
    if interval is Interval.DAY:
        return (end - start).days + 1
    if interval is Interval.WEEK:
        monday = start - dt.timedelta(days=start.weekday())
        return (end - monday).days // 7 + 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


def check_window(start: dt.date, end: dt.date, interval: Interval) -> None:
    if start > end:
        raise DomainError(ErrorCode.INVALID, "`from` must not be after `to`.", "from")
    points = count_points(start, end, interval)
    if points > MAX_POINTS:
        message = f"{points} points asked; at most {MAX_POINTS} (choose a shorter window or a longer interval)."
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, message, "interval")


@dataclass(eq=False)
class Point:
    """Net worth at the end of one point of a history: a `Figure` whose notes are built only when read."""

    on: dt.date
    currency: str
    assets: Decimal
    liabilities: Decimal
    used: list[tuple[str, Rate]] = field(default_factory=list)
    """(currency, rate) of each currency converted at this point, in currency order."""
    missing: dict[str, Decimal] | None = None
    """Per currency, the parts that had no rate."""

    @property
    def net_worth(self) -> Decimal:
        return self.assets - self.liabilities

    @property
    def conversions(self) -> list[ConversionNote]:
        return [ConversionNote(code, self.currency, rate.rate, rate.day, exact=rate.day == self.on)
                for code, rate in self.used]

    @property
    def unconverted(self) -> list[tuple[Decimal, str]]:
        return [(amount, code) for code, amount in sorted(self.missing.items())] if self.missing else []


async def history(session: AsyncSession, *, user_id: uuid.UUID, start: dt.date, end: dt.date, interval: Interval,
                  currency: str) -> list[Point]:
    """Net worth at the end of each period meeting [start, end] (the last point is `end`): two statements,
    whatever the number of accounts or days.

    The figures are those `_figure` gives for each point (the same conversions, in the same order, rounded
    once), computed currency by currency: each currency's rate is looked up once per rate day
    (`RateBook.series`), not once per point and part."""
    check_window(start, end, interval)
    groups = await repo.history_sums(session, user_id, start=start, end=end, interval=interval.value)
    points = next(g.days for g in groups if g.currency is None)
    held = sorted((g for g in groups if g.currency is not None), key=lambda g: g.currency or "")
    book = RateBook()
    if {g.currency for g in held} - {currency}:
        book = await load_book(session, user_id, {g.currency or "" for g in held} | {currency},
                               start=points[0], end=points[-1])
    index = {day: i for i, day in enumerate(points)}
    zero = Decimal(0)
    assets = [zero] * len(points)
    liabilities = [zero] * len(points)
    used: list[list[tuple[str, Rate]] | None] = [None] * len(points)
    missing: list[dict[str, Decimal] | None] = [None] * len(points)
    for group in held:  # in currency order, so each point adds up its currencies in the same order as before
        code = group.currency or ""
        rates = book.series(code, currency, group.days) if code != currency else None
        for k, day in enumerate(group.days):
            positive, negative = group.positive[k], group.negative[k]
            if not positive and not negative:
                continue  # zero needs no rate
            i = index[day]
            if rates is None:
                if positive:
                    assets[i] += positive
                if negative:
                    liabilities[i] -= negative
                continue
            rate = rates[k]
            if rate is None:
                lacking = missing[i]
                if lacking is None:
                    lacking = missing[i] = {}
                for part in (positive, negative):
                    if part:
                        lacking[code] = lacking.get(code, zero) + part
                continue
            if positive:
                assets[i] += times(positive, rate.rate)
            if negative:
                liabilities[i] -= times(negative, rate.rate)
            notes = used[i]
            if notes is None:
                used[i] = [(code, rate)]
            else:
                notes.append((code, rate))
    shown = _rounder(currency)
    return [Point(day, currency, shown(assets[i]), shown(liabilities[i]), used[i] or [], missing[i])
            for i, day in enumerate(points)]


def daily_history(rows: Sequence[tuple[dt.date, Decimal]], start: dt.date, end: dt.date
                  ) -> list[tuple[dt.date, Decimal]]:
    """One (day, balance) per day of [start, end] from an account's rows (sorted; may begin before `start`):
    days before its first row are left out, days after its last row repeat it."""
    result: list[tuple[dt.date, Decimal]] = []
    index, last = 0, None
    day = start
    while day <= end:
        while index < len(rows) and rows[index][0] <= day:
            last = rows[index][1]
            index += 1
        if last is not None:
            result.append((day, last))
        day += dt.timedelta(days=1)
    return result


async def balance_histories(session: AsyncSession, *, user_id: uuid.UUID, account_ids: Sequence[uuid.UUID],
                            start: dt.date, end: dt.date) -> dict[uuid.UUID, list[tuple[dt.date, Decimal]]]:
    """Daily balances of the user's accounts over [start, end]: one statement for all of them."""
    if start > end:
        raise DomainError(ErrorCode.INVALID, "`from` must not be after `to`.", "from")
    if (end - start).days + 1 > MAX_HISTORY_DAYS:
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_HISTORY_DAYS} days at once.", "from")
    rows = await repo.balance_history(session, user_id, account_ids, start, end)
    per_account: dict[uuid.UUID, list[tuple[dt.date, Decimal]]] = {}
    for account_id, day, balance in rows:
        per_account.setdefault(account_id, []).append((day, balance))
    return {account_id: daily_history(per_account.get(account_id, []), start, end) for account_id in account_ids}
