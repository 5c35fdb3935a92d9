"""Queries: `recurring`."""

from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.recurring.types import RecurringSeries
from app.networth.service import today_in
from app.recurring import service


@strawberry.type
class RecurringQuery:
    @strawberry.field(description="The caller's recurring charges (subscriptions, rent, insurance...) detected in "
                                  "the last 800 days of expenses, as of today in the caller's time zone, ordered "
                                  "by merchant. Series with two charges missed in a row are considered ended.")
    async def recurring(self, info: Info) -> list[RecurringSeries]:
        ctx = info.context
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            found = await service.recurring(session, principal.user_id, today=today_in(principal.time_zone))
        return [RecurringSeries.from_domain(s) for s in found]
