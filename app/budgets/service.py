"""Rules of budgets: create, update, delete, read, status. Never commits.

A budget has a name, a currency, a period (MONTHLY from a day 1..28, WEEKLY from an ISO weekday, YEARLY from
a month), a rollover mode, alert thresholds in percent and lines (one per category, each with a positive limit
in the budget's currency). A line's category is one of the user's EXPENSE categories; a line on a parent
counts its children. Creating or changing a budget evaluates its alerts (a lowered limit can cross a
threshold), under the same per-user ledger lock as every ledger writer.
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
from app.auth.principal import Principal
from app.budgets import alerts
from app.budgets import repository as repo
from app.budgets.models import DEFAULT_THRESHOLDS, Budget, BudgetAlert, BudgetLine, BudgetPeriod, Rollover
from app.budgets.periods import START_DAY_RANGE, today_in
from app.budgets.status import BudgetStatus, compute
from app.categories import repository as categories_repo
from app.categories.models import CategoryKind
from app.db import UnitOfWork, new_id
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound
from app.money import parse_amount, parse_currency

MAX_NAME = 120
MAX_LINES = 100
MAX_THRESHOLDS = 10
THRESHOLD_RANGE = range(1, 1001)
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2200, 12, 31)


class _Keep(Enum):
    KEEP = "KEEP"


KEEP = _Keep.KEEP
"""Default of partial-update arguments: leave the value as it is."""


@dataclass(frozen=True)
class LineSpec:
    """A wanted line: the category and its limit (a decimal string or Decimal in the budget's currency)."""

    category_id: uuid.UUID
    limit: Any


LineArg = LineSpec | tuple[uuid.UUID, Any]


def _spec(line: LineArg) -> LineSpec:
    return line if isinstance(line, LineSpec) else LineSpec(line[0], line[1])


# --- validation -------------------------------------------------------------------------------------------------


def _name(value: str | None, errors: Collector) -> str:
    name = (value or "").strip()
    if not name:
        errors.add(ErrorCode.REQUIRED, "Name is required.", "name")
    elif len(name) > MAX_NAME:
        errors.add(ErrorCode.TOO_LONG, f"Name must have at most {MAX_NAME} characters.", "name")
    return name


def _currency(value: str | None, errors: Collector) -> str | None:
    try:
        return parse_currency(value or "", "currency")
    except DomainError as exc:
        errors.extend(exc)
        return None


def _start_day(period: BudgetPeriod, value: int | None, errors: Collector) -> int:
    if value is None:
        return 1
    allowed = START_DAY_RANGE[period]
    if value not in allowed:
        what = {BudgetPeriod.MONTHLY: "a day of the month from 1 to 28",
                BudgetPeriod.WEEKLY: "an ISO weekday from 1 (Monday) to 7 (Sunday)",
                BudgetPeriod.YEARLY: "a month from 1 to 12"}[period]
        errors.add(ErrorCode.INVALID, f"A {period.value} budget starts on {what}.", "startDay")
    return value


def _thresholds(values: Sequence[int] | None, errors: Collector) -> list[int]:
    if values is None:
        return list(DEFAULT_THRESHOLDS)
    clean: list[int] = []
    for i, value in enumerate(values):
        if value is None or value not in THRESHOLD_RANGE:
            errors.add(ErrorCode.INVALID, "A threshold is a percentage from 1 to 1000.", f"thresholds.{i}")
        elif value not in clean:
            clean.append(value)
    if len(clean) > MAX_THRESHOLDS:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_THRESHOLDS} thresholds.", "thresholds")
    return sorted(clean)


def _starts_on(value: dt.date | None, errors: Collector) -> dt.date | None:
    if value is not None and not MIN_DAY <= value <= MAX_DAY:
        errors.add(ErrorCode.INVALID, "The first day is out of range.", "startsOn")
    return value


