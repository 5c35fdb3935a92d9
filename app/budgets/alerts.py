"""Budget alerts: evaluated before the commit of every ledger change (see app/effects.py) and of every budget
create or update.

A line fires an alert when, in its current period (the one containing today in the user's time zone), its
spending reaches one of the budget's thresholds: spent / available >= threshold %, where available is the
limit plus what rollover carried in; spending with nothing available counts as over 100 %. Each (line,
period, threshold) fires exactly once: the unique row in `budget_alerts` decides (INSERT ... ON CONFLICT DO
NOTHING RETURNING), so dropping below and crossing again, or two writers crossing together, fire once.
Evaluation runs after `effects.lock_ledger`, so it sees every change committed before it.

Cost per call: one statement for the user's budgets (none more when there are none), one for the spending
of all their lines, one for rates when a line spent another currency, one insert of the candidate alerts,
and one notification insert per alert actually fired.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from app.budgets import repository as repo
from app.budgets.events import BudgetAlertFired
from app.budgets.models import BudgetAlert
from app.budgets.periods import period_containing, today_in
from app.budgets.status import BudgetStatus, LineStatus, compute, plan_periods
from app.db import UnitOfWork, new_id
from app.money import format_decimal, minor_units
from app.notifications.models import NotificationKind
from app.notifications.service import notify

if TYPE_CHECKING:
    from app.effects import LedgerChanges


async def evaluate(uow: UnitOfWork, changes: LedgerChanges) -> None:
    """Fire the alerts of every line that this change made cross a threshold in its current period."""
    # a recategorization without days (a category deleted into another) may move any period
    await evaluate_user(uow, changes.user_id, days=changes.days or None)


async def evaluate_user(uow: UnitOfWork, user_id: uuid.UUID, *, days: set[Any] | None = None) -> list[BudgetAlert]:
    """Fire the alerts due for all budgets of the user; returns the alerts fired now.

    `days` (the booking days a ledger change touched) lets it skip the work when none of them can move a
    current period: before every budget's first period, or after its current one.
    """
    found = await repo.for_evaluation(uow.session, user_id)
    if found is None:
        return []
    today = today_in(found.time_zone)
    budgets = [(budget, lines) for budget, lines in found.budgets if lines and budget.thresholds]
    if days is not None:
        budgets = [(b, lines) for b, lines in budgets if _matters(b, today, days)]
    if not budgets:
        return []
    statuses = await compute(uow.session, user_id, budgets, today)
    candidates = [_candidate(user_id, status, line, threshold)
                  for status in statuses for line in status.lines
                  for threshold in sorted(set(status.budget.thresholds)) if line.figures.reached(threshold)]
    fired = await repo.insert_alerts(uow.session, candidates)
    by_id = {status.budget.id: status for status in statuses}
    for alert in sorted(fired, key=lambda a: (a.budget_id, a.line_id, a.threshold)):
        status = by_id[alert.budget_id]
        line = next(line for line in status.lines if line.line.id == alert.line_id)
        await _announce(uow, user_id, alert, status, line, found.category_names.get(line.line.category_id, ""))
    return fired


def _matters(budget: Any, today: Any, days: set[Any]) -> bool:
    first = plan_periods(budget, today)[0].start
    current = period_containing(budget.period, budget.start_day, today)
    return any(first <= day < current.end for day in days)


def _candidate(user_id: uuid.UUID, status: BudgetStatus, line: LineStatus, threshold: int) -> dict[str, Any]:
    return {"id": new_id(), "user_id": user_id, "budget_id": status.budget.id, "line_id": line.line.id,
            "period_start": status.period.start, "threshold": threshold, "spent": line.figures.spent,
            "limit_amount": line.line.limit, "currency": status.budget.currency.strip()}


async def _announce(uow: UnitOfWork, user_id: uuid.UUID, alert: BudgetAlert, status: BudgetStatus,
                    line: LineStatus, category: str) -> None:
    currency = status.budget.currency.strip()
    places = minor_units(currency)
    spent = format_decimal(line.figures.spent, places)
    available = format_decimal(line.figures.available, places)
    title = f"{status.budget.name}: {category} reached {alert.threshold}%"
    body = (f"{spent} {currency} spent of {available} {currency} available for {category} "
            f"from {status.period.start.isoformat()} to {status.period.last_day.isoformat()}.")
    data = {"budgetId": str(alert.budget_id), "lineId": str(alert.line_id), "alertId": str(alert.id),
            "threshold": alert.threshold, "periodStart": status.period.start.isoformat(), "currency": currency,
            "spent": spent, "limit": format_decimal(line.line.limit, places), "available": available}
    await notify(uow, user_id, kind=NotificationKind.BUDGET_ALERT, title=title, body=body, data=data,
                 subject_id=alert.id)
    uow.publish(user_id, BudgetAlertFired(alert_id=alert.id, budget_id=alert.budget_id, line_id=alert.line_id,
                                          threshold=alert.threshold))
