"""The SQL the assistant's tools need beyond the domain repositories; every statement is scoped to one user.

- `names`: the user's category, account, goal and budget names and most used merchants, for the tools'
  enums: one statement.
- `spending_rows`: spending with the reports' rules (split lines in their own categories, transfers and
  TRANSFER-kind lines left out, refunds lower spending), filtered by categories, merchant and accounts and
  grouped by one key: one statement.
- `transaction_rows` / `transaction_totals`: a page of transactions (with account and category) and the
  count and signed sums per currency of all that match.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import Account
from app.categories.models import Category, CategoryKind
from app.reports.repository import LINES as REPORT_LINES  # the one definition of a spending "line"
from app.reports.repository import SPENDING_KEYS
from app.transactions import repository as tx_repo
from app.transactions.models import Transaction

MAX_MERCHANTS = 300
"""How many of the user's merchants (by number of transactions) the tools' enum lists."""


@dataclass(frozen=True)
class NameRow:
    kind: str
    """category, account, goal, budget or merchant."""
    id: uuid.UUID | None
    name: str
    parent_id: uuid.UUID | None
    extra: str | None
    """category: its kind; account: kind, classification, currency and "archived" (or "") joined by ':';
    goal: its status."""


_NAMES = sa.text("""
SELECT 'category' AS kind, id, name, parent_id, kind AS extra FROM categories WHERE user_id = :user
UNION ALL
SELECT 'account', id, name, NULL,
       kind || ':' || classification || ':' || rtrim(currency) || ':' || CASE WHEN archived THEN 'archived' ELSE '' END
 FROM accounts WHERE user_id = :user
UNION ALL
SELECT 'goal', id, name, NULL, status FROM goals WHERE user_id = :user AND status <> 'ARCHIVED'
UNION ALL
SELECT 'budget', id, name, NULL, NULL FROM budgets WHERE user_id = :user
UNION ALL
(SELECT 'merchant', NULL, merchant, NULL, NULL FROM transactions
  WHERE user_id = :user AND merchant <> '' AND transfer_id IS NULL
  GROUP BY merchant ORDER BY count(*) DESC, merchant LIMIT :merchants)
