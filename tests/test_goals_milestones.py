"""Goal milestones (recorded once, announced, completing the goal), linked accounts through the ledger, debt
payoff, histories, and the service functions the demo calls."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from app.auth.models import Scope
from app.auth.principal import Principal
from app.db import unit_of_work
from app.goals import milestones, service
from app.goals.models import GoalKind
from tests.ledger import account, create
from tests.support import GraphQLClient, count_queries
from tests.test_goals import GOAL, UPDATE, contribute, db_id, new_goal, table, today

NOTIFICATIONS = "select kind, title, subject_id, data from notifications where user_id = :u order by created_at, id"
MILESTONES = "select percent from goal_milestones where goal_id = :g order by percent"
HISTORY = """query($id: ID!, $i: GoalHistoryInterval, $from: Date, $to: Date) { goal(id: $id) {
  history(interval: $i, from: $from, to: $to) { day amount { amount currency } } } }"""


async def notes(resources: Any, user: dict[str, Any]) -> list[tuple[Any, ...]]:
    return await table(resources, NOTIFICATIONS, u=db_id(user["user_id"]))


async def test_milestones_fire_once_each_and_100_percent_completes(gql: GraphQLClient, resources) -> None:
    # given: a 1000 EUR goal
    user = await gql.register()
    goal = await new_goal(gql, user["token"], name="Car")
    gid = db_id(goal["id"])
    # when: 600 in one go passes 25 and 50
    got = (await contribute(gql, user["token"], goal["id"], "600.00"))["goal"]
    # then: both recorded, one notification naming the highest
    assert got["milestones"] == [{"percent": 25}, {"percent": 50}]
    assert await table(resources, MILESTONES, g=gid) == [(25,), (50,)]
    assert await notes(resources, user) == [("GOAL_MILESTONE", "Car: 50% of the way", gid, {
        "goalId": str(gid), "percent": 50, "percents": [25, 50], "progress": "600.00", "target": "1000.00",
        "currency": "EUR"})]
    # when: withdrawing below 25 % and saving back up to 60 % fires nothing again
    await contribute(gql, user["token"], goal["id"], "-500.00")
    again = (await contribute(gql, user["token"], goal["id"], "500.00"))["goal"]
    assert again["milestones"] == [{"percent": 25}, {"percent": 50}]
    assert len(await notes(resources, user)) == 1
    # when: 75 %, then 100 %
    await contribute(gql, user["token"], goal["id"], "150.00")
    done = (await contribute(gql, user["token"], goal["id"], "250.00"))["goal"]
    # then
    assert done["milestones"] == [{"percent": p} for p in (25, 50, 75, 100)]
    assert done["status"] == "COMPLETED" and done["completedAt"] is not None
    assert [(n[1], n[3]["percents"]) for n in await notes(resources, user)] == [
        ("Car: 50% of the way", [25, 50]), ("Car: 75% of the way", [75]), ("Goal reached: Car", [100])]
    reached = await table(resources, "select percent, reached_at from goal_milestones where goal_id = :g "
                                     "order by percent", g=gid)
    assert [r[0] for r in reached] == [25, 50, 75, 100] and reached[0][1] <= reached[3][1]


async def test_paused_goals_fire_nothing_until_resumed(gql: GraphQLClient, resources) -> None:
    user = await gql.register()
    goal = await new_goal(gql, user["token"])
    await gql(UPDATE, {"input": {"id": goal["id"], "status": "PAUSED"}}, token=user["token"])
    # when: a paused goal passes 75 %
    paused = (await contribute(gql, user["token"], goal["id"], "800.00"))["goal"]
    # then: nothing is recorded
    assert (paused["milestones"], paused["status"]) == ([], "PAUSED")
    assert await notes(resources, user) == []
    # when: resumed, the milestones it reached are recorded at once
    resumed = (await gql(UPDATE, {"input": {"id": goal["id"], "status": "ACTIVE"}}, token=user["token"])).ok()[
        "goalUpdate"]["goal"]
    assert resumed["milestones"] == [{"percent": 25}, {"percent": 50}, {"percent": 75}]
    assert len(await notes(resources, user)) == 1


async def test_a_lowered_target_reaches_milestones_and_completes(gql: GraphQLClient, resources) -> None:
    user = await gql.register()
    goal = await new_goal(gql, user["token"])
    await contribute(gql, user["token"], goal["id"], "400.00")
    # when: the target drops from 1000 to 400
    lowered = (await gql(UPDATE, {"input": {"id": goal["id"], "targetAmount": "400.00"}}, token=user["token"])).ok()[
        "goalUpdate"]["goal"]
    # then
    assert lowered["milestones"] == [{"percent": p} for p in (25, 50, 75, 100)]
    assert (lowered["status"], lowered["percent"], lowered["remaining"]["amount"]) == ("COMPLETED", "100.00", "0.00")
    assert [n[1] for n in await notes(resources, user)] == ["Trip: 25% of the way", "Goal reached: Trip"]


async def test_a_linked_goal_completes_through_a_transaction(gql: GraphQLClient, resources) -> None:
    # given: an emergency fund of 2000 over a savings account holding 900
    user = await gql.register()
    savings = await account(gql, user["token"], "Savings", opening="900.00", kind="SAVINGS")
    goal = await new_goal(gql, user["token"], name="Emergency fund", kind="EMERGENCY_FUND", targetAmount="2000.00",
                          accountIds=[savings["id"]])
    assert (goal["progress"]["amount"], goal["milestones"]) == ("900.00", [{"percent": 25}])
    # when: money arrives on the account through the ledger
    await create(gql, user["token"], savings["id"], "1100.00", day=today().isoformat(), description="Bonus")
    # then: 2000 of 2000; the goal completed and said so
    got = (await gql(GOAL, {"id": goal["id"]}, token=user["token"])).ok()["goal"]
    assert (got["progress"]["amount"], got["percent"], got["status"]) == ("2000.00", "100.00", "COMPLETED")
    assert got["completedAt"] is not None
    assert got["milestones"] == [{"percent": p} for p in (25, 50, 75, 100)]
    assert [(n[0], n[1], n[2]) for n in await notes(resources, user)] == [
        ("GOAL_MILESTONE", "Emergency fund: 25% of the way", db_id(goal["id"])),
        ("GOAL_MILESTONE", "Goal reached: Emergency fund", db_id(goal["id"]))]
    # and the pace counts the account's growth over the window: 900 opening balance before, 2000 now
    assert got["savedLast90Days"]["amount"] == "1100.00"


async def test_a_debt_payoff_goal_follows_the_loan_down(gql: GraphQLClient, resources) -> None:
    # given: pay off 10000 of a loan that owes 8000
    user = await gql.register()
    loan = await account(gql, user["token"], "Car loan", opening="-8000.00", kind="LOAN")
    goal = await new_goal(gql, user["token"], name="Car loan", kind="DEBT_PAYOFF", targetAmount="10000.00",
                          accountIds=[loan["id"]])
    assert (goal["progress"]["amount"], goal["percent"], goal["milestones"]) == ("2000.00", "20.00", [])
    # when: a payment of 3000 (money into the loan account)
    await create(gql, user["token"], loan["id"], "3000.00", day=today().isoformat())
    got = (await gql(GOAL, {"id": goal["id"]}, token=user["token"])).ok()["goal"]
    # then: it owes 5000, so half is paid off
    assert (got["progress"]["amount"], got["remaining"]["amount"], got["percent"]) == ("5000.00", "5000.00", "50.00")
    assert got["milestones"] == [{"percent": 25}, {"percent": 50}]
    # an asset account cannot join a debt payoff goal, and a goal with an asset cannot become one
    savings = await account(gql, user["token"], "Savings", kind="SAVINGS")
    payload = (await gql(UPDATE, {"input": {"id": goal["id"], "accountIds": [loan["id"], savings["id"]]}},
                         token=user["token"])).ok()["goalUpdate"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("accountIds.1", "INVALID")]
    other = await new_goal(gql, user["token"], name="Cushion", accountIds=[savings["id"]])
    payload = (await gql(UPDATE, {"input": {"id": other["id"], "kind": "DEBT_PAYOFF"}}, token=user["token"])).ok()[
        "goalUpdate"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("kind", "INVALID")]


async def test_ledger_changes_on_unlinked_accounts_cost_one_statement(gql: GraphQLClient, resources) -> None:
    # given: a goal linked to one account, and another account
    user = await gql.register()
    linked = await account(gql, user["token"], "Linked")
    other = await account(gql, user["token"], "Other")
    await new_goal(gql, user["token"], accountIds=[linked["id"]])
    # when
    async with unit_of_work(resources) as uow:
        with count_queries(resources.engine) as counter:
            await milestones.check_accounts(uow, db_id(user["user_id"]), {db_id(other["id"])})
    # then
    assert counter.count == 1


async def test_histories_sample_contributions_and_balances(gql: GraphQLClient) -> None:
    # given: contributions in January and March 2025
    user = await gql.register()
    goal = await new_goal(gql, user["token"])
    await contribute(gql, user["token"], goal["id"], "100.00", dt.date(2025, 1, 10))
    await contribute(gql, user["token"], goal["id"], "50.00", dt.date(2025, 3, 5))
    # when
    monthly = (await gql(HISTORY, {"id": goal["id"], "from": "2025-01-01", "to": "2025-04-10"},
                         token=user["token"])).ok()["goal"]["history"]
    # then: cumulative at each month's end and at `to`
    assert [(p["day"], p["amount"]["amount"]) for p in monthly] == [
        ("2025-01-31", "100.00"), ("2025-02-28", "100.00"), ("2025-03-31", "150.00"), ("2025-04-10", "150.00")]
    # and by default from the first contribution to today, one point per month
    default = (await gql(HISTORY, {"id": goal["id"]}, token=user["token"])).ok()["goal"]["history"]
    assert default[0] == {"day": "2025-01-31", "amount": {"amount": "100.00", "currency": "EUR"}}
    assert default[-1]["day"] == today().isoformat() and default[-1]["amount"]["amount"] == "150.00"
    # given: an account opened on 2025-06-01 with 100, +50 on 2025-06-20 and +25 on 2025-07-02
    acc = await account(gql, user["token"], "Savings")
    await _opening(gql, user["token"], acc["id"], "100.00", "2025-06-01")
    await create(gql, user["token"], acc["id"], "50.00", day="2025-06-20")
    await create(gql, user["token"], acc["id"], "25.00", day="2025-07-02")
    linked = await new_goal(gql, user["token"], name="L", accountIds=[acc["id"]])
    weekly = (await gql(HISTORY, {"id": linked["id"], "i": "WEEK", "from": "2025-05-26", "to": "2025-07-06"},
                        token=user["token"])).ok()["goal"]["history"]
    # before the opening day the opening balance counts; then the end-of-day balance of each Sunday
    assert [(p["day"], p["amount"]["amount"]) for p in weekly] == [
        ("2025-06-01", "100.00"), ("2025-06-08", "100.00"), ("2025-06-15", "100.00"), ("2025-06-22", "150.00"),
        ("2025-06-29", "150.00"), ("2025-07-06", "175.00")]
    too_long = await gql(HISTORY, {"id": linked["id"], "i": "DAY", "from": "2020-01-01", "to": "2025-01-01"},
                         token=user["token"])
    assert too_long.codes == ["BAD_USER_INPUT"]


async def _opening(gql: GraphQLClient, token: str, account_id: str, amount: str, day: str) -> None:
    result = (await gql("""mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) { errors { code } } }""",
                        {"input": {"id": account_id, "openingBalance": amount, "openingDate": day}}, token=token)).ok()
    assert result["accountUpdate"]["errors"] == []


async def test_the_service_functions_the_demo_calls(gql: GraphQLClient, resources) -> None:
    # given: a user in Berlin, "today" fixed by the caller
    user = await gql.register(timeZone="Europe/Berlin", baseCurrency="EUR")
    principal = Principal(user_id=db_id(user["user_id"]), email=user["email"], base_currency="EUR",
                          time_zone="Europe/Berlin", scope=Scope.READ_WRITE, token_id=uuid.uuid4())
    day = dt.date(2026, 1, 20)
    # when
    async with unit_of_work(resources) as uow:
        goal = await service.create_goal(uow, principal, name="Japan", kind=GoalKind.VACATION,
                                         target_amount="3000.00", currency="EUR", target_date=dt.date(2026, 7, 20),
                                         priority=1, today=day)
        await service.contribute(uow, principal, goal_id=goal.id, amount="900.00", day=dt.date(2026, 1, 5),
                                 note="first", today=day)
    async with resources.sessionmaker() as session:
        [view] = await service.read_goals(session, principal, ids=[goal.id], today=day)
    # then: 900 of 3000; 2100 over 6 months = 350; 900 in 90 days = 10 a day, 181 days left: 1810 < 2100
    f = view.figures
    assert (f.progress, f.remaining, f.percent) == (Decimal("900.00"), Decimal("2100.00"), Decimal("30.00"))
    assert (f.monthly_required, f.on_track, f.gained) == (Decimal("350.00"), False, Decimal("900.00"))
    assert f.projected_on == day + dt.timedelta(days=210)
    assert await table(resources, MILESTONES, g=goal.id) == [(25,)]
    # and the contribution shows in the API
    got = (await gql("{ goals { name contributions { amount { amount } day note } } }", token=user["token"])).ok()[
        "goals"]
    assert got == [{"name": "Japan", "contributions": [{"amount": {"amount": "900.00"}, "day": "2026-01-05",
                                                        "note": "first"}]}]
