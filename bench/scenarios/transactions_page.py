"""A transactions page with filters, as a list view asks for it: 50 rows with account and category.

Two shapes: `page` filters by one account and a 90-day window somewhere in the user's history (the
window moves with every request); `search` looks for a merchant word over the whole history. Both exist
at 10k transactions per user and, with the big tier loaded, at 1M.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.scenarios.base import Scenario, Vars, expect
from bench.users import BenchUser, mix

PAGE = """
query Page($filter: TransactionFilter, $first: Int!) {
  transactions(first: $first, filter: $filter) {
    edges { cursor node {
      id bookedOn amount { amount currency } description merchant status tags
      account { id name }
      category { id name parent { id name } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""

PGL_PAGE = """
query Page($accountIds: [UUID], $dateFrom: Date, $dateTo: Date, $term: String, $first: Int!) {
  transactions: transactionsPage(accountIds: $accountIds, dateFrom: $dateFrom, dateTo: $dateTo, term: $term,
                                 first: $first) {
    edges { cursor node {
      id bookedOn amount currency description merchant status tags
      account: accountByUserIdAndAccountId { id name }
      category: categoryByCategoryId { id name parent: categoryByParentId { id name } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""

_SELECT = """
select t.id, t.booked_on, t.amount, t.currency, t.description, t.merchant, t.status, t.tags,
       a.id, a.name, c.id, c.name, p.id, p.name
from transactions t
join accounts a on a.id = t.account_id
left join categories c on c.id = t.category_id
left join categories p on p.id = c.parent_id
"""
PAGE_SQL = _SELECT + """where t.user_id = $1 and t.account_id = $2 and t.booked_on >= $3
  and t.booked_on <= $4
order by t.booked_on desc, t.id desc limit $5"""
SEARCH_SQL = _SELECT + """where t.user_id = $1 and t.search @@ to_tsquery('simple'::regconfig, $2)
order by t.booked_on desc, t.id desc limit $3"""

WINDOW = 90
PAGE_SIZE = 50
ACCOUNTS = ("checking", "card")
WORDS = ("rewe", "amazon", "starbucks", "uber", "lidl", "netflix", "ikea", "apotheke", "shell", "bvg", "edeka",
         "lieferando")


def window(user: BenchUser, i: int) -> tuple[str, dt.date, dt.date]:
    account = ACCOUNTS[mix(user, i, len(ACCOUNTS))]
    end = user.start + dt.timedelta(days=WINDOW + mix(user, i + 7, max(1, user.span_days - WINDOW)))
    return account, end - dt.timedelta(days=WINDOW), end


def page_vars(first: int = PAGE_SIZE) -> Vars:
    def build(user: BenchUser, i: int) -> dict[str, Any]:
        account, start, end = window(user, i)
        return {"first": first, "filter": {"accountIds": [user.account_gids[account]], "from": start.isoformat(),
                                           "to": end.isoformat()}}

    return build


def pgl_page_vars(user: BenchUser, i: int) -> dict[str, Any]:
    account, start, end = window(user, i)
    return {"first": PAGE_SIZE, "accountIds": [str(user.accounts[account])], "dateFrom": start.isoformat(),
            "dateTo": end.isoformat()}


async def page_floor(conn: Any, user: BenchUser, i: int) -> Any:
    account, start, end = window(user, i)
    return await conn.fetch(PAGE_SQL, user.id, user.accounts[account], start, end, PAGE_SIZE + 1)


def search_vars(first: int = PAGE_SIZE) -> Vars:
    def build(user: BenchUser, i: int) -> dict[str, Any]:
        return {"first": first, "filter": {"search": WORDS[mix(user, i, len(WORDS))]}}

    return build


def pgl_search_vars(user: BenchUser, i: int) -> dict[str, Any]:
    return {"first": PAGE_SIZE, "term": f"{WORDS[mix(user, i, len(WORDS))]}:*"}


async def search_floor(conn: Any, user: BenchUser, i: int) -> Any:
    return await conn.fetch(SEARCH_SQL, user.id, f"{WORDS[mix(user, i, len(WORDS))]}:*", PAGE_SIZE + 1)


def _check(data: dict[str, Any]) -> None:
    edges = data["transactions"]["edges"]
    expect(0 < len(edges) <= PAGE_SIZE, f"page of {len(edges)} rows")
    expect("account" in edges[0]["node"], "no account")


def page(tier: str = "10k") -> Scenario:
    return Scenario(
        name=f"page_{tier}", title=f"Transactions page: account + 90 days, 50 rows ({tier}/user)", tier=tier,
        florin_query=PAGE, florin_vars=page_vars(), florin_check=_check, floor=page_floor,
        pgl_query=PGL_PAGE, pgl_vars=pgl_page_vars, pgl_check=_check,
        statement_vars={f"first {n}": page_vars(n) for n in (10, 50, 100)},
    )


def search(tier: str = "10k") -> Scenario:
    return Scenario(
        name=f"search_{tier}", title=f"Transactions page: search a merchant word, 50 rows ({tier}/user)",
        tier=tier, florin_query=PAGE, florin_vars=search_vars(), florin_check=_check, floor=search_floor,
        pgl_query=PGL_PAGE, pgl_vars=pgl_search_vars, pgl_check=_check,
        statement_vars={f"first {n}": search_vars(n) for n in (10, 50, 100)},
        # a prepared statement switches to a generic plan after five runs, which cannot see how rare the
        # word is; planning each search for its word is what the cheapest plain-asyncpg client would do
        floor_settings={"plan_cache_mode": "force_custom_plan"},
    )
