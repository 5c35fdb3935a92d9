"""All SQL of transactions, splits and tombstones."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.accounts.models import Account
from app.categories.models import Category
from app.transactions.models import Deletion, Transaction, TransactionSplit

Parent = aliased(Category, name="parent_category")
TRANSACTIONS, ACCOUNTS, CATEGORIES = Transaction.__table__, Account.__table__, Category.__table__  # type: ignore[attr-defined]
# the text search configuration as a constant the planner can fold (a bound parameter it cannot: no index use)
SIMPLE: sa.ColumnClause[Any] = sa.literal_column("'simple'::regconfig")
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_SEARCH_WORDS = 8


@dataclass
class TransactionFilter:
    account_ids: list[uuid.UUID] | None = None
    category_ids: list[uuid.UUID] | None = None
    include_child_categories: bool = True
    uncategorized: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    status: str | None = None
    tags: list[str] = field(default_factory=list)
    search: str | None = None
    updated_since: dt.datetime | None = None


def prefix_tsquery(text: str) -> str | None:
    """User text -> a safe prefix query: 'rewe berl' -> 'rewe:* & berl:*' (no operators survive)."""
    words = [w.lower() for w in _WORD.findall(text)][:MAX_SEARCH_WORDS]
    return " & ".join(f"{w}:*" for w in words) or None


def conditions(user_id: uuid.UUID, f: TransactionFilter) -> list[sa.ColumnElement[bool]]:
    """The filter as conditions on table columns (no ORM attributes: a select of `page_columns` stays plain
    Core, and an ORM select takes them as well)."""
    t, c = TRANSACTIONS.c, CATEGORIES.c
    where: list[sa.ColumnElement[bool]] = [t.user_id == user_id]
    if f.account_ids is not None:
        where.append(t.account_id.in_(f.account_ids))
    if f.category_ids is not None:
        if f.include_child_categories:
            ids = sa.select(c.id).where(
                c.user_id == user_id,
                sa.or_(c.id.in_(f.category_ids), c.parent_id.in_(f.category_ids)),
            )
            where.append(t.category_id.in_(ids))
        else:
            where.append(t.category_id.in_(f.category_ids))
    if f.uncategorized is not None:
        where.append(t.category_id.is_(None) if f.uncategorized else t.category_id.is_not(None))
    if f.date_from is not None:
        where.append(t.booked_on >= f.date_from)
    if f.date_to is not None:
        where.append(t.booked_on <= f.date_to)
    if f.amount_min is not None:
        where.append(t.amount >= f.amount_min)
    if f.amount_max is not None:
        where.append(t.amount <= f.amount_max)
    if f.status is not None:
        where.append(t.status == f.status)
    if f.tags:
        where.append(t.tags.contains(f.tags))
    if f.search:
        query = prefix_tsquery(f.search)
        if query is None:
            where.append(sa.false())
        else:
            where.append(t.search.op("@@")(sa.func.to_tsquery(SIMPLE, query)))
    if f.updated_since is not None:
        where.append(t.updated_at > f.updated_since)
    return where


def page_select(
    where: Sequence[sa.ColumnElement[bool]],
) -> sa.Select[Transaction, Account, Category | None, Category | None]:
    """Transactions with their account, category and category parent: one statement per page."""
    return (
        sa.select(Transaction, Account, Category, Parent)
        .join(Account, col(Account.id) == Transaction.account_id)
        .outerjoin(Category, col(Category.id) == Transaction.category_id)
        .outerjoin(Parent, col(Parent.id) == Category.parent_id)
        .where(*where)
    )


ACCOUNT, CATEGORY, PARENT = "account__", "category__", "parent__"
# columns of a transaction that no page shows: the text search vector (only filtered on) and import bookkeeping
_UNREAD = frozenset({"search", "fingerprint", "external_id", "sync_run_id", "user_id"})


def _page_base() -> sa.Select[Any]:
    t, a, c = TRANSACTIONS, ACCOUNTS, CATEGORIES
    p = c.alias("parent_category")
    return (
        sa.select(*(column for column in t.c if column.key not in _UNREAD),
                  *(column.label(ACCOUNT + column.key) for column in a.c),
                  *(column.label(CATEGORY + column.key) for column in c.c),
                  *(column.label(PARENT + column.key) for column in p.c))
        .select_from(t)
        .join(a, a.c.id == t.c.account_id)
        .outerjoin(c, c.c.id == t.c.category_id)
        .outerjoin(p, p.c.id == c.c.parent_id)
    )


_PAGE = _page_base()  # built once: its ~70 labelled columns would cost more to build than to load per request
PAGE_KEYS: tuple[str, ...] = tuple(str(column.key) for column in _PAGE.selected_columns)
"""The names of a `page_columns` row's columns, in order (a mapper reads them by position)."""


