"""Queries of budgets: `budgets`, `budget(id)`, `budgetStatus`; the Budget and BudgetAlert nodes."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.budgets import service
from app.graphql.budgets.types import Budget, BudgetAlert, BudgetStatus
from app.graphql.categories.queries import category_loader
from app.graphql.context import Context, Info
from app.graphql.node import from_global_id, register_node, to_global_id
from app.graphql.scalars import Money


def _id_of(value: str, type_name: str) -> uuid.UUID | None:
    decoded = from_global_id(value)
    return decoded[1] if decoded is not None and decoded[0] == type_name else None


async def load_budgets(ctx: Context, ids: list[uuid.UUID]) -> list[Budget | None]:
    """The caller's budgets for `ids` in key order (None where missing or foreign), with lines: one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        found = await service.budgets(session, principal.user_id, ids)
    by_id = {budget.id: Budget.from_rows(budget, lines) for budget, lines in found}
    return [by_id.get(key) for key in ids]


register_node("Budget")(load_budgets)


async def load_alerts(ctx: Context, ids: list[uuid.UUID]) -> list[BudgetAlert | None]:
    """The caller's alerts for `ids` in key order (None where missing or foreign), with budget and line: one
    statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        found = await service.alerts_by_ids(session, principal.user_id, ids)
    by_id: dict[uuid.UUID, BudgetAlert] = {}
    for alert, budget_row, lines in found:
        budget = Budget.from_rows(budget_row, lines)
        line = next((x for x in budget.lines if x.db_id == alert.line_id), None)
        if line is None:  # pragma: no cover - the line's deletion cascades to its alerts
            continue
        currency = alert.currency.strip()
        by_id[alert.id] = BudgetAlert(
            id=to_global_id("BudgetAlert", alert.id), budget=budget, line=line, threshold=alert.threshold,
            period_start=alert.period_start, spent=Money.of(alert.spent, currency),
            limit=Money.of(alert.limit, currency), fired_at=alert.fired_at)
    return [by_id.get(key) for key in ids]


register_node("BudgetAlert")(load_alerts)


@strawberry.type
class BudgetQuery:
    @strawberry.field(description="The caller's budgets by name, each with its lines.")
    async def budgets(self, info: Info) -> list[Budget]:
        ctx = info.context
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            found = await service.budgets(session, principal.user_id)
        return [Budget.from_rows(budget, lines) for budget, lines in found]

    @strawberry.field(description="One of the caller's budgets; null when missing, foreign or of another type.")
    async def budget(self, info: Info, id: strawberry.ID) -> Budget | None:
        info.context.viewer()
        budget_id = _id_of(id, "Budget")
        if budget_id is None:
            return None
        return (await load_budgets(info.context, [budget_id]))[0]

    @strawberry.field(description="How a budget stands in the period containing `on` (default: today in the "
                                  "caller's time zone), per line and in total; null when the budget is missing, "
                                  "foreign or of another type.")
    async def budget_status(self, info: Info, budget_id: strawberry.ID, on: dt.date | None = None
                            ) -> BudgetStatus | None:
        ctx = info.context
        principal = ctx.viewer()
        decoded = _id_of(budget_id, "Budget")
        if decoded is None:
            return None
        async with ctx.resources.sessionmaker() as session:
            status = await service.budget_status(session, principal, budget_id=decoded, on=on)
        if status is None:
            return None
        # every line's category in one batch of the request's loader, so lines resolve `category` without awaiting
        ids = [line.line.category_id for line in status.lines]
        found = await category_loader(ctx).load_many(ids)
        categories = {key: category for key, category in zip(ids, found, strict=True) if category is not None}
        return BudgetStatus.from_domain(status, categories)

