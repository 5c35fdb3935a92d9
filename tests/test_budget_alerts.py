"""Budget alerts fire exactly once per (line, period, threshold): under 20 concurrent writers, after dropping
below and crossing again, on deletions, recategorizations and lowered limits; and they reach a real WebSocket
subscriber of another API process."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from app.budgets.alerts import evaluate_user
from app.db import unit_of_work
from tests.ledger import TX_DELETE, TX_UPDATE, account, create
from tests.servers import api_process
from tests.support import GraphQLClient, count_queries
from tests.test_budgets import UPDATE, categories, create_budget, db_id, rows
from tests.test_processes import init, receive, register, send, socket

TX = """mutation($input: TransactionCreateInput!) { transactionCreate(input: $input) {
  transaction { id } errors { field code } } }"""
SUBSCRIBE = """subscription { budgetAlerts { id threshold periodStart firedAt budget { name }
  line { category { name } limit { amount currency } } spent { amount currency } limit { amount currency } } }"""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()  # the users here live in UTC


async def alerts(resources: Any) -> list[tuple[int, str, dt.date]]:
    found = await rows(resources, "select threshold, spent, period_start from budget_alerts "
                                  "order by threshold, fired_at")
    return [(r["threshold"], f"{r['spent']:.2f}", r["period_start"]) for r in found]


async def notifications(resources: Any) -> list[dict[str, Any]]:
    return await rows(resources, "select kind, title, data from notifications order by created_at, id")


async def setup(gql: GraphQLClient, limit: str = "100", **budget: Any) -> dict[str, Any]:
    """A user with an account and a yearly budget from the first of this month (so today stays in it), groceries
    limited to `limit`."""
    user = await gql.register()
    token = user["token"]
    groceries, restaurants = await categories(gql, token, "Groceries", "Restaurants")
    checking = (await account(gql, token))["id"]
    values = {"name": "Food", "currency": "EUR", "period": "YEARLY", "startDay": today().month,
              "lines": [{"categoryId": groceries, "limit": limit}], **budget}
    made = await create_budget(gql, token, **values)
    return {"token": token, "groceries": groceries, "restaurants": restaurants, "account": checking, "budget": made,
            "start": today().replace(day=1), "user_id": user["user_id"]}


async def spend(gql: GraphQLClient, s: dict[str, Any], amount: str, category: str | None = None,
                day: dt.date | None = None) -> str:
    tx = await create(gql, s["token"], s["account"], amount, (day or today()).isoformat(),
                      categoryId=category or s["groceries"])
    return str(tx["id"])


async def test_twenty_concurrent_writers_crossing_80_percent_fire_once(gql: GraphQLClient, resources: Any) -> None:
    # given: 75 of 100 spent (the 50 % alert has fired)
    s = await setup(gql)
    await spend(gql, s, "-75.00")
    assert await alerts(resources) == [(50, "75.00", s["start"])]
    # when: 20 writers at once, each with its own context and commit, add 0.50 each (to 85)
    results = await asyncio.gather(*[
        gql(TX, {"input": {"accountId": s["account"], "amount": "-0.50", "bookedOn": today().isoformat(),
                           "categoryId": s["groceries"]}}, token=s["token"]) for _ in range(20)])
    # then: all committed, and the 80 % alert fired exactly once, when spending reached 80.00
    assert [r.ok()["transactionCreate"]["errors"] for r in results] == [[]] * 20
    assert await alerts(resources) == [(50, "75.00", s["start"]), (80, "80.00", s["start"])]
    found = await notifications(resources)
    assert [(n["kind"], n["title"], n["data"]["threshold"], n["data"]["spent"]) for n in found] == [
        ("BUDGET_ALERT", "Food: Groceries reached 50%", 50, "75.00"),
        ("BUDGET_ALERT", "Food: Groceries reached 80%", 80, "80.00")]
    assert found[1]["data"]["limit"] == "100.00" and found[1]["data"]["budgetId"] == str(db_id(s["budget"]["id"]))


async def test_dropping_below_and_crossing_again_does_not_fire_again(gql: GraphQLClient, resources: Any) -> None:
    # given: 85 of 100 spent: 50 % and 80 % fired
    s = await setup(gql)
    big = await spend(gql, s, "-85.00")
    assert [a[0] for a in await alerts(resources)] == [50, 80]
    # when: it drops to 70, then crosses 80 % again
    changed = (await gql(TX_UPDATE, {"input": {"id": big, "amount": "-70.00"}}, token=s["token"])).ok()
    assert changed["transactionUpdate"]["errors"] == []
    await spend(gql, s, "-15.00")
    # then: nothing new
    assert await alerts(resources) == [(50, "85.00", s["start"]), (80, "85.00", s["start"])]
    assert len(await notifications(resources)) == 2


async def test_deletion_and_recategorization_that_cross_fire(gql: GraphQLClient, resources: Any) -> None:
    # given: 60 spent (50 % fires), a 20 refund, 35 more: 75 of 100; spending in another period fires nothing
    s = await setup(gql)
    await spend(gql, s, "-500.00", day=s["start"] - dt.timedelta(days=1))
    await spend(gql, s, "-60.00")
    refund = await spend(gql, s, "20.00")
    await spend(gql, s, "-35.00")
    assert await alerts(resources) == [(50, "60.00", s["start"])]
    # when: the refund is deleted (95 %)
    deleted = (await gql(TX_DELETE, {"id": refund}, token=s["token"])).ok()["transactionDelete"]
    assert deleted["errors"] == []
    # then
    assert [a[:2] for a in await alerts(resources)] == [(50, "60.00"), (80, "95.00")]
    # when: a restaurant bill is recategorized as groceries (115 %)
    bill = await spend(gql, s, "-20.00", category=s["restaurants"])
    assert len(await alerts(resources)) == 2
    moved = (await gql(TX_UPDATE, {"input": {"id": bill, "categoryId": s["groceries"]}}, token=s["token"])).ok()
    assert moved["transactionUpdate"]["errors"] == []
    # then
    assert [a[:2] for a in await alerts(resources)] == [(50, "60.00"), (80, "95.00"), (100, "115.00")]
    assert [n["data"]["threshold"] for n in await notifications(resources)] == [50, 80, 100]


async def test_a_lowered_limit_and_a_new_budget_fire_at_once(gql: GraphQLClient, resources: Any) -> None:
    # given: 60 of 200 spent (30 %): nothing fired
    s = await setup(gql, limit="200")
    await spend(gql, s, "-60.00")
    assert await alerts(resources) == []
    # when: the limit drops to 70 (85.7 %)
    payload = (await gql(UPDATE, {"input": {"id": s["budget"]["id"], "lines": [
        {"categoryId": s["groceries"], "limit": "70"}]}}, token=s["token"])).ok()["budgetUpdate"]
    # then
    assert payload["errors"] == []
    assert await alerts(resources) == [(50, "60.00", s["start"]), (80, "60.00", s["start"])]
    # when: a second budget starts already over its limit with one threshold
    await create_budget(gql, s["token"], name="Tight", currency="EUR", period="YEARLY", startDay=today().month,
                        thresholds=[100], lines=[{"categoryId": s["groceries"], "limit": "50"}])
    # then
    assert [a[:2] for a in await alerts(resources)] == [(50, "60.00"), (80, "60.00"), (100, "60.00")]
    titles = [n["title"] for n in await notifications(resources)]
    assert titles == ["Food: Groceries reached 50%", "Food: Groceries reached 80%", "Tight: Groceries reached 100%"]


async def test_spending_with_nothing_available_is_over_every_threshold(gql: GraphQLClient, resources: Any) -> None:
    # given: a monthly budget with deficit rollover whose previous month overspent 250 of 100 (available -50 now)
    user = await gql.register()
    token = user["token"]
    (groceries,) = await categories(gql, token, "Groceries")
    checking = (await account(gql, token))["id"]
    this_month = today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    await create(gql, token, checking, "-250.00", last_month.isoformat(), categoryId=groceries)
    await create_budget(gql, token, name="Food", currency="EUR", rollover="SURPLUS_AND_DEFICIT",
                        startsOn=last_month.isoformat(), lines=[{"categoryId": groceries, "limit": "100"}])
    assert await alerts(resources) == []  # nothing spent this month yet
    # when: one euro is spent this month
    await create(gql, token, checking, "-1.00", today().isoformat(), categoryId=groceries)
    # then: over 100 % of nothing: every threshold fires at once
    assert await alerts(resources) == [(50, "1.00", this_month), (80, "1.00", this_month), (100, "1.00", this_month)]


@pytest.mark.slow
async def test_an_alert_written_by_another_process_reaches_a_websocket_subscriber(
        database_url: str, servers: dict[str, str], resources: Any, gql: GraphQLClient, tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path) as api:
        # given: a user registered through the API subprocess with a budget (written from this process), 70 of 100
        # spent, subscribed to budgetAlerts over graphql-transport-ws; a stranger subscribed too
        user = await register(api)
        stranger = await register(api)
        token = user["token"]
        (groceries,) = await categories(gql, token, "Groceries")
        checking = (await account(gql, token))["id"]
        await create_budget(gql, token, name="Groceries budget", currency="EUR", period="YEARLY",
                            startDay=today().month, thresholds=[80, 100],
                            lines=[{"categoryId": groceries, "limit": "100"}])
        await create(gql, token, checking, "-70.00", today().isoformat(), categoryId=groceries)
        async with socket(api) as ws, socket(api) as other:
            await init(ws, token)
            await init(other, stranger["token"])
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await send(other, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await asyncio.sleep(0.5)  # let both subscriptions reach the hub
            # when: this process (not the API holding the subscription) writes the crossing transaction
            await create(gql, token, checking, "-12.34", today().isoformat(), categoryId=groceries)
            # then: exactly the one alert arrives, with the right numbers
            message = await receive(ws, within=10)
            assert message["type"] == "next", message
            alert = message["payload"]["data"]["budgetAlerts"]
            stored = await rows(resources, "select id, fired_at from budget_alerts")
            assert len(stored) == 1
            assert alert == {
                "id": alert["id"], "threshold": 80, "periodStart": today().replace(day=1).isoformat(),
                "firedAt": alert["firedAt"], "budget": {"name": "Groceries budget"},
                "line": {"category": {"name": "Groceries"}, "limit": {"amount": "100.00", "currency": "EUR"}},
                "spent": {"amount": "82.34", "currency": "EUR"}, "limit": {"amount": "100.00", "currency": "EUR"}}
            assert db_id(alert["id"]) == stored[0]["id"]
            assert dt.datetime.fromisoformat(alert["firedAt"]) == stored[0]["fired_at"]
            # and nothing more for the user (a smaller expense crosses nothing), nothing at all for the stranger
            await create(gql, token, checking, "-1.00", today().isoformat(), categoryId=groceries)
            with pytest.raises(TimeoutError):
                await receive(ws, within=1.5)
            with pytest.raises(TimeoutError):
                await receive(other, within=0.5)


async def test_evaluation_costs_a_constant_number_of_statements(gql: GraphQLClient, resources: Any) -> None:
    # given: a user without budgets, one with 1 budget of 1 line, one with 4 budgets of 5 lines; all of them with
    # spending in every line, below the thresholds
    nobody = await gql.register()
    small = await setup(gql)
    await spend(gql, small, "-10.00")
    large = await setup(gql)
    tree = (await gql("{ categories { id kind children { id } } }", token=large["token"])).ok()["categories"]
    leaves = [c["id"] for root in tree if root["kind"] == "EXPENSE" for c in root["children"]][:20]
    for b in range(4):
        chunk = leaves[b * 5:(b + 1) * 5]
        await create_budget(gql, large["token"], name=f"B{b}", currency="EUR", period="WEEKLY", rollover="SURPLUS",
                            startsOn="2025-01-01", lines=[{"categoryId": c, "limit": "1000"} for c in chunk])
        for category in chunk:
            await spend(gql, large, "-1.00", category=category)
    fired_before = await alerts(resources)

    async def statements(user_id: str) -> int:
        async with unit_of_work(resources) as uow:
            with count_queries(resources.engine) as counter:
                await evaluate_user(uow, db_id(user_id))
        return counter.count

    # when / then: one statement without budgets; the budgets and their spending otherwise, whatever their number
    assert await statements(nobody["user_id"]) == 1
    assert await statements(small["user_id"]) == await statements(large["user_id"]) == 2
    assert await alerts(resources) == fired_before == []


async def test_a_category_deleted_into_a_budgeted_one_fires(gql: GraphQLClient, resources: Any) -> None:
    # given: 70 of 100 groceries spent (50 % fired) and 20 on restaurants
    s = await setup(gql)
    await spend(gql, s, "-70.00")
    await spend(gql, s, "-20.00", category=s["restaurants"])
    assert [a[0] for a in await alerts(resources)] == [50]
    # when: restaurants is deleted and its transactions move to groceries (90 %)
    deleted = (await gql("""mutation($input: CategoryDeleteInput!) { categoryDelete(input: $input) {
      deletedId errors { code } } }""", {"input": {"id": s["restaurants"], "moveToCategoryId": s["groceries"]}},
                         token=s["token"])).ok()["categoryDelete"]
    # then: the 80 % alert fires in the same commit
    assert deleted["errors"] == []
    assert [a[:2] for a in await alerts(resources)] == [(50, "70.00"), (80, "90.00")]
