"""`budgetStatus`: hand-computed figures (refunds, transfers, children under a parent line, splits, rollover over
three periods, payday periods, foreign currency) and SQL statement counts that do not grow with lines or periods."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.budgets.periods import period_containing, periods_through
from tests.ledger import account, create
from tests.support import GraphQLClient, count_queries
from tests.test_budgets import categories, create_budget, db_id

FIGURES = """limit { amount currency } carriedOver { amount } available { amount } spent { amount }
  remaining { amount } utilization overBudget dailyPace { amount } projectedSpent { amount }
  projectedOverrun { amount } unconverted { amount currency }"""
STATUS = f"""query($id: ID!, $on: Date) {{ budgetStatus(budgetId: $id, on: $on) {{
  on periodStart periodEnd daysInPeriod daysElapsed daysLeft
  lines {{ category {{ name }} line {{ id }} {FIGURES} }}
  total {{ {FIGURES} }}
  conversions {{ from to rate rateDay exact }} unconverted {{ amount currency }}
  warnings {{ code message line {{ category {{ name }} }} periodStart amount {{ amount currency }} }} }} }}"""
SHORT = """query($id: ID!, $on: Date) { budgetStatus(budgetId: $id, on: $on) {
  periodStart periodEnd lines { category { name } limit { amount } carriedOver { amount } available { amount }
  spent { amount } remaining { amount } } total { spent { amount } } } }"""
LINK = """mutation($input: TransactionLinkInput!) { transactionLink(input: $input) { errors { code } } }"""


async def status(gql: GraphQLClient, token: str, budget_id: str, on: str | None = None,
                 query: str = STATUS) -> dict[str, Any]:
    return (await gql(query, {"id": budget_id, "on": on}, token=token)).ok()["budgetStatus"]


def figures(limit: str, spent: str, *, carried: str = "0.00", available: str | None = None, remaining: str,
            utilization: str | None, over: bool = False, pace: str, projected: str, overrun: str,
            currency: str = "EUR", unconverted: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"limit": {"amount": limit, "currency": currency}, "carriedOver": {"amount": carried},
            "available": {"amount": available or limit}, "spent": {"amount": spent},
            "remaining": {"amount": remaining}, "utilization": utilization, "overBudget": over,
            "dailyPace": {"amount": pace}, "projectedSpent": {"amount": projected},
            "projectedOverrun": {"amount": overrun}, "unconverted": unconverted or []}


async def test_a_month_with_refunds_a_transfer_children_and_splits(gql: GraphQLClient) -> None:
    # given: lines on the parent "Food & drink" (400) and on the child "Fuel" (100)
    user = await gql.register()
    token = user["token"]
    food, fuel, groceries, restaurants, transport, salary, electronics = await categories(
        gql, token, "Food & drink", "Fuel", "Groceries", "Restaurants", "Transport", "Salary", "Electronics")
    checking = (await account(gql, token, "Checking"))["id"]
    savings = (await account(gql, token, "Savings", kind="SAVINGS"))["id"]
    budget = await create_budget(gql, token, name="November", currency="EUR", startsOn="2026-11-01",
                                 lines=[{"categoryId": food, "limit": "400"}, {"categoryId": fuel, "limit": "100"}])
    # counted for food: 120 + 45.50 - 20 (refund) + 10 (the parent itself) + 70 (a split row) = 225.50
    await create(gql, token, checking, "-120.00", "2026-11-03", categoryId=groceries)
    await create(gql, token, checking, "-45.50", "2026-11-10", categoryId=restaurants)
    await create(gql, token, checking, "20.00", "2026-11-12", categoryId=groceries)
    await create(gql, token, checking, "-10.00", "2026-11-15", categoryId=food)
    # a split transaction counts by its rows (groceries 70, electronics 30), never by its own category (fuel)
    await create(gql, token, checking, "-100.00", "2026-11-04", categoryId=fuel,
                 splits=[{"amount": "-70.00", "categoryId": groceries}, {"amount": "-30.00", "categoryId": electronics}])
    # counted for fuel: 60
    await create(gql, token, checking, "-60.00", "2026-11-05", categoryId=fuel)
    # never counted: a transfer between own accounts (even categorized as groceries), the parent of the fuel line,
    # income, other months, a day after the asked one but outside the period
    out = await create(gql, token, checking, "-50.00", "2026-11-06", categoryId=groceries)
    into = await create(gql, token, savings, "50.00", "2026-11-06", categoryId=groceries)
    linked = (await gql(LINK, {"input": {"fromId": out["id"], "toId": into["id"]}}, token=token)).ok()
    assert linked["transactionLink"]["errors"] == []
    await create(gql, token, checking, "-30.00", "2026-11-07", categoryId=transport)
    await create(gql, token, checking, "2000.00", "2026-11-01", categoryId=salary)
    await create(gql, token, checking, "-300.00", "2026-10-31", categoryId=groceries)
    await create(gql, token, checking, "-999.00", "2026-12-01", categoryId=groceries)
    # when
    result = await status(gql, token, budget["id"], "2026-11-15")
    # then: 15 of 30 days elapsed, 15 left after the 15th
    assert {k: result[k] for k in ("on", "periodStart", "periodEnd", "daysInPeriod", "daysElapsed", "daysLeft")} == {
        "on": "2026-11-15", "periodStart": "2026-11-01", "periodEnd": "2026-11-30", "daysInPeriod": 30,
        "daysElapsed": 15, "daysLeft": 15}
    assert [line["category"]["name"] for line in result["lines"]] == ["Food & drink", "Fuel"]
    assert [line["line"]["id"] for line in result["lines"]] == [x["id"] for x in budget["lines"]]
    food_line = {k: v for k, v in result["lines"][0].items() if k not in ("category", "line")}
    fuel_line = {k: v for k, v in result["lines"][1].items() if k not in ("category", "line")}
    # 225.50 / 400 = 56.375 % -> 56.38; pace 225.50 / 15 = 15.033; projected 225.50 * 30 / 15 = 451
    assert food_line == figures("400.00", "225.50", remaining="174.50", utilization="56.38", pace="15.03",
                                projected="451.00", overrun="51.00")
    assert fuel_line == figures("100.00", "60.00", remaining="40.00", utilization="60.00", pace="4.00",
                                projected="120.00", overrun="20.00")
    # 285.50 / 500 = 57.1 %
    assert result["total"] == figures("500.00", "285.50", remaining="214.50", utilization="57.10", pace="19.03",
                                      projected="571.00", overrun="71.00")
    assert (result["conversions"], result["unconverted"], result["warnings"]) == ([], [], [])


async def test_surplus_and_deficit_rollover_across_three_periods(gql: GraphQLClient) -> None:
    # given: groceries 100 a month from September; 60 spent in September, 150 in October, 30 in November
    user = await gql.register()
    token = user["token"]
    (groceries,) = await categories(gql, token, "Groceries")
    checking = (await account(gql, token))["id"]
    lines = [{"categoryId": groceries, "limit": "100"}]
    surplus = await create_budget(gql, token, name="S", currency="EUR", rollover="SURPLUS", startsOn="2026-09-10",
                                  lines=lines)
    deficit = await create_budget(gql, token, name="D", currency="EUR", rollover="SURPLUS_AND_DEFICIT",
                                  startsOn="2026-09-10", lines=lines)
    none = await create_budget(gql, token, name="N", currency="EUR", rollover="NONE", startsOn="2026-09-10",
                               lines=lines)
    for amount, day in (("-500.00", "2026-08-31"),  # before the first period: never rolls in
                        ("-60.00", "2026-09-01"), ("-150.00", "2026-10-15"), ("-30.00", "2026-11-02")):
        await create(gql, token, checking, amount, day, categoryId=groceries)
    # when
    s, d, n = [await status(gql, token, b["id"], "2026-11-20", SHORT) for b in (surplus, deficit, none)]
    # then: SURPLUS: Sep 100 - 60 = 40 carried; Oct 140 - 150 = -10, carried as 0; Nov 100 - 30 = 70
    assert s["lines"][0] == {"category": {"name": "Groceries"}, "limit": {"amount": "100.00"},
                             "carriedOver": {"amount": "0.00"}, "available": {"amount": "100.00"},
                             "spent": {"amount": "30.00"}, "remaining": {"amount": "70.00"}}
    # SURPLUS_AND_DEFICIT: Oct 140 - 150 = -10 carried; Nov 90 - 30 = 60
    assert d["lines"][0] == {"category": {"name": "Groceries"}, "limit": {"amount": "100.00"},
                             "carriedOver": {"amount": "-10.00"}, "available": {"amount": "90.00"},
                             "spent": {"amount": "30.00"}, "remaining": {"amount": "60.00"}}
    assert n["lines"][0]["carriedOver"] == {"amount": "0.00"} and n["lines"][0]["remaining"] == {"amount": "70.00"}
    # and in October, SURPLUS had 40 carried in (140 available), the deficit budget the same
    for budget in (surplus, deficit):
        october = await status(gql, token, budget["id"], "2026-10-31", SHORT)
        assert (october["periodStart"], october["lines"][0]["carriedOver"], october["lines"][0]["available"],
                october["lines"][0]["remaining"]) == ("2026-10-01", {"amount": "40.00"}, {"amount": "140.00"},
                                                      {"amount": "-10.00"})
    # and the first period itself carries nothing; a day before it is a period of its own with nothing carried
    september = await status(gql, token, surplus["id"], "2026-09-01", SHORT)
    assert september["lines"][0]["carriedOver"] == {"amount": "0.00"}
    august = await status(gql, token, deficit["id"], "2026-08-31", SHORT)
    assert (august["periodStart"], august["lines"][0]["carriedOver"], august["lines"][0]["spent"]) == (
        "2026-08-01", {"amount": "0.00"}, {"amount": "500.00"})


async def test_payday_weekly_and_yearly_periods(gql: GraphQLClient) -> None:
    # given: a payday budget from the 25th, spending around the period's edges
    user = await gql.register()
    token = user["token"]
    (groceries,) = await categories(gql, token, "Groceries")
    checking = (await account(gql, token))["id"]
    lines = [{"categoryId": groceries, "limit": "500"}]
    payday = await create_budget(gql, token, name="Pay", currency="EUR", startDay=25, lines=lines)
    weekly = await create_budget(gql, token, name="Week", currency="EUR", period="WEEKLY", startDay=3, lines=lines)
    yearly = await create_budget(gql, token, name="Year", currency="EUR", period="YEARLY", startDay=4, lines=lines)
    for amount, day in (("-1.00", "2026-10-24"), ("-2.00", "2026-10-25"), ("-4.00", "2026-11-10"),
                        ("-8.00", "2026-11-17"), ("-16.00", "2026-11-18"), ("-32.00", "2026-11-24"),
                        ("-64.00", "2026-11-25"), ("-128.00", "2027-03-31"), ("-256.00", "2027-04-01")):
        await create(gql, token, checking, amount, day, categoryId=groceries)
    # when / then: payday 25 October .. 24 November (31 days): 2 + 4 + 8 + 16 + 32
    p = await status(gql, token, payday["id"], "2026-11-24")
    assert (p["periodStart"], p["periodEnd"], p["daysInPeriod"], p["daysElapsed"], p["daysLeft"]) == (
        "2026-10-25", "2026-11-24", 31, 31, 0)
    assert p["total"]["spent"] == {"amount": "62.00"}
    assert (await status(gql, token, payday["id"], "2026-11-25", SHORT))["total"]["spent"] == {"amount": "64.00"}
    # weekly from Wednesday: Sunday 15 November is in Wednesday 11 .. Tuesday 17 November: 8
    w = await status(gql, token, weekly["id"], "2026-11-15")
    assert (w["periodStart"], w["periodEnd"], w["daysInPeriod"], w["daysElapsed"], w["daysLeft"]) == (
        "2026-11-11", "2026-11-17", 7, 5, 2)
    assert w["total"]["spent"] == {"amount": "8.00"}
    # yearly from April: 1 April 2026 .. 31 March 2027: everything but the last
    y = await status(gql, token, yearly["id"], "2027-03-31", SHORT)
    assert (y["periodStart"], y["periodEnd"], y["total"]["spent"]) == ("2026-04-01", "2027-03-31",
                                                                       {"amount": "255.00"})


def test_period_arithmetic_by_hand() -> None:
    day = dt.date
    assert period_containing("MONTHLY", 25, day(2026, 1, 3)) == period_containing("MONTHLY", 25, day(2025, 12, 25))
    assert period_containing("MONTHLY", 25, day(2026, 1, 3)).start == day(2025, 12, 25)
    assert period_containing("MONTHLY", 28, day(2026, 3, 1)).start == day(2026, 2, 28)
    assert period_containing("MONTHLY", 28, day(2026, 3, 1)).end == day(2026, 3, 28)
    assert period_containing("WEEKLY", 1, day(2026, 11, 22)).start == day(2026, 11, 16)  # Sunday -> Monday
    assert period_containing("WEEKLY", 7, day(2026, 11, 22)).start == day(2026, 11, 22)
    assert period_containing("YEARLY", 1, day(2026, 12, 31)).end == day(2027, 1, 1)
    assert period_containing("YEARLY", 12, day(2026, 11, 30)).start == day(2025, 12, 1)
    assert [p.start for p in periods_through("MONTHLY", 25, day(2026, 9, 30), day(2026, 12, 1))] == [
        day(2026, 9, 25), day(2026, 10, 25), day(2026, 11, 25)]
    assert [p.start for p in periods_through("MONTHLY", 1, day(2027, 1, 5), day(2026, 12, 1))] == [day(2026, 12, 1)]


async def _rate(resources: Any, base: str, quote: str, day: str, rate: str, user_id: uuid.UUID | None = None) -> None:
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text(
            "insert into exchange_rates (id, user_id, base, quote, day, rate, source) "
            "values (:id, :user, :base, :quote, :day, :rate, :source)"),
            {"id": uuid.uuid4(), "user": user_id, "base": base, "quote": quote, "day": dt.date.fromisoformat(day),
             "rate": Decimal(rate), "source": "MANUAL" if user_id else "ECB"})


async def test_foreign_currency_spending_converts_at_the_days_rate(gql: GraphQLClient, resources: Any) -> None:
    # given: a EUR budget; groceries paid from a USD and a GBP account
    user = await gql.register()
    token = user["token"]
    (groceries,) = await categories(gql, token, "Groceries")
    euro = (await account(gql, token, "Euro"))["id"]
    dollars = (await account(gql, token, "Dollars", currency="USD"))["id"]
    pounds = (await account(gql, token, "Pounds", currency="GBP"))["id"]
    budget = await create_budget(gql, token, name="Food", currency="EUR", lines=[{"categoryId": groceries,
                                                                                   "limit": "200"}])
    await _rate(resources, "EUR", "USD", "2026-11-10", "1.0800")  # ECB: 1 EUR = 1.08 USD
    await _rate(resources, "EUR", "USD", "2026-11-13", "1.2500")  # Friday; nothing on Saturday the 14th
    await create(gql, token, euro, "-10.00", "2026-11-02", categoryId=groceries)
    await create(gql, token, dollars, "-100.00", "2026-11-10", categoryId=groceries)
    await create(gql, token, dollars, "-50.00", "2026-11-14", categoryId=groceries)
    await create(gql, token, pounds, "-25.00", "2026-11-11", categoryId=groceries)  # no GBP rate at all
    # when
    result = await status(gql, token, budget["id"], "2026-11-20")
    # then: 100 USD / 1.08 = 100 * 0.9259259259 = 92.5926 EUR; 50 USD at Friday's rate 0.8 = 40 EUR (not exact)
    assert result["conversions"] == [
        {"from": "USD", "to": "EUR", "rate": "0.9259259259", "rateDay": "2026-11-10", "exact": True},
        {"from": "USD", "to": "EUR", "rate": "0.8000000000", "rateDay": "2026-11-13", "exact": False},
    ]
    line = result["lines"][0]
    assert line["spent"] == {"amount": "142.59"}  # 10 + 92.5926 + 40
    assert line["remaining"] == {"amount": "57.41"}
    # the pounds are not guessed: listed as unconverted and explained by a typed warning
    assert line["unconverted"] == [{"amount": "25.00", "currency": "GBP"}]
    assert result["total"]["unconverted"] == result["unconverted"] == [{"amount": "25.00", "currency": "GBP"}]
    assert [(w["code"], w["line"]["category"]["name"], w["periodStart"], w["amount"]) for w in result["warnings"]] == [
        ("MISSING_RATE", "Groceries", "2026-11-01", {"amount": "25.00", "currency": "GBP"})]
    assert result["warnings"][0]["message"] == ("No GBP/EUR exchange rate on or before 2026-11-11: 25.00 GBP spent "
                                                "that day is left out.")
    # when: the user sets a manual GBP rate for an earlier day, it is used (not exact)
    await _rate(resources, "GBP", "EUR", "2026-11-01", "1.2000", db_id(user["user_id"]))
    after = await status(gql, token, budget["id"], "2026-11-20")
    assert after["lines"][0]["spent"] == {"amount": "172.59"}  # + 25 * 1.2 = 30
    assert (after["unconverted"], after["warnings"]) == ([], [])
    assert {"from": "GBP", "to": "EUR", "rate": "1.2000000000", "rateDay": "2026-11-01",
            "exact": False} in after["conversions"]


async def _statements(gql: GraphQLClient, resources: Any, token: str, budget_id: str, on: str) -> int:
    with count_queries(resources.engine) as counter:
        result = await status(gql, token, budget_id, on)
    assert result is not None
    return counter.count


async def test_statement_count_does_not_grow_with_lines_or_periods(gql: GraphQLClient, resources: Any) -> None:
    # given: a budget with 3 lines from last month and one with 30 lines from two years back, with spending
    # in every line (including another currency, so rates are loaded too)
    user = await gql.register()
    token = user["token"]
    tree = (await gql("{ categories { id kind children { id } } }", token=token)).ok()["categories"]
    leaves = [c["id"] for root in tree if root["kind"] == "EXPENSE" for c in (root["children"] or [root])]
    assert len(leaves) >= 30
    euro = (await account(gql, token))["id"]
    dollars = (await account(gql, token, "Dollars", currency="USD"))["id"]
    await _rate(resources, "EUR", "USD", "2024-01-02", "1.1000")
    for i, category in enumerate(leaves[:30]):
        await create(gql, token, euro, "-1.00", f"2026-{i % 12 + 1:02d}-10", categoryId=category)
        await create(gql, token, dollars, "-1.00", f"2025-{i % 12 + 1:02d}-11", categoryId=category)
        if i < 3:  # the small budget converts too
            await create(gql, token, dollars, "-1.00", "2026-11-05", categoryId=category)
    small = await create_budget(gql, token, name="Small", currency="EUR", rollover="SURPLUS", startsOn="2026-10-01",
                                lines=[{"categoryId": c, "limit": "10"} for c in leaves[:3]])
    large = await create_budget(gql, token, name="Large", currency="EUR", rollover="SURPLUS", startsOn="2024-11-01",
                                lines=[{"categoryId": c, "limit": "10"} for c in leaves[:30]])
    weekly = await create_budget(gql, token, name="Weekly", currency="EUR", rollover="SURPLUS_AND_DEFICIT",
                                 period="WEEKLY", startsOn="2024-11-01",
                                 lines=[{"categoryId": c, "limit": "10"} for c in leaves[:30]])
    # when
    few = await _statements(gql, resources, token, small["id"], "2026-11-15")
    many = await _statements(gql, resources, token, large["id"], "2026-11-15")
    weeks = await _statements(gql, resources, token, weekly["id"], "2026-11-15")
    # then: the budget, the spending, the rates, the categories (plus the token check): the same for all
    assert few == many == weeks
    assert few <= 5
    # and the figures of the large one match a naive month-by-month recomputation: 25 periods of SURPLUS from
    # November 2024, limit 10; each line spent 1 EUR in one month of 2026 and 1 USD (1 / 1.1 = 0.9091 EUR) in
    # the same month of 2025
    result = await status(gql, token, large["id"], "2026-11-15")
    expected_available = Decimal(0)
    for i in range(30):
        carried = Decimal(0)
        for year, month in [(2024, 11), (2024, 12)] + [(y, m) for y in (2025, 2026) for m in range(1, 13)][:23]:
            spent = Decimal(0)
            if month == i % 12 + 1:
                spent = Decimal(1) if year == 2026 else Decimal("0.9091") if year == 2025 else Decimal(0)
            available = 10 + carried
            if (year, month) == (2026, 11):
                break
            carried = max(Decimal(0), available - spent)
        expected_available += available
    assert result["total"]["available"]["amount"] == f"{expected_available:.2f}"
    assert len(result["lines"]) == 30
