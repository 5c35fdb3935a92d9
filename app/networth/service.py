"""Rules of valuations and exchange rates. Never commits."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.accounts import repository as accounts_repo
from app.db import UnitOfWork
from app.errors import Collector, DomainError, ErrorCode, NotFound
from app.money import parse_amount, parse_currency
from app.networth import repository as repo
from app.networth.ecb import ReferenceRate
from app.networth.events import NetWorthChanged
from app.networth.models import ExchangeRate, RateSource, Valuation

MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2200, 12, 31)
MAX_NOTE = 500
MAX_RATE_DIGITS = 10
"""Rates are NUMERIC(20,10): at most 10 digits before the point and 10 after it."""
MAX_RATES = 1000
"""The most rows `exchangeRates` returns at once."""

_RATE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def today_in(time_zone: str, now: dt.datetime | None = None) -> dt.date:
    """Today in the user's time zone (UTC when the name is unknown)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()


def check_day(value: dt.date, errors: Collector, field: str) -> dt.date:
    if not MIN_DAY <= value <= MAX_DAY:
        errors.add(ErrorCode.INVALID, f"The day must lie between {MIN_DAY} and {MAX_DAY}.", field)
    return value


def parse_rate(value: str | Decimal | None, errors: Collector, field: str = "rate") -> Decimal | None:
    """A positive decimal with at most 10 digits before and after the point."""
    if isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = (value or "").strip()
    if not text:
        errors.add(ErrorCode.REQUIRED, "A rate is required.", field)
        return None
    if len(text) > 64 or not _RATE.fullmatch(text):
        errors.add(ErrorCode.INVALID, "Write the rate as a decimal number, like 1.0825.", field)
        return None
    rate = Decimal(text)
    if rate <= 0:
        errors.add(ErrorCode.INVALID, "The rate must be greater than 0.", field)
        return None
    exponent = rate.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if max(0, -exponent) > MAX_RATE_DIGITS:
        errors.add(ErrorCode.TOO_MANY_DECIMALS, f"A rate has at most {MAX_RATE_DIGITS} decimals.", field)
        return None
    if rate.adjusted() >= MAX_RATE_DIGITS:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"A rate has at most {MAX_RATE_DIGITS} digits before the point.", field)
        return None
    return rate


def _currency(value: str | None, errors: Collector, field: str) -> str | None:
    try:
        return parse_currency(value or "", field)
    except DomainError as exc:
        errors.extend(exc)
        return None


async def record_valuation(session: AsyncSession, *, user_id: uuid.UUID, time_zone: str, account_id: uuid.UUID,
                           value: str | Decimal | None, day: dt.date | None = None, note: str | None = None
                           ) -> Valuation:
    """The account is worth `value` at the end of `day` (today by default) and from then on, plus later
    transactions. A valuation already on that day is replaced. Balances follow before the commit."""
    await effects.lock_ledger(session, user_id)
    account = await accounts_repo.account_by_id(session, user_id, account_id)
    if account is None:
        raise NotFound(message="No Account with this id", field="accountId")
    errors = Collector()
    amount: Decimal | None = None
    try:
        amount = parse_amount("" if value is None else value, account.currency.strip(), "value")
    except DomainError as exc:
        errors.extend(exc)
    when = check_day(day if day is not None else today_in(time_zone), errors, "day")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        errors.add(ErrorCode.TOO_LONG, f"A note has at most {MAX_NOTE} characters.", "note")
    errors.raise_if_any()
    assert amount is not None
    valuation = await repo.upsert_valuation(session, user_id=user_id, account_id=account.id, day=when, value=amount,
                                            note=text)
    effects.touch(session, user_id, account.id, when)
    return valuation


async def set_rate(session: AsyncSession, *, user_id: uuid.UUID, time_zone: str, base: str | None,
                   quote: str | None, rate: str | Decimal | None, day: dt.date | None = None) -> ExchangeRate:
    """The user's own rate: 1 `base` = `rate` `quote` on `day` (today by default); replaces one of that day.

    On its day it wins over a reference rate of the same pair; it is never seen by anyone else.
    """
    errors = Collector()
    base_code = _currency(base, errors, "base")
    quote_code = _currency(quote, errors, "quote")
    if base_code is not None and base_code == quote_code:
        errors.add(ErrorCode.INVALID, "Base and quote must be different currencies.", "quote")
    value = parse_rate(rate, errors)
    when = check_day(day if day is not None else today_in(time_zone), errors, "day")
    errors.raise_if_any()
    assert base_code is not None and quote_code is not None and value is not None
    row = await repo.upsert_manual_rate(session, user_id=user_id, base=base_code, quote=quote_code, day=when,
                                        rate=value)
    # converted figures of this user may change from that day on
    UnitOfWork.of(session).publish(user_id, NetWorthChanged(since=when))
    return row


async def list_rates(session: AsyncSession, *, user_id: uuid.UUID, base: str | None = None, quote: str | None = None,
                     start: dt.date | None = None, end: dt.date | None = None, source: RateSource | None = None,
                     latest: bool = False, limit: int = 100) -> list[ExchangeRate]:
    """The user's manual rates and the reference rates, newest first; DomainError on bad filters."""
    errors = Collector()
    base_code = _currency(base, errors, "base") if base is not None else None
    quote_code = _currency(quote, errors, "quote") if quote is not None else None
    if start is not None and end is not None and start > end:
        errors.add(ErrorCode.INVALID, "`from` must not be after `to`.", "from")
    if not 1 <= limit <= MAX_RATES:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"`first` must be between 1 and {MAX_RATES}.", "first")
    errors.raise_if_any()
    return await repo.list_rates(session, user_id, base=base_code, quote=quote_code, start=start, end=end,
                                 source=source, latest=latest, limit=limit)


async def store_reference_rates(session: AsyncSession, rates: Sequence[ReferenceRate],
                                source: RateSource = RateSource.ECB) -> int:
    """Insert or correct reference rates (no owner); manual rates are never touched. Returns rows written."""
    rows = [(r.base, r.quote, r.day, r.rate) for r in rates]
    return await repo.upsert_reference_rates(session, rows, source)
