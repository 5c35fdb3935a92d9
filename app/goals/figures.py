"""Figures of many goals at once, in a constant number of statements whatever their number.

`load_inputs` (linked accounts and contributions per day: two statements), then `measure_all` (the balances
90 days ago and today, and the rates: up to two more) or `history_all` (two or three). Statements that have
nothing to do (no linked account, one currency) are skipped.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ErrorCode
from app.goals import repository as repo
from app.goals.models import Goal
from app.goals.progress import (
    MAX_POINTS,
    WINDOW_DAYS,
    Figures,
    GoalInputs,
    Interval,
    earliest_start,
    history,
    measure,
    sample_days,
)
from app.networth.fx import RateBook, load_book


def today_in(time_zone: str) -> dt.date:
    """Today in an IANA time zone (UTC when the name is unknown)."""
    try:
        return dt.datetime.now(ZoneInfo(time_zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return dt.datetime.now(dt.UTC).date()


def local_day(moment: dt.datetime | None, time_zone: str) -> dt.date | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(ZoneInfo(time_zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(dt.UTC).date()


async def load_inputs(session: AsyncSession, user_id: uuid.UUID, goals: Sequence[Goal], *,
                      contributions: bool = True) -> list[GoalInputs]:
    """Each goal with its linked accounts and (when asked) its contributions per day: two statements."""
    ids = [g.id for g in goals]
    inputs = {g.id: GoalInputs(g) for g in goals}
    for goal_id, account in await repo.linked_accounts(session, user_id, ids):
        inputs[goal_id].accounts.append(account)
    if contributions:
        wanted = [i.goal.id for i in inputs.values() if not i.follows_accounts]
        for goal_id, day, amount in await repo.contribution_days(session, user_id, wanted):
            inputs[goal_id].days.append((day, amount))
    return [inputs[g.id] for g in goals]


async def rate_book(session: AsyncSession, user_id: uuid.UUID, inputs: Sequence[GoalInputs], *,
                    start: dt.date, end: dt.date) -> RateBook:
    """The rates that convert the linked accounts into their goals' currencies between two days; no statement
    when every account is in its goal's currency."""
    pairs = {(a.currency.strip(), i.currency) for i in inputs for a in i.accounts}
    if all(have == want for have, want in pairs):
        return RateBook()
    return await load_book(session, user_id, {c for pair in pairs for c in pair}, start=start, end=end)


async def measure_all(session: AsyncSession, user_id: uuid.UUID, inputs: Sequence[GoalInputs], *, today: dt.date,
                      time_zone: str) -> list[Figures]:
    """The figures of each goal (in order): at most two statements beyond `load_inputs`."""
    start = today - dt.timedelta(days=WINDOW_DAYS)
    wanted = [(a.id, day) for i in inputs for a in i.accounts for day in (start, today)]
    balances = await repo.balances_on(session, user_id, list(dict.fromkeys(wanted)))
    book = await rate_book(session, user_id, inputs, start=start, end=today)
    return [measure(i, book=book, today=today, balances=balances,
                    completed_on=local_day(i.goal.completed_at, time_zone)) for i in inputs]


async def history_all(session: AsyncSession, user_id: uuid.UUID, inputs: Sequence[GoalInputs], *,
                      interval: Interval, start: dt.date | None, end: dt.date | None, today: dt.date,
                      time_zone: str) -> list[list[tuple[dt.date, Decimal]]]:
    """The history of each goal (in order), sampled at the end of each period from `start` to `end` (today by
    default). Without `start`, a history begins at the first contribution or the first day of the linked
    accounts' balances (the goal's creation day when there is none), and at most MAX_POINTS points back.
    At most three statements beyond `load_inputs`."""
    last = end or today
    if start is not None and start > last:
        raise DomainError(ErrorCode.INVALID, "`from` must not come after `to`.", "from")
    firsts: dict[uuid.UUID, dt.date] = {}
    if start is None:
        firsts = await repo.first_balance_days(session, user_id,
                                               list({a.id for i in inputs for a in i.accounts}))
    plans: list[list[dt.date]] = []
    for i in inputs:
        begin = start
        if begin is None:
            known = [d for d, _ in i.days[:1]] + [firsts[a.id] for a in i.accounts if a.id in firsts]
            begin = min(known, default=None) or local_day(i.goal.created_at, time_zone) or last
            begin = min(max(begin, earliest_start(last, interval)), last)
        days = sample_days(begin, last, interval)
        if len(days) > MAX_POINTS:
            raise DomainError(ErrorCode.INVALID, f"A history has at most {MAX_POINTS} points; choose a later "
                              "`from` or a longer `interval`.", "from")
        plans.append(days)
    wanted = [(a.id, day) for i, days in zip(inputs, plans, strict=True) for a in i.accounts for day in days]
    balances = await repo.balances_on(session, user_id, list(dict.fromkeys(wanted)))
    all_days = [d for days in plans for d in days]
    book = RateBook()
    if all_days:
        book = await rate_book(session, user_id, inputs, start=min(all_days), end=max(all_days))
    return [history(i, days, book=book, balances=balances)
            for i, days in zip(inputs, plans, strict=True)]
