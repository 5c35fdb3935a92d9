"""Rules of goals: create, change, contribute, delete; reads of their figures. Never commits.

A goal follows either contributions or linked accounts (see `app/goals/progress.py` for every figure):
contributing to a goal with linked accounts is CONFLICT on `goalId`, and linking accounts to a goal that has
contributions is CONFLICT on `accountIds` (unlinking every account turns a goal back into a contributions
goal). Writers that may involve linked accounts take the ledger lock first, so milestone checks of goals and
of ledger changes never miss each other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.accounts import repository as accounts_repo
from app.accounts.models import Account, Classification
from app.auth.principal import Principal
from app.db import UnitOfWork, new_id, utcnow
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound
from app.goals import milestones
from app.goals import repository as repo
from app.goals.figures import history_all, load_inputs, measure_all, today_in
from app.goals.models import Goal, GoalContribution, GoalKind, GoalMilestone, GoalStatus
from app.goals.progress import Figures, GoalInputs, Interval, contributed_through
from app.money import Money, parse_amount, parse_currency

MAX_NAME = 120
MAX_NOTE = 500
MAX_ACCOUNTS = 20
MAX_PRIORITY = 1000
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2200, 12, 31)


class _Keep(Enum):
    KEEP = "KEEP"


KEEP = _Keep.KEEP
"""Default of partial-update arguments: leave the value as it is (None clears a nullable one)."""


def _name(errors: Collector, value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        errors.add(ErrorCode.REQUIRED, "Name is required.", "name")
    elif len(name) > MAX_NAME:
        errors.add(ErrorCode.TOO_LONG, f"Name must have at most {MAX_NAME} characters.", "name")
    return name


def _currency(errors: Collector, value: str | None) -> str | None:
    try:
        return parse_currency(value or "", "currency")
    except DomainError as exc:
        errors.extend(exc)
        return None


def _target(errors: Collector, value: Any, currency: str | None) -> Decimal | None:
    if currency is None:
        return None
    try:
        amount = parse_amount(value, currency, "targetAmount")
    except DomainError as exc:
        errors.extend(exc)
        return None
    if amount <= 0:
        errors.add(ErrorCode.INVALID, "The target amount must be positive.", "targetAmount")
        return None
    return amount


def _target_date(errors: Collector, value: dt.date | None) -> dt.date | None:
    if value is not None and not MIN_DAY <= value <= MAX_DAY:
        errors.add(ErrorCode.INVALID, "The target date is out of range.", "targetDate")
    return value


def _priority(errors: Collector, value: int) -> int:
    if not 0 <= value <= MAX_PRIORITY:
        errors.add(ErrorCode.INVALID, f"Priority must be between 0 and {MAX_PRIORITY}.", "priority")
    return value


async def _accounts(uow: UnitOfWork, principal: Principal, errors: Collector, ids: Sequence[uuid.UUID],
                    kind: GoalKind) -> list[Account]:
    """The user's accounts for `ids` (duplicates dropped), in the order given; reports foreign or missing ids
    on `accountIds.<i>`, and for a DEBT_PAYOFF goal accounts that are not liabilities."""
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_ACCOUNTS:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"A goal links at most {MAX_ACCOUNTS} accounts.", "accountIds")
        return []
    found = {row.id: row for row in await accounts_repo.accounts_by_ids(uow.session, principal.user_id, unique)}
    for i, account_id in enumerate(ids):
        row = found.get(account_id)
        if row is None:
            errors.add(ErrorCode.NOT_FOUND, "No such account.", f"accountIds.{i}")
        elif kind is GoalKind.DEBT_PAYOFF and row.classification != Classification.LIABILITY.value:
            errors.add(ErrorCode.INVALID, "A debt payoff goal follows liabilities (a loan, a card, a mortgage).",
                       f"accountIds.{i}")
    return [found[a] for a in unique if a in found]


def _today(principal: Principal, today: dt.date | None) -> dt.date:
    return today or today_in(principal.time_zone)


async def create_goal(uow: UnitOfWork, principal: Principal, *, name: str | None,
                      kind: GoalKind | str = GoalKind.CUSTOM, target_amount: Any, currency: str | None = None,
                      target_date: dt.date | None = None, priority: int = 0,
                      account_ids: Sequence[uuid.UUID] = (), goal_id: uuid.UUID | None = None,
                      today: dt.date | None = None) -> Goal:
    """A new ACTIVE goal in `currency` (the user's base currency when None), following `account_ids` when
    given, else contributions. Every bad field is reported at once and nothing is written; milestones the
    linked accounts already reach are recorded (and a goal already at 100 % is COMPLETED)."""
    kind = GoalKind(kind)
    if account_ids:
        await effects.lock_ledger(uow.session, principal.user_id)
    errors = Collector()
    clean_name = _name(errors, name)
    code = _currency(errors, currency if currency is not None else principal.base_currency)
    target = _target(errors, target_amount, code)
    day = _target_date(errors, target_date)
    rank = _priority(errors, priority)
    linked = await _accounts(uow, principal, errors, account_ids, kind) if account_ids else []
    errors.raise_if_any()
    assert code is not None and target is not None
    goal = await repo.insert_goal(uow.session, {
        "id": goal_id or new_id(), "user_id": principal.user_id, "name": clean_name, "kind": kind.value,
        "target_amount": target, "currency": code, "target_date": day, "priority": rank,
        "status": GoalStatus.ACTIVE.value,
    })
    if goal is None:
        raise Conflict(message="This id cannot be used for a new goal; choose another.", field="id")
    await repo.replace_accounts(uow.session, principal.user_id, goal.id, [a.id for a in linked])
    await milestones.check_goals(uow, principal.user_id, [goal], today=_today(principal, today))
    return goal


async def update_goal(uow: UnitOfWork, principal: Principal, *, goal_id: uuid.UUID, name: str | _Keep = KEEP,
                      kind: GoalKind | str | _Keep = KEEP, target_amount: Any = KEEP, currency: str | _Keep = KEEP,
                      target_date: dt.date | None | _Keep = KEEP, priority: int | _Keep = KEEP,
                      status: GoalStatus | str | _Keep = KEEP, account_ids: Sequence[uuid.UUID] | _Keep = KEEP,
                      today: dt.date | None = None) -> Goal:
    """Change only the arguments given (KEEP leaves a value; None clears the target date).

    The currency of a goal with contributions cannot change (CURRENCY_MISMATCH on `currency`); a new status
    COMPLETED sets `completed_at`, any other clears it. Milestones are checked afterwards (a lowered target
    may reach one).
    """
    await effects.lock_ledger(uow.session, principal.user_id)
    goal = await repo.goal_for_update(uow.session, principal.user_id, goal_id)
    if goal is None:
        raise NotFound(message="No Goal with this id", field="id")
    errors = Collector()
    values: dict[str, Any] = {}
    new_kind = GoalKind(kind) if kind is not KEEP else GoalKind(goal.kind)
    if name is not KEEP:
        values["name"] = _name(errors, name)
    if kind is not KEEP:
        values["kind"] = new_kind.value
    code: str | None = goal.currency.strip()
    contributed = await repo.has_contributions(uow.session, principal.user_id, goal.id)
    if currency is not KEEP:
        code = _currency(errors, currency)
        if code is not None and code != goal.currency.strip() and contributed:
            errors.add(ErrorCode.CURRENCY_MISMATCH, "This goal's contributions are in "
                       f"{goal.currency.strip()}; its currency cannot change.", "currency")
        values["currency"] = code
    if target_amount is not KEEP:
        values["target_amount"] = _target(errors, target_amount, code)
    elif currency is not KEEP and code is not None:
        values["target_amount"] = _target(errors, goal.target_amount, code)
    if target_date is not KEEP:
        values["target_date"] = _target_date(errors, target_date)
    if priority is not KEEP:
        values["priority"] = _priority(errors, priority)
    if status is not KEEP:
        new_status = GoalStatus(status)
        values["status"] = new_status.value
        if new_status is GoalStatus.COMPLETED:
            values["completed_at"] = goal.completed_at or utcnow()
        else:
            values["completed_at"] = None
    linked: list[Account] | None = None
    if account_ids is not KEEP:
        if account_ids and contributed:
            errors.add(ErrorCode.CONFLICT, "This goal has contributions; it cannot follow accounts too.",
                       "accountIds")
        else:
            linked = await _accounts(uow, principal, errors, account_ids, new_kind)
    elif kind is not KEEP and new_kind is GoalKind.DEBT_PAYOFF:
        current = await repo.linked_accounts(uow.session, principal.user_id, [goal.id])
        if any(a.classification != Classification.LIABILITY.value for _, a in current):
            errors.add(ErrorCode.INVALID, "A debt payoff goal follows liabilities; unlink the other accounts.",
                       "kind")
    errors.raise_if_any()
    if values:
        updated = await repo.update_goal(uow.session, principal.user_id, goal.id, values)
        if updated is None:  # pragma: no cover - locked above
            raise NotFound(message="No Goal with this id", field="id")
        goal = updated
    if linked is not None:
        await repo.replace_accounts(uow.session, principal.user_id, goal.id, [a.id for a in linked])
    await milestones.check_goals(uow, principal.user_id, [goal], today=_today(principal, today))
    return goal


async def contribute(uow: UnitOfWork, principal: Principal, *, goal_id: uuid.UUID, amount: Any,
                     day: dt.date | None = None, note: str | None = "", today: dt.date | None = None
                     ) -> GoalContribution:
    """Add money to a goal (a negative amount withdraws it) on `day` (today in the user's time zone by default,
    never later). The saved total may not fall below 0 on any day. A goal that follows linked accounts is
    CONFLICT on `goalId`; an ARCHIVED goal is INVALID on `goalId`."""
    goal = await repo.goal_for_update(uow.session, principal.user_id, goal_id)
    if goal is None:
        raise NotFound(message="No Goal with this id", field="goalId")
    if await repo.linked_accounts(uow.session, principal.user_id, [goal.id]):
        raise Conflict(message="This goal follows its linked accounts; it takes no contributions.", field="goalId")
    if goal.status == GoalStatus.ARCHIVED.value:
        raise DomainError(ErrorCode.INVALID, "This goal is archived; it takes no contributions.", "goalId")
    now = _today(principal, today)
    errors = Collector()
    currency = goal.currency.strip()
    value: Decimal | None = None
    try:
        value = parse_amount(amount, currency, "amount")
    except DomainError as exc:
        errors.extend(exc)
    if value is not None and value == 0:
        errors.add(ErrorCode.INVALID, "The amount must not be 0.", "amount")
    when = day or now
    if when > now:
        errors.add(ErrorCode.INVALID, "The day must not be in the future.", "day")
    elif when < MIN_DAY:
        errors.add(ErrorCode.INVALID, "The day is out of range.", "day")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        errors.add(ErrorCode.TOO_LONG, f"A note has at most {MAX_NOTE} characters.", "note")
    errors.raise_if_any()
    assert value is not None
    if value < 0:
        days = [(d, a) for _, d, a in await repo.contribution_days(uow.session, principal.user_id, [goal.id])]
        days.append((when, value))
        lowest = min(sum((a for d, a in days if d <= point), Decimal(0)) for point, _ in days if point >= when)
        if lowest < 0:
            saved = Money(contributed_through(days[:-1], when), currency)
            raise DomainError(ErrorCode.INVALID, f"A withdrawal cannot exceed what was saved by then ({saved} on "
                              f"{when}, less any later withdrawals).", "amount")
    row = GoalContribution(id=new_id(), goal_id=goal.id, user_id=principal.user_id, amount=value, day=when,
                           note=text)
    await repo.insert_contribution(uow.session, row)
    await repo.update_goal(uow.session, principal.user_id, goal.id, {})
    await milestones.check_goals(uow, principal.user_id, [goal], today=now)
    return row


async def delete_goal(uow: UnitOfWork, principal: Principal, *, goal_id: uuid.UUID) -> uuid.UUID:
    """Delete a goal with its contributions, links and milestones (the accounts stay)."""
    if not await repo.delete_goal(uow.session, principal.user_id, goal_id):
        raise NotFound(message="No Goal with this id", field="id")
    return goal_id


@dataclass(frozen=True)
class GoalView:
    """A goal as read: its row, what was loaded for it, and its figures."""

    inputs: GoalInputs
    figures: Figures

    @property
    def goal(self) -> Goal:
        return self.inputs.goal


async def read_goals(session: AsyncSession, principal: Principal, *, ids: Sequence[uuid.UUID] | None = None,
                     statuses: Sequence[GoalStatus] | None = None, today: dt.date | None = None) -> list[GoalView]:
    """The caller's goals with their figures: those of `ids` (any order; foreign ones left out), else the list
    by priority and name (every status but ARCHIVED unless `statuses` are given). At most five statements
    whatever the number of goals."""
    if ids is not None:
        goals = await repo.goals_by_ids(session, principal.user_id, ids)
    else:
        goals = await repo.list_goals(session, principal.user_id, statuses)
    if not goals:
        return []
    inputs = await load_inputs(session, principal.user_id, goals)
    figures = await measure_all(session, principal.user_id, inputs, today=_today(principal, today),
                                time_zone=principal.time_zone)
    return [GoalView(i, f) for i, f in zip(inputs, figures, strict=True)]


async def read_history(session: AsyncSession, principal: Principal, inputs: Sequence[GoalInputs], *,
                       interval: Interval = Interval.MONTH, start: dt.date | None = None, end: dt.date | None = None,
                       today: dt.date | None = None) -> list[list[tuple[dt.date, Decimal]]]:
    """The history of each goal (see `figures.history_all`); INVALID on `from` for a reversed or too long span."""
    return await history_all(session, principal.user_id, inputs, interval=interval, start=start, end=end,
                             today=_today(principal, today), time_zone=principal.time_zone)


async def read_milestones(session: AsyncSession, principal: Principal, goal_ids: Sequence[uuid.UUID]
                          ) -> list[GoalMilestone]:
    return await repo.milestones_of(session, principal.user_id, goal_ids)


async def read_contributions(session: AsyncSession, principal: Principal, goal_ids: Sequence[uuid.UUID], *,
                             limit: int = 100) -> list[GoalContribution]:
    """The latest `limit` contributions of each goal, newest first."""
    return await repo.latest_contributions(session, principal.user_id, goal_ids, limit)


async def contributions_by_ids(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
                               ) -> list[GoalContribution]:
    return await repo.contributions_by_ids(session, principal.user_id, ids)
