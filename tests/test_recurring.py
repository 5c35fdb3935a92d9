"""Recurring charges: monthly, weekly, quarterly and yearly series are found from hand-built histories with the
next expected date and amount; price increases, missed charges and duplicates are flagged; irregular spending,
transfers and income are not series; another user's charges are never seen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from app.recurring import service
from app.recurring.detect import Flag, Interval, Series, add_months
from tests.ledger import TRANSFER, account, create
from tests.support import GraphQLClient, assert_max_queries
from tests.test_budgets import db_id

TODAY = dt.date(2026, 10, 20)

RECURRING = """{ recurring { merchant interval averageAmount { amount currency } lastAmount { amount currency }
  lastDate nextExpectedDate nextExpectedAmount { amount currency } occurrences flags
  account { name } category { name } } }"""


async def charges(gql: GraphQLClient, token: str, account_id: str, merchant: str,
                  items: list[tuple[dt.date, str]], **extra: Any) -> None:
    for day, amount in items:
        await create(gql, token, account_id, amount, day.isoformat(), merchant=merchant, **extra)


def monthly(first: dt.date, count: int) -> list[dt.date]:
    return [add_months(first, i) for i in range(count)]


async def found(resources: Any, user: dict[str, Any], today: dt.date = TODAY) -> dict[str, Series]:
    async with resources.sessionmaker() as session:
        series = await service.recurring(session, db_id(user["user_id"]), today=today)
    return {f"{s.merchant}:{s.last_amount}": s for s in series}


async def test_monthly_weekly_quarterly_and_yearly_series_are_found(gql: GraphQLClient, resources: Any) -> None:
    # given: Netflix on the 5th of six months (one a day late), a weekly gym, quarterly insurance, a yearly domain
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    netflix = monthly(dt.date(2026, 5, 5), 6)
    netflix[2] = netflix[2] + dt.timedelta(days=1)
    await charges(gql, token, checking, "Netflix", [(d, "-15.99") for d in netflix])
    gym = [dt.date(2026, 9, 22) + dt.timedelta(days=7 * i) for i in range(4)]
    await charges(gql, token, checking, "Gym Club", [(d, "-10.00") for d in gym])
    await charges(gql, token, checking, "Insurer", [(d, "-120.00") for d in monthly(dt.date(2026, 1, 15), 10)[::3]])
    await charges(gql, token, checking, "Domains Inc", [(dt.date(2024, 11, 1), "-12.00"),
                                                       (dt.date(2025, 11, 3), "-12.00")])

    # when
    series = await found(resources, user)

    # then
    assert sorted(series) == ["Domains Inc:12.0000", "Gym Club:10.0000", "Insurer:120.0000", "Netflix:15.9900"]
    n = series["Netflix:15.9900"]
    assert (n.interval, n.occurrences, n.last_date, n.next_expected_date) == (
        Interval.MONTHLY, 6, dt.date(2026, 10, 5), dt.date(2026, 11, 5))
    assert (n.average_amount, n.next_expected_amount, n.flags, n.currency) == (
        Decimal("15.99"), Decimal("15.99"), [], "EUR")
    g = series["Gym Club:10.0000"]
    assert (g.interval, g.occurrences, g.next_expected_date, g.flags) == (
        Interval.WEEKLY, 4, dt.date(2026, 10, 20), [])
    i = series["Insurer:120.0000"]
    assert (i.interval, i.occurrences, i.last_date, i.next_expected_date) == (
        Interval.QUARTERLY, 4, dt.date(2026, 10, 15), dt.date(2027, 1, 15))
    d = series["Domains Inc:12.0000"]
    assert (d.interval, d.occurrences, d.next_expected_date, d.flags) == (
        Interval.YEARLY, 2, dt.date(2026, 11, 3), [])


async def test_irregular_spending_transfers_income_and_too_few_charges_are_not_series(
        gql: GraphQLClient, resources: Any) -> None:
    # given: groceries at irregular gaps, a monthly salary (income), monthly transfers to savings, two monthly
    # charges only, and a monthly charge whose amounts vary by far more than 10 %
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    savings = (await account(gql, token, name="Savings", kind="SAVINGS"))["id"]
    await charges(gql, token, checking, "Grocer", [(dt.date(2026, 8, 1), "-40.00"), (dt.date(2026, 8, 3), "-41.00"),
                                                   (dt.date(2026, 8, 20), "-40.50"), (dt.date(2026, 9, 30), "-40.00"),
                                                   (dt.date(2026, 10, 2), "-40.00")])
    await charges(gql, token, checking, "Employer", [(d, "2500.00") for d in monthly(dt.date(2026, 5, 25), 5)])
    for day in monthly(dt.date(2026, 6, 1), 5):
        result = (await gql(TRANSFER, {"input": {"fromAccountId": checking, "toAccountId": savings,
                                                 "amount": "100.00", "bookedOn": day.isoformat()}},
                            token=token)).ok()["transferCreate"]
        assert result["errors"] == []
    await charges(gql, token, checking, "New Thing", [(dt.date(2026, 9, 10), "-9.00"),
                                                      (dt.date(2026, 10, 10), "-9.00")])
    await charges(gql, token, checking, "Power Co", [(d, a) for d, a in zip(
        monthly(dt.date(2026, 6, 12), 5), ["-30.00", "-80.00", "-45.00", "-120.00", "-60.00"], strict=True)])

    # when / then
    assert await found(resources, user) == {}


async def test_price_increase_missed_and_duplicate_flags(gql: GraphQLClient, resources: Any) -> None:
    # given: Spotify 9.99 for five months then 11.99; a cloud plan that stopped in August; a streaming service
    # charged twice in September; and two "Music+" plans at different prices on the same days
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token))["id"]
    spotify = monthly(dt.date(2026, 5, 8), 6)
    await charges(gql, token, checking, "Spotify", [(d, "-9.99") for d in spotify[:-1]] + [(spotify[-1], "-11.99")])
    await charges(gql, token, checking, "Cloud Box", [(d, "-4.99") for d in monthly(dt.date(2026, 5, 2), 4)])
    stream = monthly(dt.date(2026, 6, 14), 5) + [dt.date(2026, 9, 16)]
    await charges(gql, token, checking, "StreamCo", [(d, "-7.00") for d in stream])
    music = monthly(dt.date(2026, 7, 1), 4)
    await charges(gql, token, checking, "Music+", [(d, "-5.00") for d in music] + [(d, "-12.00") for d in music])

    # when
    series = await found(resources, user)

    # then: Cloud Box was last charged on Aug 2, expected Sep 2 (overdue 48 days > 1 interval + 4): ended
    # — at an earlier `today` it is only MISSED
    assert sorted(series) == ["Music+:12.0000", "Music+:5.0000", "Spotify:11.9900", "StreamCo:7.0000"]
    s = series["Spotify:11.9900"]
    assert (s.flags, s.occurrences, s.next_expected_amount) == ([Flag.PRICE_INCREASE], 6, Decimal("11.99"))
    assert s.average_amount == Decimal("10.32")  # (5 * 9.99 + 11.99) / 6 = 10.3233
    assert series["StreamCo:7.0000"].flags == [Flag.DUPLICATE]
    assert series["StreamCo:7.0000"].occurrences == 5
    assert series["Music+:5.0000"].flags == [Flag.DUPLICATE]
    assert series["Music+:12.0000"].flags == [Flag.DUPLICATE]
    cloud = (await found(resources, user, today=dt.date(2026, 9, 10)))["Cloud Box:4.9900"]
    assert (cloud.flags, cloud.next_expected_date) == ([Flag.MISSED], dt.date(2026, 9, 2))
    on_time = (await found(resources, user, today=dt.date(2026, 9, 5)))["Cloud Box:4.9900"]
    assert on_time.flags == []


async def test_recurring_query_lists_the_callers_series_only(gql: GraphQLClient, resources: Any) -> None:
    # given: a monthly series ending last month (relative to the real today) for one user, and another user
    today = dt.datetime.now(dt.UTC).date()
    user = await gql.register()
    token = user["token"]
    checking = (await account(gql, token, name="Main"))["id"]
    from tests.ledger import category_id

    groceries = await category_id(gql, token, "Groceries")
    days = [add_months(today, -i) for i in (3, 2, 1)]
    await charges(gql, token, checking, "Box Delivery", [(d, "-20.00") for d in days], categoryId=groceries)
    other = await gql.register()

    # when
    with assert_max_queries(resources.engine, 6):
        mine = (await gql(RECURRING, token=token)).ok()["recurring"]
    theirs = (await gql(RECURRING, token=other["token"])).ok()["recurring"]

    # then
    assert mine == [{
        "merchant": "Box Delivery", "interval": "MONTHLY", "averageAmount": {"amount": "20.00", "currency": "EUR"},
        "lastAmount": {"amount": "20.00", "currency": "EUR"}, "lastDate": days[-1].isoformat(),
        "nextExpectedDate": add_months(days[-1], 1).isoformat(),
        "nextExpectedAmount": {"amount": "20.00", "currency": "EUR"}, "occurrences": 3, "flags": [],
        "account": {"name": "Main"}, "category": {"name": "Groceries"}}]
    assert theirs == []
