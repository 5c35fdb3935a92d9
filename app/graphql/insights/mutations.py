"""Mutations: `insightsGenerate` (runs the generators inline for the caller) and `insightDismiss`."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.graphql.context import Info
from app.graphql.insights.queries import load_insights
from app.graphql.insights.types import (
    InsightDismissInput,
    InsightDismissPayload,
    InsightsGenerateInput,
    InsightsGeneratePayload,
)
from app.graphql.mutation import run_mutation
from app.graphql.node import from_global_id
from app.insights import service
from app.networth.service import today_in


@strawberry.type
class InsightMutation:
    @strawberry.mutation(description="Run every insight generator for the caller now, as of today in their time "
                                     "zone (inline, in this request; the worker does the same daily). Insights "
                                     "already stored for their subject and period are not repeated.")
    async def insights_generate(self, info: Info, input: InsightsGenerateInput) -> InsightsGeneratePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            fresh = await service.generate(uow, principal.user_id, today=today_in(principal.time_zone),
                                           base_currency=principal.base_currency.strip())
            return {"insights": [str(i.id) for i in fresh]}

        result, errors = await run_mutation(ctx, "insightsGenerate", action, key=input.idempotency_key, data={})
        if errors or result is None:
            return InsightsGeneratePayload(insights=[], errors=errors)
        found = await load_insights(ctx, [uuid.UUID(i) for i in result["insights"]])
        return InsightsGeneratePayload(insights=[i for i in found if i is not None], errors=[])

    @strawberry.mutation(description="Dismiss one of the caller's insights (its state becomes DISMISSED).")
    async def insight_dismiss(self, info: Info, input: InsightDismissInput) -> InsightDismissPayload:
        ctx = info.context
        decoded = from_global_id(input.id)
        insight_id = decoded[1] if decoded is not None and decoded[0] == "Insight" else None

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            return {"insight": str(await service.dismiss(uow, principal.user_id, insight_id))}

        result, errors = await run_mutation(ctx, "insightDismiss", action, key=input.idempotency_key,
                                            data={"id": str(input.id)})
        if errors or result is None:
            return InsightDismissPayload(insight=None, errors=errors)
        return InsightDismissPayload(insight=(await load_insights(ctx, [uuid.UUID(result["insight"])]))[0],
                                     errors=[])
