"""The dashboard a PWA opens: me, accounts with balances, the 20 latest transactions with account and category.

When budgets, goals and net worth land, add their fields to DASHBOARD (budgetStatus of the current
period, goals with progress, netWorth) and the matching rows to `floor`; the scenario stays one request.
"""

from __future__ import annotations

from typing import Any

from bench.scenarios.base import Scenario, expect
from bench.users import BenchUser

DASHBOARD = """
query Dashboard {
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
}"""

PGL_DASHBOARD = """
query Dashboard {
  me: currentFlorinUser { id email name baseCurrency timeZone }
  accounts: allAccounts(condition: {archived: false}, orderBy: [NAME_ASC, ID_ASC], first: 50) {
    edges { node { id name kind classification currency institution mask currentBalance } }
  }
  transactions: allTransactions(orderBy: [BOOKED_ON_DESC, ID_DESC], first: 20) {
    edges { node {
      id bookedOn amount currency description merchant status
      account: accountByUserIdAndAccountId { id name }
      category: categoryByCategoryId { id name icon color parent: categoryByParentId { id name } }
    } }
  }
}"""

ME_SQL = "select id, email, name, base_currency, time_zone from users where id = $1"
ACCOUNTS_SQL = """
select id, name, kind, classification, currency, institution, mask, current_balance
from accounts where user_id = $1 and not archived order by name, id limit 51"""
LATEST_SQL = """
select t.id, t.booked_on, t.amount, t.currency, t.description, t.merchant, t.status,
       a.id, a.name, c.id, c.name, c.icon, c.color, p.id, p.name
from transactions t
join accounts a on a.id = t.account_id
left join categories c on c.id = t.category_id
left join categories p on p.id = c.parent_id
where t.user_id = $1
order by t.booked_on desc, t.id desc limit 21"""


def _no_vars(user: BenchUser, i: int) -> dict[str, Any]:
    return {}


def _check(data: dict[str, Any]) -> None:
    expect(bool(data["me"]["id"]), "no me")
    expect(len(data["accounts"]["edges"]) >= 4, "accounts missing")
    expect(len(data["transactions"]["edges"]) == 20, "not 20 latest transactions")


async def floor(conn: Any, user: BenchUser, i: int) -> Any:
    me = await conn.fetchrow(ME_SQL, user.id)
    accounts = await conn.fetch(ACCOUNTS_SQL, user.id)
    latest = await conn.fetch(LATEST_SQL, user.id)
    return me, accounts, latest


def scenario(tier: str = "10k") -> Scenario:
    return Scenario(
        name=f"dashboard_{tier}", title=f"Dashboard ({tier} transactions/user)",
        tier=tier, florin_query=DASHBOARD, florin_vars=_no_vars, florin_check=_check, floor=floor,
        pgl_query=PGL_DASHBOARD, pgl_vars=_no_vars, pgl_check=_check, statement_vars={"dashboard": _no_vars},
    )
