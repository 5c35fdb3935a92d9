"""Query fields of budgets (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class BudgetQuery:
    pass
