"""Subscriptions of net worth: `netWorthUpdates`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.graphql.context import Info
from app.graphql.networth.queries import load_net_worth
from app.graphql.networth.types import NetWorthUpdate
from app.networth.events import NetWorthChanged
from app.networth.service import today_in


@strawberry.type
class NetWorthSubscription:
    @strawberry.subscription(description="Your net worth of today in your base currency, pushed after every change "
                                         "that can move it (a transaction, a valuation, an opening balance or one "
                                         "of your rates, from any API process or worker).")
    async def net_worth_updates(self, info: Info) -> AsyncGenerator[NetWorthUpdate, None]:
        ctx = info.context
        principal = ctx.viewer()
        async for event in ctx.resources.hub.stream(principal.user_id, NetWorthChanged):
            assert isinstance(event, NetWorthChanged)
            today = today_in(principal.time_zone)
            if event.since > today:
                continue  # a change dated in the future leaves today's figure as it is
            yield NetWorthUpdate(on=today, net_worth=await load_net_worth(ctx, today))
