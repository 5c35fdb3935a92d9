"""Budget alerts: evaluated before the commit of every ledger change (see app/effects.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db import UnitOfWork

if TYPE_CHECKING:
    from app.effects import LedgerChanges


async def evaluate(uow: UnitOfWork, changes: LedgerChanges) -> None:
    """Fire the alerts of every line that this change made cross a threshold in its current period."""
    # TODO(budgets): implemented with the budgets domain
    return None
