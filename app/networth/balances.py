"""End-of-day balances: one row per account and day, recomputed in SQL from the earliest changed day.

The balance of an account at the end of day X is its opening balance plus every transaction booked on or
before X; from a valuation's day on, it is the valuation plus the transactions booked after that day.
Rows run from the account's first day (its opening date, first transaction or first valuation, whichever
is earliest) to the later of tomorrow (UTC; today in every time zone) and its last dated entry; the nightly
`fill_balances` job extends them. A recomputation from day D writes only rows >= D whose value changed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

_RECOMPUTE = sa.text("""
WITH acct AS (
    SELECT a.id, a.user_id, a.opening_balance,
           LEAST(COALESCE(a.opening_date, a.created_at::date),
                 COALESCE((SELECT min(t.booked_on) FROM transactions t WHERE t.account_id = a.id), 'infinity'),
                 COALESCE((SELECT min(v.day) FROM valuations v WHERE v.account_id = a.id), 'infinity')
           ) AS first_day,
           GREATEST(CURRENT_DATE + 1,
                    COALESCE((SELECT max(t.booked_on) FROM transactions t WHERE t.account_id = a.id), CURRENT_DATE),
                    COALESCE((SELECT max(v.day) FROM valuations v WHERE v.account_id = a.id), CURRENT_DATE)
           ) AS last_day
    FROM accounts a
    WHERE a.id = :account AND a.user_id = :user
),
span AS (
    SELECT GREATEST(CAST(:since AS date), first_day) AS from_day, first_day, last_day, opening_balance FROM acct
),
gone AS (
    DELETE FROM balances b USING span
    WHERE b.account_id = :account AND (b.day < span.first_day OR b.day > span.last_day)
),
base AS (
    SELECT COALESCE(sum(t.amount), 0) AS total FROM transactions t, span
    WHERE t.account_id = :account AND t.booked_on < span.from_day
),
daily AS (
    SELECT t.booked_on, sum(t.amount) AS total FROM transactions t, span
    WHERE t.account_id = :account AND t.booked_on >= span.from_day
    GROUP BY t.booked_on
),
cum AS (
    SELECT d.day::date AS day,
           (SELECT total FROM base) + sum(COALESCE(daily.total, 0)) OVER (ORDER BY d.day) AS total
    FROM span, generate_series(span.from_day, span.last_day, interval '1 day') AS d(day)
    LEFT JOIN daily ON daily.booked_on = d.day::date
),
vals AS (
    SELECT v.day, v.value,
           (SELECT COALESCE(sum(t.amount), 0) FROM transactions t
            WHERE t.account_id = :account AND t.booked_on <= v.day) AS total_at
    FROM valuations v WHERE v.account_id = :account
),
computed AS (
    SELECT cum.day, COALESCE(anchor.value + cum.total - anchor.total_at, span.opening_balance + cum.total) AS balance
    FROM cum CROSS JOIN span
    LEFT JOIN LATERAL (SELECT vals.value, vals.total_at FROM vals WHERE vals.day <= cum.day
                       ORDER BY vals.day DESC LIMIT 1) AS anchor ON true
),
valued AS (
    UPDATE accounts SET current_balance = last.balance, updated_at = now()
    FROM (SELECT balance FROM computed ORDER BY day DESC LIMIT 1) AS last
    WHERE accounts.id = :account AND EXISTS (SELECT 1 FROM vals) AND accounts.current_balance <> last.balance
)
INSERT INTO balances (account_id, day, user_id, balance, computed_at)
SELECT :account, computed.day, :user, computed.balance, clock_timestamp() FROM computed
ON CONFLICT (account_id, day) DO UPDATE SET balance = EXCLUDED.balance, computed_at = EXCLUDED.computed_at
WHERE balances.balance IS DISTINCT FROM EXCLUDED.balance
""")


async def recompute(session: AsyncSession, user_id: uuid.UUID, since: Mapping[uuid.UUID, dt.date]) -> None:
    """Recompute each account's rows from its day on: one statement per account, in a fixed order."""
    for account_id in sorted(since):
        await session.execute(_RECOMPUTE, {"account": account_id, "user": user_id, "since": since[account_id]})


async def fill_all(session: AsyncSession, user_id: uuid.UUID | None = None) -> int:
    """Extend every account's rows to tomorrow (the nightly job); returns the number of accounts."""
    stmt = sa.text("""
        SELECT a.id, a.user_id, COALESCE(max(b.day) + 1, DATE '1900-01-01') AS since
        FROM accounts a LEFT JOIN balances b ON b.account_id = a.id
        WHERE (CAST(:user AS uuid) IS NULL OR a.user_id = CAST(:user AS uuid))
        GROUP BY a.id, a.user_id
        HAVING COALESCE(max(b.day), DATE '1900-01-01') < CURRENT_DATE + 1
    """)
    rows = (await session.execute(stmt, {"user": user_id})).all()
    for account_id, owner, since in rows:
        await session.execute(_RECOMPUTE, {"account": account_id, "user": owner, "since": since})
    return len(rows)


async def balance_rows(session: AsyncSession, user_id: uuid.UUID, account_ids: Sequence[uuid.UUID],
                       start: dt.date, end: dt.date) -> list[tuple[uuid.UUID, dt.date, Decimal]]:
    """(account, day, balance) of the user's accounts between two days, inclusive, ordered by account and day."""
    if not account_ids:
        return []
    stmt = sa.text("""
        SELECT account_id, day, balance FROM balances
        WHERE user_id = :user AND account_id = ANY(:accounts) AND day BETWEEN :start AND :end
        ORDER BY account_id, day
    """)
    rows = await session.execute(stmt, {"user": user_id, "accounts": list(account_ids), "start": start, "end": end})
    return [(row[0], row[1], row[2]) for row in rows]
