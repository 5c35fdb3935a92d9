"""Goal milestones: 25/50/75/100 % of the target, each recorded once per goal and announced.

Checked after a contribution, after a goal changes (a lowered target, new linked accounts, a resumed goal),
and, through `app/effects.py`, before the commit of every ledger change that touches a linked account
(inside the ledger lock). Only ACTIVE goals fire; paused, completed and archived ones never do. The unique
(goal_id, percent) row decides what is new, so a withdrawal followed by a new contribution never fires a
milestone twice. A goal that newly reaches 100 % is COMPLETED. One notification per goal and check names
the highest milestone just reached (and lists all of them in its data).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from app.db import UnitOfWork
from app.goals import repository as repo
from app.goals.figures import load_inputs, rate_book, today_in
from app.goals.models import Goal, GoalStatus
from app.goals.progress import GoalInputs, current_progress, reached_milestones
from app.money import Money
from app.notifications.models import NotificationKind
from app.notifications.service import notify


async def check_accounts(uow: UnitOfWork, user_id: uuid.UUID, account_ids: set[uuid.UUID]) -> None:
    """Record and announce the milestones reached by ACTIVE goals linked to these accounts.

    One statement when no such goal exists; otherwise a constant number (linked accounts, rates when a
    currency differs, the milestone insert, the completion update) plus one per notification.
    """
    found = await repo.active_goals_linked_to(uow.session, user_id, sorted(account_ids))
    if not found:
        return
    goals = [goal for goal, _ in found]
    inputs = await load_inputs(uow.session, user_id, goals, contributions=False)
    await _record(uow, user_id, inputs, today_in(found[0][1]))


async def check_goals(uow: UnitOfWork, user_id: uuid.UUID, goals: Sequence[Goal], *, today: dt.date) -> None:
    """Record and announce the milestones these goals reached (those that are ACTIVE)."""
    active = [g for g in goals if g.status == GoalStatus.ACTIVE.value]
    if not active:
        return
    await _record(uow, user_id, await load_inputs(uow.session, user_id, active), today)


async def _record(uow: UnitOfWork, user_id: uuid.UUID, inputs: Sequence[GoalInputs], today: dt.date) -> None:
    book = await rate_book(uow.session, user_id, inputs, start=today, end=today)
    progress: dict[uuid.UUID, tuple[GoalInputs, Money]] = {}
    wanted: list[tuple[uuid.UUID, int]] = []
    for item in inputs:
        amount, _ = current_progress(item, book, today)
        progress[item.goal.id] = (item, Money(amount, item.currency))
        wanted.extend((item.goal.id, percent) for percent in reached_milestones(amount, item.goal.target_amount))
    recorded = await repo.record_milestones(uow.session, user_id, wanted)
    if not recorded:
        return
    new: dict[uuid.UUID, list[int]] = {}
    for goal_id, percent in recorded:
        new.setdefault(goal_id, []).append(percent)
    await repo.complete_goals(uow.session, user_id, [goal_id for goal_id, percents in new.items() if 100 in percents])
    for goal_id, percents in sorted(new.items()):
        item, value = progress[goal_id]
        await _announce(uow, user_id, item.goal, sorted(percents), value)


async def _announce(uow: UnitOfWork, user_id: uuid.UUID, goal: Goal, percents: list[int], value: Money) -> None:
    top = percents[-1]
    target = Money(goal.target_amount, value.currency)
    if top == 100:
        title = f"Goal reached: {goal.name}"
        body = f"{value} of {target} — you made it."
    else:
        title = f"{goal.name}: {top}% of the way"
        body = f"{value} of {target} so far."
    await notify(uow, user_id, kind=NotificationKind.GOAL_MILESTONE, title=title, body=body, subject_id=goal.id,
                 data={"goalId": str(goal.id), "percent": top, "percents": percents,
                       "progress": value.format_amount(), "target": target.format_amount(),
                       "currency": value.currency})
