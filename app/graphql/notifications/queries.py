"""Queries: `notifications` (newest first), the Notification node and its loader."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from app.graphql.context import Context, Info
from app.graphql.loaders import in_key_order
from app.graphql.node import register_node
from app.graphql.notifications.types import Notification
from app.graphql.pagination import Connection, build_connection, page_request
from app.notifications import repository as repo
from app.notifications import service
from app.notifications.models import Notification as NotificationRow
from app.paging import SortKey, count, fetch_page

N = NotificationRow
NEWEST_FIRST = [SortKey(N.created_at, True, dt.datetime.fromisoformat), SortKey(N.id, True, uuid.UUID)]


async def load_notifications(ctx: Context, ids: list[uuid.UUID]) -> list[Notification | None]:
    """The caller's notifications for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await service.notifications_by_ids(session, principal.user_id, ids)
    return [Notification.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("Notification")(load_notifications)


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The caller's notifications, newest first, in keyset pages of at most 100.")
    async def notifications(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        unread: Annotated[bool | None, strawberry.argument(
            description="true: only unread; false: only read; absent or null: all.")] = None,
    ) -> Connection[Notification]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("notifications", NEWEST_FIRST, first=first, after=after, last=last, before=before)
        stmt = repo.notifications_query(principal.user_id, unread=unread)
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, NEWEST_FIRST, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        return build_connection(page, tag="notifications", key_of=lambda r: (r.created_at.isoformat(), r.id),
                                to_node=Notification.from_row, count_fn=total)
