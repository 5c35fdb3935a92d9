"""Mutations of budgets: create (client id), partial update, delete."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.budgets import service
from app.db import UnitOfWork
from app.graphql.budgets.queries import load_budgets
from app.graphql.budgets.types import (
    Budget,
    BudgetCreateInput,
    BudgetCreatePayload,
    BudgetDeleteInput,
    BudgetDeletePayload,
    BudgetLineInput,
    BudgetUpdateInput,
    BudgetUpdatePayload,
)
from app.graphql.context import Context, Info
from app.graphql.mutation import client_id, fingerprint_value, given, run_mutation
from app.graphql.node import decode_id, to_global_id

UPDATABLE = ("name", "currency", "period", "start_day", "rollover", "thresholds", "starts_on")


def _lines(lines: list[BudgetLineInput]) -> list[service.LineSpec]:
    return [service.LineSpec(decode_id(line.category_id, "Category", f"lines.{i}.categoryId"), line.limit)
            for i, line in enumerate(lines)]


def _plain_lines(lines: list[BudgetLineInput] | None) -> Any:
    return None if lines is None else [{"categoryId": line.category_id, "limit": line.limit} for line in lines]


async def _budget(ctx: Context, result: dict[str, Any] | None) -> Budget | None:
    if result is None:
        return None
    return (await load_budgets(ctx, [uuid.UUID(result["budget"])]))[0]


@strawberry.type
class BudgetMutation:
    @strawberry.mutation(description="Create a budget with its lines; alerts already due fire at once.")
    async def budget_create(self, info: Info, input: BudgetCreateInput) -> BudgetCreatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            budget_id = client_id(input.id, "Budget")
            budget = await service.create_budget(
                uow, principal, name=input.name, currency=input.currency, period=input.period,
                start_day=input.start_day, rollover=input.rollover, thresholds=input.thresholds,
                lines=_lines(input.lines), starts_on=input.starts_on, budget_id=budget_id)
            return {"budget": str(budget.id)}

        data = {"name": input.name, "currency": input.currency, "period": input.period, "startDay": input.start_day,
                "rollover": input.rollover, "thresholds": input.thresholds, "lines": _plain_lines(input.lines),
                "startsOn": input.starts_on}
        result, errors = await run_mutation(ctx, "budgetCreate", action, key=input.id, data=data)
        if errors:
            return BudgetCreatePayload(budget=None, errors=errors)
        return BudgetCreatePayload(budget=await _budget(ctx, result), errors=[])

    @strawberry.mutation(description="Change some fields of a budget; given `lines` replace its lines. Alerts that "
                                     "become due (a lowered limit) fire at once.")
    async def budget_update(self, info: Info, input: BudgetUpdateInput) -> BudgetUpdatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            lines = given(input.lines, service.KEEP)
            budget = await service.update_budget(
                uow, principal, budget_id=decode_id(input.id, "Budget"),
                lines=lines if lines is service.KEEP or lines is None else _lines(lines),
                **{name: given(getattr(input, name), service.KEEP) for name in UPDATABLE})
            return {"budget": str(budget.id)}

        lines = input.lines
        data = {"id": input.id, "lines": fingerprint_value(lines) if lines is None else _plain_lines(lines.value),
                **{name: fingerprint_value(getattr(input, name)) for name in UPDATABLE}}
        result, errors = await run_mutation(ctx, "budgetUpdate", action, key=input.idempotency_key, data=data)
        if errors:
            return BudgetUpdatePayload(budget=None, errors=errors)
        return BudgetUpdatePayload(budget=await _budget(ctx, result), errors=[])

    @strawberry.mutation(description="Delete a budget with its lines and alerts.")
    async def budget_delete(self, info: Info, input: BudgetDeleteInput) -> BudgetDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            deleted = await service.delete_budget(uow, principal, budget_id=decode_id(input.id, "Budget"))
            return {"deleted": str(deleted)}

        result, errors = await run_mutation(ctx, "budgetDelete", action, key=input.idempotency_key,
                                            data={"id": input.id})
        if errors or result is None:
            return BudgetDeletePayload(deleted_id=None, errors=errors)
        return BudgetDeletePayload(deleted_id=to_global_id("Budget", uuid.UUID(result["deleted"])), errors=[])
