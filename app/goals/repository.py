"""All SQL of goals. Every statement is scoped to one user; batch reads take many goals in one statement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.accounts.models import Account
from app.auth.models import User
from app.db import new_id
from app.goals.models import Goal, GoalAccount, GoalContribution, GoalMilestone, GoalStatus
from app.transactions.models import Deletion

_goals: sa.Table = Goal.__table__  # type: ignore[attr-defined]
_links: sa.Table = GoalAccount.__table__  # type: ignore[attr-defined]
_milestones: sa.Table = GoalMilestone.__table__  # type: ignore[attr-defined]


async def insert_goal(session: AsyncSession, values: dict[str, Any]) -> Goal | None:
    """Insert one goal; None when its id is already taken (by anyone), with the transaction still usable."""
    stmt = insert(Goal).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(Goal)
    return (await session.execute(stmt)).scalar_one_or_none()


async def goal_for_update(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None:
    """The user's goal, row-locked until the end of the transaction; None when missing or foreign."""
    stmt = (sa.select(Goal).where(col(Goal.user_id) == user_id, col(Goal.id) == goal_id)
            .with_for_update().execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def goals_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Goal]:
    """The user's goals among `ids` (any order; foreign and missing ids are left out): one statement."""
    if not ids:
        return []
    stmt = sa.select(Goal).where(col(Goal.user_id) == user_id, col(Goal.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


async def list_goals(session: AsyncSession, user_id: uuid.UUID, statuses: Sequence[GoalStatus] | None) -> list[Goal]:
    """The user's goals by priority, name and id; every status but ARCHIVED unless `statuses` are given."""
    stmt = sa.select(Goal).where(col(Goal.user_id) == user_id)
    if statuses is None:
        stmt = stmt.where(col(Goal.status) != GoalStatus.ARCHIVED.value)
    else:
        stmt = stmt.where(col(Goal.status).in_([GoalStatus(s).value for s in statuses]))
    stmt = stmt.order_by(col(Goal.priority), col(Goal.name), col(Goal.id))
    return list((await session.execute(stmt)).scalars())


async def update_goal(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID, values: dict[str, Any]
                      ) -> Goal | None:
    """Set `values` (and `updated_at`) and return the fresh row."""
    stmt = (
        sa.update(Goal)
        .where(col(Goal.user_id) == user_id, col(Goal.id) == goal_id)
        .values(**values, updated_at=sa.func.now())
        .returning(Goal)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_goal(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
    """Delete the goal (its links, contributions and milestones go with it) and leave a tombstone."""
    deleted = await session.execute(
        sa.delete(_goals).where(_goals.c.user_id == user_id, _goals.c.id == goal_id).returning(_goals.c.id))
    if deleted.first() is None:
        return False
    session.add(Deletion(user_id=user_id, entity="Goal", entity_id=goal_id))
    await session.flush()
    return True


async def replace_accounts(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID,
                           account_ids: Sequence[uuid.UUID]) -> None:
    """Make `account_ids` the goal's linked accounts (at most two statements)."""
    await session.execute(sa.delete(_links).where(_links.c.user_id == user_id, _links.c.goal_id == goal_id))
    if account_ids:
        await session.execute(sa.insert(_links), [{"goal_id": goal_id, "account_id": a, "user_id": user_id}
                                                  for a in account_ids])


async def linked_accounts(session: AsyncSession, user_id: uuid.UUID, goal_ids: Sequence[uuid.UUID]
                          ) -> list[tuple[uuid.UUID, Account]]:
    """(goal id, account) of every account linked to these goals, by account name: one statement."""
    if not goal_ids:
        return []
    stmt = (
        sa.select(col(GoalAccount.goal_id), Account)
        .join(Account, sa.and_(col(Account.id) == col(GoalAccount.account_id),
                               col(Account.user_id) == col(GoalAccount.user_id)))
        .where(col(GoalAccount.user_id) == user_id, col(GoalAccount.goal_id).in_(list(goal_ids)))
        .order_by(col(Account.name), col(Account.id))
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def contribution_days(session: AsyncSession, user_id: uuid.UUID, goal_ids: Sequence[uuid.UUID]
                            ) -> list[tuple[uuid.UUID, dt.date, Decimal]]:
    """(goal id, day, sum of that day's contributions) of these goals, by day: one statement."""
    if not goal_ids:
        return []
    stmt = (
        sa.select(col(GoalContribution.goal_id), col(GoalContribution.day), sa.func.sum(col(GoalContribution.amount)))
        .where(col(GoalContribution.user_id) == user_id, col(GoalContribution.goal_id).in_(list(goal_ids)))
        .group_by(col(GoalContribution.goal_id), col(GoalContribution.day))
        .order_by(col(GoalContribution.goal_id), col(GoalContribution.day))
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(stmt)]


async def has_contributions(session: AsyncSession, user_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
    stmt = sa.select(sa.exists().where(col(GoalContribution.user_id) == user_id,
                                       col(GoalContribution.goal_id) == goal_id))
    return bool((await session.execute(stmt)).scalar_one())


async def insert_contribution(session: AsyncSession, row: GoalContribution) -> None:
    session.add(row)
    await session.flush()


async def contributions_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                               ) -> list[GoalContribution]:
    if not ids:
        return []
    stmt = sa.select(GoalContribution).where(col(GoalContribution.user_id) == user_id,
                                             col(GoalContribution.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


async def latest_contributions(session: AsyncSession, user_id: uuid.UUID, goal_ids: Sequence[uuid.UUID],
                               limit: int) -> list[GoalContribution]:
    """The latest `limit` contributions of each goal, newest first (by day, then by id): one statement."""
    if not goal_ids:
        return []
    ranked = (
        sa.select(GoalContribution, sa.func.row_number().over(
            partition_by=col(GoalContribution.goal_id),
            order_by=(col(GoalContribution.day).desc(), col(GoalContribution.id).desc())).label("n"))
        .where(col(GoalContribution.user_id) == user_id, col(GoalContribution.goal_id).in_(list(goal_ids)))
        .subquery()
    )
    picked = aliased(GoalContribution, ranked)
    stmt = sa.select(picked).where(ranked.c.n <= limit).order_by(ranked.c.day.desc(), ranked.c.id.desc())
    return list((await session.execute(stmt)).scalars())


async def balances_on(session: AsyncSession, user_id: uuid.UUID, wanted: Sequence[tuple[uuid.UUID, dt.date]]
                      ) -> dict[tuple[uuid.UUID, dt.date], Decimal]:
    """The end-of-day balance of each (account, day): the latest balances row on or before that day, else the
    account's opening balance (the account did not exist yet). One statement for every pair."""
    if not wanted:
        return {}
    stmt = sa.text("""
        SELECT p.account_id, p.day,
               COALESCE((SELECT b.balance FROM balances b
                         WHERE b.account_id = p.account_id AND b.user_id = :user AND b.day <= p.day
                         ORDER BY b.day DESC LIMIT 1), a.opening_balance) AS balance
        FROM unnest(CAST(:accounts AS uuid[]), CAST(:days AS date[])) AS p(account_id, day)
        JOIN accounts a ON a.id = p.account_id AND a.user_id = :user
    """)
    rows = await session.execute(stmt, {"user": user_id, "accounts": [a for a, _ in wanted],
                                        "days": [d for _, d in wanted]})
    return {(row[0], row[1]): row[2] for row in rows}


async def first_balance_days(session: AsyncSession, user_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
                             ) -> dict[uuid.UUID, dt.date]:
    """The first day of each account's balances rows (one index probe per account): one statement."""
    if not account_ids:
        return {}
    stmt = sa.text("""
        SELECT a.id, (SELECT b.day FROM balances b WHERE b.account_id = a.id AND b.user_id = :user
                      ORDER BY b.day LIMIT 1)
        FROM accounts a WHERE a.user_id = :user AND a.id = ANY(:accounts)
    """)
    rows = await session.execute(stmt, {"user": user_id, "accounts": list(account_ids)})
    return {row[0]: row[1] for row in rows if row[1] is not None}


async def milestones_of(session: AsyncSession, user_id: uuid.UUID, goal_ids: Sequence[uuid.UUID]
                        ) -> list[GoalMilestone]:
    """The reached milestones of these goals by percent: one statement."""
    if not goal_ids:
        return []
    stmt = (sa.select(GoalMilestone)
            .where(col(GoalMilestone.user_id) == user_id, col(GoalMilestone.goal_id).in_(list(goal_ids)))
            .order_by(col(GoalMilestone.goal_id), col(GoalMilestone.percent)))
    return list((await session.execute(stmt)).scalars())


async def record_milestones(session: AsyncSession, user_id: uuid.UUID, reached: Sequence[tuple[uuid.UUID, int]]
                            ) -> list[tuple[uuid.UUID, int]]:
    """Record each (goal, percent) once; returns the pairs recorded now (the others were reached before)."""
    if not reached:
        return []
    stmt = sa.text("""
        INSERT INTO goal_milestones (id, goal_id, user_id, percent, reached_at)
        SELECT p.id, p.goal_id, :user, p.percent, now()
        FROM unnest(CAST(:ids AS uuid[]), CAST(:goals AS uuid[]), CAST(:percents AS smallint[]))
             AS p(id, goal_id, percent)
        JOIN goals g ON g.id = p.goal_id AND g.user_id = :user
        ON CONFLICT (goal_id, percent) DO NOTHING
        RETURNING goal_id, percent
    """)
    rows = await session.execute(stmt, {"user": user_id, "ids": [new_id() for _ in reached],
                                        "goals": [g for g, _ in reached], "percents": [p for _, p in reached]})
    return [(row[0], int(row[1])) for row in rows]


async def complete_goals(session: AsyncSession, user_id: uuid.UUID, goal_ids: Sequence[uuid.UUID]) -> None:
    """Mark these ACTIVE goals COMPLETED now: one statement."""
    if not goal_ids:
        return
    await session.execute(
        sa.update(_goals)
        .where(_goals.c.user_id == user_id, _goals.c.id.in_(list(goal_ids)),
               _goals.c.status == GoalStatus.ACTIVE.value)
        .values(status=GoalStatus.COMPLETED.value, completed_at=sa.func.now(), updated_at=sa.func.now()))


async def active_goals_linked_to(session: AsyncSession, user_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
                                 ) -> list[tuple[Goal, str]]:
    """(goal, the owner's time zone) of the ACTIVE goals linked to any of these accounts: one statement that
    returns nothing at once (through the account index of `goal_accounts`) when no goal links them."""
    if not account_ids:
        return []
    linked = (sa.select(col(GoalAccount.goal_id))
              .where(col(GoalAccount.user_id) == user_id, col(GoalAccount.account_id).in_(list(account_ids))))
    stmt = (
        sa.select(Goal, col(User.time_zone))
        .join(User, col(User.id) == col(Goal.user_id))
        .where(col(Goal.user_id) == user_id, col(Goal.status) == GoalStatus.ACTIVE.value, col(Goal.id).in_(linked))
        .order_by(col(Goal.id))
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]
