"""Queries: `me`, `apiTokens`."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.auth import repository as repo
from app.auth.models import ApiToken as ApiTokenRow
from app.graphql.auth.types import ApiToken, User
from app.graphql.context import Context, Info
from app.graphql.loaders import in_key_order
from app.graphql.node import register_node
from app.graphql.pagination import Connection, build_connection, page_request
from app.paging import SortKey, count, fetch_page

API_TOKEN_SORT = [SortKey(ApiTokenRow.created_at, True, dt.datetime.fromisoformat),
                  SortKey(ApiTokenRow.id, True, uuid.UUID)]


async def load_users(ctx: Context, ids: list[uuid.UUID]) -> list[User | None]:
    principal = ctx.viewer()
    out: list[User | None] = []
    async with ctx.read_session() as session:
        row = await repo.user_by_id(session, principal.user_id) if principal.user_id in ids else None
    for key in ids:
        out.append(User.from_row(row) if row is not None and key == row.id else None)
    return out


async def load_api_tokens(ctx: Context, ids: list[uuid.UUID]) -> list[ApiToken | None]:
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await repo.api_tokens_by_ids(session, principal.user_id, ids)
    return [ApiToken.from_row(r) if r else None for r in in_key_order(rows, ids)]


register_node("User")(load_users)
register_node("ApiToken")(load_api_tokens)


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> User:
        principal = info.context.viewer()
        async with info.context.read_session() as session:
            row = await repo.user_by_id(session, principal.user_id)
        if row is None:
            from app.graphql.errors import Unauthenticated

            raise Unauthenticated("User no longer exists")
        return User.from_row(row)

    @strawberry.field(description="The caller's API tokens, newest first.")
    async def api_tokens(self, info: Info, first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None) -> Connection[ApiToken]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("apiTokens", API_TOKEN_SORT, first=first, after=after, last=last, before=before)
        stmt = repo.api_tokens_query(principal.user_id)
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, API_TOKEN_SORT, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        return build_connection(page, tag="apiTokens", key_of=lambda r: (r.created_at.isoformat(), r.id),
                                to_node=ApiToken.from_row, count_fn=total)
