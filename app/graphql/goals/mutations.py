"""Mutations of goals: create (client id), partial update, contribute, delete (idempotency keys)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.goals import service
from app.goals.models import GoalKind, GoalStatus
from app.graphql.context import Context, Info
from app.graphql.goals.queries import load_goals
from app.graphql.goals.types import (
    Goal,
    GoalContributeInput,
    GoalContributePayload,
    GoalContribution,
    GoalCreateInput,
    GoalDeleteInput,
    GoalDeletePayload,
    GoalPayload,
    GoalUpdateInput,
)
from app.graphql.mutation import client_id, fingerprint_value, given, run_mutation
from app.graphql.node import decode_id, decode_ids, to_global_id

UPDATABLE = ("name", "kind", "target_amount", "currency", "target_date", "priority", "status")


async def _goal(ctx: Context, result: dict[str, Any] | None) -> Goal | None:
    if result is None:
        return None
    return (await load_goals(ctx, [uuid.UUID(result["goal"])]))[0]


@strawberry.type
class GoalMutation:
    @strawberry.mutation(description="Create a goal that follows contributions, or linked accounts when "
                                     "`accountIds` are given; milestones they already reach are recorded.")
    async def goal_create(self, info: Info, input: GoalCreateInput) -> GoalPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            goal = await service.create_goal(
                uow, principal, name=input.name, kind=GoalKind(input.kind), target_amount=input.target_amount,
                currency=input.currency, target_date=input.target_date, priority=input.priority,
                account_ids=decode_ids(list(input.account_ids or []), "Account", "accountIds"),
                goal_id=client_id(input.id, "Goal"))
            return {"goal": str(goal.id)}

        data = {"name": input.name, "kind": input.kind, "targetAmount": input.target_amount,
                "currency": input.currency, "targetDate": input.target_date, "priority": input.priority,
                "accountIds": input.account_ids}
        result, errors = await run_mutation(ctx, "goalCreate", action, key=input.id, data=data)
        if errors:
            return GoalPayload(goal=None, errors=errors)
        return GoalPayload(goal=await _goal(ctx, result), errors=[])

    @strawberry.mutation(description="Change some fields of a goal; absent fields stay as they are. Milestones "
                                     "are checked afterwards (a lowered target may reach one).")
    async def goal_update(self, info: Info, input: GoalUpdateInput) -> GoalPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            changes: dict[str, Any] = {name: given(getattr(input, name), service.KEEP) for name in UPDATABLE}
            if changes["kind"] is not service.KEEP:
                changes["kind"] = GoalKind(changes["kind"])
            if changes["status"] is not service.KEEP:
                changes["status"] = GoalStatus(changes["status"])
            if input.account_ids is not None:
                changes["account_ids"] = decode_ids(list(input.account_ids.value or []), "Account", "accountIds")
            goal = await service.update_goal(uow, principal, goal_id=decode_id(input.id, "Goal"), **changes)
            return {"goal": str(goal.id)}

        data = {"id": input.id, "accountIds": fingerprint_value(input.account_ids),
                **{name: fingerprint_value(getattr(input, name)) for name in UPDATABLE}}
        result, errors = await run_mutation(ctx, "goalUpdate", action, key=input.idempotency_key, data=data)
        if errors:
            return GoalPayload(goal=None, errors=errors)
        return GoalPayload(goal=await _goal(ctx, result), errors=[])

    @strawberry.mutation(description="Put money into a goal of contributions (or take it out with a negative "
                                     "amount); send an `idempotencyKey` so a retry is not counted twice.")
    async def goal_contribute(self, info: Info, input: GoalContributeInput) -> GoalContributePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            row = await service.contribute(uow, principal, goal_id=decode_id(input.goal_id, "Goal", "goalId"),
                                           amount=input.amount, day=input.day, note=input.note)
            return {"goal": str(row.goal_id), "contribution": str(row.id)}

        data = {"goalId": input.goal_id, "amount": input.amount, "day": input.day, "note": input.note}
        result, errors = await run_mutation(ctx, "goalContribute", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return GoalContributePayload(goal=None, contribution=None, errors=errors)
        goal = await _goal(ctx, result)
        contribution = None
        if goal is not None:
            async with ctx.resources.sessionmaker() as session:
                rows = await service.contributions_by_ids(session, ctx.viewer(), [uuid.UUID(result["contribution"])])
            contribution = GoalContribution.from_row(rows[0], goal.target.currency) if rows else None
        return GoalContributePayload(goal=goal, contribution=contribution, errors=[])

    @strawberry.mutation(description="Delete a goal with its contributions and milestones; the accounts stay.")
    async def goal_delete(self, info: Info, input: GoalDeleteInput) -> GoalDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            deleted = await service.delete_goal(uow, principal, goal_id=decode_id(input.id, "Goal"))
            return {"goal": str(deleted)}

        result, errors = await run_mutation(ctx, "goalDelete", action, key=input.idempotency_key,
                                            data={"id": input.id})
        if errors or result is None:
            return GoalDeletePayload(deleted_id=None, errors=errors)
        return GoalDeletePayload(deleted_id=to_global_id("Goal", uuid.UUID(result["goal"])), errors=[])

