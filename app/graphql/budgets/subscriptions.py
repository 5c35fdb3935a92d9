"""Subscriptions: `budgetAlerts`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.budgets.events import BudgetAlertFired
from app.graphql.budgets.queries import load_alerts
from app.graphql.budgets.types import BudgetAlert
from app.graphql.context import Info
from app.graphql.loaders import Loaders


@strawberry.type
class BudgetSubscription:
    @strawberry.subscription(description="The caller's budget alerts as they fire, from any API process or worker: "
                                         "once per line, period and threshold.")
    async def budget_alerts(self, info: Info) -> AsyncGenerator[BudgetAlert, None]:
        ctx = info.context
        principal = ctx.viewer()
        async for event in ctx.resources.hub.stream(principal.user_id, BudgetAlertFired):
            assert isinstance(event, BudgetAlertFired)
            ctx.loaders = Loaders()  # a long subscription must not serve category names cached at its start
            alert = (await load_alerts(ctx, [event.alert_id]))[0]
            if alert is not None:  # None: deleted with its budget meanwhile
                yield alert
