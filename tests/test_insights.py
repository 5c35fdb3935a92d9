"""Insights: each generator fires on a hand-built history and stays silent on a near miss (fixed `today`);
a run stores each insight once per dedupe key and announces it as a notification; `insightsGenerate`,
`insights` and `insightDismiss` through GraphQL, scoped to the caller; the arq job functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.insights import generators as gen
from app.insights import generators_flows as flows
from app.recurring.detect import add_months
from tests.ledger import account, category_id, create
from tests.support import GraphQLClient, assert_max_queries
from tests.test_budgets import create_budget, db_id, rows
from worker.insight_jobs import generate_insights, schedule_insights

TODAY = dt.date(2026, 10, 20)

GENERATE = """mutation($key: String) { insightsGenerate(input: {idempotencyKey: $key}) {
  insights { id kind title severity period state numbers } errors { field code } } }"""
INSIGHTS = """query($state: [InsightState!]) { insights(first: 10, state: $state) {
  edges { node { id kind state } } } }"""
DISMISS = """mutation($id: ID!) { insightDismiss(input: {id: $id}) { insight { id state } errors { field code } } }"""


async def user_with_account(gql: GraphQLClient) -> dict[str, Any]:
    user = await gql.register()
    user["account"] = (await account(gql, user["token"]))["id"]
    return user


async def spend(gql: GraphQLClient, user: dict[str, Any], items: list[tuple[dt.date, str]], **extra: Any) -> None:
    for day, amount in items:
        await create(gql, user["token"], user["account"], amount, day.isoformat(), **extra)


async def run(resources: Any, generator: Any, user: dict[str, Any], today: dt.date = TODAY) -> list[Any]:
    async with resources.sessionmaker() as session:
        return list(await generator(session, db_id(user["user_id"]), today, "EUR"))


def months(first: dt.date, count: int) -> list[dt.date]:
    return [add_months(first, i) for i in range(count)]


async def test_spending_anomaly_fires_over_one_and_a_half_times_the_three_month_average(
        gql: GraphQLClient, resources: Any) -> None:
    # given: restaurants 100 a month Jul-Sep and 200 so far in October (fires); groceries 300 a month then 400
    # (under 1.5 x); coffee 10 a month then 40 (4 x, but only 30 above the average: under the minimum of 50)
    user = await user_with_account(gql)
    token = user["token"]
    restaurants, groceries, coffee = [await category_id(gql, token, n) for n in ("Restaurants", "Groceries",
                                                                                    "Coffee")]
    for day in months(dt.date(2026, 7, 10), 3):
        await spend(gql, user, [(day, "-100.00")], categoryId=restaurants)
        await spend(gql, user, [(day, "-300.00")], categoryId=groceries)
        await spend(gql, user, [(day, "-10.00")], categoryId=coffee)
    await spend(gql, user, [(dt.date(2026, 10, 3), "-120.00"), (dt.date(2026, 10, 19), "-80.00")],
                categoryId=restaurants)
    await spend(gql, user, [(dt.date(2026, 10, 5), "-400.00")], categoryId=groceries)
    await spend(gql, user, [(dt.date(2026, 10, 5), "-40.00")], categoryId=coffee)

    # when
    found = await run(resources, gen.spending_anomaly, user)

    # then
    assert [(i.kind, i.dedupe_key, i.numbers["spent"], i.numbers["average"]) for i in found] == [
        ("SPENDING_ANOMALY", f"SPENDING_ANOMALY:{db_id(restaurants)}:EUR:2026-10", "200.00", "100.00")]
    assert found[0].title == "Restaurants: 200.00 EUR this month"
    # a month later the baseline includes October: 1 Nov with nothing spent fires nothing
    assert await run(resources, gen.spending_anomaly, user, dt.date(2026, 11, 1)) == []


async def test_budget_at_risk_fires_on_a_projected_overrun_only(gql: GraphQLClient, resources: Any) -> None:
    # given: on 10 Oct, groceries 150 of 300 spent (pace: 150 * 31 / 10 = 465, overrun 165); restaurants 100
    # of 1000 (pace 310: within)
    user = await user_with_account(gql)
    token = user["token"]
    groceries, restaurants = [await category_id(gql, token, n) for n in ("Groceries", "Restaurants")]
    food = await create_budget(gql, token, name="Food", currency="EUR", period="MONTHLY", startsOn="2026-01-01",
                               lines=[{"categoryId": groceries, "limit": "300"}])
    await create_budget(gql, token, name="Going out", currency="EUR", period="MONTHLY", startsOn="2026-01-01",
                        lines=[{"categoryId": restaurants, "limit": "1000"}])
    await spend(gql, user, [(dt.date(2026, 10, 2), "-150.00")], categoryId=groceries)
    await spend(gql, user, [(dt.date(2026, 10, 2), "-100.00")], categoryId=restaurants)

    # when
    found = await run(resources, gen.budget_at_risk, user, dt.date(2026, 10, 10))

    # then
    assert [(i.dedupe_key, i.severity, i.numbers["projected"], i.numbers["overrun"]) for i in found] == [
        (f"BUDGET_AT_RISK:{db_id(food['id'])}:2026-10-01", "WARNING", "465.00", "165.00")]
    # on 30 Oct the same spending projects to 155 of 300: silent
    assert await run(resources, gen.budget_at_risk, user, dt.date(2026, 10, 30)) == []


async def test_subscription_audit_fires_on_new_or_pricier_series_only(gql: GraphQLClient, resources: Any) -> None:
    # given: a steady Netflix; Spotify up from 9.99 to 11.99 on 8 Oct; a weekly gym since 1 Oct
    user = await user_with_account(gql)
    await spend(gql, user, [(d, "-15.99") for d in months(dt.date(2026, 5, 5), 6)], merchant="Netflix")
    quiet = await run(resources, gen.subscription_audit, user)
    spotify = months(dt.date(2026, 5, 8), 6)
    await spend(gql, user, [(d, "-9.99") for d in spotify[:-1]] + [(spotify[-1], "-11.99")], merchant="Spotify")
    await spend(gql, user, [(dt.date(2026, 10, d), "-10.00") for d in (1, 8, 15)], merchant="Gym")

    # when
    found = await run(resources, gen.subscription_audit, user)

    # then: per month 15.99 + (5 * 9.99 + 11.99) / 6 = 10.32 + 10.00 * 52 / 12 = 43.33 -> 69.64
    assert quiet == []
    assert [(i.dedupe_key, i.numbers) for i in found] == [(
        "SUBSCRIPTION_AUDIT:EUR:2026-10",
        {"currency": "EUR", "count": 3, "monthly": "69.64", "new": ["Gym"], "increased": ["Spotify"]})]


async def test_cash_flow_warning_fires_when_charges_before_the_next_income_exceed_the_balance(
        gql: GraphQLClient, resources: Any) -> None:
    # given: salary 1000 on the 25th, rent 900 on the 22nd (Jul-Sep): 300 left on 20 Oct and 900 due on 22 Oct
    # before the next salary on 25 Oct: projected -600
    short = await user_with_account(gql)
    await spend(gql, short, [(d, "1000.00") for d in months(dt.date(2026, 7, 25), 3)], merchant="Employer")
    await spend(gql, short, [(d, "-900.00") for d in months(dt.date(2026, 7, 22), 3)], merchant="Landlord")
    # the same with 1000 more saved earlier: 1300 - 900 = 400 stays above zero
    fine = await user_with_account(gql)
    await spend(gql, fine, [(dt.date(2026, 7, 1), "1000.00")], merchant="Gift")
    await spend(gql, fine, [(d, "1000.00") for d in months(dt.date(2026, 7, 25), 3)], merchant="Employer")
    await spend(gql, fine, [(d, "-900.00") for d in months(dt.date(2026, 7, 22), 3)], merchant="Landlord")

    # when
    found = await run(resources, gen.cash_flow_warning, short)
    silent = await run(resources, gen.cash_flow_warning, fine)

    # then
    assert [(i.dedupe_key, i.severity, i.numbers["balance"], i.numbers["charges"], i.numbers["projected"],
             i.numbers["until"]) for i in found] == [
        (f"CASH_FLOW_WARNING:{db_id(short['account'])}:2026-10", "CRITICAL", "300.00", "900.00", "-600.00",
         "2026-10-25")]
    assert silent == []
    # after rent is paid, the next one (22 Nov) comes after the next income (25 Oct): silent
    assert await run(resources, gen.cash_flow_warning, short, dt.date(2026, 10, 23)) == []


async def test_net_worth_milestone_fires_when_crossing_a_round_number(gql: GraphQLClient, resources: Any) -> None:
    # given: 9500 on 1 Sep, 1000 more on 10 Oct: 10500 on 20 Oct, 9500 thirty days before (crossed 10000);
    # another user goes from 9000 to 9500 (no crossing)
    rich = await user_with_account(gql)
    await spend(gql, rich, [(dt.date(2026, 9, 1), "9500.00"), (dt.date(2026, 10, 10), "1000.00")])
    poor = await user_with_account(gql)
    await spend(gql, poor, [(dt.date(2026, 9, 1), "9000.00"), (dt.date(2026, 10, 10), "500.00")])

    # when
    found = await run(resources, gen.net_worth_milestone, rich)

    # then
    assert [(i.dedupe_key, i.title) for i in found] == [
        ("NET_WORTH_MILESTONE:EUR:10000:2026-10", "Your net worth passed 10000.00 EUR")]
    assert await run(resources, gen.net_worth_milestone, poor) == []


async def test_savings_rate_change_compares_last_month_with_the_three_before(gql: GraphQLClient,
                                                                             resources: Any) -> None:
    # given: income 2000 a month Jun-Sep; expenses 1500 Jun-Aug (25 %) and 1000 in Sep (50 %): +25 points;
    # another user spends 1400 in Sep (30 %: +5 points, under 10)
    up = await user_with_account(gql)
    flat = await user_with_account(gql)
    for user, september in ((up, "-1000.00"), (flat, "-1400.00")):
        await spend(gql, user, [(d, "2000.00") for d in months(dt.date(2026, 6, 1), 4)], merchant="Employer")
        await spend(gql, user, [(d, "-1500.00") for d in months(dt.date(2026, 6, 3), 3)])
        await spend(gql, user, [(dt.date(2026, 9, 3), september)])

    # when
    found = await run(resources, flows.savings_rate_change, up)

    # then
    assert [(i.dedupe_key, i.title, i.numbers["rate"], i.numbers["previous"]) for i in found] == [
        ("SAVINGS_RATE_CHANGE:EUR:2026-09", "Your savings rate rose to 50 %", "50.00", "25.00")]
    assert await run(resources, flows.savings_rate_change, flat) == []


async def test_large_transaction_fires_over_three_times_the_median(gql: GraphQLClient, resources: Any) -> None:
    # given: ten expenses of 40 since August; 500 on 18 Oct (fires); 500 on 10 Oct (older than 7 days), 110 on
    # 19 Oct (under 3 x median 40 = 120) and 90 (under the minimum of 100) do not
    user = await user_with_account(gql)
    await spend(gql, user, [(dt.date(2026, 8, 1) + dt.timedelta(days=7 * i), "-40.00") for i in range(10)])
    await spend(gql, user, [(dt.date(2026, 10, 10), "-500.00"), (dt.date(2026, 10, 19), "-110.00"),
                            (dt.date(2026, 10, 19), "-90.00")])
    big = await create(gql, user["token"], user["account"], "-500.00", "2026-10-18", merchant="Sofa World")

    # when
    found = await run(resources, flows.large_transaction, user)

    # then: the median of the 14 expenses of the last 90 days is 40
    assert [(i.dedupe_key, i.title, i.numbers["median"]) for i in found] == [
        (f"LARGE_TRANSACTION:{db_id(big['id'])}:2026-10", "A large expense: 500.00 EUR at Sofa World", "40.00")]


async def test_a_run_stores_each_insight_once_and_notifies(gql: GraphQLClient, resources: Any) -> None:
    # given: a history in which exactly one generator fires (a large expense)
    user = await user_with_account(gql)
    await spend(gql, user, [(dt.date(2026, 9, 1) + dt.timedelta(days=5 * i), "-20.00") for i in range(5)])
    await spend(gql, user, [(dt.date(2026, 10, 19), "-400.00")], merchant="Airline")

    # when: the job runs twice for the same day
    first = await generate_insights({"resources": resources}, str(db_id(user["user_id"])), TODAY.isoformat())
    second = await generate_insights({"resources": resources}, str(db_id(user["user_id"])), TODAY.isoformat())

    # then
    assert len(first["created"]) == 1 and second == {"created": []}
    stored = await rows(resources, "select id, kind, state, period from insights")
    assert [(str(r["id"]), r["kind"], r["state"], r["period"]) for r in stored] == [
        (first["created"][0], "LARGE_TRANSACTION", "NEW", "2026-10")]
    notes = await rows(resources, "select kind, title, subject_id from notifications")
    assert [(n["kind"], n["title"], str(n["subject_id"])) for n in notes] == [
        ("INSIGHT", "A large expense: 400.00 EUR at Airline", first["created"][0])]


async def test_graphql_generate_list_dismiss_and_isolation(gql: GraphQLClient, resources: Any) -> None:
    # given: relative to the real today, eight expenses of 30 and one of 600 yesterday
    today = dt.datetime.now(dt.UTC).date()
    user = await user_with_account(gql)
    token = user["token"]
    await spend(gql, user, [(today - dt.timedelta(days=5 * i + 3), "-30.00") for i in range(8)])
    await spend(gql, user, [(today - dt.timedelta(days=1), "-600.00")], merchant="Jeweller")
    other = await user_with_account(gql)

    # when
    made = (await gql(GENERATE, {"key": "g1"}, token=token)).ok()["insightsGenerate"]
    again = (await gql(GENERATE, {"key": "g2"}, token=token)).ok()["insightsGenerate"]
    replay = (await gql(GENERATE, {"key": "g1"}, token=token)).ok()["insightsGenerate"]

    # then
    assert made["errors"] == [] and [(i["kind"], i["state"], i["severity"]) for i in made["insights"]] == [
        ("LARGE_TRANSACTION", "NEW", "INFO")]
    assert made["insights"][0]["numbers"]["amount"] == "600.00"
    assert again == {"insights": [], "errors": []}
    assert replay == made
    insight_id = made["insights"][0]["id"]
    with assert_max_queries(resources.engine, 3):
        listed = (await gql(INSIGHTS, token=token)).ok()["insights"]["edges"]
    assert [e["node"] for e in listed] == [{"id": insight_id, "kind": "LARGE_TRANSACTION", "state": "NEW"}]
    assert (await gql(INSIGHTS, token=other["token"])).ok()["insights"]["edges"] == []

    # when: another user dismisses it, then a wrong-type id, then the owner
    foreign = (await gql(DISMISS, {"id": insight_id}, token=other["token"])).ok()["insightDismiss"]
    wrong = (await gql(DISMISS, {"id": user["account"]}, token=token)).ok()["insightDismiss"]
    state_after_refusals = await rows(resources, "select state from insights")
    done = (await gql(DISMISS, {"id": insight_id}, token=token)).ok()["insightDismiss"]

    # then
    assert foreign == wrong == {"insight": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    assert state_after_refusals == [{"state": "NEW"}]
    assert done == {"insight": {"id": insight_id, "state": "DISMISSED"}, "errors": []}
    assert (await gql(INSIGHTS, {"state": ["NEW"]}, token=token)).ok()["insights"]["edges"] == []
    assert [e["node"]["state"] for e in (await gql(INSIGHTS, {"state": ["DISMISSED"]}, token=token)
                                         ).ok()["insights"]["edges"]] == ["DISMISSED"]
    node = (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": insight_id},
                      token=other["token"])).ok()["node"]
    assert node is None


async def test_the_daily_schedule_queues_one_job_per_user(gql: GraphQLClient, resources: Any) -> None:
    # given
    users = [db_id((await gql.register())["user_id"]) for _ in range(2)]

    # when: the cron job runs twice on one day
    first = await schedule_insights({"resources": resources})
    await schedule_insights({"resources": resources})

    # then: one job per user and day, the second run adding none
    day = dt.datetime.now(dt.UTC).date()
    queued = await resources.arq.queued_jobs(queue_name=resources.settings.arq_queue_name)
    mine = sorted((j.function, tuple(j.args), j.job_id) for j in queued if j.function == "generate_insights")
    assert first == {"queued": 2}
    assert mine == sorted(("generate_insights", (str(u),), f"insights:{u}:{day.isoformat()}") for u in users)
