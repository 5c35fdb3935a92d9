"""Queries: `insights` (newest first), the Insight node and its loader."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from app.graphql.context import Context, Info
from app.graphql.insights.types import Insight, InsightState
from app.graphql.loaders import in_key_order
from app.graphql.node import register_node
from app.graphql.pagination import Connection, build_connection, page_request
from app.insights import repository as repo
from app.insights import service
from app.insights.models import Insight as InsightRow
from app.insights.models import InsightState as DomainState
from app.paging import SortKey, count, fetch_page

NEWEST_FIRST = [SortKey(InsightRow.created_at, True, dt.datetime.fromisoformat),
                SortKey(InsightRow.id, True, uuid.UUID)]


async def load_insights(ctx: Context, ids: list[uuid.UUID]) -> list[Insight | None]:
    """The caller's insights for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await service.insights_by_ids(session, principal.user_id, ids)
    return [Insight.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("Insight")(load_insights)


@strawberry.type
class InsightQuery:
    @strawberry.field(description="The caller's insights, newest first, in keyset pages of at most 100.")
    async def insights(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        state: Annotated[list[InsightState] | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only insights in these states; absent or null: every state.")] = None,
    ) -> Connection[Insight]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("insights", NEWEST_FIRST, first=first, after=after, last=last, before=before)
        states = None if state is None else [DomainState(s).value for s in state]
        stmt = repo.insights_query(principal.user_id, states=states)
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, NEWEST_FIRST, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        return build_connection(page, tag="insights", key_of=lambda r: (r.created_at.isoformat(), r.id),
                                to_node=Insight.from_row, count_fn=total)
