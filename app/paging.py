"""Keyset pagination for repositories: sort keys, page requests, and the page they produce."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    column: Any  # a column expression
    descending: bool
    parse: Callable[[str], Any]  # turns a cursor string back into a value


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: tuple[Any, ...] | None = None
    last: int | None = None
    before: tuple[Any, ...] | None = None

    @property
    def backwards(self) -> bool:
        return self.last is not None and self.first is None

    @property
    def size(self) -> int:
        return (self.last if self.backwards else self.first) or 0


@dataclass
class Page(Generic[T]):
    rows: list[T]
    has_next: bool
    has_previous: bool


def _beyond(keys: Sequence[SortKey], values: tuple[Any, ...], forward: bool) -> sa.ColumnElement[bool]:
    """Rows strictly after `values` in the order given by `keys` (or before, when not forward)."""
    clauses = []
    for i, key in enumerate(keys):
        ascending = key.descending is not forward
        step = key.column > values[i] if ascending else key.column < values[i]
        equal = [keys[j].column == values[j] for j in range(i)]
        clauses.append(sa.and_(*equal, step))
    return sa.or_(*clauses)


def apply_keyset(stmt: sa.Select[*tuple[Any, ...]], keys: Sequence[SortKey],
                 request: PageRequest) -> sa.Select[*tuple[Any, ...]]:
    if request.after is not None:
        stmt = stmt.where(_beyond(keys, request.after, True))
    if request.before is not None:
        stmt = stmt.where(_beyond(keys, request.before, False))
    backwards = request.backwards
    order = []
    for key in keys:
        descending = key.descending != backwards
        order.append(key.column.desc() if descending else key.column.asc())
    return stmt.order_by(*order).limit(request.size + 1)


async def fetch_page(session: AsyncSession, stmt: sa.Select[*tuple[Any, ...]], keys: Sequence[SortKey],
                     request: PageRequest, *, scalars: bool = True) -> Page[Any]:
    result = await session.execute(apply_keyset(stmt, keys, request))
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > request.size
    rows = rows[: request.size]
    if request.backwards:
        rows.reverse()
        return Page(rows, has_next=request.before is not None, has_previous=more)
    return Page(rows, has_next=more, has_previous=request.after is not None)


async def count(session: AsyncSession, stmt: sa.Select[*tuple[Any, ...]]) -> int:
    counted = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    return int((await session.execute(counted)).scalar_one())


async def fetch_pages(session: AsyncSession, entity: Any, where: Sequence[sa.ColumnElement[bool]], parent: Any,
                      parent_ids: Sequence[Any], keys: Sequence[SortKey], request: PageRequest) -> dict[Any, Page[Any]]:
    """The same page of a nested connection for many parents at once: one statement.

    Rows of `entity` matching `where` are numbered per `parent` (a column of `entity`) in the page's order,
    after the keyset bounds are applied; the first `size + 1` of each parent come back. A parent without
    rows gets an empty page."""
    stmt = sa.select(entity).where(*where, parent.in_(list(parent_ids)))
    if request.after is not None:
        stmt = stmt.where(_beyond(keys, request.after, True))
    if request.before is not None:
        stmt = stmt.where(_beyond(keys, request.before, False))
    order = [key.column.desc() if key.descending != request.backwards else key.column.asc() for key in keys]
    numbered = stmt.add_columns(sa.func.row_number().over(partition_by=parent, order_by=order).label("page_rn"))
    sub = numbered.subquery()
    rows_of = aliased(entity, sub)
    picked = (sa.select(rows_of).where(sub.c.page_rn <= request.size + 1)
              .order_by(sub.c[parent.key], sub.c.page_rn))
    grouped: dict[Any, list[Any]] = {pid: [] for pid in parent_ids}
    for row in (await session.execute(picked)).scalars():
        grouped[getattr(row, parent.key)].append(row)
    pages = {}
    for pid, rows in grouped.items():
        more = len(rows) > request.size
        rows = rows[: request.size]
        if request.backwards:
            rows.reverse()
            pages[pid] = Page(rows, has_next=request.before is not None, has_previous=more)
        else:
            pages[pid] = Page(rows, has_next=more, has_previous=request.after is not None)
    return pages


async def counts(session: AsyncSession, entity: Any, where: Sequence[sa.ColumnElement[bool]], parent: Any,
                 parent_ids: Sequence[Any]) -> dict[Any, int]:
    """How many rows of `entity` matching `where` each parent has: one statement."""
    stmt = (sa.select(parent, sa.func.count()).select_from(entity)
            .where(*where, parent.in_(list(parent_ids))).group_by(parent))
    found = {pid: int(n) for pid, n in (await session.execute(stmt)).all()}
    return {pid: found.get(pid, 0) for pid in parent_ids}
