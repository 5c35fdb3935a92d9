"""`netWorthHistory` by day over ten years for a user with 20 accounts in seven currencies.

The users of the "10y" tier (bench/data/planning.py: 7 standard + 13 extra accounts, ten years of history,
daily end-of-day balances filled by Florin's own SQL) are asked for 3,653 daily points ending somewhere in
the last two months of their history. Every point converts each currency's positive and negative balance
sums into the base currency with the ECB rate of that day or the latest earlier one (through EUR when
neither side is EUR).

The floor does the same in one SQL statement: balances summed per day and currency, the reference rates
carried forward over the days, the cross rates rounded to 10 places as Florin's rate book does; only the
final half-even rounding to the currency's minor units happens in Python. It reads reference rates only
(the bench has no manual rates). `same` checks every point agrees with Florin. No PostGraphile baseline: a
converted daily history is not something its generated schema answers without a custom function.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bench.scenarios.base import Scenario, expect
from bench.scenarios.figures import agreeing, dec, money
from bench.users import BenchUser, mix

TIER = "10y"
DAYS = 3653  # ten years of daily points, the end day included

QUERY = """
query NetWorthHistory($from: Date!, $to: Date) {
  netWorthHistory(from: $from, to: $to, interval: DAY) {
    currency
    points { on netWorth { amount currency } assets { amount } liabilities { amount } }
  }
}"""

# $1 user, $2 first day, $3 last day: (day, target currency, assets, liabilities) unrounded, days with balances
FLOOR_SQL = """
with me as (select base_currency as target from users where id = $1),
days as (select d::date as day from generate_series($2::date, $3::date, interval '1 day') as d),
sums as (
    select b.day, a.currency, sum(b.balance) filter (where b.balance > 0) as pos,
           sum(b.balance) filter (where b.balance < 0) as neg
    from balances b join accounts a on a.id = b.account_id and a.user_id = $1
    where b.user_id = $1 and b.day between $2 and $3
    group by b.day, a.currency
),
quotes as (select distinct currency as quote from sums union select target from me),
known as (  -- EUR -> quote reference rates after the first day, and the latest one on or before it
    select e.quote, e.day, e.rate from exchange_rates e
    where e.user_id is null and e.base = 'EUR' and e.quote in (select quote from quotes) and e.day > $2
      and e.day <= $3
    union all
    select r.quote, $2::date, r.rate from (
        select distinct on (e.quote) e.quote, e.rate from exchange_rates e
        where e.user_id is null and e.base = 'EUR' and e.quote in (select quote from quotes) and e.day <= $2
        order by e.quote, e.day desc) as r
),
dense as (
    select d.day, q.quote, k.rate, count(k.rate) over (partition by q.quote order by d.day) as grp
    from days d cross join (select quote from quotes where quote <> 'EUR') as q
    left join known k on k.quote = q.quote and k.day = d.day
),
fx as (select day, quote, first_value(rate) over (partition by quote, grp order by day) as rate from dense)
select s.day, me.target, sum(s.pos * r.rate) as assets, -sum(s.neg * r.rate) as liabilities
from sums s cross join me
left join fx c on c.quote = s.currency and c.day = s.day
left join fx t on t.quote = me.target and t.day = s.day
cross join lateral (select case
    when s.currency = me.target then 1
    when s.currency = 'EUR' then t.rate
    when me.target = 'EUR' then round(1::numeric(40, 30) / c.rate, 10)
    else round(round(1::numeric(40, 30) / c.rate, 10) * t.rate, 10) end as rate) as r
group by s.day, me.target
order by s.day"""


def window(user: BenchUser, i: int, days: int = DAYS) -> tuple[dt.date, dt.date]:
    end = user.end - dt.timedelta(days=mix(user, i, 60))
    return end - dt.timedelta(days=days - 1), end


def history_vars(user: BenchUser, i: int) -> dict[str, Any]:
    start, end = window(user, i)
    return {"from": start.isoformat(), "to": end.isoformat()}


async def figures(conn: Any, user: BenchUser, start: dt.date, end: dt.date) -> list[tuple[Any, ...]]:
    """(day, net worth, assets, liabilities) for every day of [start, end], rounded as Florin shows them."""
    rows = await conn.fetch(FLOOR_SQL, user.id, start, end)
    target = rows[0]["target"].strip() if rows else ""
    found = {r["day"]: (money(r["assets"] or Decimal(0), target), money(r["liabilities"] or Decimal(0), target))
             for r in rows}
    out = []
    day = start
    while day <= end:
        assets, liabilities = found.get(day, (Decimal(0), Decimal(0)))
        out.append((day, assets - liabilities, assets, liabilities))
        day += dt.timedelta(days=1)
    return out


async def floor(conn: Any, user: BenchUser, i: int) -> Any:
    return await figures(conn, user, *window(user, i))


def view(data: dict[str, Any]) -> Any:
    return [(dt.date.fromisoformat(p["on"]), dec(p["netWorth"]["amount"]), dec(p["assets"]["amount"]),
             dec(p["liabilities"]["amount"])) for p in data["netWorthHistory"]["points"]]


def _check(data: dict[str, Any]) -> None:
    points = data["netWorthHistory"]["points"]
    expect(len(points) == DAYS, f"{len(points)} points, not {DAYS}")


def scenario(tier: str = TIER) -> Scenario:
    return Scenario(
        name=f"networth_history_{TIER}", title="netWorthHistory: 20 accounts, 10 years by DAY (3,653 points)",
        tier=TIER, florin_query=QUERY, florin_vars=history_vars, florin_check=_check, floor=floor,
        statement_vars={"10 years by day": history_vars}, same=agreeing(view),
        max_concurrency=4,  # a request takes about a second: 16 in flight would finish none in a short window
    )
