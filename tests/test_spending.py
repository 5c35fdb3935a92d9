"""`spending`: hand-worked figures for a month with refunds, a transfer, a split, foreign currencies converted at
each day's rate (or an earlier day's), a missing rate, per-currency groups, and constant statement counts."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id
from tests.ledger import TRANSFER, account, category_id, create
from tests.support import GraphQLClient, assert_max_queries, count_queries

SPENDING = """query($from: Date!, $to: Date!, $groupBy: SpendingGroupBy! = CATEGORY, $currency: String,
                    $rollUp: Boolean! = false) {
  spending(from: $from, to: $to, groupBy: $groupBy, currency: $currency, rollUp: $rollUp) {
    from to groupBy rollUp currency
    groups { label category { name parent { name } } merchant account { name } month
             amount { amount currency } share transactionCount }
    totals { amount currency }
    conversions { from to rate rateDay exact }
    unconverted { amount currency }
  } }"""

# the kinds of the built-in categories the scenario uses, written out by hand
KINDS = {"Salary": "INCOME", "Refunds": "INCOME", "Rent": "EXPENSE", "Groceries": "EXPENSE",
         "Restaurants": "EXPENSE", "Clothing": "EXPENSE", "Household": "EXPENSE", "Credit card payment": "TRANSFER"}
PARENTS = {"Salary": "Income", "Refunds": "Income", "Rent": "Housing", "Groceries": "Food & drink",
           "Restaurants": "Food & drink", "Clothing": "Shopping", "Household": "Shopping"}


@dataclass
class Tx:
    account: str
    day: str
    amount: str
    category: str | None = None
    merchant: str | None = None
    splits: list[tuple[str, str]] = field(default_factory=list)


# November 2026 of a user whose base currency is EUR (plus a row on each side of the month)
SCENARIO = [
    Tx("Checking", "2026-11-01", "3000.00", "Salary", "ACME"),
    Tx("Checking", "2026-11-02", "-1000.00", "Rent", "Landlord"),
    Tx("Checking", "2026-11-03", "-80.00", "Groceries", "REWE"),
    Tx("Checking", "2026-11-04", "-120.00", "Clothing", "Zara"),
    Tx("Checking", "2026-11-15", "30.00", "Clothing", "Zara"),  # a refund: lowers Clothing
    Tx("Checking", "2026-11-16", "-15.50"),  # uncategorized money out: spending
    Tx("Checking", "2026-11-17", "25.00"),  # uncategorized money in: income
    # a split: its own category (Restaurants) is ignored, each line counts in its category
    Tx("Checking", "2026-11-18", "-150.00", "Restaurants", "REWE", [("-100.00", "Groceries"), ("-50.00", "Household")]),
    Tx("Checking", "2026-11-19", "12.00", "Refunds"),  # an INCOME category: income, not a refund of spending
    Tx("Checking", "2026-11-21", "-200.00", "Credit card payment"),  # a TRANSFER-kind category: never counts
    Tx("Travel", "2026-11-05", "-50.00", "Restaurants", "Diner"),  # USD at 11-05's rate
    Tx("Travel", "2026-11-12", "-20.00", "Restaurants", "Diner"),  # USD at 11-08's rate (no rate on 11-12)
    Tx("London", "2026-11-06", "-10.00", "Groceries", "Tesco"),  # GBP: no rate the user may use
    Tx("Zurich", "2026-11-07", "-40.00", "Restaurants", "Migros"),  # CHF at the user's own manual rate
    Tx("Checking", "2026-10-31", "-999.00", "Groceries"),  # outside the month
    Tx("Checking", "2026-12-01", "-999.00", "Groceries"),  # outside the month
]
CURRENCIES = {"Checking": "EUR", "Savings": "EUR", "Travel": "USD", "London": "GBP", "Zurich": "CHF"}
NOV = {"from": "2026-11-01", "to": "2026-11-30"}


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def add_rate(resources: Any, base: str, quote: str, day: str, rate: str, user_id: uuid.UUID | None = None) -> None:
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text("""
            INSERT INTO exchange_rates (id, user_id, base, quote, day, rate, source, updated_at)
            VALUES (:id, :user, :base, :quote, :day, :rate, :source, now())"""),
            {"id": uuid.uuid4(), "user": user_id, "base": base, "quote": quote, "day": dt.date.fromisoformat(day),
             "rate": Decimal(rate), "source": "MANUAL" if user_id else "ECB"})


async def month_scenario(gql: GraphQLClient, resources: Any) -> dict[str, Any]:
    """The SCENARIO month through the API, a transfer Checking -> Savings, and the rates."""
    user = await gql.register()
    stranger = await gql.register()
    token = user["token"]
    accounts = {name: await account(gql, token, name, currency=cur) for name, cur in CURRENCIES.items()}
    categories = {name: await category_id(gql, token, name) for name in KINDS}
    for tx in SCENARIO:
        extra: dict[str, Any] = {}
        if tx.category:
            extra["categoryId"] = categories[tx.category]
        if tx.merchant:
            extra["merchant"] = tx.merchant
        if tx.splits:
            extra["splits"] = [{"amount": a, "categoryId": categories[c]} for a, c in tx.splits]
        await create(gql, token, accounts[tx.account]["id"], tx.amount, tx.day, **extra)
    moved = (await gql(TRANSFER, {"input": {"fromAccountId": accounts["Checking"]["id"],
                                            "toAccountId": accounts["Savings"]["id"], "amount": "500.00",
                                            "bookedOn": "2026-11-20"}}, token=token)).ok()["transferCreate"]
    assert moved["errors"] == []
    # reference rates: 1 EUR = 1.25 USD on 11-05 (1 USD = 0.8 EUR), 1.60 on 11-08 (1 USD = 0.625 EUR)
    await add_rate(resources, "EUR", "USD", "2026-11-05", "1.25")
    await add_rate(resources, "EUR", "USD", "2026-11-08", "1.60")
    # the user's own manual rate for CHF; another user's manual GBP rate must never apply to this user
    await add_rate(resources, "CHF", "EUR", "2026-11-07", "0.9", db_id(user["user_id"]))
    await add_rate(resources, "GBP", "EUR", "2026-11-01", "1.15", db_id(stranger["user_id"]))
    return {"user": user, "stranger": stranger, "token": token, "accounts": accounts, "categories": categories}


def share(part: str, total: str) -> str:
    return str((Decimal(part) / Decimal(total)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def group(label: str, amount: str, currency: str, count: int, total: str, parent: str | None = None,
          category: bool = True) -> dict[str, Any]:
    cat = None
    if category and label != "Uncategorized":
        cat = {"name": label, "parent": {"name": parent} if parent else None}
    return {"label": label, "category": cat, "merchant": None, "account": None, "month": None,
            "amount": {"amount": amount, "currency": currency}, "share": share(amount, total),
            "transactionCount": count}


async def test_spending_per_currency_by_category(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    # when: no target currency
    report = (await gql(SPENDING, NOV, token=s["token"])).ok()["spending"]
    # then: one group per category and currency; refunds net, the split per line, transfers left out
    # EUR: Rent 1000; Groceries 80 + 100 (split line); Clothing 120 - 30; Household 50 (split line); 15.50 uncategorized
    eur = "1335.50"
    assert report["groups"] == [
        group("Restaurants", "40.00", "CHF", 1, "40.00", "Food & drink"),
        group("Rent", "1000.00", "EUR", 1, eur, "Housing"),
        group("Groceries", "180.00", "EUR", 2, eur, "Food & drink"),
        group("Clothing", "90.00", "EUR", 2, eur, "Shopping"),
        group("Household", "50.00", "EUR", 1, eur, "Shopping"),
        group("Uncategorized", "15.50", "EUR", 1, eur),
        group("Groceries", "10.00", "GBP", 1, "10.00", "Food & drink"),
        group("Restaurants", "70.00", "USD", 2, "70.00", "Food & drink"),
    ]
    assert report["totals"] == [{"amount": "40.00", "currency": "CHF"}, {"amount": eur, "currency": "EUR"},
                                {"amount": "10.00", "currency": "GBP"}, {"amount": "70.00", "currency": "USD"}]
    assert (report["currency"], report["conversions"], report["unconverted"]) == (None, [], [])
    assert (report["from"], report["to"], report["groupBy"], report["rollUp"]) == (
        "2026-11-01", "2026-11-30", "CATEGORY", False)


async def test_spending_converted_at_each_days_rate(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    # when
    report = (await gql(SPENDING, {**NOV, "currency": "eur"}, token=s["token"])).ok()["spending"]
    # then: USD 50 x 0.8 (11-05's rate) + USD 20 x 0.625 (11-08's rate, used for 11-12) + CHF 40 x 0.9 = 88.50
    total = "1424.00"  # 1335.50 EUR + 88.50 converted; the GBP groceries have no rate and stay out
    assert report["currency"] == "EUR"
    assert report["groups"] == [
        group("Rent", "1000.00", "EUR", 1, total, "Housing"),
        group("Groceries", "180.00", "EUR", 2, total, "Food & drink"),
        group("Clothing", "90.00", "EUR", 2, total, "Shopping"),
        group("Restaurants", "88.50", "EUR", 3, total, "Food & drink"),
        group("Household", "50.00", "EUR", 1, total, "Shopping"),
        group("Uncategorized", "15.50", "EUR", 1, total),
    ]
    assert report["totals"] == [{"amount": total, "currency": "EUR"}]
    assert [(c["from"], c["to"], Decimal(c["rate"]), c["rateDay"], c["exact"]) for c in report["conversions"]] == [
        ("CHF", "EUR", Decimal("0.9"), "2026-11-07", True),
        ("USD", "EUR", Decimal("0.8"), "2026-11-05", True),
        ("USD", "EUR", Decimal("0.625"), "2026-11-08", False),
    ]
    assert report["unconverted"] == [{"amount": "10.00", "currency": "GBP"}]


async def test_spending_rolled_up_and_by_merchant_account_month(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    token = s["token"]
    # when: categories rolled up into their top-level one, only the EUR groups
    rolled = (await gql(SPENDING, {**NOV, "rollUp": True}, token=token)).ok()["spending"]
    eur = [g for g in rolled["groups"] if g["amount"]["currency"] == "EUR"]
    assert rolled["rollUp"] is True
    # then: Shopping = Clothing 90 + Household 50 (the split counts once in Shopping's transactions)
    assert [(g["label"], g["category"], g["amount"]["amount"], g["transactionCount"]) for g in eur] == [
        ("Housing", {"name": "Housing", "parent": None}, "1000.00", 1),
        ("Food & drink", {"name": "Food & drink", "parent": None}, "180.00", 2),
        ("Shopping", {"name": "Shopping", "parent": None}, "140.00", 3),
        ("Uncategorized", None, "15.50", 1),
    ]
    # when: by merchant, converted
    merchants = (await gql(SPENDING, {**NOV, "groupBy": "MERCHANT", "currency": "EUR", "rollUp": True},
                           token=token)).ok()["spending"]
    assert (merchants["groupBy"], merchants["rollUp"]) == ("MERCHANT", False)  # rolling up is for categories
    # then: REWE = 80 + the split's 150; Zara = 120 - 30; Diner = 40 + 12.50; Migros = 36; no merchant = 15.50
    assert [(g["label"], g["merchant"], g["amount"]["amount"], g["transactionCount"])
            for g in merchants["groups"]] == [
        ("Landlord", "Landlord", "1000.00", 1), ("REWE", "REWE", "230.00", 2), ("Zara", "Zara", "90.00", 2),
        ("Diner", "Diner", "52.50", 2), ("Migros", "Migros", "36.00", 1), ("No merchant", None, "15.50", 1)]
    # when: by account, per currency
    accounts = (await gql(SPENDING, {**NOV, "groupBy": "ACCOUNT"}, token=token)).ok()["spending"]
    # then: the Savings account only received a transfer, so it spent nothing
    assert [(g["label"], g["account"], g["amount"]) for g in accounts["groups"]] == [
        ("Zurich", {"name": "Zurich"}, {"amount": "40.00", "currency": "CHF"}),
        ("Checking", {"name": "Checking"}, {"amount": "1335.50", "currency": "EUR"}),
        ("London", {"name": "London"}, {"amount": "10.00", "currency": "GBP"}),
        ("Travel", {"name": "Travel"}, {"amount": "70.00", "currency": "USD"}),
    ]
    # when: by month over October to December, EUR only
    months = (await gql(SPENDING, {"from": "2026-10-01", "to": "2026-12-31", "groupBy": "MONTH"},
                        token=token)).ok()["spending"]
    eur_months = [(g["label"], g["month"], g["amount"]["amount"], g["share"])
                  for g in months["groups"] if g["amount"]["currency"] == "EUR"]
    # then
    total = "3333.50"  # 999 + 1335.50 + 999
    assert eur_months == [("2026-11", "2026-11-01", "1335.50", share("1335.50", total)),
                          ("2026-10", "2026-10-01", "999.00", share("999.00", total)),
                          ("2026-12", "2026-12-01", "999.00", share("999.00", total))]


async def test_spending_is_the_callers_own_and_arguments_are_checked(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    # when: the stranger asks for the same month
    theirs = (await gql(SPENDING, {**NOV, "currency": "EUR"}, token=s["stranger"]["token"])).ok()["spending"]
    # then: nothing of the user's
    assert (theirs["groups"], theirs["totals"], theirs["conversions"], theirs["unconverted"]) == (
        [], [{"amount": "0.00", "currency": "EUR"}], [], [])
    # when / then: refused arguments are top-level BAD_USER_INPUT errors naming the argument
    cases = [({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
             ({"from": "2016-01-01", "to": "2026-01-01"}, "to"),  # more than 10 years
             ({**NOV, "currency": "EURO"}, "currency")]
    for variables, argument in cases:
        result = await gql(SPENDING, variables, token=s["token"])
        assert result.data is None and result.codes == ["BAD_USER_INPUT"], result.errors
        assert result.errors[0]["extensions"]["field"] == argument
    ten_years = await gql(SPENDING, {"from": "2017-01-01", "to": "2026-12-31"}, token=s["token"])
    assert ten_years.ok()["spending"]["totals"][1] == {"amount": "3333.50", "currency": "EUR"}
    unauthenticated = await gql(SPENDING, NOV)
    assert unauthenticated.codes == ["UNAUTHENTICATED"]


async def _insert_rows(resources: Any, user_id: uuid.UUID, account_id: uuid.UUID, currency: str,
                       rows: list[tuple[dt.date, str, uuid.UUID | None]]) -> None:
    """Many transactions at once, straight into the table (the reports read only the table)."""
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text("""
            INSERT INTO transactions (id, user_id, account_id, booked_on, amount, currency, category_id)
            VALUES (:id, :user, :account, :day, :amount, :currency, :category)"""),
            [{"id": uuid.uuid4(), "user": user_id, "account": account_id, "day": day, "amount": Decimal(amount),
              "currency": currency, "category": category} for day, amount, category in rows])


async def test_statements_do_not_grow_with_groups_or_currencies(gql: GraphQLClient, resources: Any) -> None:
    from app.graphql.context import build_context

    # given: a user with rows in 3 categories and a few days, another with rows in every expense category
    # over 60 months in EUR and USD (converted per day)
    small, large = await gql.register(), await gql.register()
    plans: list[tuple[dict[str, Any], list[str], int]] = [(small, [], 3), (large, [], 60)]
    for user, ids, months in plans:
        async with resources.sessionmaker() as session:
            rows = (await session.execute(sa.text(
                "SELECT id FROM categories WHERE user_id = :u AND kind = 'EXPENSE' ORDER BY name"),
                {"u": db_id(user["user_id"])})).scalars().all()
        ids.extend(str(r) for r in rows[: 3 if months == 3 else len(rows)])
        eur = await account(gql, user["token"], "EUR")
        usd = await account(gql, user["token"], "USD", currency="USD")
        for acc, cur in ((eur, "EUR"), (usd, "USD")):
            days = [dt.date(2021, 1, 1) + dt.timedelta(days=31 * i) for i in range(months)]
            await _insert_rows(resources, db_id(user["user_id"]), db_id(acc["id"]), cur,
                               [(day, f"-{i + 1}.00", uuid.UUID(ids[i % len(ids)])) for i, day in enumerate(days)])
    await add_rate(resources, "EUR", "USD", "2020-12-31", "1.25")  # before the window: the fallback for every day
    assert len(plans[1][1]) > 40
    window = {"from": "2021-01-01", "to": "2026-12-31"}
    counts = []
    for user, _, months in plans:
        for variables in ({**window, "currency": "EUR"}, {**window, "currency": "EUR", "rollUp": True},
                          {**window, "groupBy": "MONTH", "currency": "EUR"}, {**window, "groupBy": "ACCOUNT"}):
            context = await build_context(resources, authorization=f"Bearer {user['token']}")
            # when: only the execution is counted (authentication is one statement before it)
            with assert_max_queries(resources.engine, 3) as counter:
                result = await gql.schema.execute(SPENDING, variable_values=variables, context_value=context)
            # then
            assert result.errors is None, result.errors
            groups = result.data["spending"]["groups"]
            assert sum(g["transactionCount"] for g in groups) == 2 * months
            counts.append(counter.count)
    assert counts[:4] == counts[4:] == [3, 3, 2, 2]
    with count_queries(resources.engine) as counter:
        await gql(SPENDING, window, token=small["token"])
    assert counter.count == 1 + 2  # authentication, the aggregate, the categories
