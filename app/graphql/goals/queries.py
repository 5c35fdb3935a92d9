"""Queries of goals: `goals` (a plain list), `goal(id)`, the Goal node, and the loaders of its list fields.

A list of goals loads its rows, linked accounts, contributions per day, balances and rates in a constant
number of statements; `history`, `milestones` and `contributions` batch every goal of the request into one
DataLoader call each.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Hashable
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader

from app.goals import service
from app.goals.models import GoalStatus as DomainGoalStatus
from app.goals.progress import GoalInputs, Interval
from app.graphql.context import Context, Info
from app.graphql.goals.types import Goal, GoalContribution, GoalHistoryPoint, GoalMilestone, GoalStatus
from app.graphql.node import from_global_id, register_node
from app.graphql.scalars import Money


async def load_goals(ctx: Context, ids: list[uuid.UUID]) -> list[Goal | None]:
    """The caller's goals for `ids` in key order (None where missing or foreign), with their figures."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        views = await service.read_goals(session, principal, ids=ids)
    by_id = {view.goal.id: Goal.from_view(view) for view in views}
    return [by_id.get(key) for key in ids]


register_node("Goal")(load_goals)


def goal_loader(ctx: Context) -> DataLoader[uuid.UUID, Goal | None]:
    """The request's owner-scoped loader of goals by database id (one batch of statements)."""

    async def batch(keys: list[Hashable]) -> list[Goal | None]:
        return await load_goals(ctx, [uuid.UUID(str(key)) for key in keys])

    return ctx.loaders.get("goal_by_id", batch)


HistoryKey = tuple[GoalInputs, Interval, dt.date | None, dt.date | None]


def history_loader(ctx: Context) -> DataLoader[HistoryKey, list[GoalHistoryPoint]]:
    """Histories of every goal of the request, batched by their (interval, from, to)."""

    async def batch(keys: list[Any]) -> list[list[GoalHistoryPoint]]:
        principal = ctx.viewer()
        groups: dict[tuple[Interval, dt.date | None, dt.date | None], list[int]] = defaultdict(list)
        for i, (_, interval, start, end) in enumerate(keys):
            groups[(interval, start, end)].append(i)
        results: list[list[GoalHistoryPoint]] = [[] for _ in keys]
        async with ctx.resources.sessionmaker() as session:
            for (interval, start, end), positions in groups.items():
                inputs = [keys[i][0] for i in positions]
                found = await service.read_history(session, principal, inputs, interval=interval, start=start,
                                                   end=end)
                for position, item, points in zip(positions, inputs, found, strict=True):
                    results[position] = [GoalHistoryPoint(day=day, amount=Money.of(amount, item.currency))
                                         for day, amount in points]
        return results

    return ctx.loaders.get("goal_history", batch)


def milestones_loader(ctx: Context) -> DataLoader[uuid.UUID, list[GoalMilestone]]:
    """Reached milestones of goals by database id: one statement a batch."""

    async def batch(keys: list[Hashable]) -> list[list[GoalMilestone]]:
        principal = ctx.viewer()
        ids = [uuid.UUID(str(key)) for key in keys]
        async with ctx.resources.sessionmaker() as session:
            rows = await service.read_milestones(session, principal, ids)
        found: dict[uuid.UUID, list[GoalMilestone]] = defaultdict(list)
        for row in rows:
            found[row.goal_id].append(GoalMilestone.from_row(row))
        return [found.get(key, []) for key in ids]

    return ctx.loaders.get("goal_milestones", batch)


def contributions_loader(ctx: Context) -> DataLoader[tuple[uuid.UUID, str], list[GoalContribution]]:
    """The latest contributions of goals by (database id, currency): one statement a batch."""

    async def batch(keys: list[Any]) -> list[list[GoalContribution]]:
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            rows = await service.read_contributions(session, principal, [goal_id for goal_id, _ in keys])
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in rows:
            found[row.goal_id].append(row)
        return [[GoalContribution.from_row(row, currency) for row in found.get(goal_id, [])]
                for goal_id, currency in keys]

    return ctx.loaders.get("goal_contributions", batch)


def goal_id_of(value: str) -> uuid.UUID | None:
    """The uuid behind a global Goal id, or None for a malformed id or one of another type."""
    decoded = from_global_id(value)
    return decoded[1] if decoded is not None and decoded[0] == "Goal" else None


@strawberry.type
class GoalQuery:
    @strawberry.field(description="The caller's goals by priority (smaller first), then name. Without `status`, "
                                  "every goal but ARCHIVED ones.")
    async def goals(self, info: Info, status: Annotated[list[GoalStatus] | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only goals in these statuses (ARCHIVED included when listed).")] = None) -> list[Goal]:
        ctx = info.context
        principal = ctx.viewer()
        statuses = [DomainGoalStatus(s) for s in status] if status is not None else None
        async with ctx.resources.sessionmaker() as session:
            views = await service.read_goals(session, principal, statuses=statuses)
        return [Goal.from_view(view) for view in views]

    @strawberry.field(description="One of the caller's goals; null when missing, foreign or of another type.")
    async def goal(self, info: Info, id: strawberry.ID) -> Goal | None:
        info.context.viewer()
        goal_id = goal_id_of(id)
        if goal_id is None:
            return None
        return await goal_loader(info.context).load(goal_id)
