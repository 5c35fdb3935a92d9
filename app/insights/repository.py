"""All SQL of insights: the stored rows, and the figures the generators need; every statement is scoped to
one user."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.insights.models import Insight
from app.transactions.models import Transaction, TransactionSplit

_table: sa.Table = Insight.__table__  # type: ignore[attr-defined]
_tx: sa.Table = Transaction.__table__  # type: ignore[attr-defined]
_split: sa.Table = TransactionSplit.__table__  # type: ignore[attr-defined]


async def insert_new(session: AsyncSession, rows: Sequence[Insight]) -> list[uuid.UUID]:
    """Insert the rows whose dedupe key the user does not have yet; returns the ids inserted: one statement."""
    if not rows:
        return []
    stmt = (pg_insert(_table).values([
        {"id": r.id, "user_id": r.user_id, "kind": r.kind, "title": r.title, "body": r.body,
         "severity": r.severity, "numbers": r.numbers, "dedupe_key": r.dedupe_key, "period": r.period,
         "state": r.state, "created_at": r.created_at} for r in rows])
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"]).returning(_table.c.id))
    return [row[0] for row in await session.execute(stmt)]


async def insights_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Insight]:
    if not ids:
        return []
    stmt = (sa.select(Insight).where(col(Insight.user_id) == user_id, col(Insight.id).in_(list(ids)))
            .execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


def insights_query(user_id: uuid.UUID, *, states: Sequence[str] | None = None) -> sa.Select[Any]:
    """The user's insights (unordered) for a keyset page and its count."""
    stmt = sa.select(Insight).where(col(Insight.user_id) == user_id)
    if states is not None:
        stmt = stmt.where(col(Insight.state).in_(list(states)))
    return stmt


async def set_state(session: AsyncSession, user_id: uuid.UUID, insight_id: uuid.UUID, state: str) -> bool:
    """Set the state of one of the user's insights; False when there is no such insight."""
    stmt = (sa.update(_table).where(_table.c.user_id == user_id, _table.c.id == insight_id)
            .values(state=state).returning(_table.c.id))
    return (await session.execute(stmt)).first() is not None


def _lines() -> sa.Subquery:
    """The user's non-transfer ledger lines: a split line in its own category, else the transaction."""
    return (sa.select(_tx.c.id, _tx.c.user_id, _tx.c.booked_on, _tx.c.currency, _tx.c.account_id,
                      sa.func.coalesce(_split.c.category_id, _tx.c.category_id).label("category_id"),
                      sa.func.coalesce(_split.c.amount, _tx.c.amount).label("amount"))
            .select_from(_tx.outerjoin(_split, sa.and_(_split.c.transaction_id == _tx.c.id, _tx.c.has_splits)))
            .where(_tx.c.transfer_id.is_(None)).subquery("lines"))


async def category_spending(session: AsyncSession, user_id: uuid.UUID, *, baseline_start: dt.date,
                            month_start: dt.date, end: dt.date) -> list[tuple[uuid.UUID, str, Decimal, Decimal]]:
    """Per category and currency: (category, currency, spent in [month_start, end], spent in
    [baseline_start, month_start)) as positive amounts, only categories spent on this month: one statement."""
    lines = _lines()
    spent = -lines.c.amount
    this = sa.func.coalesce(sa.func.sum(spent).filter(lines.c.booked_on >= month_start), 0)
    before = sa.func.coalesce(sa.func.sum(spent).filter(lines.c.booked_on < month_start), 0)
    stmt = (sa.select(lines.c.category_id, lines.c.currency, this, before)
            .where(lines.c.user_id == user_id, lines.c.amount < 0, lines.c.category_id.is_not(None),
                   lines.c.booked_on >= baseline_start, lines.c.booked_on <= end)
            .group_by(lines.c.category_id, lines.c.currency)
            .having(this > 0).order_by(lines.c.category_id, lines.c.currency))
    return [(r[0], r[1].strip(), Decimal(r[2]), Decimal(r[3])) for r in await session.execute(stmt)]


