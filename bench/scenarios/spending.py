"""`spending` over a year by category: amount, share and transaction count per category and currency.

The window is the 365 days ending somewhere in the last year of the user's history (it moves with the
request). The floor is one SQL statement over the same "lines" (split transactions by their split lines,
linked transfers and TRANSFER-kind categories left out, uncategorized lines spending when negative) plus
the totals and shares in Python; `same` checks it agrees with Florin. No PostGraphile baseline: an
aggregate over split lines would be a database function, not PostGraphile's generated schema.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bench.scenarios.base import Scenario, expect
from bench.scenarios.figures import agreeing, dec, gid, money
from bench.users import BenchUser, mix

QUERY = """
query Spending($from: Date!, $to: Date!) {
  spending(from: $from, to: $to, groupBy: CATEGORY) {
    groups { label category { id name } amount { amount currency } share transactionCount }
    totals { amount currency }
  }
}"""

FLOOR_SQL = """
with lines as (
    select t.id, t.currency, case when t.has_splits then s.category_id else t.category_id end as category_id,
           coalesce(s.amount, t.amount) as amount
    from transactions t
    left join transaction_splits s on t.has_splits and s.transaction_id = t.id
    where t.user_id = $1 and t.booked_on between $2 and $3 and t.transfer_id is null
)
select l.category_id, c.name, l.currency, -sum(l.amount) as amount, count(distinct l.id) as n
from lines l left join categories c on c.id = l.category_id
where coalesce(c.kind, case when l.amount < 0 then 'EXPENSE' else 'INCOME' end) = 'EXPENSE'
group by l.category_id, c.name, l.currency"""

DAYS = 365


def window(user: BenchUser, i: int) -> tuple[dt.date, dt.date]:
    end = user.end - dt.timedelta(days=mix(user, i, 365))
    return end - dt.timedelta(days=DAYS - 1), end


def spending_vars(user: BenchUser, i: int) -> dict[str, Any]:
    start, end = window(user, i)
    return {"from": start.isoformat(), "to": end.isoformat()}


async def floor(conn: Any, user: BenchUser, i: int) -> Any:
    start, end = window(user, i)
    rows = await conn.fetch(FLOOR_SQL, user.id, start, end)
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r["currency"]] = totals.get(r["currency"], Decimal(0)) + r["amount"]
    out = set()
    for r in rows:
        currency, total = r["currency"].strip(), totals[r["currency"]]
        share = (r["amount"] / total).quantize(Decimal("0.0001"), ROUND_HALF_EVEN) if total else None
        category = gid("Category", r["category_id"]) if r["category_id"] else None
        out.add((category, r["name"] or "Uncategorized", currency, money(r["amount"], currency), share, r["n"]))
    return out, {(c.strip(), money(t, c)) for c, t in totals.items()}


def view(data: dict[str, Any]) -> Any:
    s = data["spending"]
    groups = {((g["category"] or {}).get("id"), g["label"], g["amount"]["currency"], dec(g["amount"]["amount"]),
               dec(g["share"]), g["transactionCount"]) for g in s["groups"]}
    return groups, {(t["currency"], dec(t["amount"])) for t in s["totals"]}


def _check(data: dict[str, Any]) -> None:
    groups = data["spending"]["groups"]
    expect(len(groups) >= 10, f"only {len(groups)} spending groups over a year")


def scenario(tier: str = "10k") -> Scenario:
    return Scenario(
        name=f"spending_{tier}", title=f"spending: a year by category ({tier} transactions/user)", tier=tier,
        florin_query=QUERY, florin_vars=spending_vars, florin_check=_check, floor=floor,
        statement_vars={"a year": spending_vars}, same=agreeing(view),
    )
