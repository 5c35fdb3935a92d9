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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.errors import DomainError, ErrorCode
from app.money import format_decimal, minor_units, parse_currency
from app.networth import repository as repo
from app.networth.fx import ConversionNote, Converter, RateBook, load_book

MAX_POINTS = 5000
"""The most points one `netWorthHistory` may have."""
MAX_HISTORY_DAYS = 3700
"""The longest window of `Account.balanceHistory` (about ten years of daily rows)."""


class Interval(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the currency's minor units."""
    return Decimal(format_decimal(amount, minor_units(currency)))


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


async def history(session: AsyncSession, *, user_id: uuid.UUID, start: dt.date, end: dt.date, interval: Interval,
                  currency: str) -> list[Figure]:
    """Net worth at the end of each period meeting [start, end] (the last point is `end`): two statements,
    whatever the number of accounts or days."""
    check_window(start, end, interval)
    rows = await repo.history_sums(session, user_id, start=start, end=end, interval=interval.value)
    currencies = {code for _, code, _, _ in rows if code is not None}
    days = [day for day, _, _, _ in rows]
    book = RateBook()
    if currencies - {currency}:
        book = await load_book(session, user_id, currencies | {currency}, start=min(days), end=max(days))
    by_day: dict[dt.date, list[tuple[str, Decimal, Decimal]]] = {}
    for day, code, positive, negative in rows:
        sums = by_day.setdefault(day, [])
        if code is not None:
            sums.append((code, positive, negative))
    return [_figure(day, currency, sums, book) for day, sums in by_day.items()]


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