async def _lines(session: AsyncSession, user_id: uuid.UUID, lines: Sequence[LineArg], currency: str | None,
                 errors: Collector) -> list[tuple[uuid.UUID, Decimal]]:
    """(category id, limit) per line, in order; every bad field is collected as `lines.<i>.<field>`."""
    specs = [_spec(line) for line in lines]
    if len(specs) > MAX_LINES:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_LINES} lines.", "lines")
        return []
    rows = await categories_repo.categories_by_ids(session, user_id, list({s.category_id for s in specs}))
    categories = {row.id: row for row in rows}
    wanted = {s.category_id for s in specs}
    out: list[tuple[uuid.UUID, Decimal]] = []
    seen: set[uuid.UUID] = set()
    for i, spec in enumerate(specs):
        field = f"lines.{i}"
        category = categories.get(spec.category_id)
        if category is None:
            errors.add(ErrorCode.NOT_FOUND, "No Category with this id", f"{field}.categoryId")
        elif category.kind != CategoryKind.EXPENSE.value:
            errors.add(ErrorCode.INVALID, "A budget line needs an EXPENSE category.", f"{field}.categoryId")
        elif spec.category_id in seen:
            errors.add(ErrorCode.CONFLICT, "This category already has a line in this budget.", f"{field}.categoryId")
        elif category.parent_id is not None and category.parent_id in wanted:
            errors.add(ErrorCode.INVALID, "The line of its parent category already counts this category.",
                       f"{field}.categoryId")
        seen.add(spec.category_id)
        limit: Decimal | None = None
        if currency is not None:
            try:
                limit = parse_amount(spec.limit, currency, f"{field}.limit")
            except DomainError as exc:
                errors.extend(exc)
            else:
                if limit <= 0:
                    errors.add(ErrorCode.INVALID, "A limit must be positive.", f"{field}.limit")
        if limit is not None:
            out.append((spec.category_id, limit))
    return out


# --- writes -----------------------------------------------------------------------------------------------------


async def create_budget(
    uow: UnitOfWork, principal: Principal, *, name: str | None, currency: str | None,
    period: BudgetPeriod | str = BudgetPeriod.MONTHLY, start_day: int | None = None,
    rollover: Rollover | str = Rollover.NONE, thresholds: Sequence[int] | None = None,
    lines: Sequence[LineArg] = (), starts_on: dt.date | None = None, budget_id: uuid.UUID | None = None,
) -> Budget:
    """A new budget with its lines; `starts_on` (default: today in the user's time zone) picks the first period,
    the one rollover counts from. Every bad field is reported at once."""
    await effects.lock_ledger(uow.session, principal.user_id)
    errors = Collector()
    kind = BudgetPeriod(period)
    clean_name = _name(name, errors)
    code = _currency(currency, errors)
    day = _start_day(kind, start_day, errors)
    levels = _thresholds(thresholds, errors)
    first = _starts_on(starts_on, errors) or today_in(principal.time_zone)
    clean_lines = await _lines(uow.session, principal.user_id, lines, code, errors)
    errors.raise_if_any()
    assert code is not None
    new = budget_id or new_id()
    inserted = await repo.insert_budget(uow.session, {
        "id": new, "user_id": principal.user_id, "name": clean_name, "currency": code, "period": kind.value,
        "start_day": day, "starts_on": first, "rollover": Rollover(rollover).value, "thresholds": levels})
    if not inserted:
        raise Conflict(message="This id cannot be used for a new budget; choose another.", field="id")
    await repo.insert_lines(uow.session, [
        {"id": new_id(), "budget_id": new, "user_id": principal.user_id, "category_id": category_id,
         "limit_amount": limit, "position": i} for i, (category_id, limit) in enumerate(clean_lines)])
    await alerts.evaluate_user(uow, principal.user_id)
    found = await repo.budgets_with_lines(uow.session, principal.user_id, [new])
    return found[0][0]


