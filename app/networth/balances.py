"""End-of-day balances: one row per account and day, recomputed in SQL from the earliest changed day.

The balance of an account at the end of day X is every transaction booked on or before X, plus its opening
balance once X has reached the opening day (the opening date, else the day the account was created); from a
valuation's day on, it is the valuation plus the transactions booked after that day. So a new opening balance
or opening date changes the rows from the earlier of the old and the new opening day on, and no earlier ones.
Rows run without gaps from the account's first day (its opening date, first transaction or first valuation,
whichever is earliest) to the later of tomorrow (UTC; today in every time zone) and its last dated entry
(opening date, transaction or valuation); the nightly `fill_balances` job extends them. A recomputation from
day D writes only rows >= D whose value changed (and deletes rows that fell outside the span). Readers rely
on this shape: an account's balance on a day after its last row is its last row, before its first row 0.
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
    SELECT a.id, a.user_id, a.opening_balance, COALESCE(a.opening_date, a.created_at::date) AS opening_day,
           LEAST(COALESCE(a.opening_date, a.created_at::date),
                 COALESCE((SELECT min(t.booked_on) FROM transactions t WHERE t.account_id = a.id), 'infinity'),
                 COALESCE((SELECT min(v.day) FROM valuations v WHERE v.account_id = a.id), 'infinity')
           ) AS first_day,
           GREATEST(CURRENT_DATE + 1, COALESCE(a.opening_date, CURRENT_DATE),
                    COALESCE((SELECT max(t.booked_on) FROM transactions t WHERE t.account_id = a.id), CURRENT_DATE),
                    COALESCE((SELECT max(v.day) FROM valuations v WHERE v.account_id = a.id), CURRENT_DATE)
           ) AS last_day
    FROM accounts a
    WHERE a.id = :account AND a.user_id = :user
),
span AS (
    -- from the changed day, or from the day after the last stored row when the rows stop before it (a change
    -- dated after them, e.g. a transaction dated next week, must not leave a gap), never before the first day
    SELECT GREATEST(first_day, LEAST(CAST(:since AS date),
                                     COALESCE((SELECT max(b.day) FROM balances b WHERE b.account_id = :account) + 1,
                                              first_day))) AS from_day,
           first_day, last_day, opening_day, opening_balance
    FROM acct
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
    SELECT cum.day,
           COALESCE(anchor.value + cum.total - anchor.total_at,
                    CASE WHEN cum.day >= span.opening_day THEN span.opening_balance ELSE 0 END + cum.total) AS balance
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


_TO_FILL = sa.text("""
    SELECT a.id, a.user_id, COALESCE(r.last_day + 1, DATE '1900-01-01') AS since
    FROM accounts a
    CROSS JOIN LATERAL (SELECT max(b.day) AS last_day FROM balances b WHERE b.account_id = a.id) AS r
    WHERE (CAST(:user AS uuid) IS NULL OR a.user_id = CAST(:user AS uuid))
      AND (r.last_day IS NULL OR r.last_day < CURRENT_DATE + 1)
    ORDER BY a.user_id, a.id
""")


async def users_to_fill(session: AsyncSession) -> list[uuid.UUID]:
    """Owners of accounts whose rows stop before tomorrow (what the nightly `fill_balances` job visits)."""
    rows = await session.execute(sa.text(f"SELECT DISTINCT s.user_id FROM ({_TO_FILL.text}) AS s ORDER BY 1"),
                                 {"user": None})
    return [row[0] for row in rows]


async def fill_all(session: AsyncSession, user_id: uuid.UUID | None = None) -> int:
    """Extend every account's rows (of one user, or of everyone) to tomorrow; returns the number of accounts.

    Each owner's ledger lock is taken first (`effects.lock_ledger`, so the session must belong to a unit of
    work): a ledger writer of that user either committed before, and its rows are final, or waits until this
    transaction ends. Without the lock a stale extension could overwrite a concurrent writer's rows. The
    nightly job calls this once per user, so no writer waits on more than one user's extension.
    """
    from app import effects

    rows = (await session.execute(_TO_FILL, {"user": user_id})).all()
    for owner in sorted({row.user_id for row in rows}):
        await effects.lock_ledger(session, owner)
    if rows:  # re-read under the locks: a writer that committed meanwhile may have extended some rows already
        rows = (await session.execute(_TO_FILL, {"user": user_id})).all()
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
