"""Queries: `transactions`, `transaction`, `deletions`; loaders for transactions and splits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from app.graphql.categories.types import Category
from app.graphql.context import Context, Info
from app.graphql.errors import BadUserInput
from app.graphql.node import from_global_id, register_node, to_global_id
from app.graphql.pagination import Connection, build_connection, page_request
from app.graphql.scalars import Money
from app.graphql.transactions.types import (
    Deletion,
    RowMapper,
    Transaction,
    TransactionFilter,
    TransactionOrder,
    TransactionSplit,
)
from app.paging import SortKey, count, fetch_page
from app.transactions import repository as repo
from app.transactions.models import Deletion as DeletionRow

T = repo.TRANSACTIONS.c  # table columns, so the page statement stays plain Core (no ORM row loading)
DAY, ID = dt.date.fromisoformat, uuid.UUID
SORTS: dict[TransactionOrder, list[SortKey]] = {
    TransactionOrder.BOOKED_ON_DESC: [SortKey(T.booked_on, True, DAY), SortKey(T.id, True, ID)],
    TransactionOrder.BOOKED_ON_ASC: [SortKey(T.booked_on, False, DAY), SortKey(T.id, False, ID)],
    TransactionOrder.AMOUNT_ASC: [SortKey(T.amount, False, Decimal), SortKey(T.id, False, uuid.UUID)],
    TransactionOrder.AMOUNT_DESC: [SortKey(T.amount, True, Decimal), SortKey(T.id, True, uuid.UUID)],
}
KEY_OF: dict[TransactionOrder, Callable[[Any], tuple[Any, ...]]] = {  # of a flat `repo.page_columns` row
    TransactionOrder.BOOKED_ON_DESC: lambda r: (r.booked_on.isoformat(), r.id),
    TransactionOrder.BOOKED_ON_ASC: lambda r: (r.booked_on.isoformat(), r.id),
    TransactionOrder.AMOUNT_ASC: lambda r: (r.amount, r.id),
    TransactionOrder.AMOUNT_DESC: lambda r: (r.amount, r.id),
}
DELETION_SORT = [SortKey(DeletionRow.deleted_at, False, dt.datetime.fromisoformat),
                 SortKey(DeletionRow.id, False, uuid.UUID)]


def _ids(values: list[strawberry.ID] | None, type_name: str) -> list[uuid.UUID] | None:
    """Global ids of one type; ids of another type or malformed ones match nothing (never an error)."""
    if values is None:
        return None
    out = []
    for value in values:
        decoded = from_global_id(value)
        if decoded is not None and decoded[0] == type_name:
            out.append(decoded[1])
    return out


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation as exc:
        raise BadUserInput(f"`{name}` is not a decimal number") from exc
    if not number.is_finite():
        raise BadUserInput(f"`{name}` is not a decimal number")
    return number


def to_domain_filter(f: TransactionFilter | None) -> repo.TransactionFilter:
    if f is None:
        return repo.TransactionFilter()
    if f.search is not None and len(f.search) > 200:
        raise BadUserInput("`search` is limited to 200 characters")
    return repo.TransactionFilter(
        account_ids=_ids(f.account_ids, "Account"), category_ids=_ids(f.category_ids, "Category"),
        include_child_categories=f.include_child_categories, uncategorized=f.uncategorized, date_from=f.from_,
        date_to=f.to, amount_min=_decimal(f.amount_min, "amountMin"), amount_max=_decimal(f.amount_max, "amountMax"),
        status=f.status.value if f.status is not None else None, tags=list(f.tags or []),
        search=f.search.strip() if f.search and f.search.strip() else None, updated_since=f.updated_since,
    )


async def load_transactions(ctx: Context, ids: list[uuid.UUID]) -> list[Transaction | None]:
    principal = ctx.viewer()
    async with ctx.read_session() as session:
        rows = await repo.rows_by_ids(session, principal.user_id, ids)
    mapper = RowMapper()
    by_id = {row.id: mapper.transaction(row) for row in rows}
    return [by_id.get(key) for key in ids]


register_node("Transaction")(load_transactions)


def transaction_loader(ctx: Context) -> DataLoader[uuid.UUID, Transaction | None]:
    return ctx.loaders.get("transaction_by_id", lambda keys: load_transactions(ctx, list(keys)))  # type: ignore[arg-type]


async def _load_splits(ctx: Context, ids: list[uuid.UUID]) -> list[list[TransactionSplit]]:
    principal = ctx.viewer()
    async with ctx.read_session() as session:
        rows = await repo.splits_for(session, principal.user_id, ids)
    grouped: dict[uuid.UUID, list[TransactionSplit]] = {key: [] for key in ids}
    for split, category, parent, currency in rows:
        grouped[split.transaction_id].append(TransactionSplit(
            amount=Money.of(split.amount, currency.strip()),
            category=Category.from_row(category, parent) if category is not None else None, notes=split.notes))
    return [grouped[key] for key in ids]


def splits_loader(ctx: Context) -> DataLoader[uuid.UUID, list[TransactionSplit]]:
    return ctx.loaders.get("splits_by_transaction", lambda keys: _load_splits(ctx, list(keys)))  # type: ignore[arg-type]


@strawberry.type
class TransactionQuery:
    @strawberry.field(description="The caller's transactions with filters, sorted, in keyset pages of at most 100.")
    async def transactions(
        self, info: Info, filter: TransactionFilter | None = None,
        order_by: TransactionOrder = TransactionOrder.BOOKED_ON_DESC, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Transaction]:
        ctx = info.context
        principal = ctx.viewer()
        keys = SORTS[order_by]
        tag = f"transactions:{order_by.value}"
        request = page_request(tag, keys, first=first, after=after, last=last, before=before)
        domain_filter = to_domain_filter(filter)
        where = repo.conditions(principal.user_id, domain_filter)
        if domain_filter.search:
            async with ctx.resources.sessionmaker() as session:  # a transaction: the plan setting lives in it
                await repo.plan_each_time(session)
                page = await fetch_page(session, repo.page_columns(where), keys, request, scalars=False)
        else:
            async with ctx.read_session() as session:
                page = await fetch_page(session, repo.page_columns(where), keys, request, scalars=False)

        async def total() -> int:
            async with ctx.read_session() as session:
                return await count(session, repo.count_select(where))

        mapper = RowMapper()
        return build_connection(page, tag=tag, key_of=KEY_OF[order_by], to_node=mapper.transaction, count_fn=total)

    @strawberry.field(description="One transaction; null when missing or not the caller's.")
    async def transaction(self, info: Info, id: strawberry.ID) -> Transaction | None:
        decoded = from_global_id(id)
        if decoded is None or decoded[0] != "Transaction":
            info.context.viewer()
            return None
        return await transaction_loader(info.context).load(decoded[1])

    @strawberry.field(description="Tombstones of objects deleted after `since`, oldest first (offline sync).")
    async def deletions(self, info: Info, since: dt.datetime, first: int | None = None,
                        after: str | None = None) -> Connection[Deletion]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("deletions", DELETION_SORT, first=first, after=after, last=None, before=None)
        stmt = repo.deletions_select(principal.user_id, since)
        async with ctx.read_session() as session:
            page = await fetch_page(session, stmt, DELETION_SORT, request)

        async def total() -> int:
            async with ctx.read_session() as session:
                return await count(session, stmt)

        return build_connection(
            page, tag="deletions", key_of=lambda r: (r.deleted_at.isoformat(), r.id),
            to_node=lambda r: Deletion(entity=r.entity, entity_id=to_global_id(r.entity, r.entity_id),
                                       deleted_at=r.deleted_at),
            count_fn=total)
