"""The whole dashboard a PWA opens, in one request: `dashboard`'s me, accounts with balances and the 20
latest transactions, plus the status of the "Monthly" budget (12 lines) in the current period, the goals
with their progress, and net worth, all as of the user's last day of history.

The floor runs the dashboard floor's three statements plus one each for the budget status, the goals and
net worth (the figures computed as in budget_status.py and networth.py); `same` checks the budget totals,
every goal's progress and the net-worth figures agree with Florin's. No PostGraphile baseline: budget
status, goal progress and converted net worth are not in its generated schema.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bench.scenarios import budget_status, dashboard, networth
from bench.scenarios.base import Scenario, expect
from bench.scenarios.figures import agreeing, dec, gid, money
from bench.users import BenchUser

BUDGET = "budget:Monthly"

QUERY = """
query DashboardFull($budget: ID!, $on: Date) {
  me { id email name baseCurrency timeZone }
  accounts(first: 50) {
    edges { node { id name kind classification currency institution mask balance { amount currency } } }
  }
  transactions(first: 20) {
    edges { node {
      id bookedOn amount { amount currency } description merchant status
      account { id name }
      category { id name icon color parent { id name } }
    } }
  }
  budgetStatus(budgetId: $budget, on: $on) {
    periodStart periodEnd daysLeft
    total { limit { amount currency } spent { amount } remaining { amount } utilization }
    lines { category { id name } limit { amount } spent { amount } utilization overBudget }
  }
  goals {
    id name kind targetDate target { amount currency } progress { amount currency } remaining { amount } percent
  }
  netWorth(on: $on) { on netWorth { amount currency } assets { amount } liabilities { amount } }
}"""

GOALS_SQL = """
select g.id, g.name, g.kind, g.target_amount, g.currency, g.target_date,
       (select sum(c.amount) from goal_contributions c where c.goal_id = g.id and c.user_id = $1) as saved,
       (select sum(a.current_balance) from goal_accounts ga join accounts a on a.id = ga.account_id
        where ga.goal_id = g.id and ga.user_id = $1) as linked,
       (select bool_and(a.currency = g.currency) from goal_accounts ga join accounts a on a.id = ga.account_id
        where ga.goal_id = g.id and ga.user_id = $1) as same_currency
from goals g where g.user_id = $1 and g.status <> 'ARCHIVED'
order by g.priority, g.name, g.id"""


def dashboard_vars(user: BenchUser, i: int) -> dict[str, Any]:
    return {"budget": gid("Budget", user.ids[BUDGET]), "on": user.end.isoformat()}


async def _goals(conn: Any, user: BenchUser) -> list[tuple[Any, ...]]:
    out = []
    for r in await conn.fetch(GOALS_SQL, user.id):
        currency = r["currency"].strip()
        if r["linked"] is not None and not r["same_currency"]:
            raise AssertionError("a linked account in another currency: the floor does not convert")
        progress = max(Decimal(0), r["linked"] if r["linked"] is not None else (r["saved"] or Decimal(0)))
        target = r["target_amount"]
        percent = (progress * 100 / target).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        out.append((gid("Goal", r["id"]), money(target, currency), money(progress, currency),
                    money(max(Decimal(0), target - progress), currency), percent))
    return out


async def _budget(conn: Any, user: BenchUser, on: dt.date) -> Any:
    start, end = budget_status._month(on)
    rows = await conn.fetch(budget_status.FLOOR_SQL, user.id, user.ids[BUDGET], start, end)
    currency = rows[0]["currency"].strip()
    limit = sum((r["limit_amount"] for r in rows), Decimal(0))
    spent = sum((r["spent"] for r in rows), Decimal(0))
    return (money(limit, currency), money(spent, currency), money(limit - spent, currency),
            budget_status._utilization(spent, limit))


async def floor(conn: Any, user: BenchUser, i: int) -> Any:
    base = await dashboard.floor(conn, user, i)
    budget = await _budget(conn, user, user.end)
    goals = await _goals(conn, user)
    worth = (await networth.figures(conn, user, user.end, user.end))[0][1:]
    return base, budget, goals, worth


def view(data: dict[str, Any]) -> Any:
    t = data["budgetStatus"]["total"]
    budget = (dec(t["limit"]["amount"]), dec(t["spent"]["amount"]), dec(t["remaining"]["amount"]),
              dec(t["utilization"]))
    goals = [(g["id"], dec(g["target"]["amount"]), dec(g["progress"]["amount"]), dec(g["remaining"]["amount"]),
              dec(g["percent"])) for g in data["goals"]]
    w = data["netWorth"]
    return budget, goals, (dec(w["netWorth"]["amount"]), dec(w["assets"]["amount"]), dec(w["liabilities"]["amount"]))


def floor_same(result: Any) -> Any:
    """The floor's result without the dashboard rows (compared by `dashboard` already)."""
    return result[1:]


def _check(data: dict[str, Any]) -> None:
    expect(len(data["transactions"]["edges"]) == 20, "not 20 latest transactions")
    expect(data["budgetStatus"] is not None and len(data["budgetStatus"]["lines"]) == 12, "no 12-line budget")
    expect(len(data["goals"]) == 3, "not 3 goals")
    expect(bool(data["netWorth"]["netWorth"]["amount"]), "no net worth")


def scenario(tier: str = "10k") -> Scenario:
    return Scenario(
        name=f"dashboard_full_{tier}", title=f"Dashboard + budget status, goals, net worth ({tier} transactions/user)",
        tier=tier, florin_query=QUERY, florin_vars=dashboard_vars, florin_check=_check, floor=floor,
        statement_vars={"dashboard": dashboard_vars}, same=agreeing(view, floor_same),
    )