def page_columns(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """Like `page_select`, as plain columns in one flat row instead of four ORM objects (no identity map, no
    object state per row; with `conditions` and table-column sort keys the statement stays plain Core): the
    transaction's columns by name, then its account's, category's and the category parent's, prefixed with
    ACCOUNT, CATEGORY and PARENT (`account__name`); read them with `Joined`."""
    return _PAGE.where(*where)


class Joined:
    """The columns of one joined table in a flat `page_columns` row, by their own names (`.name` reads
    `account__name`); None fields when an outer join found nothing."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str):
        self._row = row
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


def joined(row: Any, prefix: str) -> Any:
    """`Joined(row, prefix)`, typed as the row object it stands in for (an Account or Category row)."""
    return Joined(row, prefix)


async def plan_each_time(session: AsyncSession) -> None:
    """Plan the statements of this transaction for their own parameters (a search: how rare its words are
    decides the plan); a cached generic plan of a search reads far more rows. Needs a transaction."""
    await session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def count_select(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select[uuid.UUID]:
    return sa.select(col(Transaction.id)).where(*where)


async def rows_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    """Flat `page_columns` rows of these transactions of the user."""
    stmt = page_columns([TRANSACTIONS.c.user_id == user_id, TRANSACTIONS.c.id.in_(ids)])
    return list((await session.execute(stmt)).all())


async def for_update(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Transaction]:
    stmt = (sa.select(Transaction)
            .where(col(Transaction.user_id) == user_id, col(Transaction.id).in_(ids))
            .order_by(col(Transaction.id)).with_for_update())
    return list((await session.execute(stmt)).scalars())


async def exists_any(session: AsyncSession, ids: Sequence[uuid.UUID]) -> bool:
    """Whether any of these ids is taken, by anyone (a client-chosen id must be new)."""
    stmt = sa.select(sa.exists().where(col(Transaction.id).in_(ids)))
    return bool((await session.execute(stmt)).scalar_one())


async def splits_for(
    session: AsyncSession, user_id: uuid.UUID, transaction_ids: Sequence[uuid.UUID],
) -> list[sa.Row[TransactionSplit, Category | None, Category | None, str]]:
    stmt = (
        sa.select(TransactionSplit, Category, Parent, col(Transaction.currency))
        .join(Transaction, col(Transaction.id) == TransactionSplit.transaction_id)
        .outerjoin(Category, col(Category.id) == TransactionSplit.category_id)
        .outerjoin(Parent, col(Parent.id) == Category.parent_id)
        .where(col(TransactionSplit.user_id) == user_id,
               col(TransactionSplit.transaction_id).in_(transaction_ids))
        .order_by(col(TransactionSplit.transaction_id), col(TransactionSplit.position))
    )
    return list((await session.execute(stmt)).all())


async def replace_splits(session: AsyncSession, user_id: uuid.UUID, transaction_id: uuid.UUID,
                         lines: Sequence[TransactionSplit]) -> None:
    await session.execute(sa.delete(TransactionSplit).where(
        col(TransactionSplit.user_id) == user_id, col(TransactionSplit.transaction_id) == transaction_id))
    session.add_all(lines)


async def delete(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    await session.execute(sa.update(Transaction).where(
        col(Transaction.user_id) == user_id, col(Transaction.id).in_(ids)).values(transfer_id=None))
    await session.execute(sa.delete(Transaction).where(
        col(Transaction.user_id) == user_id, col(Transaction.id).in_(ids)))
    session.add_all([Deletion(user_id=user_id, entity="Transaction", entity_id=i) for i in ids])


def deletions_select(user_id: uuid.UUID, since: dt.datetime) -> sa.Select[Any]:
    return sa.select(Deletion).where(col(Deletion.user_id) == user_id, col(Deletion.deleted_at) > since)