async def update_budget(
    uow: UnitOfWork, principal: Principal, *, budget_id: uuid.UUID, name: str | None | _Keep = KEEP,
    currency: str | None | _Keep = KEEP, period: BudgetPeriod | str | _Keep = KEEP,
    start_day: int | None | _Keep = KEEP, rollover: Rollover | str | _Keep = KEEP,
    thresholds: Sequence[int] | None | _Keep = KEEP, lines: Sequence[LineArg] | None | _Keep = KEEP,
    starts_on: dt.date | None | _Keep = KEEP,
) -> Budget:
    """Change only the arguments given (KEEP leaves a value). `lines` replaces the lines: a category that keeps
    a line keeps its line (and the alerts it fired), others are added or removed. A new period without a
    start day starts on 1; `start_day` None means 1, `thresholds` None the defaults, `starts_on` None today."""
    await effects.lock_ledger(uow.session, principal.user_id)
    budget = await repo.budget_for_update(uow.session, principal.user_id, budget_id)
    if budget is None:
        raise NotFound(message="No Budget with this id", field="id")
    errors = Collector()
    values: dict[str, Any] = {}
    if name is not KEEP:
        values["name"] = _name(name, errors)
    code: str | None = budget.currency.strip()
    if currency is not KEEP:
        code = values["currency"] = _currency(currency, errors)
    kind = BudgetPeriod(budget.period)
    if period is not KEEP:
        if period is None:
            errors.add(ErrorCode.REQUIRED, "A period is required.", "period")
        else:
            kind = BudgetPeriod(period)
            values["period"] = kind.value
    if start_day is not KEEP:
        values["start_day"] = _start_day(kind, start_day, errors)
    elif kind.value != budget.period:
        values["start_day"] = 1
    if rollover is not KEEP:
        if rollover is None:
            errors.add(ErrorCode.REQUIRED, "A rollover mode is required.", "rollover")
        else:
            values["rollover"] = Rollover(rollover).value
    if thresholds is not KEEP:
        values["thresholds"] = _thresholds(thresholds, errors)
    if starts_on is not KEEP:
        values["starts_on"] = _starts_on(starts_on, errors) or today_in(principal.time_zone)
    existing = (await repo.budgets_with_lines(uow.session, principal.user_id, [budget_id]))[0][1]
    wanted: list[tuple[uuid.UUID, Decimal]] | None = None
    if lines is None:
        errors.add(ErrorCode.REQUIRED, "Give the lines ([] for none).", "lines")
    elif lines is not KEEP:
        wanted = await _lines(uow.session, principal.user_id, lines, code, errors)
    elif "currency" in values and code is not None:
        _recheck_limits(existing, code, errors)
    errors.raise_if_any()
    await repo.update_budget(uow.session, principal.user_id, budget_id, values)
    if wanted is not None:
        await _replace_lines(uow, principal.user_id, budget_id, existing, wanted)
    await alerts.evaluate_user(uow, principal.user_id)
    found = await repo.budgets_with_lines(uow.session, principal.user_id, [budget_id])
    return found[0][0]


def _recheck_limits(lines: Sequence[BudgetLine], currency: str, errors: Collector) -> None:
    """The current limits must still be valid amounts of a new currency (100.50 cannot become JPY)."""
    for line in lines:
        try:
            parse_amount(Decimal(line.limit), currency, "currency")
        except DomainError as exc:
            errors.add(exc.code, f"The limit {line.limit.normalize():f} is not a valid {currency} amount; give the "
                                 "lines again with the currency.", "currency")
            return


async def _replace_lines(uow: UnitOfWork, user_id: uuid.UUID, budget_id: uuid.UUID, existing: Sequence[BudgetLine],
                         wanted: list[tuple[uuid.UUID, Decimal]]) -> None:
    by_category = {line.category_id: line for line in existing}
    keep, add = [], []
    for position, (category_id, limit) in enumerate(wanted):
        line = by_category.pop(category_id, None)
        if line is None:
            add.append({"id": new_id(), "budget_id": budget_id, "user_id": user_id, "category_id": category_id,
                        "limit_amount": limit, "position": position})
        else:
            keep.append({"id": line.id, "limit_amount": limit, "position": position})
    await repo.delete_lines(uow.session, user_id, [line.id for line in by_category.values()])
    await repo.update_lines(uow.session, user_id, keep)
    await repo.insert_lines(uow.session, add)


async def delete_budget(uow: UnitOfWork, principal: Principal, *, budget_id: uuid.UUID) -> uuid.UUID:
    """Delete a budget with its lines and alerts; a tombstone tells offline clients. Under the ledger lock, so
    no alert evaluation runs meanwhile."""
    await effects.lock_ledger(uow.session, principal.user_id)
    if not await repo.delete_budget(uow.session, principal.user_id, budget_id):
        raise NotFound(message="No Budget with this id", field="id")
    await repo.insert_tombstone(uow.session, principal.user_id, "Budget", budget_id)
    return budget_id


# --- reads ------------------------------------------------------------------------------------------------------


async def budgets(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None
                  ) -> list[tuple[Budget, list[BudgetLine]]]:
    """The user's budgets (all, or those among `ids`) by name with their lines: one statement."""
    return await repo.budgets_with_lines(session, user_id, ids)


async def alerts_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                 ) -> list[tuple[BudgetAlert, Budget, list[BudgetLine]]]:
    """The user's alerts among `ids`, each with its budget and the budget's lines: one statement."""
    return await repo.alerts_by_ids(session, user_id, ids)


async def budget_status(session: AsyncSession, principal: Principal, *, budget_id: uuid.UUID,
                        on: dt.date | None = None) -> BudgetStatus | None:
    """The status of the period containing `on` (default: today in the user's time zone); None when the budget
    is not the user's. Statements: the budget, the spending, and the rates when another currency was spent."""
    found = await repo.budgets_with_lines(session, principal.user_id, [budget_id])
    if not found:
        return None
    day = on or today_in(principal.time_zone)
    return (await compute(session, principal.user_id, found, day))[0]
