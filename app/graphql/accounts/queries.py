"""Queries of accounts: `accounts` (a keyset connection), `account(id)`, the Account node and its loader."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from app.accounts import repository as repo
from app.accounts.models import Account as AccountRow
from app.graphql.accounts.types import Account
from app.graphql.context import Context, Info
from app.graphql.loaders import in_key_order
from app.graphql.node import from_global_id, register_node
from app.graphql.pagination import Connection, build_connection, page_request
from app.paging import SortKey, count, fetch_page

ACCOUNT_SORT = [SortKey(AccountRow.name, False, str), SortKey(AccountRow.id, False, uuid.UUID)]


async def load_accounts(ctx: Context, ids: list[uuid.UUID]) -> list[Account | None]:
    """The caller's accounts for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.read_session() as session:
        rows = await repo.accounts_by_ids(session, principal.user_id, ids)
    return [Account.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("Account")(load_accounts)


def account_loader(ctx: Context) -> DataLoader[uuid.UUID, Account | None]:
    """The request's owner-scoped loader of accounts by database id (batches into one statement)."""

    async def batch(keys: list[Hashable]) -> list[Account | None]:
        return await load_accounts(ctx, [uuid.UUID(str(key)) for key in keys])

    return ctx.loaders.get("account_by_id", batch)


def account_id_of(value: str) -> uuid.UUID | None:
    """The uuid behind a global Account id, or None for a malformed id or one of another type."""
    decoded = from_global_id(value)
    return decoded[1] if decoded is not None and decoded[0] == "Account" else None


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The caller's accounts by name, archived ones only when asked.")
    async def accounts(self, info: Info, first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None,
                       include_archived: bool = False) -> Connection[Account]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("accounts", ACCOUNT_SORT, first=first, after=after, last=last, before=before)
        stmt = repo.accounts_query(principal.user_id, include_archived=include_archived)
        async with ctx.read_session() as session:
            page = await fetch_page(session, stmt, ACCOUNT_SORT, request)

        async def total() -> int:
            async with ctx.read_session() as session:
                return await count(session, stmt)

        def key_of(row: Any) -> tuple[str, uuid.UUID]:
            return row.name, row.id

        return build_connection(page, tag="accounts", key_of=key_of, to_node=Account.from_row, count_fn=total)

    @strawberry.field(description="One of the caller's accounts; null when missing, foreign or of another type.")
    async def account(self, info: Info, id: strawberry.ID) -> Account | None:
        info.context.viewer()
        account_id = account_id_of(id)
        if account_id is None:
            return None
        return await account_loader(info.context).load(account_id)
