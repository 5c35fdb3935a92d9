"""All SQL of the accounts domain. Every statement is scoped to one user."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import Account

# Core table: balance updates must not touch the ORM identity map
_accounts: sa.Table = Account.__table__  # type: ignore[attr-defined]


async def insert_account(session: AsyncSession, values: dict[str, Any]) -> Account | None:
    """Insert one account; None when its id is already taken (by anyone), with the transaction still usable."""
    stmt = insert(Account).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(Account)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account_by_id(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> Account | None:
    stmt = sa.select(Account).where(col(Account.user_id) == user_id, col(Account.id) == account_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account_for_update(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> Account | None:
    """The user's account, row-locked until the end of the transaction; None when missing or foreign."""
    stmt = sa.select(Account).where(col(Account.user_id) == user_id, col(Account.id) == account_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def accounts_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Account]:
    """The user's accounts among `ids` (any order; foreign and missing ids are left out): one statement."""
    if not ids:
        return []
    stmt = sa.select(Account).where(col(Account.user_id) == user_id, col(Account.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


async def update_account(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, values: dict[str, Any],
                         *, opening_balance: Decimal | None = None) -> Account | None:
    """Set `values` (and `updated_at`) in one atomic UPDATE and return the fresh row.

    With `opening_balance`, the current balance moves by exactly (new - old opening balance), computed by
    Postgres from the row as it is when the statement runs, so a concurrent balance change is never lost.
    """
    changes: dict[str, Any] = {**values, "updated_at": sa.func.now()}
    if opening_balance is not None:
        changes["opening_balance"] = opening_balance
        changes["current_balance"] = Account.current_balance + (opening_balance - Account.opening_balance)
    stmt = (
        sa.update(Account)
        .where(col(Account.user_id) == user_id, col(Account.id) == account_id)
        .values(**changes)
        .returning(Account)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_to_balance(session: AsyncSession, *, user_id: uuid.UUID, account_id: uuid.UUID,
                         delta: Decimal) -> None:
    """Move the account's current balance by `delta` (signed) in one atomic UPDATE."""
    await session.execute(
        sa.update(_accounts)
        .where(_accounts.c.user_id == user_id, _accounts.c.id == account_id)
        .values(current_balance=_accounts.c.current_balance + delta, updated_at=sa.func.now())
    )


def accounts_query(user_id: uuid.UUID, *, include_archived: bool = False) -> sa.Select[Any]:
    """The user's accounts (unordered) for a keyset page and its count."""
    stmt = sa.select(Account).where(col(Account.user_id) == user_id)
    if not include_archived:
        stmt = stmt.where(col(Account.archived).is_(False))
    return stmt


async def has_accounts(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the user has any account, archived ones included."""
    stmt = sa.select(sa.exists().where(col(Account.user_id) == user_id))
    return bool((await session.execute(stmt)).scalar_one())