""")


async def names(session: AsyncSession, user_id: uuid.UUID) -> list[NameRow]:
    rows = await session.execute(_NAMES, {"user": user_id, "merchants": MAX_MERCHANTS})
    return [NameRow(r.kind, r.id, r.name, r.parent_id, r.extra) for r in rows]


@dataclass(frozen=True)
class SpendRow:
    key: str | None
    currency: str
    day: dt.date | None
    """The booking day of a row in another currency than `target` (converted at that day's rate); else None."""
    amount: Decimal
    transactions: int


GROUP_KEYS: dict[str, str] = {**SPENDING_KEYS, "NONE": "NULL::text"}


async def spending_rows(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date, group: str,
                        target: str, category_ids: Sequence[uuid.UUID] | None = None, merchant: str | None = None,
                        account_ids: Sequence[uuid.UUID] | None = None) -> list[SpendRow]:
    """Expense lines of [start, end] matching the filters, summed per (group, currency, day when foreign)."""
    where = ["kind = 'EXPENSE'"]
    params: dict[str, Any] = {"user": user_id, "start": start, "end": end, "target": target}
    if category_ids is not None:
        where.append("category_id = ANY(:categories)")
        params["categories"] = list(category_ids)
    if merchant is not None:
        where.append("lower(merchant) = lower(:merchant)")
        params["merchant"] = merchant
    if account_ids is not None:
        where.append("account_id = ANY(:accounts)")
        params["accounts"] = list(account_ids)
    stmt = sa.text(REPORT_LINES + f"""
        SELECT {GROUP_KEYS[group]} AS key, currency,
               CASE WHEN currency <> CAST(:target AS text) THEN booked_on END AS day,
               -sum(amount) AS amount, count(DISTINCT transaction_id) AS transactions
        FROM classified WHERE {' AND '.join(where)}
        GROUP BY 1, 2, 3
    """)
    rows = await session.execute(stmt, params)
    return [SpendRow(r.key, r.currency.strip(), r.day, r.amount, r.transactions) for r in rows]


@dataclass
class TransactionQuery:
    """What `search_transactions` and `largest_transactions` ask for."""

    start: dt.date | None = None
    end: dt.date | None = None
    text: str | None = None
    merchant: str | None = None
    category_ids: list[uuid.UUID] | None = None
    account_ids: list[uuid.UUID] | None = None
    min_magnitude: Decimal | None = None
    max_magnitude: Decimal | None = None
    direction: str = "ANY"
    """OUT: money out (negative amounts), IN: money in, ANY: both."""
    spending_only: bool = False
    """Leave out transfers and lines in TRANSFER-kind categories (for "biggest expenses")."""


def _where(user_id: uuid.UUID, q: TransactionQuery) -> list[sa.ColumnElement[bool]]:
    t = Transaction
    where = tx_repo.conditions(user_id, tx_repo.TransactionFilter(
        account_ids=q.account_ids, category_ids=q.category_ids, date_from=q.start, date_to=q.end, search=q.text))
    if q.merchant is not None:
        where.append(sa.func.lower(col(t.merchant)) == q.merchant.lower())
    if q.direction == "OUT":
        where.append(col(t.amount) < 0)
    elif q.direction == "IN":
        where.append(col(t.amount) > 0)
    magnitude = sa.func.abs(col(t.amount))
    if q.min_magnitude is not None:
        where.append(magnitude >= q.min_magnitude)
    if q.max_magnitude is not None:
        where.append(magnitude <= q.max_magnitude)
    if q.spending_only:
        transfer_categories = sa.select(col(Category.id)).where(
            col(Category.user_id) == user_id, col(Category.kind) == CategoryKind.TRANSFER.value)
        where.append(col(t.transfer_id).is_(None))
        where.append(sa.or_(col(t.category_id).is_(None), col(t.category_id).not_in(transfer_categories)))
    return where


async def transaction_rows(session: AsyncSession, user_id: uuid.UUID, q: TransactionQuery, *, order: str,
                           limit: int, offset: int = 0) -> list[sa.Row[Any]]:
    """(Transaction, Account, Category | None, parent Category | None) rows: one statement.

    `order`: NEWEST (booking day, newest first), LARGEST_OUT (most negative first), LARGEST_IN."""
    t = Transaction
    orders = {
        "NEWEST": (col(t.booked_on).desc(), col(t.id).desc()),
        "LARGEST_OUT": (col(t.amount).asc(), col(t.booked_on).desc(), col(t.id).desc()),
        "LARGEST_IN": (col(t.amount).desc(), col(t.booked_on).desc(), col(t.id).desc()),
    }
    stmt = tx_repo.page_select(_where(user_id, q)).order_by(*orders[order]).limit(limit).offset(offset)
    rows: list[Any] = list((await session.execute(stmt)).all())
    return rows


async def transaction_totals(session: AsyncSession, user_id: uuid.UUID, q: TransactionQuery
                             ) -> list[tuple[str, int, Decimal]]:
    """(currency, count, signed sum) of every matching transaction, per currency: one statement."""
    t = Transaction
    stmt = (sa.select(col(t.currency), sa.func.count(), sa.func.sum(col(t.amount)))
            .where(*_where(user_id, q)).group_by(col(t.currency)).order_by(col(t.currency)))
    return [(cur.strip(), int(n), total) for cur, n, total in await session.execute(stmt)]


async def accounts(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None
                   ) -> list[Account]:
    """The user's open accounts (or those among `ids`) by name: one statement."""
    stmt = sa.select(Account).where(col(Account.user_id) == user_id, col(Account.archived).is_(False))
    if ids is not None:
        stmt = stmt.where(col(Account.id).in_(list(ids)))
    stmt = stmt.order_by(sa.func.lower(col(Account.name)), col(Account.id))
    return list((await session.execute(stmt)).scalars())
