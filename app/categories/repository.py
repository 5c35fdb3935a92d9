"""All SQL of the categories domain. Every statement is scoped to one user."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.categories.models import Category
from app.db import new_id
from app.transactions.models import CategorySource, Deletion, Transaction, TransactionSplit

_ORDER = (col(Category.position), col(Category.name), col(Category.id))


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many categories (parents and children alike) with one multi-row INSERT."""
    if rows:
        await session.execute(sa.insert(Category.__table__).values(rows))  # type: ignore[attr-defined]


async def insert_category(session: AsyncSession, values: dict[str, Any]) -> Category | None:
    """Insert one category; None when its id or its (parent, name) is already taken."""
    stmt = insert(Category).values(**values).on_conflict_do_nothing().returning(Category)
    return (await session.execute(stmt)).scalar_one_or_none()


async def id_taken(session: AsyncSession, category_id: uuid.UUID) -> bool:
    """Whether any category (of any user) has this id; only used to name the field of a CONFLICT."""
    return bool((await session.execute(sa.select(sa.exists().where(col(Category.id) == category_id)))).scalar_one())


async def category_by_id(session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID, *,
                         for_update: bool = False, key_share: bool = False) -> Category | None:
    """The user's category. `key_share` locks it against deletion (FOR KEY SHARE) while it is referenced."""
    stmt = sa.select(Category).where(col(Category.user_id) == user_id, col(Category.id) == category_id)
    if for_update:
        stmt = stmt.with_for_update()
    elif key_share:
        stmt = stmt.with_for_update(read=True, key_share=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def categories_by_ids(session: AsyncSession, user_id: uuid.UUID,
                            ids: Sequence[uuid.UUID]) -> list[Category]:
    """The user's categories among `ids` (any order; foreign and missing ids are left out): one statement."""
    if not ids:
        return []
    stmt = sa.select(Category).where(col(Category.user_id) == user_id, col(Category.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


async def all_categories(session: AsyncSession, user_id: uuid.UUID) -> list[Category]:
    """Every category of the user, roots and children, ordered by position, name: one statement."""
    stmt = sa.select(Category).where(col(Category.user_id) == user_id).order_by(*_ORDER)
    return list((await session.execute(stmt)).scalars())


async def subtrees_of(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Category]:
    """The roots of the user's categories among `ids` with all their children, ordered: one statement.

    Enough to answer each id with its parent and children, and the parent with all of its children.
    """
    if not ids:
        return []
    roots = (
        sa.select(sa.func.coalesce(Category.parent_id, Category.id))
        .where(col(Category.user_id) == user_id, col(Category.id).in_(list(ids)))
        .scalar_subquery()
    )
    stmt = (
        sa.select(Category)
        .where(col(Category.user_id) == user_id,
               sa.or_(col(Category.id).in_(roots), col(Category.parent_id).in_(roots)))
        .order_by(*_ORDER)
    )
    return list((await session.execute(stmt)).scalars())


async def sibling_state(session: AsyncSession, user_id: uuid.UUID, parent_id: uuid.UUID | None, name: str,
                        exclude_id: uuid.UUID | None = None) -> tuple[bool, int]:
    """(whether a sibling under `parent_id` already has `name`, case-insensitively; the next free position)."""
    siblings = sa.and_(col(Category.user_id) == user_id,
                       col(Category.parent_id).is_not_distinct_from(parent_id))
    same_name = [siblings, sa.func.lower(Category.name) == name.lower()]
    if exclude_id is not None:
        same_name.append(col(Category.id) != exclude_id)
    stmt = sa.select(
        sa.exists().where(*same_name),
        sa.select(sa.func.coalesce(sa.func.max(Category.position) + 1, 0)).where(siblings).scalar_subquery(),
    )
    row = (await session.execute(stmt)).one()
    return bool(row[0]), int(row[1])


async def has_children(session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID) -> bool:
    stmt = sa.select(sa.exists().where(col(Category.user_id) == user_id, col(Category.parent_id) == category_id))
    return bool((await session.execute(stmt)).scalar_one())


async def update_category(session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID,
                          values: dict[str, Any]) -> Category | None:
    """Set `values` (and `updated_at`) in one UPDATE and return the fresh row."""
    stmt = (
        sa.update(Category)
        .where(col(Category.user_id) == user_id, col(Category.id) == category_id)
        .values(**values, updated_at=sa.func.now())
        .returning(Category)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_subtree(session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the category and its children, row-locked (so no child can be added meanwhile); [] if missing."""
    stmt = (
        sa.select(col(Category.id))
        .where(col(Category.user_id) == user_id,
               sa.or_(col(Category.id) == category_id, col(Category.parent_id) == category_id))
        .order_by(col(Category.id))
        .with_for_update()
    )
    ids = list((await session.execute(stmt)).scalars())
    return ids if category_id in ids else []


async def move_split_lines(session: AsyncSession, user_id: uuid.UUID, from_ids: Sequence[uuid.UUID],
                           to_id: uuid.UUID | None) -> None:
    """Move split lines out of `from_ids` and touch their transactions' `updated_at`: one statement."""
    moved = (
        sa.update(TransactionSplit)
        .where(col(TransactionSplit.user_id) == user_id,
               col(TransactionSplit.category_id).in_(list(from_ids)))
        .values(category_id=to_id)
        .returning(col(TransactionSplit.transaction_id))
        .cte("moved")
    )
    await session.execute(
        sa.update(Transaction)
        .where(col(Transaction.user_id) == user_id,
               col(Transaction.id).in_(sa.select(moved.c.transaction_id)))
        .values(updated_at=sa.func.now())
        .execution_options(synchronize_session=False)
    )


async def move_transactions(session: AsyncSession, user_id: uuid.UUID, from_ids: Sequence[uuid.UUID],
                            to_id: uuid.UUID | None) -> None:
    """Recategorize the user's transactions in `from_ids` to `to_id` (a user's choice) or to none."""
    await session.execute(
        sa.update(Transaction)
        .where(col(Transaction.user_id) == user_id, col(Transaction.category_id).in_(list(from_ids)))
        .values(category_id=to_id, category_source=CategorySource.USER.value if to_id else None,
                category_confidence=None, updated_at=sa.func.now())
        .execution_options(synchronize_session=False)
    )


async def insert_tombstones(session: AsyncSession, user_id: uuid.UUID, entity: str,
                            ids: Sequence[uuid.UUID]) -> None:
    """One `deletions` row per id, in one multi-row INSERT."""
    if ids:
        rows = [{"id": new_id(), "user_id": user_id, "entity": entity, "entity_id": i} for i in ids]
        await session.execute(sa.insert(Deletion.__table__).values(rows))  # type: ignore[attr-defined]


async def delete_categories(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        sa.delete(Category)
        .where(col(Category.user_id) == user_id, col(Category.id).in_(list(ids)))
        .execution_options(synchronize_session=False)
    )
