"""All SQL of data exports and erasure. Every statement is scoped to one user (or one export id)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer
from sqlmodel import col

from app.accounts.models import Account
from app.auth.models import User
from app.budgets.models import Budget, BudgetLine
from app.categories.models import Category
from app.goals.models import Goal, GoalAccount, GoalContribution
from app.privacy.models import IN_FLIGHT, DataExport, ExportState
from app.transactions.models import Transaction, TransactionSplit

E = DataExport
_exports: sa.Table = DataExport.__table__  # type: ignore[attr-defined]
STREAM_BATCH = 1000


def _without_content() -> Any:
    # the zip never leaves the database by accident: touching `content` on these rows raises
    return defer(E.content, raiseload=True)  # type: ignore[arg-type]


# --- export requests ----------------------------------------------------------------------------------------


async def lock_requests(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialize the user's export requests until the transaction ends (so two clicks make one export)."""
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                          {"key": f"data-export:{user_id}"})


async def in_flight(session: AsyncSession, user_id: uuid.UUID) -> DataExport | None:
    stmt = (sa.select(E).options(_without_content())
            .where(col(E.user_id) == user_id, col(E.state).in_(IN_FLIGHT))
            .order_by(col(E.created_at).desc()).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()


async def created_since(session: AsyncSession, user_id: uuid.UUID, since: dt.datetime) -> int:
    stmt = sa.select(sa.func.count()).where(col(E.user_id) == user_id, col(E.created_at) > since)
    return int((await session.execute(stmt)).scalar_one())


def add(session: AsyncSession, row: DataExport) -> None:
    session.add(row)


async def exports_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[DataExport]:
    if not ids:
        return []
    stmt = (sa.select(E).options(_without_content())
            .where(col(E.user_id) == user_id, col(E.id).in_(list(ids))))
    return list((await session.execute(stmt)).scalars())


def exports_query(user_id: uuid.UUID) -> sa.Select[Any]:
    """The user's exports (unordered, without their zip) for a keyset page and its count."""
    return sa.select(E).options(_without_content()).where(col(E.user_id) == user_id)


# --- the job ------------------------------------------------------------------------------------------------


async def export_for_update(session: AsyncSession, export_id: uuid.UUID) -> DataExport | None:
    """The export (without its zip), locked until the transaction ends."""
    stmt = sa.select(E).options(_without_content()).where(col(E.id) == export_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_export(session: AsyncSession, export_id: uuid.UUID, **values: Any) -> None:
    """Set columns of one export (the job's state changes; `content` is written only here)."""
    await session.execute(sa.update(_exports).where(_exports.c.id == export_id).values(**values))


async def expire_ready(session: AsyncSession, now: dt.datetime) -> int:
    """READY exports past their expiry become EXPIRED and lose their zip."""
    result = await session.execute(
        sa.update(_exports).where(_exports.c.state == ExportState.READY.value, _exports.c.expires_at <= now)
        .values(state=ExportState.EXPIRED.value, content=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- the download -------------------------------------------------------------------------------------------


async def download_row(session: AsyncSession, export_id: uuid.UUID) -> Any:
    """What a download checks (state, expiry, token hash, owner), locked until the transaction ends."""
    stmt = (sa.select(_exports.c.id, _exports.c.user_id, _exports.c.state, _exports.c.expires_at,
                      _exports.c.token_hash, _exports.c.sha256, _exports.c.created_at)
            .where(_exports.c.id == export_id).with_for_update())
    return (await session.execute(stmt)).first()


async def take_content(session: AsyncSession, export_id: uuid.UUID, now: dt.datetime) -> bytes | None:
    """Mark a READY export (locked by `download_row`) DOWNLOADED and hand back its zip, no longer stored."""
    content = (await session.execute(sa.select(_exports.c.content).where(
        _exports.c.id == export_id, _exports.c.state == ExportState.READY.value))).scalar_one_or_none()
    await session.execute(
        sa.update(_exports).where(_exports.c.id == export_id, _exports.c.state == ExportState.READY.value)
        .values(state=ExportState.DOWNLOADED.value, downloaded_at=now, content=None))
    return content


async def mark_expired(session: AsyncSession, export_id: uuid.UUID) -> None:
    await session.execute(sa.update(_exports).where(_exports.c.id == export_id)
                          .values(state=ExportState.EXPIRED.value, content=None))


# --- what an export contains --------------------------------------------------------------------------------


async def stream(session: AsyncSession, stmt: sa.Select[Any]) -> AsyncIterator[sa.Row[Any]]:
    """Rows of `stmt` fetched in batches (a large ledger never sits in memory at once)."""
    result = await session.stream(stmt.execution_options(yield_per=STREAM_BATCH))
    async for partition in result.partitions(STREAM_BATCH):
        for row in partition:
            yield row


def table_rows(table: sa.Table, columns: Sequence[sa.Column[Any]], user_id: uuid.UUID) -> sa.Select[Any]:
    """One table's rows of the user (the user's own row for `users`), in primary-key order."""
    owner = table.c.id if table.name == User.__tablename__ else table.c.user_id
    order = list(table.primary_key.columns) or list(columns)
    return sa.select(*columns).where(owner == user_id).order_by(*order)


def transactions_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    t, a = Transaction.__table__, Account.__table__  # type: ignore[attr-defined]
    c = Category.__table__.alias("c")  # type: ignore[attr-defined]
    p = Category.__table__.alias("p")  # type: ignore[attr-defined]
    return (
        sa.select(t.c.id, t.c.booked_on, a.c.name.label("account"), t.c.account_id, t.c.amount, t.c.currency,
                  t.c.description, t.c.merchant, c.c.name.label("category"), p.c.name.label("parent_category"),
                  t.c.category_id, t.c.notes, t.c.tags, t.c.status, t.c.transfer_id, t.c.has_splits,
                  t.c.created_at, t.c.updated_at)
        .join(a, sa.and_(a.c.id == t.c.account_id, a.c.user_id == t.c.user_id))
        .outerjoin(c, sa.and_(c.c.id == t.c.category_id, c.c.user_id == t.c.user_id))
        .outerjoin(p, sa.and_(p.c.id == c.c.parent_id, p.c.user_id == t.c.user_id))
        .where(t.c.user_id == user_id)
        .order_by(t.c.booked_on, t.c.id)
    )


def splits_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    s, t, c = (TransactionSplit.__table__, Transaction.__table__,  # type: ignore[attr-defined]
               Category.__table__)  # type: ignore[attr-defined]
    return (
        sa.select(s.c.transaction_id, s.c.position, c.c.name.label("category"), s.c.category_id, s.c.amount,
                  t.c.currency, s.c.notes)
        .join(t, sa.and_(t.c.id == s.c.transaction_id, t.c.user_id == s.c.user_id))
        .outerjoin(c, sa.and_(c.c.id == s.c.category_id, c.c.user_id == s.c.user_id))
        .where(s.c.user_id == user_id)
        .order_by(t.c.booked_on, s.c.transaction_id, s.c.position, s.c.id)
    )


def accounts_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    a = Account.__table__  # type: ignore[attr-defined]
    return (sa.select(a.c.id, a.c.name, a.c.kind, a.c.classification, a.c.currency, a.c.institution, a.c.mask,
                      a.c.opening_balance, a.c.opening_date, a.c.current_balance, a.c.archived, a.c.created_at)
            .where(a.c.user_id == user_id).order_by(a.c.name, a.c.id))


def categories_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    c = Category.__table__  # type: ignore[attr-defined]
    parent = aliased(Category, name="parent")
    return (sa.select(c.c.id, col(parent.name).label("parent"), c.c.name, c.c.kind, c.c.icon, c.c.color,
                      c.c.position, c.c.parent_id)
            .outerjoin(parent, sa.and_(col(parent.id) == c.c.parent_id, col(parent.user_id) == c.c.user_id))
            .where(c.c.user_id == user_id)
            .order_by(sa.func.coalesce(col(parent.position), c.c.position), sa.func.coalesce(c.c.parent_id, c.c.id),
                      c.c.parent_id.is_not(None), c.c.position, c.c.name))


def budgets_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    b, line, c = (Budget.__table__, BudgetLine.__table__,  # type: ignore[attr-defined]
                  Category.__table__)  # type: ignore[attr-defined]
    return (
        sa.select(b.c.id, b.c.name, b.c.period, b.c.start_day, b.c.starts_on, b.c.currency, b.c.rollover,
                  b.c.thresholds, c.c.name.label("category"), line.c.category_id, line.c.limit_amount)
        .outerjoin(line, sa.and_(line.c.budget_id == b.c.id, line.c.user_id == b.c.user_id))
        .outerjoin(c, sa.and_(c.c.id == line.c.category_id, c.c.user_id == b.c.user_id))
        .where(b.c.user_id == user_id)
        .order_by(b.c.name, b.c.id, line.c.position, line.c.id)
    )


def goals_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    g, ga, a = (Goal.__table__, GoalAccount.__table__,  # type: ignore[attr-defined]
                Account.__table__)  # type: ignore[attr-defined]
    linked = (sa.select(sa.func.string_agg(a.c.name, aggregate_order_by(sa.literal_column("'; '"), a.c.name)))
              .select_from(ga.join(a, sa.and_(a.c.id == ga.c.account_id, a.c.user_id == ga.c.user_id)))
              .where(ga.c.goal_id == g.c.id, ga.c.user_id == g.c.user_id)
              .scalar_subquery())
    return (sa.select(g.c.id, g.c.name, g.c.kind, g.c.target_amount, g.c.currency, g.c.target_date, g.c.priority,
                      g.c.status, g.c.completed_at, linked.label("linked_accounts"), g.c.created_at)
            .where(g.c.user_id == user_id).order_by(g.c.priority, g.c.name, g.c.id))


def contributions_csv(user_id: uuid.UUID) -> sa.Select[Any]:
    gc, g = GoalContribution.__table__, Goal.__table__  # type: ignore[attr-defined]
    return (sa.select(gc.c.id, gc.c.goal_id, g.c.name.label("goal"), gc.c.day, gc.c.amount, g.c.currency,
                      gc.c.note)
            .join(g, sa.and_(g.c.id == gc.c.goal_id, g.c.user_id == gc.c.user_id))
            .where(gc.c.user_id == user_id).order_by(gc.c.day, gc.c.id))


# --- erasure ------------------------------------------------------------------------------------------------


async def password_hash(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    stmt = sa.select(col(User.password_hash)).where(col(User.id) == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_user(session: AsyncSession, user_id: uuid.UUID, verified_hash: str) -> bool:
    """Delete the user (every table of theirs follows by `ON DELETE CASCADE`) if the password hash is still the
    one just verified; False when it changed meanwhile or the user is already gone."""
    users: sa.Table = User.__table__  # type: ignore[attr-defined]
    result = await session.execute(
        sa.delete(users).where(users.c.id == user_id, users.c.password_hash == verified_hash).returning(users.c.id))
    return result.first() is not None
