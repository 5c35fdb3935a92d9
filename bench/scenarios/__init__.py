"""The registry of scenarios: each is one small module building a `Scenario` per data tier.

To add one: write `bench/scenarios/<name>.py` with a function `(tier) -> Scenario` (see base.py), add it
to SCENARIOS, and drop it from PENDING.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.scenarios import dashboard, transactions_page
from bench.scenarios.base import Scenario

SCENARIOS: dict[str, Callable[[str], Scenario]] = {
    "dashboard": dashboard.scenario,
    "page": transactions_page.page,
    "search": transactions_page.search,
}
DEFAULT = ("dashboard", "page", "search")

# Scenarios that wait for features being built now, with what each will measure.
PENDING: dict[str, str] = {
    "dashboard + budget status, goals, net worth": "the same one-request dashboard with `budgetStatus` of the "
    "current period, `goals` with progress and `netWorth` (fields added to DASHBOARD in dashboard.py)",
    "netWorthHistory": "`netWorthHistory(from, to, interval: WEEK)` over a year and over all history, "
    "multi-currency, at 10k and 1M transactions",
    "budgetStatus": "`budgetStatus(budgetId)` for a 12-line monthly budget, spent per line from transactions",
    "spending": "`spending(from, to, groupBy: CATEGORY|MERCHANT)` over a quarter and a year",
    "import": "`statementImport` of a 1,000-row OFX/CSV statement: time to the job's SUCCEEDED run, rows/s, "
    "duplicates skipped on a re-import",
    "assistant": "`chatSend` with the local model + `chatStream`: time to the first chunk and to ChatDone",
    "budget-alert delivery": "`transactionCreate` crossing a budget threshold -> `budgetAlerts` event on a "
    "subscriber of another API process: p50/p99 delivery latency",
}


def build(names: list[str], tiers: list[str]) -> list[Scenario]:
    out = []
    for tier in tiers:
        for name in names:
            out.append(SCENARIOS[name](tier))
    return out
