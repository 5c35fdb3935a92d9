"""`budgetStatus` of a 50-line monthly budget: limit, spent, remaining and utilization per line and in total.

Every user of the tier has the budget "Every category" (bench/data/planning.py: one line per EXPENSE
category, 41 built-in and 9 custom); each request asks for a month somewhere in the last year of the user's
history (`on` moves with the request). The floor computes the same figures with one SQL statement (lines,
the categories each line covers, the period's expense lines with split transactions counted by their split
lines and linked transfers left out) plus Decimal arithmetic; `same` checks it agrees with Florin.
No PostGraphile baseline: the status is an aggregate with period and cover rules PostGraphile does not
have without writing the same SQL as a database function.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bench.scenarios.base import Scenario, expect
from bench.scenarios.figures import agreeing, dec, gid, money
from bench.users import BenchUser, mix

BUDGET = "budget:Every category"
LINES = 50

QUERY = """
query BudgetStatus($id: ID!, $on: Date) {
  budgetStatus(budgetId: $id, on: $on) {
    periodStart periodEnd daysElapsed daysLeft
    lines {
      category { id name }
      limit { amount currency } spent { amount currency } remaining { amount } utilization overBudget
    }
    total { limit { amount currency } spent { amount } remaining { amount } utilization }
  }
}"""

FLOOR_SQL = """
with l as (
    select id, category_id, limit_amount, position from budget_lines where user_id = $1 and budget_id = $2
),
cover as (  -- a line counts its category and the children that have no line of their own
    select l.id as line_id, c.id as category_id from l
    join categories c on c.user_id = $1 and (c.id = l.category_id or (c.parent_id = l.category_id
        and not exists (select 1 from l own where own.category_id = c.id)))
),
items as (
    select case when t.has_splits then s.category_id else t.category_id end as category_id,
           coalesce(s.amount, t.amount) as amount, t.currency
    from transactions t
    left join transaction_splits s on t.has_splits and s.transaction_id = t.id
    where t.user_id = $1 and t.transfer_id is null and t.booked_on >= $3 and t.booked_on < $4
),
spent as (
    select cv.line_id, -sum(i.amount) as spent, bool_and(i.currency = b.currency) as same_currency
    from cover cv join items i on i.category_id = cv.category_id cross join budgets b
    where b.id = $2
    group by cv.line_id
)
select l.category_id, l.limit_amount, coalesce(spent.spent, 0) as spent, coalesce(spent.same_currency, true) as ok,
       b.currency
from l join budgets b on b.id = $2 left join spent on spent.line_id = l.id
order by l.position, l.id"""


def _on(user: BenchUser, i: int) -> dt.date:
    return user.end - dt.timedelta(days=mix(user, i, 365))


def _month(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    return start, (start + dt.timedelta(days=32)).replace(day=1)


def status_vars(user: BenchUser, i: int) -> dict[str, Any]:
    return {"id": gid("Budget", user.ids[BUDGET]), "on": _on(user, i).isoformat()}


def _utilization(spent: Decimal, available: Decimal) -> Decimal | None:
    return (spent * 100 / available).quantize(Decimal("0.01"), ROUND_HALF_EVEN) if available > 0 else None


async def floor(conn: Any, user: BenchUser, i: int) -> Any:
    start, end = _month(_on(user, i))
    rows = await conn.fetch(FLOOR_SQL, user.id, user.ids[BUDGET], start, end)
    currency = rows[0]["currency"].strip()
    lines = []
    total_limit = total_spent = Decimal(0)
    for r in rows:
        if not r["ok"]:
            raise AssertionError("spending in another currency: the floor does not convert")
        limit, spent = r["limit_amount"], r["spent"]
        total_limit += limit
        total_spent += spent
        lines.append((gid("Category", r["category_id"]), money(limit, currency), money(spent, currency),
                      money(limit - spent, currency), _utilization(spent, limit)))
    total = (money(total_limit, currency), money(total_spent, currency), money(total_limit - total_spent, currency),
             _utilization(total_spent, total_limit))
    return start, lines, total


def view(data: dict[str, Any]) -> Any:
    s = data["budgetStatus"]
    lines = [(x["category"]["id"], dec(x["limit"]["amount"]), dec(x["spent"]["amount"]),
              dec(x["remaining"]["amount"]), dec(x["utilization"])) for x in s["lines"]]
    t = s["total"]
    total = (dec(t["limit"]["amount"]), dec(t["spent"]["amount"]), dec(t["remaining"]["amount"]),
             dec(t["utilization"]))
    return dt.date.fromisoformat(s["periodStart"]), lines, total


def _check(data: dict[str, Any]) -> None:
    s = data["budgetStatus"]
    expect(s is not None and len(s["lines"]) == LINES, "not the 50-line budget")


def scenario(tier: str = "10k") -> Scenario:
    return Scenario(
        name=f"budget_status_{tier}", title=f"budgetStatus: 50 lines, one month ({tier} transactions/user)",
        tier=tier, florin_query=QUERY, florin_vars=status_vars, florin_check=_check, floor=floor,
        statement_vars={"50 lines": status_vars}, same=agreeing(view),
    )
