"""The demo data: written through the services, plausible, exact to the cent, and loaded only once."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.config import Settings
from app.demo import load_demo
from app.demo_data import TransactionSpec, TransferSpec, build_plan
from app.graphql.node import from_global_id
from tests.support import GraphQLClient

LOGIN = """mutation($input: AuthLoginInput!) { authLogin(input: $input) {
  accessToken user { id email timeZone } errors { field code } } }"""
ACCOUNTS = """{ accounts(first: 100) { totalCount edges { node {
  id name kind classification currency openingBalance { amount } openingDate balance { amount currency } } } } }"""
ACCOUNT_TRANSACTIONS = """query($id: ID!) { transactions(filter: {accountIds: [$id]}, first: 100) {
  totalCount edges { node { id amount { amount } isTransfer category { name }
    transferPeer { isTransfer amount { amount } account { kind } transferPeer { id } } } } } }"""
SPLIT_TRANSACTIONS = """{ transactions(filter: {search: "REWE"}, first: 100) { edges { node {
  amount { amount } category { name } splits { amount { amount } category { name } } } } } }"""


async def _login(gql: GraphQLClient, settings: Settings) -> str:
    payload = (await gql(LOGIN, {"input": {"email": settings.demo_email,
                                           "password": settings.demo_password.get_secret_value()}})).ok()["authLogin"]
    assert payload["errors"] == [] and payload["user"]["timeZone"] == "Europe/Berlin"
    return str(payload["accessToken"])


async def _rows(resources: Any, sql: str, **params: Any) -> list[Any]:
    async with resources.engine.connect() as conn:
        return list((await conn.execute(sa.text(sql), params)).all())


async def _counts(resources: Any, user_id: uuid.UUID) -> dict[str, int]:
    counts = {}
    for table in ("accounts", "transactions", "transaction_splits", "categories"):
        rows = await _rows(resources, f"SELECT count(*) FROM {table} WHERE user_id = :u", u=user_id)
        counts[table] = rows[0][0]
    counts["users"] = (await _rows(resources, "SELECT count(*) FROM users"))[0][0]
    return counts


def _uuid(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def test_demo_user_gets_two_years_of_exact_plausible_data_once(
        settings: Settings, resources: Any, gql: GraphQLClient) -> None:
    # given: an empty database
    # when
    started = time.perf_counter()
    await load_demo(settings)
    seconds = time.perf_counter() - started
    print(f"load_demo took {seconds:.2f} s")
    # then: the demo user signs in with the configured password
    token = await _login(gql, settings)
    assert seconds < 60
    # accounts of several kinds and currencies; what is owed is negative
    data = (await gql(ACCOUNTS, token=token)).ok()["accounts"]
    accounts = {_uuid(e["node"]["id"]): e["node"] for e in data["edges"]}
    assert data["totalCount"] == len(accounts) >= 5
    kinds = {a["kind"] for a in accounts.values()}
    assert {"CHECKING", "SAVINGS", "CREDIT_CARD", "CASH"} <= kinds and kinds & {"LOAN", "MORTGAGE"}
    assert len({a["currency"] for a in accounts.values()}) >= 2
    for a in accounts.values():
        if a["kind"] in ("CREDIT_CARD", "LOAN", "MORTGAGE"):
            assert a["classification"] == "LIABILITY" and Decimal(a["balance"]["amount"]) < 0, a
        assert a["balance"]["currency"] == a["currency"]
    user_id = (await _rows(resources, "SELECT id FROM users WHERE email = :e", e=settings.demo_email))[0][0]
    rows = await _rows(resources, "SELECT id, account_id, amount, booked_on, category_id, transfer_id, has_splits "
                                  "FROM transactions WHERE user_id = :u", u=user_id)
    # every balance is the opening balance plus the exact sum of the account's amounts
    sums: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for row in rows:
        assert isinstance(row.amount, Decimal) and row.amount == row.amount.quantize(Decimal("0.01"))
        sums[row.account_id] += row.amount
    # the apartment has no transactions: its balance is its latest valuation
    valued = {i for i, a in accounts.items() if a["kind"] == "PROPERTY"}
    assert len(valued) == 1 and accounts[next(iter(valued))]["balance"]["amount"] == "342000.00"
    assert set(sums) == set(accounts) - valued
    for account_id, a in accounts.items():
        if account_id not in valued:
            assert Decimal(a["balance"]["amount"]) == Decimal(a["openingBalance"]["amount"]) + sums[account_id], a
    # two years of them, up to today in Berlin
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    assert len(rows) >= 1000
    days = [row.booked_on for row in rows]
    assert (max(days) - min(days)).days >= 700 and max(days) <= today
    assert {a["openingDate"] for a in accounts.values()} == {build_plan(today).start.isoformat()}
    # every transaction that is not a transfer has one of the user's own categories
    own = {r[0] for r in await _rows(resources, "SELECT id FROM categories WHERE user_id = :u", u=user_id)}
    assert all(row.category_id in own for row in rows if row.transfer_id is None)
    # transfers come in linked pairs of opposite signs
    by_id = {row.id: row for row in rows}
    transfers = [row for row in rows if row.transfer_id is not None]
    assert len(transfers) >= 6
    for leg in transfers:
        peer = by_id[leg.transfer_id]
        assert peer.transfer_id == leg.id and peer.account_id != leg.account_id
        assert (leg.amount < 0) != (peer.amount < 0)
    # ... and the API marks both legs: mortgage payments come from checking
    mortgage = next(i for i, a in accounts.items() if a["kind"] in ("MORTGAGE", "LOAN"))
    page = (await gql(ACCOUNT_TRANSACTIONS, {"id": accounts[mortgage]["id"]}, token=token)).ok()["transactions"]
    payments = [e["node"] for e in page["edges"] if e["node"]["isTransfer"]]
    assert len(payments) >= 3
    for leg in payments:
        assert Decimal(leg["amount"]["amount"]) > 0 and leg["category"] is None
        peer = leg["transferPeer"]
        assert peer["isTransfer"] and peer["account"]["kind"] == "CHECKING" and peer["transferPeer"]["id"] == leg["id"]
        assert Decimal(peer["amount"]["amount"]) == -Decimal(leg["amount"]["amount"])
    # split transactions: categorized lines that sum exactly to the amount
    lines = await _rows(resources, "SELECT transaction_id, amount, category_id FROM transaction_splits "
                                   "WHERE user_id = :u", u=user_id)
    split_sums: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for line in lines:
        assert line.category_id in own
        split_sums[line.transaction_id] += line.amount
    assert len(split_sums) >= 2
    assert {row.id for row in rows if row.has_splits} == set(split_sums)
    assert all(by_id[i].amount == total for i, total in split_sums.items())
    api_splits = [e["node"] for e in (await gql(SPLIT_TRANSACTIONS, token=token)).ok()["transactions"]["edges"]
                  if e["node"]["splits"]]
    assert api_splits and {s["category"]["name"] for n in api_splits for s in n["splits"]} >= {"Groceries", "Household"}
    for node in api_splits:
        assert sum(Decimal(s["amount"]["amount"]) for s in node["splits"]) == Decimal(node["amount"]["amount"])
    # the checking account ends every day in credit
    checking = next(i for i, a in accounts.items() if a["kind"] == "CHECKING" and a["currency"] == "EUR")
    per_day: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.account_id == checking:
            per_day[row.booked_on] += row.amount
    running = Decimal(accounts[checking]["openingBalance"]["amount"])
    for day in sorted(per_day):
        running += per_day[day]
        assert running > 0, day
    # the planning figures a newcomer opens are all filled
    await _check_planning(gql, token, accounts, today)
    # when: loading again
    before = await _counts(resources, user_id)
    await load_demo(settings)
    # then: nothing is added
    assert await _counts(resources, user_id) == before
    assert before["accounts"] == len(accounts) and before["transactions"] == len(rows) and before["users"] == 1


PLANNING = """query($budgetId: ID!, $from: Date!, $to: Date!) {
  budgetStatus(budgetId: $budgetId) { periodStart lines { category { name } limit { amount } spent { amount } }
    total { limit { amount currency } spent { amount } } unconverted { amount } }
  goals { name kind status progress { amount currency } target { amount } accounts { id } }
  netWorth(currency: "EUR") { netWorth { amount currency } assets { amount } liabilities { amount }
    conversions { from to rate rateDay } unconverted { amount currency } }
  netWorthHistory(from: $from, to: $to, interval: MONTH, currency: "EUR") { points { on netWorth { amount } unconverted { amount } } }
  exchangeRates(base: "USD", quote: "EUR") { rate day }
}"""


async def _check_planning(gql: GraphQLClient, token: str, accounts: dict[uuid.UUID, Any], today: dt.date) -> None:
    budgets = (await gql("{ budgets { id name period lines { category { name } } } }", token=token)).ok()["budgets"]
    assert [(b["name"], b["period"], len(b["lines"])) for b in budgets] == [("Monthly budget", "MONTHLY", 5)]
    start = today.replace(day=1)
    data = (await gql(PLANNING, {"budgetId": budgets[0]["id"], "from": (today - dt.timedelta(days=365)).isoformat(),
                                 "to": today.isoformat()}, token=token)).ok()
    status = data["budgetStatus"]
    # this month's budget: five lines summing to the total limit, something already spent unless it is the 1st
    assert status["periodStart"] == start.isoformat() and status["unconverted"] == []
    limits = [Decimal(line["limit"]["amount"]) for line in status["lines"]]
    assert sum(limits) == Decimal(status["total"]["limit"]["amount"]) == Decimal("1110.00")
    if today.day > 3:
        assert Decimal(status["total"]["spent"]["amount"]) > 0
    # goals: the emergency fund follows the savings account's balance; the trip fund holds nine 150.00
    goals = {g["name"]: g for g in data["goals"]}
    savings = next(a for a in accounts.values() if a["kind"] == "SAVINGS")
    fund = goals["Emergency fund"]
    assert fund["accounts"] == [{"id": savings["id"]}]
    assert fund["progress"] == {"amount": savings["balance"]["amount"], "currency": "EUR"}
    assert goals["Lisbon in spring"]["progress"] == {"amount": "1350.00", "currency": "EUR"}
    # net worth: EUR balances plus the USD account at the latest USD rate, nothing unconverted
    worth = data["netWorth"]
    latest = max(data["exchangeRates"], key=lambda r: r["day"])
    usd = next(a for a in accounts.values() if a["currency"] == "USD")
    expected = sum((Decimal(a["balance"]["amount"]) for a in accounts.values() if a["currency"] == "EUR"), Decimal(0))
    expected += (Decimal(usd["balance"]["amount"]) * Decimal(latest["rate"])).quantize(Decimal("0.01"))
    assert worth["unconverted"] == [] and Decimal(worth["netWorth"]["amount"]) == expected
    assert [(c["from"], c["to"], c["rate"]) for c in worth["conversions"]] == [("USD", "EUR", latest["rate"])]
    assert Decimal(worth["liabilities"]["amount"]) > 150000  # mostly the mortgage
    # a year of monthly history, every point converted
    points = data["netWorthHistory"]["points"]
    assert len(points) >= 12 and all(p["unconverted"] == [] for p in points)
    assert points[-1]["netWorth"]["amount"] == worth["netWorth"]["amount"]


async def test_a_demo_user_without_accounts_gets_the_data_up_to_the_given_day(
        settings: Settings, resources: Any, gql: GraphQLClient) -> None:
    # given: the demo user registered by an earlier version, without data
    await gql.register(email=settings.demo_email, password=settings.demo_password.get_secret_value(),
                       timeZone="Europe/Berlin")
    # when
    await load_demo(settings, today=dt.date(2025, 3, 1))
    # then: exactly the planned rows, ending on that day
    plan = build_plan(dt.date(2025, 3, 1))
    planned = sum(1 if isinstance(op, TransactionSpec) else 2 for op in plan.operations)
    user_id = (await _rows(resources, "SELECT id FROM users WHERE email = :e", e=settings.demo_email))[0][0]
    first, last, count = (await _rows(resources, "SELECT min(booked_on), max(booked_on), count(*) FROM transactions "
                                                 "WHERE user_id = :u", u=user_id))[0]
    assert (first, last, count) == (dt.date(2023, 3, 2), dt.date(2025, 3, 1), planned)
    balances = {r.name: r.current_balance for r in await _rows(
        resources, "SELECT name, current_balance FROM accounts WHERE user_id = :u", u=user_id)}
    expected = plan.balances()
    assert balances == {spec.name: expected[spec.key] for spec in plan.accounts} | {"Apartment": Decimal("342000.00")}
    # and insights about that day's data (the data is deterministic, so these are too)
    kinds = [r.kind for r in await _rows(resources, "SELECT kind FROM insights WHERE user_id = :u ORDER BY kind",
                                         u=user_id)]
    assert kinds == ["BUDGET_AT_RISK", "LARGE_TRANSACTION", "LARGE_TRANSACTION", "LARGE_TRANSACTION",
                     "NET_WORTH_MILESTONE", "SAVINGS_RATE_CHANGE"]


def test_the_plan_is_deterministic_exact_and_chronological() -> None:
    # when
    plan = build_plan(dt.date(2026, 4, 25))
    # then
    assert plan == build_plan(dt.date(2026, 4, 25))
    assert plan.operations != build_plan(dt.date(2026, 4, 25), seed=7).operations
    assert plan.start == dt.date(2024, 4, 25) and build_plan(dt.date(2028, 2, 29)).start == dt.date(2026, 2, 28)
    days = [op.day for op in plan.operations]
    assert days == sorted(days) and days[0] > plan.start and days[-1] <= plan.today
    rows = 0
    for op in plan.operations:
        amounts = [op.amount] + ([op.to_amount] if isinstance(op, TransferSpec) and op.to_amount else [])
        if isinstance(op, TransactionSpec):
            amounts += [line.amount for line in op.splits]
            assert not op.splits or sum(line.amount for line in op.splits) == op.amount
            rows += 1
        else:
            assert op.amount > 0 and op.source != op.target
            rows += 2
        assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts), op
    assert 1500 <= rows <= 2500
    final = plan.balances()
    assert final["card"] < 0 and final["mortgage"] < 0 and final["checking"] > 0
