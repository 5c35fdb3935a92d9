"""All SQL of the spending and cash-flow reports; every statement is scoped to one user.

The reports read "lines": a transaction that is not split is one line (its amount, its category); a split
transaction is one line per `transaction_splits` row (the split's amount and category). Linked transfers
(`transfer_id IS NOT NULL`) and lines in TRANSFER-kind categories are left out. A line in an INCOME or
EXPENSE category has that category's kind; an uncategorized line is an expense when negative and income
otherwise.

Figures are aggregated in SQL. When the caller converts into a `target` currency, foreign rows are kept
apart per booking day (`day`), so Python converts one aggregated figure per (group, currency, day) at
that day's rate; rows already in the target currency (or when not converting) have `day` NULL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import Account
from app.categories.models import Category

# The one definition of a report "line" (shared with the assistant's tools, app/chat/tool_sql.py).
LINES = """
WITH lines AS (
    SELECT t.id AS transaction_id, t.account_id, t.booked_on, t.currency, t.merchant,
           CASE WHEN t.has_splits THEN s.category_id ELSE t.category_id END AS category_id,
           COALESCE(s.amount, t.amount) AS amount
    FROM transactions t
    LEFT JOIN transaction_splits s ON t.has_splits AND s.transaction_id = t.id AND s.user_id = :user
    WHERE t.user_id = :user AND t.booked_on BETWEEN :start AND :end AND t.transfer_id IS NULL
),
classified AS (
    SELECT l.transaction_id, l.account_id, l.booked_on, l.currency, l.merchant, l.category_id, l.amount,
           c.parent_id,
           COALESCE(c.kind, CASE WHEN l.amount < 0 THEN 'EXPENSE' ELSE 'INCOME' END) AS kind
    FROM lines l
    LEFT JOIN categories c ON c.id = l.category_id AND c.user_id = :user
)
"""

# the day a foreign row is converted at; NULL when not converting or already in the target currency
_DAY = "CASE WHEN currency <> CAST(:target AS text) THEN booked_on END"

# group keys of `spending`, chosen from this fixed table (never from user text)
SPENDING_KEYS: dict[str, str] = {
    "CATEGORY": "category_id::text",
    "CATEGORY_ROLLED_UP": "COALESCE(parent_id, category_id)::text",
    "MERCHANT": "NULLIF(merchant, '')",
    "ACCOUNT": "account_id::text",
    "MONTH": "to_char(date_trunc('month', booked_on), 'YYYY-MM-DD')",
}

# `date_trunc` units of `cash_flow`
INTERVAL_UNITS: dict[str, str] = {"DAY": "day", "WEEK": "week", "MONTH": "month", "YEAR": "year"}


@dataclass(frozen=True)
class SpendingRow:
    key: str | None
    """The group: a category or account id, a merchant, or a month's first day (ISO); None: none."""
    currency: str
    day: dt.date | None
    amount: Decimal
    """Spending as a positive magnitude: expenses net of refunds."""
    transactions: int


@dataclass(frozen=True)
class FlowRow:
    bucket: dt.date
    """First day of the interval (day, ISO week from Monday, month, year) the rows were booked in."""
    currency: str
    day: dt.date | None
    income: Decimal
    expenses: Decimal
    """A positive magnitude: expenses net of refunds."""


async def spending_rows(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date, key: str,
                        target: str | None) -> list[SpendingRow]:
    """Expense lines summed per (group, currency, day-when-converting): one statement."""
    stmt = sa.text(LINES + f"""
        SELECT {SPENDING_KEYS[key]} AS key, currency, {_DAY} AS day,
               -sum(amount) AS amount, count(DISTINCT transaction_id) AS transactions
        FROM classified WHERE kind = 'EXPENSE'
        GROUP BY 1, 2, 3
    """)
    rows = await session.execute(stmt, {"user": user_id, "start": start, "end": end, "target": target})
    return [SpendingRow(r.key, r.currency.strip(), r.day, r.amount, r.transactions) for r in rows]


async def flow_rows(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date, interval: str,
                    target: str | None) -> list[FlowRow]:
    """Income and expense lines summed per (interval, currency, day-when-converting): one statement."""
    stmt = sa.text(LINES + f"""
        SELECT date_trunc(CAST(:unit AS text), booked_on::timestamp)::date AS bucket, currency, {_DAY} AS day,
               COALESCE(sum(amount) FILTER (WHERE kind = 'INCOME'), 0) AS income,
               COALESCE(-sum(amount) FILTER (WHERE kind = 'EXPENSE'), 0) AS expenses
        FROM classified WHERE kind IN ('INCOME', 'EXPENSE')
        GROUP BY 1, 2, 3
    """)
    rows = await session.execute(stmt, {"user": user_id, "start": start, "end": end, "target": target,
                                        "unit": INTERVAL_UNITS[interval]})
    return [FlowRow(r.bucket, r.currency.strip(), r.day, r.income, r.expenses) for r in rows]


async def categories_with_parents(session: AsyncSession, user_id: uuid.UUID,
                                  ids: Sequence[uuid.UUID]) -> list[Category]:
    """The user's categories among `ids` and their parents: one statement."""
    if not ids:
        return []
    wanted = list(ids)
    parents = sa.select(col(Category.parent_id)).where(col(Category.user_id) == user_id,
                                                       col(Category.id).in_(wanted))
    stmt = sa.select(Category).where(col(Category.user_id) == user_id,
                                     sa.or_(col(Category.id).in_(wanted), col(Category.id).in_(parents)))
    return list((await session.execute(stmt)).scalars())


async def accounts_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Account]:
    """The user's accounts among `ids`: one statement."""
    if not ids:
        return []
    stmt = sa.select(Account).where(col(Account.user_id) == user_id, col(Account.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())
