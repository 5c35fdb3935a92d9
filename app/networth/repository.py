"""All SQL of net worth: valuations, exchange rates, balances at a day and over time. Scoped to one user."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.accounts.models import Account
from app.db import new_id
from app.networth.models import ExchangeRate, RateSource, Valuation

REFERENCE_CHUNK = 5000
"""Reference rates written per statement (the full ECB history holds ~200k)."""


# --- valuations ---------------------------------------------------------------------------------------------------

async def upsert_valuation(session: AsyncSession, *, user_id: uuid.UUID, account_id: uuid.UUID, day: dt.date,
                           value: Decimal, note: str) -> Valuation:
    """Insert the valuation of (account, day), or replace the value and note of the one already there."""
    stmt = (
        insert(Valuation)
        .values(id=new_id(), user_id=user_id, account_id=account_id, day=day, value=value, note=note)
        .on_conflict_do_update(constraint="uq_valuations_account_day",
                               set_={"value": value, "note": note, "created_at": sa.func.now()})
        .returning(Valuation)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def valuation_by_id(session: AsyncSession, user_id: uuid.UUID, valuation_id: uuid.UUID) -> Valuation | None:
    stmt = sa.select(Valuation).where(col(Valuation.user_id) == user_id, col(Valuation.id) == valuation_id)
    return (await session.execute(stmt)).scalar_one_or_none()


# --- exchange rates -----------------------------------------------------------------------------------------------

async def upsert_manual_rate(session: AsyncSession, *, user_id: uuid.UUID, base: str, quote: str, day: dt.date,
                             rate: Decimal) -> ExchangeRate:
    """The user's rate of (base, quote, day), inserted or replaced."""
    stmt = (
        insert(ExchangeRate)
        .values(id=new_id(), user_id=user_id, base=base, quote=quote, day=day, rate=rate,
                source=RateSource.MANUAL.value)
        .on_conflict_do_update(index_elements=["user_id", "base", "quote", "day"],
                               index_where=sa.text("user_id IS NOT NULL"),
                               set_={"rate": rate, "updated_at": sa.func.now()})
        .returning(ExchangeRate)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def rate_by_id(session: AsyncSession, user_id: uuid.UUID, rate_id: uuid.UUID) -> ExchangeRate | None:
    """One of the user's own rates, or a reference rate."""
    stmt = sa.select(ExchangeRate).where(col(ExchangeRate.id) == rate_id, sa.or_(
        col(ExchangeRate.user_id) == user_id, col(ExchangeRate.user_id).is_(None)))
    return (await session.execute(stmt)).scalar_one_or_none()


_UPSERT_REFERENCE = sa.text("""
    INSERT INTO exchange_rates (id, user_id, base, quote, day, rate, source, updated_at)
    SELECT r.id, NULL, r.base, r.quote, r.day, r.rate, :source, now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:bases AS text[]), CAST(:quotes AS text[]), CAST(:days AS date[]),
                CAST(:rates AS numeric[])) AS r(id, base, quote, day, rate)
    ON CONFLICT (base, quote, day, source) WHERE user_id IS NULL
    DO UPDATE SET rate = EXCLUDED.rate, updated_at = EXCLUDED.updated_at
    WHERE exchange_rates.rate IS DISTINCT FROM EXCLUDED.rate
    RETURNING 1
""")


async def upsert_reference_rates(session: AsyncSession, rows: Sequence[tuple[str, str, dt.date, Decimal]],
                                 source: RateSource) -> int:
    """Insert or correct reference rates (owner NULL); returns how many rows were written.

    Only rows without an owner are touched: a user's manual rate is never read or changed here.
    """
    written = 0
    for start in range(0, len(rows), REFERENCE_CHUNK):
        chunk = rows[start:start + REFERENCE_CHUNK]
        result = await session.execute(_UPSERT_REFERENCE, {
            "ids": [new_id() for _ in chunk], "bases": [r[0] for r in chunk], "quotes": [r[1] for r in chunk],
            "days": [r[2] for r in chunk], "rates": [r[3] for r in chunk], "source": source.value,
        })
        written += len(result.all())
    return written


async def has_reference_rates(session: AsyncSession, source: RateSource) -> bool:
    stmt = sa.select(sa.exists().where(col(ExchangeRate.user_id).is_(None), col(ExchangeRate.source) == source.value))
    return bool((await session.execute(stmt)).scalar_one())


async def list_rates(session: AsyncSession, user_id: uuid.UUID, *, base: str | None, quote: str | None,
                     start: dt.date | None, end: dt.date | None, source: RateSource | None, latest: bool,
                     limit: int) -> list[ExchangeRate]:
    """The user's manual rates and the reference rates, newest day first (manual before reference on a day).

    With `latest`, only the newest row per pair and source (on or before `end` when given).
    """
    conditions: list[Any] = [sa.or_(col(ExchangeRate.user_id) == user_id, col(ExchangeRate.user_id).is_(None))]
    if base is not None:
        conditions.append(col(ExchangeRate.base) == base)
    if quote is not None:
        conditions.append(col(ExchangeRate.quote) == quote)
    if start is not None:
        conditions.append(col(ExchangeRate.day) >= start)
    if end is not None:
        conditions.append(col(ExchangeRate.day) <= end)
    if source is not None:
        conditions.append(col(ExchangeRate.source) == source.value)
    manual_first = col(ExchangeRate.user_id).is_(None)  # false (manual) sorts first
    stmt = sa.select(ExchangeRate).where(*conditions)
    if latest:
        inner = (stmt.order_by(col(ExchangeRate.base), col(ExchangeRate.quote), col(ExchangeRate.source),
                               col(ExchangeRate.day).desc())
                 .ext(distinct_on(col(ExchangeRate.base), col(ExchangeRate.quote), col(ExchangeRate.source)))
                 .subquery())
        picked = aliased(ExchangeRate, inner)
        stmt = sa.select(picked)
        order: list[Any] = [col(picked.day).desc(), col(picked.user_id).is_(None), col(picked.base),
                            col(picked.quote)]
    else:
        order = [col(ExchangeRate.day).desc(), manual_first, col(ExchangeRate.base), col(ExchangeRate.quote)]
    return list((await session.execute(stmt.order_by(*order).limit(limit))).scalars())


# --- balances -----------------------------------------------------------------------------------------------------

_BALANCES_ON = sa.text("""
    SELECT a.*, b.balance AS balance_on FROM accounts a
    LEFT JOIN LATERAL (SELECT balance FROM balances
                       WHERE balances.account_id = a.id AND balances.user_id = :user AND balances.day <= :day
                       ORDER BY balances.day DESC LIMIT 1) AS b ON true
    WHERE a.user_id = :user
    ORDER BY a.name, a.id
""").columns(*Account.__table__.columns, sa.column("balance_on", sa.Numeric))  # type: ignore[attr-defined]


async def balances_on(session: AsyncSession, user_id: uuid.UUID, day: dt.date) -> list[tuple[Account, Decimal]]:
    """Every account of the user with its end-of-day balance on `day` (its last row on or before; 0 before its
    first): one statement."""
    stmt = sa.select(Account, sa.literal_column("balance_on")).from_statement(_BALANCES_ON)
    rows = await session.execute(stmt, {"user": user_id, "day": day})
    return [(account, balance if balance is not None else Decimal(0)) for account, balance in rows]


_HISTORY = sa.text("""
WITH steps AS (
    SELECT g::date AS start FROM generate_series(
        CASE CAST(:interval AS text)
            WHEN 'DAY' THEN CAST(:start AS date)::timestamp
            WHEN 'WEEK' THEN date_trunc('week', CAST(:start AS date)::timestamp)
            ELSE date_trunc('month', CAST(:start AS date)::timestamp) END,
        CAST(:end AS date)::timestamp,
        CASE CAST(:interval AS text)
            WHEN 'DAY' THEN interval '1 day' WHEN 'WEEK' THEN interval '1 week' ELSE interval '1 month' END) AS g
),
points AS MATERIALIZED (
    SELECT LEAST(CASE CAST(:interval AS text)
                     WHEN 'DAY' THEN start
                     WHEN 'WEEK' THEN start + 6
                     ELSE (start + interval '1 month' - interval '1 day')::date END,
                 CAST(:end AS date)) AS day
    FROM steps
),
lasts AS (
    SELECT a.id, a.currency, r.day, r.balance FROM accounts a
    CROSS JOIN LATERAL (SELECT b.day, b.balance FROM balances b WHERE b.account_id = a.id AND b.user_id = :user
                        ORDER BY b.day DESC LIMIT 1) AS r
    WHERE a.user_id = :user
),
vals AS (
    -- the rows of the points, read by day (an account has a row on every day from its first to its last) ...
    SELECT b.day, lasts.currency, b.balance FROM balances b JOIN lasts ON lasts.id = b.account_id
    WHERE b.user_id = :user AND b.day BETWEEN CAST(:start AS date) AND CAST(:end AS date)
      AND b.day IN (SELECT day FROM points)
    UNION ALL
    -- ... and at the points after an account's last row, that row
    SELECT points.day, lasts.currency, lasts.balance FROM points JOIN lasts ON points.day > lasts.day
),
sums AS (
    SELECT day, currency, sum(balance) FILTER (WHERE balance > 0) AS positive,
           sum(balance) FILTER (WHERE balance < 0) AS negative
    FROM vals
    GROUP BY day, currency
)
SELECT rtrim(currency) AS currency, array_agg(day ORDER BY day) AS days,
       array_agg(positive ORDER BY day) AS positive, array_agg(negative ORDER BY day) AS negative
FROM sums
GROUP BY currency
UNION ALL
SELECT NULL, array_agg(day ORDER BY day), NULL, NULL FROM points
""")


@dataclass(frozen=True)
class CurrencySums:
    """One currency's balances summed per point: on `days[i]` the positive balances sum to `positive[i]` and the
    negative ones to `negative[i]` (None when there are none). The row of currency None lists every point (and no
    sums)."""

    currency: str | None
    days: list[dt.date]
    positive: list[Decimal | None]
    negative: list[Decimal | None]


async def history_sums(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date, interval: str
                       ) -> list[CurrencySums]:
    """The points, and per currency its balances summed per point (arrays, oldest point first): one statement,
    a row per currency.

    Points are the ends of the periods (days; ISO weeks ending on Sunday; calendar months) that meet
    [start, end], the last one clipped to `end`. An account's balance at a point is its row of that day, its
    last row when the point is later than its rows (rows run without gaps from the first to the last), and
    nothing before its first row. A currency lists only the points where it has balances.
    """
    rows = await session.execute(_HISTORY, {"user": user_id, "start": start, "end": end, "interval": interval})
    return [CurrencySums(r.currency, r.days, r.positive or [], r.negative or []) for r in rows]


_ACCOUNT_HISTORY = sa.text("""
    SELECT account_id, day, balance FROM balances
    WHERE user_id = :user AND account_id = ANY(:accounts) AND day BETWEEN :start AND :end
    UNION ALL
    SELECT before.account_id, before.day, before.balance FROM unnest(CAST(:accounts AS uuid[])) AS a(id)
    CROSS JOIN LATERAL (SELECT account_id, day, balance FROM balances
                        WHERE account_id = a.id AND user_id = :user AND day < :start
                        ORDER BY day DESC LIMIT 1) AS before
    ORDER BY account_id, day
""")


async def balance_history(session: AsyncSession, user_id: uuid.UUID, account_ids: Sequence[uuid.UUID],
                          start: dt.date, end: dt.date) -> list[tuple[uuid.UUID, dt.date, Decimal]]:
    """(account, day, balance) rows of [start, end] plus each account's last row before `start`: one statement."""
    if not account_ids:
        return []
    rows = await session.execute(_ACCOUNT_HISTORY, {"user": user_id, "accounts": list(account_ids), "start": start,
                                                    "end": end})
    return [(r.account_id, r.day, r.balance) for r in rows]
