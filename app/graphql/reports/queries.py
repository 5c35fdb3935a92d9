"""Query fields of spending and cash flow (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class ReportQuery:
    pass
