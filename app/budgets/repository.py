"""All SQL of budgets, their lines and their alerts. Every statement is scoped to one user."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.models import User
from app.budgets.models import Budget, BudgetAlert, BudgetLine
from app.categories.models import Category
from app.db import new_id
from app.transactions.models import Deletion

_budgets: sa.Table = Budget.__table__  # type: ignore[attr-defined]
_lines: sa.Table = BudgetLine.__table__  # type: ignore[attr-defined]
_alerts: sa.Table = BudgetAlert.__table__  # type: ignore[attr-defined]
_LINE_ORDER = (col(BudgetLine.position), col(BudgetLine.id))


# --- budgets and lines ---------------------------------------------------------------------------------------


async def insert_budget(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert one budget; False when its id is already taken (by anyone)."""
    stmt = insert(_budgets).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(_budgets.c.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def insert_lines(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert lines (keys: id, budget_id, user_id, category_id, limit_amount, position) in one statement."""
    if rows:
        await session.execute(sa.insert(_lines).values(list(rows)))


async def update_lines(session: AsyncSession, user_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
    """Set limit and position of existing lines (keys: id, limit_amount, position) in one statement."""
    if not rows:
        return
    values = sa.values(sa.column("id", sa.Uuid), sa.column("limit_amount", _lines.c.limit_amount.type),
                       sa.column("position", sa.Integer), name="v").data(
        [(r["id"], r["limit_amount"], r["position"]) for r in rows])
    await session.execute(
        sa.update(_lines).where(_lines.c.user_id == user_id, _lines.c.id == values.c.id)
        .values(limit_amount=values.c.limit_amount, position=values.c.position))


async def delete_lines(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    if ids:
        await session.execute(sa.delete(_lines).where(_lines.c.user_id == user_id, _lines.c.id.in_(list(ids))))


async def budget_for_update(session: AsyncSession, user_id: uuid.UUID, budget_id: uuid.UUID) -> Budget | None:
    stmt = (sa.select(Budget).where(col(Budget.user_id) == user_id, col(Budget.id) == budget_id)
            .with_for_update().execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_budget(session: AsyncSession, user_id: uuid.UUID, budget_id: uuid.UUID,
                        values: dict[str, Any]) -> None:
    await session.execute(
        sa.update(_budgets).where(_budgets.c.user_id == user_id, _budgets.c.id == budget_id)
        .values(**values, updated_at=sa.func.now()))


async def delete_budget(session: AsyncSession, user_id: uuid.UUID, budget_id: uuid.UUID) -> bool:
    stmt = (sa.delete(_budgets).where(_budgets.c.user_id == user_id, _budgets.c.id == budget_id)
            .returning(_budgets.c.id))
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def insert_tombstone(session: AsyncSession, user_id: uuid.UUID, entity: str, entity_id: uuid.UUID) -> None:
    await session.execute(sa.insert(Deletion.__table__).values(  # type: ignore[attr-defined]
        id=new_id(), user_id=user_id, entity=entity, entity_id=entity_id))


async def budgets_with_lines(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None
                             ) -> list[tuple[Budget, list[BudgetLine]]]:
    """The user's budgets (all, or those among `ids`) by name, each with its lines in order: one statement."""
    if ids is not None and not ids:
        return []
    stmt = (
        sa.select(Budget, BudgetLine)
        .outerjoin(BudgetLine, sa.and_(col(BudgetLine.budget_id) == col(Budget.id),
                                       col(BudgetLine.user_id) == user_id))
        .where(col(Budget.user_id) == user_id)
        .order_by(sa.func.lower(Budget.name), col(Budget.id), *_LINE_ORDER)
        .execution_options(populate_existing=True)
    )
    if ids is not None:
        stmt = stmt.where(col(Budget.id).in_(list(ids)))
    out: dict[uuid.UUID, tuple[Budget, list[BudgetLine]]] = {}
    for budget, line in await session.execute(stmt):
        entry = out.setdefault(budget.id, (budget, []))
        if line is not None:
            entry[1].append(line)
    return list(out.values())


@dataclass(frozen=True)
class EvaluationRows:
    time_zone: str
    budgets: list[tuple[Budget, list[BudgetLine]]]
    category_names: dict[uuid.UUID, str]


async def for_evaluation(session: AsyncSession, user_id: uuid.UUID) -> EvaluationRows | None:
    """Every budget of the user with its lines, the lines' category names and the user's time zone: one
    statement; None when the user has no budget."""
    stmt = (
        sa.select(Budget, BudgetLine, col(Category.name), col(User.time_zone))
        .join(User, col(User.id) == col(Budget.user_id))
        .outerjoin(BudgetLine, sa.and_(col(BudgetLine.budget_id) == col(Budget.id),
                                       col(BudgetLine.user_id) == user_id))
        .outerjoin(Category, sa.and_(col(Category.id) == col(BudgetLine.category_id),
                                     col(Category.user_id) == user_id))
        .where(col(Budget.user_id) == user_id)
        .order_by(col(Budget.id), *_LINE_ORDER)
        .execution_options(populate_existing=True)
    )
    budgets: dict[uuid.UUID, tuple[Budget, list[BudgetLine]]] = {}
    names: dict[uuid.UUID, str] = {}
    time_zone = "UTC"
    for budget, line, name, zone in await session.execute(stmt):
        time_zone = zone
        entry = budgets.setdefault(budget.id, (budget, []))
        if line is not None:
            entry[1].append(line)
            names[line.category_id] = name
    if not budgets:
        return None
    return EvaluationRows(time_zone, list(budgets.values()), names)


# --- spending -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodBounds:
    """The periods of one budget: `bounds` holds each period's first day, then the end of the last one."""

    budget_id: uuid.UUID
    currency: str
    bounds: list[dt.date]


@dataclass(frozen=True)
class SpentRow:
    line_id: uuid.UUID
    period_start: dt.date
    currency: str
    day: dt.date | None
    """The booking day, only for rows in another currency than the budget's (they convert at that day's rate)."""
    spent: Decimal
    """Money out minus money in (refunds) in the line's categories: positive when money was spent."""


_SPENT = sa.text("""
WITH b AS (
    SELECT x.id, x.currency, (CAST(:bounds AS date[]))[x.lo:x.hi] AS bounds
    FROM unnest(CAST(:budget_ids AS uuid[]), CAST(:currencies AS text[]), CAST(:los AS int[]),
                CAST(:his AS int[])) AS x(id, currency, lo, hi)
),
cover AS MATERIALIZED (
    -- each category a line counts: its own and its children; a child with a line of its own counts there
    SELECT DISTINCT ON (l.budget_id, c.id) l.budget_id, l.id AS line_id, c.id AS category_id
    FROM budget_lines l
    JOIN categories c ON c.user_id = l.user_id AND (c.id = l.category_id OR c.parent_id = l.category_id)
    WHERE l.user_id = :user AND l.budget_id = ANY(CAST(:budget_ids AS uuid[]))
    ORDER BY l.budget_id, c.id, (c.id = l.category_id) DESC
),
items AS MATERIALIZED (
    -- the user's lines of the whole window read once, by day (a split transaction by its split lines), then
    -- hash-joined to the covered categories: never one scan of a category's whole history per covered category
    SELECT t.booked_on, t.currency, COALESCE(s.amount, t.amount) AS amount,
           CASE WHEN t.has_splits THEN s.category_id ELSE t.category_id END AS category_id
    FROM transactions t
    LEFT JOIN transaction_splits s ON t.has_splits AND s.transaction_id = t.id AND s.user_id = :user
    WHERE t.user_id = :user AND t.transfer_id IS NULL AND t.booked_on >= :lo AND t.booked_on < :hi
),
placed AS (
    SELECT cv.line_id, b.bounds, width_bucket(i.booked_on, b.bounds) AS k, rtrim(i.currency) AS currency,
           CASE WHEN rtrim(i.currency) = b.currency THEN NULL ELSE i.booked_on END AS day, i.amount
    FROM items i JOIN cover cv ON cv.category_id = i.category_id JOIN b ON b.id = cv.budget_id
)
SELECT line_id, bounds[k] AS period_start, currency, day, -SUM(amount) AS spent
FROM placed
WHERE k BETWEEN 1 AND cardinality(bounds) - 1
GROUP BY line_id, bounds[k], currency, day
""")


async def spent_rows(session: AsyncSession, user_id: uuid.UUID, plans: Sequence[PeriodBounds]) -> list[SpentRow]:
    """What every line of these budgets spent in each of their periods, by currency (and by day for other
    currencies than the budget's): ONE statement, whatever the number of budgets, lines and periods."""
    plans = [p for p in plans if len(p.bounds) >= 2]
    if not plans:
        return []
    flat: list[dt.date] = []
    los: list[int] = []
    his: list[int] = []
    for plan in plans:
        los.append(len(flat) + 1)
        flat.extend(plan.bounds)
        his.append(len(flat))
    params = {
        "user": user_id, "bounds": flat, "budget_ids": [p.budget_id for p in plans],
        "currencies": [p.currency for p in plans], "los": los, "his": his,
        "lo": min(p.bounds[0] for p in plans), "hi": max(p.bounds[-1] for p in plans),
    }
    rows = await session.execute(_SPENT, params)
    return [SpentRow(r.line_id, r.period_start, r.currency, r.day, r.spent) for r in rows]


# --- alerts ---------------------------------------------------------------------------------------------------


_ALERT_COLUMNS = ("id", "user_id", "budget_id", "line_id", "period_start", "threshold", "spent", "limit_amount",
                  "currency")


async def insert_alerts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[BudgetAlert]:
    """Insert the alerts not fired yet (unique per line, period start and threshold); returns those inserted.

    One statement. It inserts only alerts whose line still exists, locking the line (FOR KEY SHARE) so a writer
    that does not take the ledger lock (a category deletion cascades to its lines) cannot remove it meanwhile:
    a deletion committed first leaves its alerts out instead of failing the change being evaluated.
    """
    if not rows:
        return []
    candidates = sa.values(*(sa.column(name, _alerts.c[name].type) for name in _ALERT_COLUMNS),
                           name="candidates").data([tuple(row[name] for name in _ALERT_COLUMNS) for row in rows])
    source = (sa.select(*(candidates.c[name] for name in _ALERT_COLUMNS))
              .join(_lines, _lines.c.id == candidates.c.line_id)
              .with_for_update(read=True, key_share=True, of=_lines))
    stmt = (insert(BudgetAlert).from_select(list(_ALERT_COLUMNS), source)
            .on_conflict_do_nothing(constraint="uq_budget_alerts_line_period_threshold")
            .returning(BudgetAlert))
    return list((await session.execute(stmt)).scalars())


async def alerts_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                        ) -> list[tuple[BudgetAlert, Budget, list[BudgetLine]]]:
    """The user's alerts among `ids`, each with its budget and that budget's lines: one statement."""
    if not ids:
        return []
    stmt = (
        sa.select(BudgetAlert, Budget, BudgetLine)
        .join(Budget, sa.and_(col(Budget.id) == col(BudgetAlert.budget_id), col(Budget.user_id) == user_id))
        .join(BudgetLine, sa.and_(col(BudgetLine.budget_id) == col(Budget.id), col(BudgetLine.user_id) == user_id))
        .where(col(BudgetAlert.user_id) == user_id, col(BudgetAlert.id).in_(list(ids)))
        .order_by(col(BudgetAlert.id), *_LINE_ORDER)
        .execution_options(populate_existing=True)
    )
    out: dict[uuid.UUID, tuple[BudgetAlert, Budget, list[BudgetLine]]] = {}
    for alert, budget, line in await session.execute(stmt):
        out.setdefault(alert.id, (alert, budget, []))[2].append(line)
    return list(out.values())
