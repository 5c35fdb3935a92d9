"""The registry of scenarios: each is one small module building a `Scenario` per data tier.

To add one: write `bench/scenarios/<name>.py` with a function `(tier) -> Scenario` (see base.py), add it
to SCENARIOS, and drop it from PENDING.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.scenarios import budget_status, dashboard, dashboard_full, networth, spending, transactions_page
from bench.scenarios.base import Scenario

SCENARIOS: dict[str, Callable[[str], Scenario]] = {
    "dashboard": dashboard.scenario,
    "dashboard_full": dashboard_full.scenario,
    "page": transactions_page.page,
    "search": transactions_page.search,
    "budget_status": budget_status.scenario,
    "spending": spending.scenario,
    "networth_history": networth.scenario,  # always on the ten-year tier ("10y"), whatever tiers are loaded
}
DEFAULT = ("dashboard", "dashboard_full", "page", "search", "budget_status", "spending", "networth_history")
# Measured steps outside the request loop (`--steps`): a 100k-row statement import against raw COPY, the
# local assistant's replies, and budget-alert delivery to 1,000 subscriptions over 2 API processes
# (bench/scenarios/import_.py, assistant.py, alerts.py).
STEPS = ("import", "assistant", "alerts")

# Scenarios that wait for features being built now, with what each will measure.
PENDING: dict[str, str] = {}


def build(names: list[str], tiers: list[str]) -> list[Scenario]:
    """Each scenario once per tier (a scenario bound to its own tier, like networth_history, once)."""
    out: dict[str, Scenario] = {}
    for tier in tiers:
        for name in names:
            scenario = SCENARIOS[name](tier)
            out.setdefault(scenario.name, scenario)
    return list(out.values())
