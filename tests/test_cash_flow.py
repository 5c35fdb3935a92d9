"""`cashFlow`: income, expenses, net and savings rate per period, for the hand-worked month of test_spending (refunds,
a transfer, a split, converted and unconverted foreign rows), against hand figures and a naive recomputation."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tests.ledger import account
from tests.support import GraphQLClient, assert_max_queries
from tests.test_spending import CURRENCIES, KINDS, NOV, SCENARIO, _insert_rows, add_rate, db_id, month_scenario

CASH_FLOW = """query($from: Date!, $to: Date!, $interval: CashFlowInterval! = MONTH, $currency: String) {
  cashFlow(from: $from, to: $to, interval: $interval, currency: $currency) {
    from to interval currency
    periods { start end currency income { amount currency } expenses { amount currency } net { amount currency }
              savingsRate }
    totals { start end currency income { amount } expenses { amount } net { amount } savingsRate }
    conversions { from to rate rateDay exact }
    unconverted { amount currency }
  } }"""


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def period(start: str, end: str, currency: str, income: str, expenses: str, net: str,
           rate: str | None) -> dict[str, Any]:
    return {"start": start, "end": end, "currency": currency, "income": money(income, currency),
            "expenses": money(expenses, currency), "net": money(net, currency), "savingsRate": rate}


async def test_cash_flow_of_the_month_per_currency_and_converted(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    # when: per currency
    flow = (await gql(CASH_FLOW, NOV, token=s["token"])).ok()["cashFlow"]
    # then: EUR income = salary 3000 + uncategorized 25 + the Refunds (INCOME) category 12 = 3037;
    # expenses = 1335.50 as in spending; net 1701.50; savings rate 1701.50 / 3037 = 0.56026 -> 0.5603
    nov = ("2026-11-01", "2026-11-30")
    assert flow["periods"] == [
        period(*nov, "CHF", "0.00", "40.00", "-40.00", None),
        period(*nov, "EUR", "3037.00", "1335.50", "1701.50", "0.5603"),
        period(*nov, "GBP", "0.00", "10.00", "-10.00", None),
        period(*nov, "USD", "0.00", "70.00", "-70.00", None),
    ]
    assert [t["currency"] for t in flow["totals"]] == ["CHF", "EUR", "GBP", "USD"]
    assert (flow["interval"], flow["currency"], flow["conversions"], flow["unconverted"]) == ("MONTH", None, [], [])
    # when: converted into EUR
    converted = (await gql(CASH_FLOW, {**NOV, "currency": "EUR"}, token=s["token"])).ok()["cashFlow"]
    # then: expenses 1335.50 + USD 50 x 0.8 + USD 20 x 0.625 + CHF 40 x 0.9 = 1424.00; net 1613.00;
    # savings rate 1613 / 3037 = 0.53112 -> 0.5311; the GBP groceries are listed as an unconverted net flow
    assert converted["periods"] == [period(*nov, "EUR", "3037.00", "1424.00", "1613.00", "0.5311")]
    assert converted["totals"] == [{"start": nov[0], "end": nov[1], "currency": "EUR", "income": {"amount": "3037.00"},
                                    "expenses": {"amount": "1424.00"}, "net": {"amount": "1613.00"},
                                    "savingsRate": "0.5311"}]
    assert [(c["from"], Decimal(c["rate"]), c["rateDay"], c["exact"]) for c in converted["conversions"]] == [
        ("CHF", Decimal("0.9"), "2026-11-07", True), ("USD", Decimal("0.8"), "2026-11-05", True),
        ("USD", Decimal("0.625"), "2026-11-08", False)]
    assert converted["unconverted"] == [money("-10.00", "GBP")]


def _naive(start: dt.date, end: dt.date, bucket: Any) -> dict[tuple[dt.date, str], tuple[Decimal, Decimal]]:
    """Income and expenses per (bucket, currency) straight from SCENARIO, line by line."""
    out: dict[tuple[dt.date, str], tuple[Decimal, Decimal]] = {}
    for tx in SCENARIO:
        day = dt.date.fromisoformat(tx.day)
        if not start <= day <= end:
            continue
        for amount, category in tx.splits or [(tx.amount, tx.category)]:
            value = Decimal(amount)
            kind = KINDS[category] if category else ("EXPENSE" if value < 0 else "INCOME")
            key = (bucket(day), CURRENCIES[tx.account])
            income, expenses = out.get(key, (Decimal(0), Decimal(0)))
            if kind == "INCOME":
                out[key] = (income + value, expenses)
            elif kind == "EXPENSE":
                out[key] = (income, expenses - value)
    return out


def _expected(start: dt.date, end: dt.date, spans: list[tuple[dt.date, dt.date, dt.date]], bucket: Any
              ) -> list[dict[str, Any]]:
    sums = _naive(start, end, bucket)
    currencies = sorted({cur for _, cur in sums})
    rows = []
    for first, lo, hi in spans:
        for cur in currencies:
            income, expenses = sums.get((first, cur), (Decimal(0), Decimal(0)))
            net = income - expenses
            rate = str((net / income).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)) if income > 0 else None
            rows.append(period(lo.isoformat(), hi.isoformat(), cur, f"{income:.2f}", f"{expenses:.2f}", f"{net:.2f}",
                               rate))
    return rows


async def test_weeks_days_and_years_match_a_naive_recomputation(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)  # a Sunday to a Monday
    # when: weekly (ISO weeks, Monday to Sunday), clipped to the range
    weeks = (await gql(CASH_FLOW, {**NOV, "interval": "WEEK"}, token=s["token"])).ok()["cashFlow"]
    # then: 6 periods per currency, empty weeks included
    monday = dt.date(2026, 10, 26)
    spans = [(monday + dt.timedelta(days=7 * i), max(start, monday + dt.timedelta(days=7 * i)),
              min(end, monday + dt.timedelta(days=7 * i + 6))) for i in range(6)]
    assert [(p["start"], p["end"]) for p in weeks["periods"][::4]] == [
        ("2026-11-01", "2026-11-01"), ("2026-11-02", "2026-11-08"), ("2026-11-09", "2026-11-15"),
        ("2026-11-16", "2026-11-22"), ("2026-11-23", "2026-11-29"), ("2026-11-30", "2026-11-30")]
    assert weeks["periods"] == _expected(start, end, spans, lambda d: d - dt.timedelta(days=d.weekday()))
    # when: daily over three days, converted (only EUR rows on those days)
    days = (await gql(CASH_FLOW, {"from": "2026-11-01", "to": "2026-11-03", "interval": "DAY", "currency": "EUR"},
                      token=s["token"])).ok()["cashFlow"]
    # then
    assert days["periods"] == [period("2026-11-01", "2026-11-01", "EUR", "3000.00", "0.00", "3000.00", "1.0000"),
                               period("2026-11-02", "2026-11-02", "EUR", "0.00", "1000.00", "-1000.00", None),
                               period("2026-11-03", "2026-11-03", "EUR", "0.00", "80.00", "-80.00", None)]
    assert (days["conversions"], days["unconverted"]) == ([], [])
    # when: yearly over a range that starts mid-October
    lo, hi = dt.date(2026, 10, 15), dt.date(2026, 12, 31)
    years = (await gql(CASH_FLOW, {"from": lo.isoformat(), "to": hi.isoformat(), "interval": "YEAR"},
                       token=s["token"])).ok()["cashFlow"]
    # then: one period per currency, clipped to the range; the rows of 10-31 and 12-01 now count
    assert years["periods"] == _expected(lo, hi, [(dt.date(2026, 1, 1), lo, hi)], lambda d: d.replace(month=1, day=1))
    assert years["periods"][1]["expenses"] == money("3333.50", "EUR")


async def test_cash_flow_refusals_and_isolation(gql: GraphQLClient, resources: Any) -> None:
    # given
    s = await month_scenario(gql, resources)
    # when: a stranger asks
    theirs = (await gql(CASH_FLOW, {**NOV, "currency": "USD"}, token=s["stranger"]["token"])).ok()["cashFlow"]
    # then: zeros in the asked currency, nothing of the user's
    assert theirs["periods"] == [period("2026-11-01", "2026-11-30", "USD", "0.00", "0.00", "0.00", None)]
    assert (theirs["conversions"], theirs["unconverted"]) == ([], [])
    nothing = (await gql(CASH_FLOW, NOV, token=s["stranger"]["token"])).ok()["cashFlow"]
    assert (nothing["periods"], nothing["totals"]) == ([], [])
    # when / then: refused arguments
    for variables, argument in (({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
                                ({"from": "2000-01-01", "to": "2026-01-01", "interval": "DAY"}, "to"),
                                ({**NOV, "currency": "XYZ"}, "currency")):
        result = await gql(CASH_FLOW, variables, token=s["token"])
        assert result.data is None and result.codes == ["BAD_USER_INPUT"], result.errors
        assert result.errors[0]["extensions"]["field"] == argument


async def test_statements_do_not_grow_with_periods(gql: GraphQLClient, resources: Any) -> None:
    from app.graphql.context import build_context

    # given: one user with 3 months of EUR and USD rows, another with 60 months
    counts: list[int] = []
    await add_rate(resources, "EUR", "USD", "2020-12-31", "1.25")
    for months in (3, 60):
        user = await gql.register()
        for name, cur in (("EUR", "EUR"), ("USD", "USD")):
            acc = await account(gql, user["token"], name, currency=cur)
            days = [dt.date(2021, 1, 1) + dt.timedelta(days=31 * i) for i in range(months)]
            await _insert_rows(resources, db_id(user["user_id"]), db_id(acc["id"]), cur,
                               [(day, "-10.00" if i % 2 else "25.00", None) for i, day in enumerate(days)])
        for variables in ({"from": "2021-01-01", "to": "2026-12-31", "currency": "EUR"},
                          {"from": "2021-01-01", "to": "2026-12-31", "interval": "DAY", "currency": "EUR"},
                          {"from": "2021-01-01", "to": "2026-12-31", "interval": "WEEK"}):
            context = await build_context(resources, authorization=f"Bearer {user['token']}")
            # when: only the execution is counted
            with assert_max_queries(resources.engine, 2) as counter:
                result = await gql.schema.execute(CASH_FLOW, variable_values=variables, context_value=context)
            # then
            assert result.errors is None, result.errors
            totals = result.data["cashFlow"]["totals"]
            income = sum(Decimal(t["income"]["amount"]) for t in totals)
            converted = Decimal("0.8") if "currency" in variables else Decimal(1)
            assert income == (Decimal(1) + converted) * 25 * ((months + 1) // 2)
            counts.append(counter.count)
    assert counts == [2, 2, 1] * 2