async def category_names(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    from app.categories.models import Category

    if not ids:
        return {}
    stmt = sa.select(col(Category.id), col(Category.name)).where(col(Category.user_id) == user_id,
                                                                 col(Category.id).in_(list(ids)))
    return {r[0]: r[1] for r in await session.execute(stmt)}


async def monthly_flows(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date
                        ) -> list[tuple[dt.date, str, Decimal, Decimal]]:
    """Per month and currency in [start, end): (month, currency, income, expenses) as positive amounts,
    transfers left out: one statement."""
    month = sa.func.date_trunc("month", _tx.c.booked_on).cast(sa.Date).label("month")
    income = sa.func.coalesce(sa.func.sum(_tx.c.amount).filter(_tx.c.amount > 0), 0)
    expenses = sa.func.coalesce(-sa.func.sum(_tx.c.amount).filter(_tx.c.amount < 0), 0)
    stmt = (sa.select(month, _tx.c.currency, income, expenses)
            .where(_tx.c.user_id == user_id, _tx.c.transfer_id.is_(None), _tx.c.booked_on >= start,
                   _tx.c.booked_on < end)
            .group_by(month, _tx.c.currency).order_by(month, _tx.c.currency))
    return [(r[0], r[1].strip(), Decimal(r[2]), Decimal(r[3])) for r in await session.execute(stmt)]


async def large_expenses(session: AsyncSession, user_id: uuid.UUID, *, since: dt.date, baseline_start: dt.date,
                         end: dt.date, factor: Decimal, minimum: Decimal
                         ) -> list[tuple[uuid.UUID, dt.date, str, str, Decimal, Decimal]]:
    """Expenses booked in [since, end] over `factor` times the median expense of their currency in
    [baseline_start, end] and at least `minimum`: (id, day, merchant, currency, amount, median), amounts
    positive: one statement."""
    base = (sa.select(_tx.c.currency, sa.func.percentile_cont(0.5).within_group(-_tx.c.amount).label("median"))
            .where(_tx.c.user_id == user_id, _tx.c.amount < 0, _tx.c.transfer_id.is_(None),
                   _tx.c.booked_on >= baseline_start, _tx.c.booked_on <= end)
            .group_by(_tx.c.currency).subquery("base"))
    name = sa.func.coalesce(sa.func.nullif(_tx.c.merchant, ""), _tx.c.description)
    stmt = (sa.select(_tx.c.id, _tx.c.booked_on, name, _tx.c.currency, -_tx.c.amount, base.c.median)
            .join(base, base.c.currency == _tx.c.currency)
            .where(_tx.c.user_id == user_id, _tx.c.amount < 0, _tx.c.transfer_id.is_(None),
                   _tx.c.booked_on >= since, _tx.c.booked_on <= end, -_tx.c.amount >= minimum,
                   -_tx.c.amount > base.c.median * factor)
            .order_by(_tx.c.booked_on, _tx.c.id))
    return [(r[0], r[1], r[2], r[3].strip(), Decimal(r[4]), Decimal(str(r[5]))) for r in await session.execute(stmt)]


async def last_income_days(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date
                           ) -> dict[uuid.UUID, dt.date]:
    """Per account, the last day with income (a positive non-transfer) in [start, end]: one statement."""
    stmt = (sa.select(_tx.c.account_id, sa.func.max(_tx.c.booked_on))
            .where(_tx.c.user_id == user_id, _tx.c.amount > 0, _tx.c.transfer_id.is_(None),
                   _tx.c.booked_on >= start, _tx.c.booked_on <= end)
            .group_by(_tx.c.account_id))
    return {r[0]: r[1] for r in await session.execute(stmt)}


async def user_settings(session: AsyncSession, user_ids: Sequence[uuid.UUID] | None = None
                        ) -> list[tuple[uuid.UUID, str, str]]:
    """(id, base currency, time zone) of the given users, or of every user: one statement."""
    from app.auth.models import User

    stmt = sa.select(col(User.id), col(User.base_currency), col(User.time_zone)).order_by(col(User.id))
    if user_ids is not None:
        stmt = stmt.where(col(User.id).in_(list(user_ids)))
    return [(r[0], r[1].strip(), r[2]) for r in await session.execute(stmt)]
