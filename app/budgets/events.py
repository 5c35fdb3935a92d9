"""Events of budgets, published after commit to `florin:user:{id}`."""

from __future__ import annotations

import dataclasses
import uuid

from app.events import Event


@dataclasses.dataclass(frozen=True)
class BudgetAlertFired(Event):
    """A budget line reached one of its thresholds in a period; `budgetAlerts` subscribers load the alert by id."""

    alert_id: uuid.UUID
    budget_id: uuid.UUID
    line_id: uuid.UUID
    threshold: int
