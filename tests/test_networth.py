"""`netWorth` and `netWorthHistory`: hand-worked figures with conversions and unconverted accounts, period
points, limits, statement counts that do not grow with accounts or days, isolation, and `netWorthUpdates`."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

from app.db import unit_of_work
from app.graphql.context import build_context
from app.networth.ecb import ReferenceRate
from app.networth.service import store_reference_rates
from tests.ledger import TX_CREATE, account, create
from tests.support import GraphQLClient, count_queries

ACCOUNT_CREATE = """mutation($input: AccountCreateInput!) { accountCreate(input: $input) {
  account { id } errors { field code } } }"""
ARCHIVE = """mutation($id: ID!) { accountArchive(input: {id: $id}) { errors { code } } }"""
NET_WORTH = """query($on: Date, $currency: String) { netWorth(on: $on, currency: $currency) {
  on currency assets { amount currency } liabilities { amount currency } netWorth { amount currency }
  byKind { kind classification total { amount currency } accountCount }
  byAccount { account { name } balance { amount currency } converted { amount currency } }
  conversions { from to rate rateDay exact } unconverted { amount currency } unconvertedAccounts { name } } }"""
HISTORY = """query($from: Date!, $to: Date, $interval: NetWorthInterval, $currency: String) {
  netWorthHistory(from: $from, to: $to, interval: $interval, currency: $currency) {
    currency interval from to
    points { on assets { amount } liabilities { amount } netWorth { amount currency }
             conversions { from to rate rateDay exact } unconverted { amount currency } } } }"""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def day(offset: int) -> dt.date:
    return today() + dt.timedelta(days=offset)


async def open_account(gql: GraphQLClient, token: str, name: str, kind: str, currency: str, opening: str,
                       opening_date: dt.date | None = None) -> str:
    payload = {"name": name, "kind": kind, "currency": currency, "openingBalance": opening}
    if opening_date is not None:
        payload["openingDate"] = opening_date.isoformat()
    result = (await gql(ACCOUNT_CREATE, {"input": payload}, token=token)).ok()["accountCreate"]
    assert result["errors"] == [], result["errors"]
    return str(result["account"]["id"])


async def reference_rates(resources: Any, on: dt.date, **rates: str) -> None:
    """ECB-style reference rates of one day: 1 EUR = rate units of each currency."""
    async with unit_of_work(resources) as uow:
        await store_reference_rates(uow.session, [ReferenceRate(on, quote, Decimal(r)) for quote, r in rates.items()])


async def test_net_worth_converts_with_the_rate_of_the_day_and_lists_what_it_cannot(
        gql: GraphQLClient, resources: Any) -> None:
    # given: assets and liabilities in EUR, a USD account with a reference rate, a JPY account without one,
    # an archived account holding cash and an archived empty one
    user = await gql.register()
    token = user["token"]
    await open_account(gql, token, "Checking", "CHECKING", "EUR", "1000.00")
    await open_account(gql, token, "Visa", "CREDIT_CARD", "EUR", "-588.61")
    await open_account(gql, token, "Savings", "SAVINGS", "USD", "500.00")
    await open_account(gql, token, "Mortgage", "MORTGAGE", "EUR", "-200000")
    await open_account(gql, token, "Yen", "SAVINGS", "JPY", "10000")
    drawer = await open_account(gql, token, "Drawer", "CASH", "EUR", "50.00")
    old = await open_account(gql, token, "Old", "CHECKING", "EUR", "0")
    for archived in (drawer, old):
        assert (await gql(ARCHIVE, {"id": archived}, token=token)).ok()["accountArchive"]["errors"] == []
    await reference_rates(resources, today(), USD="1.25")

    # when: net worth today in the base currency (EUR)
    result = (await gql(NET_WORTH, token=token)).ok()["netWorth"]

    # then: USD at 1/1.25 = 0.8; JPY is listed, not guessed; the archived cash counts, the empty one is left out
    eur = "EUR"
    assert result["on"] == today().isoformat() and result["currency"] == eur
    assert result["assets"] == {"amount": "1450.00", "currency": eur}  # 1000 + 50 + 500 * 0.8
    assert result["liabilities"] == {"amount": "200588.61", "currency": eur}
    assert result["netWorth"] == {"amount": "-199138.61", "currency": eur}
    assert result["conversions"] == [{"from": "USD", "to": eur, "rate": "0.8", "rateDay": today().isoformat(),
                                      "exact": True}]
    assert result["unconverted"] == [{"amount": "10000", "currency": "JPY"}]
    assert result["unconvertedAccounts"] == [{"name": "Yen"}]
    assert result["byKind"] == [
        {"kind": "CASH", "classification": "ASSET", "total": {"amount": "50.00", "currency": eur}, "accountCount": 1},
        {"kind": "CHECKING", "classification": "ASSET", "total": {"amount": "1000.00", "currency": eur},
         "accountCount": 1},
        {"kind": "SAVINGS", "classification": "ASSET", "total": {"amount": "400.00", "currency": eur},
         "accountCount": 2},
        {"kind": "CREDIT_CARD", "classification": "LIABILITY", "total": {"amount": "-588.61", "currency": eur},
         "accountCount": 1},
        {"kind": "MORTGAGE", "classification": "LIABILITY", "total": {"amount": "-200000.00", "currency": eur},
         "accountCount": 1},
    ]
    assert result["byAccount"] == [
        {"account": {"name": "Checking"}, "balance": {"amount": "1000.00", "currency": eur},
         "converted": {"amount": "1000.00", "currency": eur}},
        {"account": {"name": "Drawer"}, "balance": {"amount": "50.00", "currency": eur},
         "converted": {"amount": "50.00", "currency": eur}},
        {"account": {"name": "Mortgage"}, "balance": {"amount": "-200000.00", "currency": eur},
         "converted": {"amount": "-200000.00", "currency": eur}},
        {"account": {"name": "Savings"}, "balance": {"amount": "500.00", "currency": "USD"},
         "converted": {"amount": "400.00", "currency": eur}},
        {"account": {"name": "Visa"}, "balance": {"amount": "-588.61", "currency": eur},
         "converted": {"amount": "-588.61", "currency": eur}},
        {"account": {"name": "Yen"}, "balance": {"amount": "10000", "currency": "JPY"}, "converted": None},
    ]

    # when: the same in USD
    result = (await gql(NET_WORTH, {"currency": "usd"}, token=token)).ok()["netWorth"]
    # then: the EUR sums are converted at 1.25 (the negative part -200588.61 * 1.25 = -250735.7625)
    assert (result["currency"], result["assets"]["amount"], result["liabilities"]["amount"],
            result["netWorth"]["amount"]) == ("USD", "1812.50", "250735.76", "-248923.26")
    assert result["conversions"] == [{"from": "EUR", "to": "USD", "rate": "1.25", "rateDay": today().isoformat(),
                                      "exact": True}]

    # when: the day before the accounts existed
    result = (await gql(NET_WORTH, {"on": day(-1).isoformat()}, token=token)).ok()["netWorth"]
    # then: everything is zero and nothing needed a rate
    assert (result["assets"]["amount"], result["liabilities"]["amount"], result["netWorth"]["amount"]) == (
        "0.00", "0.00", "0.00")
    assert result["conversions"] == [] and result["unconverted"] == [] and result["unconvertedAccounts"] == []


async def test_an_older_rate_is_used_and_marked_inexact(gql: GraphQLClient, resources: Any) -> None:
    # given: a GBP account and reference rates of three days ago only
    user = await gql.register()
    await open_account(gql, user["token"], "London", "CHECKING", "GBP", "100.00")
    await reference_rates(resources, day(-3), GBP="0.8", USD="1.1")
    # when
    result = (await gql(NET_WORTH, token=user["token"])).ok()["netWorth"]
    # then: 100 / 0.8 = 125 EUR with the rate of its day, not exact
    assert result["netWorth"]["amount"] == "125.00"
    assert result["conversions"] == [{"from": "GBP", "to": "EUR", "rate": "1.25", "rateDay": day(-3).isoformat(),
                                      "exact": False}]
    # and into USD it crosses through EUR: 100 GBP * 1.25 * 1.1
    result = (await gql(NET_WORTH, {"currency": "USD"}, token=user["token"])).ok()["netWorth"]
    assert result["netWorth"]["amount"] == "137.50"


async def test_bad_arguments_are_bad_user_input(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    cases = [
        (NET_WORTH, {"currency": "EURO"}),
        (HISTORY, {"from": "2026-02-01", "to": "2026-01-01"}),
        (HISTORY, {"from": "2000-01-01", "to": "2026-11-01", "interval": "DAY"}),
        (HISTORY, {"from": "2026-01-01", "to": "2026-02-01", "currency": "XXX"}),
    ]
    for query, variables in cases:
        # when / then
        result = await gql(query, variables, token=user["token"])
        assert result.codes == ["BAD_USER_INPUT"], variables
        assert result.data is None
    # and without a token: UNAUTHENTICATED
    assert (await gql(NET_WORTH)).codes == ["UNAUTHENTICATED"]


async def test_history_points_are_period_ends_clipped_to_the_window(gql: GraphQLClient) -> None:
    # given: an account opened on 2026-01-10 with 100.00, a credit card owing 20.00 since 2026-01-01
    user = await gql.register()
    token = user["token"]
    acc = await open_account(gql, token, "Main", "CHECKING", "EUR", "100.00", dt.date(2026, 1, 10))
    await open_account(gql, token, "Card", "CREDIT_CARD", "EUR", "-20.00", dt.date(2026, 1, 1))
    for amount, on in (("50.00", "2026-01-20"), ("-30.00", "2026-02-15"), ("10.00", "2026-03-05")):
        await create(gql, token, acc, amount, on)

    async def points(variables: dict[str, Any]) -> list[tuple[str, str, str, str]]:
        data = (await gql(HISTORY, variables, token=token)).ok()["netWorthHistory"]
        assert data["from"] == variables["from"]
        return [(p["on"], p["assets"]["amount"], p["liabilities"]["amount"], p["netWorth"]["amount"])
                for p in data["points"]]

    # when / then: months end on their last day, the last point is `to`
    assert await points({"from": "2026-01-15", "to": "2026-03-10", "interval": "MONTH"}) == [
        ("2026-01-31", "150.00", "20.00", "130.00"), ("2026-02-28", "120.00", "20.00", "100.00"),
        ("2026-03-10", "130.00", "20.00", "110.00")]
    # and a point before an account's first day counts it as zero
    assert await points({"from": "2025-12-01", "to": "2026-01-31", "interval": "MONTH"}) == [
        ("2025-12-31", "0.00", "0.00", "0.00"), ("2026-01-31", "150.00", "20.00", "130.00")]
    # and ISO weeks end on Sunday (2026-01-14 is a Wednesday)
    assert await points({"from": "2026-01-14", "to": "2026-01-27", "interval": "WEEK"}) == [
        ("2026-01-18", "100.00", "20.00", "80.00"), ("2026-01-25", "150.00", "20.00", "130.00"),
        ("2026-01-27", "150.00", "20.00", "130.00")]
    # and days are days; a day after every row (a year ahead) repeats the last balance
    assert await points({"from": "2026-01-09", "to": "2026-01-10", "interval": "DAY"}) == [
        ("2026-01-09", "0.00", "20.00", "-20.00"), ("2026-01-10", "100.00", "20.00", "80.00")]
    ahead = day(365).isoformat()
    assert await points({"from": ahead, "to": ahead}) == [(ahead, "130.00", "20.00", "110.00")]
    # and the default `to` is today, the default interval DAY; exactly 5000 points are allowed
    data = (await gql(HISTORY, {"from": day(-4999).isoformat()}, token=token)).ok()["netWorthHistory"]
    assert (data["interval"], data["to"], len(data["points"])) == ("DAY", today().isoformat(), 5000)
    assert data["points"][-1]["netWorth"] == {"amount": "110.00", "currency": "EUR"}
    assert (await gql(HISTORY, {"from": day(-5000).isoformat()}, token=token)).codes == ["BAD_USER_INPUT"]


async def test_history_converts_each_point_with_its_own_rate_and_lists_the_unconverted(
        gql: GraphQLClient, resources: Any) -> None:
    # given: 100 USD since 5 days ago; a reference rate 3 days ago and another today
    user = await gql.register()
    await open_account(gql, user["token"], "Dollars", "SAVINGS", "USD", "100.00", day(-5))
    await reference_rates(resources, day(-3), USD="2")
    await reference_rates(resources, today(), USD="1.25")
    # when
    data = (await gql(HISTORY, {"from": day(-4).isoformat(), "to": today().isoformat()},
                      token=user["token"])).ok()["netWorthHistory"]
    # then: no rate before 3 days ago (listed, not guessed), 0.5 from then on, 0.8 today
    summary = [(p["on"], p["netWorth"]["amount"], [(c["rate"], c["rateDay"], c["exact"]) for c in p["conversions"]],
                p["unconverted"]) for p in data["points"]]
    usd = [{"amount": "100.00", "currency": "USD"}]
    assert summary == [
        (day(-4).isoformat(), "0.00", [], usd),
        (day(-3).isoformat(), "50.00", [("0.5", day(-3).isoformat(), True)], []),
        (day(-2).isoformat(), "50.00", [("0.5", day(-3).isoformat(), False)], []),
        (day(-1).isoformat(), "50.00", [("0.5", day(-3).isoformat(), False)], []),
        (today().isoformat(), "80.00", [("0.8", today().isoformat(), True)], []),
    ]


async def test_history_statement_count_does_not_grow_with_accounts_or_days(gql: GraphQLClient,
                                                                           resources: Any) -> None:
    # given: one user with 2 accounts of 30 days, another with 20 accounts of 3000 days (one in USD each)
    small, large = await gql.register(), await gql.register()
    await open_account(gql, small["token"], "E", "CHECKING", "EUR", "10.00", day(-30))
    await open_account(gql, small["token"], "U", "CHECKING", "USD", "10.00", day(-30))
    for i in range(19):
        await open_account(gql, large["token"], f"E{i}", "CHECKING", "EUR", f"{i}.00", day(-3000))
    await open_account(gql, large["token"], "U", "CHECKING", "USD", "10.00", day(-3000))
    await reference_rates(resources, day(-3100), USD="2")
    counts = {}
    for name, user in (("small", small), ("large", large)):
        for days in (30, 3000):
            variables = {"from": day(1 - days).isoformat(), "to": today().isoformat()}
            # when
            with count_queries(resources.engine) as counter:
                data = (await gql(HISTORY, variables, token=user["token"])).ok()["netWorthHistory"]
            counts[(name, days)] = counter.count
            assert len(data["points"]) == days
        # and netWorth too, whatever the number of accounts
        with count_queries(resources.engine) as counter:
            (await gql(NET_WORTH, token=user["token"])).ok()
        counts[(name, "netWorth")] = counter.count
    # then: the same number of statements for 2 or 20 accounts and 30 or 3000 days
    assert len({n for key, n in counts.items() if key[1] != "netWorth"}) == 1, counts
    assert counts[("small", "netWorth")] == counts[("large", "netWorth")], counts
    # and the last point of the large user is sum(0..18) + 10 USD * 0.5
    assert data["points"][-1]["netWorth"]["amount"] == str(Decimal(sum(range(19))) + Decimal("5.00"))


async def test_another_users_accounts_and_rates_never_count(gql: GraphQLClient, resources: Any) -> None:
    # given: a stranger with a large account and a manual USD rate; a user with a USD account and no rate
    stranger, user = await gql.register(), await gql.register()
    await open_account(gql, stranger["token"], "Vault", "SAVINGS", "EUR", "1000000.00", day(-3))
    await open_account(gql, stranger["token"], "Dollars", "SAVINGS", "USD", "5.00", day(-3))
    rate = """mutation { exchangeRateSet(input: {base: "USD", quote: "EUR", rate: "2"}) { errors { code } } }"""
    assert (await gql(rate, token=stranger["token"])).ok()["exchangeRateSet"]["errors"] == []
    mine = await open_account(gql, user["token"], "Mine", "CHECKING", "EUR", "10.00", day(-3))
    await open_account(gql, user["token"], "Dollars", "CHECKING", "USD", "7.00", day(-3))
    # when
    worth = (await gql(NET_WORTH, token=user["token"])).ok()["netWorth"]
    history = (await gql(HISTORY, {"from": day(-1).isoformat()}, token=user["token"])).ok()["netWorthHistory"]
    # then: only the user's accounts, and the stranger's rate is not used: the dollars stay unconverted
    assert [line["account"]["name"] for line in worth["byAccount"]] == ["Dollars", "Mine"]
    assert worth["netWorth"]["amount"] == "10.00"
    assert worth["unconverted"] == [{"amount": "7.00", "currency": "USD"}]
    assert [p["netWorth"]["amount"] for p in history["points"]] == ["10.00", "10.00"]
    assert all(p["unconverted"] == [{"amount": "7.00", "currency": "USD"}] for p in history["points"])
    # and the stranger cannot read the user's balance history
    query = """query($id: ID!) { account(id: $id) { balanceHistory { day } } }"""
    assert (await gql(query, {"id": mine}, token=stranger["token"])).ok()["account"] is None


async def test_net_worth_updates_follow_ledger_changes(gql: GraphQLClient, resources: Any) -> None:
    # given: a user subscribed to netWorthUpdates (in process, through the real hub), and a stranger
    user, stranger = await gql.register(), await gql.register()
    acc = await account(gql, user["token"], opening="100.00")
    other = await account(gql, stranger["token"], opening="1.00")
    subscription = """subscription { netWorthUpdates { on netWorth { netWorth { amount currency } } } }"""
    context = await build_context(resources, authorization=f"Bearer {user['token']}")
    stream = await gql.schema.subscribe(subscription, context_value=context)
    assert not hasattr(stream, "errors") or not stream.errors  # type: ignore[union-attr]
    first = asyncio.ensure_future(stream.__anext__())  # type: ignore[union-attr]
    try:
        for _ in range(100):
            if resources.hub.subscriber_count:
                break
            await asyncio.sleep(0.05)
        # when: the stranger books money (nothing for us), then the user does, then a future-dated change
        await create(gql, stranger["token"], other["id"], "5.00", today().isoformat())
        tomorrow = (await gql(TX_CREATE, {"input": {"accountId": acc["id"], "amount": "1.00",
                                                    "bookedOn": day(30).isoformat()}}, token=user["token"])).ok()
        assert tomorrow["transactionCreate"]["errors"] == []
        await create(gql, user["token"], acc["id"], "-12.50", day(-1).isoformat())
        # then: the user receives the fresh figure of today; the stranger's and the future change are skipped
        update = await asyncio.wait_for(first, timeout=10)
        assert update.errors is None
        assert update.data == {"netWorthUpdates": {"on": today().isoformat(),
                                                   "netWorth": {"netWorth": {"amount": "87.50", "currency": "EUR"}}}}
    finally:
        first.cancel()
        await stream.aclose()  # type: ignore[union-attr]
