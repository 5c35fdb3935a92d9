"""Goals through the GraphQL schema: create and validation, contributions and their figures, idempotent retries,
rules between contributions and linked accounts, updates, deletion, isolation, and statements per list."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id
from tests.ledger import account
from tests.support import GraphQLClient, assert_max_queries, count_queries

FIELDS = """id name kind status priority targetDate completedAt target { amount currency } progress { amount currency }
  remaining { amount } percent savedLast90Days { amount } monthlySavingRequired { amount } onTrack
  projectedCompletionOn accounts { id } milestones { percent } conversions { from to rate rateDay exact }
  unconverted { amount currency }"""
CREATE = f"""mutation($input: GoalCreateInput!) {{ goalCreate(input: $input) {{
  goal {{ {FIELDS} }} errors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: GoalUpdateInput!) {{ goalUpdate(input: $input) {{
  goal {{ {FIELDS} }} errors {{ field message code }} }} }}"""
CONTRIBUTE = f"""mutation($input: GoalContributeInput!) {{ goalContribute(input: $input) {{
  goal {{ {FIELDS} }} contribution {{ id amount {{ amount currency }} day note }} errors {{ field message code }} }} }}"""
DELETE = """mutation($input: GoalDeleteInput!) { goalDelete(input: $input) { deletedId errors { field code } } }"""
GOAL = f"query($id: ID!) {{ goal(id: $id) {{ {FIELDS} }} }}"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()  # the users of these tests live in UTC


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def new_goal(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    values = {"name": "Trip", "targetAmount": "1000.00", "currency": "EUR", **fields}
    payload = (await gql(CREATE, {"input": values}, token=token)).ok()["goalCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["goal"]


async def contribute(gql: GraphQLClient, token: str, goal_id: str, amount: str, day: dt.date | None = None,
                     **extra: Any) -> dict[str, Any]:
    values = {"goalId": goal_id, "amount": amount, **({"day": day.isoformat()} if day else {}), **extra}
    return (await gql(CONTRIBUTE, {"input": values}, token=token)).ok()["goalContribute"]


async def table(resources: Any, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with resources.sessionmaker() as session:
        return [tuple(row) for row in await session.execute(sa.text(sql), params)]


def naive_months(start: dt.date, end: dt.date) -> int:
    """The smallest n >= 1 such that n months after `start` (same day, clamped to the month) is >= `end`."""
    n = 1
    while True:
        month = start.month - 1 + n
        year, month = start.year + month // 12, month % 12 + 1
        day = min(start.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                              31, 31, 30, 31, 30, 31][month - 1])
        if dt.date(year, month, day) >= end:
            return n
        n += 1


async def test_create_validates_every_field_with_its_path_and_stores_nothing(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    other = await gql.register()
    foreign = await account(gql, other["token"], "Not mine")
    mine = await account(gql, user["token"], "Mine")
    # when
    bad = {"name": "  ", "targetAmount": "-5.00", "currency": "EUR", "priority": 1001,
           "accountIds": [mine["id"], foreign["id"], "garbage"]}
    result = (await gql(CREATE, {"input": bad}, token=user["token"])).ok()["goalCreate"]
    # then: the malformed id fails first, on its own path
    assert result["goal"] is None
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("accountIds.2", "NOT_FOUND")]
    # when: ids that decode but are not the caller's
    bad["accountIds"] = [mine["id"], foreign["id"]]
    result = (await gql(CREATE, {"input": bad}, token=user["token"])).ok()["goalCreate"]
    assert sorted((e["field"], e["code"]) for e in result["errors"]) == [
        ("accountIds.1", "NOT_FOUND"), ("name", "REQUIRED"), ("priority", "INVALID"), ("targetAmount", "INVALID")]
    for values, field, code in (({"currency": "EURO"}, "currency", "INVALID_CURRENCY"),
                                ({"targetAmount": "1.234"}, "targetAmount", "TOO_MANY_DECIMALS"),
                                ({"targetAmount": "0"}, "targetAmount", "INVALID"),
                                ({"kind": "DEBT_PAYOFF", "accountIds": [mine["id"]]}, "accountIds.0", "INVALID")):
        result = (await gql(CREATE, {"input": {"name": "X", "targetAmount": "10", **values}},
                            token=user["token"])).ok()["goalCreate"]
        assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)], values
    assert await table(resources, "select id from goals") == []


async def test_a_goal_of_contributions_reports_hand_worked_figures(gql: GraphQLClient) -> None:
    # given: 1000 EUR by about 100 days from now; 150 saved 100 days ago (before the 90-day window), 300 ten days ago
    user = await gql.register()
    now = today()
    target_date = now + dt.timedelta(days=100)
    goal = await new_goal(gql, user["token"], kind="VACATION", targetDate=target_date.isoformat())
    assert (goal["progress"], goal["percent"], goal["status"]) == ({"amount": "0.00", "currency": "EUR"}, "0.00",
                                                                   "ACTIVE")
    await contribute(gql, user["token"], goal["id"], "150.00", now - dt.timedelta(days=100))
    # when
    payload = await contribute(gql, user["token"], goal["id"], "300.00", now - dt.timedelta(days=10), note="bonus")
    # then
    assert payload["errors"] == []
    assert payload["contribution"]["amount"] == {"amount": "300.00", "currency": "EUR"}
    assert payload["contribution"]["note"] == "bonus"
    got = payload["goal"]
    assert (got["progress"]["amount"], got["remaining"]["amount"], got["percent"]) == ("450.00", "550.00", "45.00")
    assert got["savedLast90Days"]["amount"] == "300.00"
    # 300 / 90 * 100 days = 333.33 < 550: not on track; ceil(550 * 90 / 300) = 165 days to go
    assert got["onTrack"] is False
    assert got["projectedCompletionOn"] == (now + dt.timedelta(days=165)).isoformat()
    months = naive_months(now, target_date)
    expected = (Decimal(550) / months).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    assert got["monthlySavingRequired"]["amount"] == str(expected)
    assert got["milestones"] == [{"percent": 25}]


async def test_on_track_when_the_last_90_days_pace_is_enough(gql: GraphQLClient) -> None:
    # given: 900 saved in the window (10 a day), 100 left, 30 days to go: 300 >= 100
    user = await gql.register()
    goal = await new_goal(gql, user["token"], targetDate=(today() + dt.timedelta(days=30)).isoformat())
    got = (await contribute(gql, user["token"], goal["id"], "900.00", today() - dt.timedelta(days=5)))["goal"]
    assert (got["onTrack"], got["projectedCompletionOn"]) == (True, (today() + dt.timedelta(days=10)).isoformat())
    # without a target date there is nothing to be on track for
    no_date = (await gql(UPDATE, {"input": {"id": goal["id"], "targetDate": None}}, token=user["token"])).ok()
    assert (no_date["goalUpdate"]["goal"]["onTrack"], no_date["goalUpdate"]["goal"]["monthlySavingRequired"]) == (
        None, None)


async def test_contribution_rules_refuse_bad_input_and_change_nothing(gql: GraphQLClient, resources) -> None:
    # given: 100 saved five days ago
    user = await gql.register()
    goal = await new_goal(gql, user["token"])
    await contribute(gql, user["token"], goal["id"], "100.00", today() - dt.timedelta(days=5))
    cases = [
        ({"amount": "0"}, [("amount", "INVALID")]),
        ({"amount": "1.001"}, [("amount", "TOO_MANY_DECIMALS")]),
        ({"amount": "10", "day": (today() + dt.timedelta(days=1)).isoformat()}, [("day", "INVALID")]),
        ({"amount": "-100.01"}, [("amount", "INVALID")]),  # more than was saved
        # a backdated withdrawal may not take an earlier day below 0
        ({"amount": "-50", "day": (today() - dt.timedelta(days=6)).isoformat()}, [("amount", "INVALID")]),
        ({"amount": "5", "note": "x" * 501}, [("note", "TOO_LONG")]),
        ({"amount": "5", "goalId": "R29hbDpub3Q="}, [("goalId", "NOT_FOUND")]),
    ]
    for extra, expected in cases:
        values = {"goalId": goal["id"], **extra}
        payload = (await gql(CONTRIBUTE, {"input": values}, token=user["token"])).ok()["goalContribute"]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, extra
        assert payload["goal"] is None and payload["contribution"] is None
    assert await table(resources, "select amount from goal_contributions") == [(Decimal("100.0000"),)]
    # a withdrawal of exactly what was saved is fine, and progress is back at 0
    back = await contribute(gql, user["token"], goal["id"], "-100.00")
    assert back["goal"]["progress"]["amount"] == "0.00"


async def test_a_retried_contribution_counts_once(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    goal = await new_goal(gql, user["token"])
    values = {"goalId": goal["id"], "amount": "250.00", "day": today().isoformat(), "idempotencyKey": "pay-1"}
    # when: the same request twice, then the same key with another amount
    first = (await gql(CONTRIBUTE, {"input": values}, token=user["token"])).ok()["goalContribute"]
    again = (await gql(CONTRIBUTE, {"input": values}, token=user["token"])).ok()["goalContribute"]
    other = (await gql(CONTRIBUTE, {"input": {**values, "amount": "300.00"}}, token=user["token"])).ok()[
        "goalContribute"]
    # then
    assert first["errors"] == again["errors"] == []
    assert again["contribution"]["id"] == first["contribution"]["id"]
    assert again["goal"]["progress"]["amount"] == "250.00"
    assert [(e["field"], e["code"]) for e in other["errors"]] == [("idempotencyKey", "CONFLICT")]
    assert await table(resources, "select amount from goal_contributions") == [(Decimal("250.0000"),)]
    # a client-chosen goal id replays too
    chosen = _goal_gid()
    created = [(await gql(CREATE, {"input": {"name": "Same", "targetAmount": "5", "id": chosen}},
                          token=user["token"])).ok()["goalCreate"] for _ in range(2)]
    assert created[0]["goal"]["id"] == created[1]["goal"]["id"]
    assert len(await table(resources, "select id from goals")) == 2


def _goal_gid() -> str:
    import base64

    return base64.b64encode(f"Goal:{uuid.uuid4()}".encode()).decode()


async def test_contributions_and_linked_accounts_exclude_each_other(gql: GraphQLClient, resources) -> None:
    # given: a goal of contributions and a goal of an account
    user = await gql.register()
    savings = await account(gql, user["token"], "Savings", opening="100.00", kind="SAVINGS")
    saved = await new_goal(gql, user["token"], name="Saved")
    await contribute(gql, user["token"], saved["id"], "10.00")
    linked = await new_goal(gql, user["token"], name="Linked", accountIds=[savings["id"]])
    # when / then: contributing to the linked goal is CONFLICT, and so is linking the goal that has contributions
    payload = await contribute(gql, user["token"], linked["id"], "5.00")
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("goalId", "CONFLICT")]
    update = (await gql(UPDATE, {"input": {"id": saved["id"], "accountIds": [savings["id"]]}},
                        token=user["token"])).ok()["goalUpdate"]
    assert [(e["field"], e["code"]) for e in update["errors"]] == [("accountIds", "CONFLICT")]
    assert await table(resources, "select goal_id from goal_accounts") == [(db_id(linked["id"]),)]
    # unlinking every account makes the goal one of contributions
    unlinked = (await gql(UPDATE, {"input": {"id": linked["id"], "accountIds": []}}, token=user["token"])).ok()
    assert unlinked["goalUpdate"]["goal"]["accounts"] == []
    assert (await contribute(gql, user["token"], linked["id"], "5.00"))["errors"] == []
    # the currency of a goal with contributions stays
    payload = (await gql(UPDATE, {"input": {"id": saved["id"], "currency": "USD"}}, token=user["token"])).ok()
    assert [(e["field"], e["code"]) for e in payload["goalUpdate"]["errors"]] == [("currency", "CURRENCY_MISMATCH")]


async def test_update_changes_only_what_is_given_and_status_sets_completed_at(gql: GraphQLClient) -> None:
    user = await gql.register()
    goal = await new_goal(gql, user["token"], priority=3, targetDate="2030-01-31")
    # when
    renamed = (await gql(UPDATE, {"input": {"id": goal["id"], "name": "Japan", "kind": "VACATION"}},
                         token=user["token"])).ok()["goalUpdate"]["goal"]
    done = (await gql(UPDATE, {"input": {"id": goal["id"], "status": "COMPLETED"}}, token=user["token"])).ok()[
        "goalUpdate"]["goal"]
    reopened = (await gql(UPDATE, {"input": {"id": goal["id"], "status": "ACTIVE", "targetDate": None}},
                          token=user["token"])).ok()["goalUpdate"]["goal"]
    refused = (await gql(UPDATE, {"input": {"id": goal["id"], "name": "", "targetAmount": "-1", "priority": -1}},
                         token=user["token"])).ok()["goalUpdate"]
    # then
    assert (renamed["name"], renamed["kind"], renamed["priority"], renamed["targetDate"]) == (
        "Japan", "VACATION", 3, "2030-01-31")
    assert done["status"] == "COMPLETED" and done["completedAt"] is not None
    assert (reopened["status"], reopened["completedAt"], reopened["targetDate"]) == ("ACTIVE", None, None)
    assert sorted((e["field"], e["code"]) for e in refused["errors"]) == [
        ("name", "REQUIRED"), ("priority", "INVALID"), ("targetAmount", "INVALID")]
    assert (await gql(GOAL, {"id": goal["id"]}, token=user["token"])).ok()["goal"]["name"] == "Japan"


async def test_goals_lists_by_priority_and_filters_by_status(gql: GraphQLClient) -> None:
    user = await gql.register()
    b = await new_goal(gql, user["token"], name="B", priority=2)
    a = await new_goal(gql, user["token"], name="A", priority=2)
    first = await new_goal(gql, user["token"], name="Z", priority=0)
    await gql(UPDATE, {"input": {"id": b["id"], "status": "ARCHIVED"}}, token=user["token"])
    names = "query($s: [GoalStatus!]) { goals(status: $s) { name } }"
    assert (await gql(names, token=user["token"])).ok()["goals"] == [{"name": "Z"}, {"name": "A"}]
    assert (await gql(names, {"s": ["ARCHIVED"]}, token=user["token"])).ok()["goals"] == [{"name": "B"}]
    assert len((await gql(names, {"s": ["ACTIVE", "ARCHIVED"]}, token=user["token"])).ok()["goals"]) == 3
    assert first["id"] != a["id"]


async def test_delete_removes_the_goal_and_leaves_a_tombstone(gql: GraphQLClient, resources) -> None:
    user = await gql.register()
    goal = await new_goal(gql, user["token"])
    await contribute(gql, user["token"], goal["id"], "300.00")
    deleted = (await gql(DELETE, {"input": {"id": goal["id"]}}, token=user["token"])).ok()["goalDelete"]
    assert deleted == {"deletedId": goal["id"], "errors": []}
    assert (await gql(GOAL, {"id": goal["id"]}, token=user["token"])).ok()["goal"] is None
    assert await table(resources, "select count(*) from goal_contributions") == [(0,)]
    assert await table(resources, "select entity, entity_id from deletions") == [("Goal", db_id(goal["id"]))]
    again = (await gql(DELETE, {"input": {"id": goal["id"]}}, token=user["token"])).ok()["goalDelete"]
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("id", "NOT_FOUND")]


async def test_another_users_goal_and_accounts_are_not_found(gql: GraphQLClient, resources) -> None:
    # given: A's goal and account
    a = await gql.register()
    b = await gql.register()
    a_goal = await new_goal(gql, a["token"])
    await contribute(gql, a["token"], a_goal["id"], "100.00")
    a_acc = await account(gql, a["token"], "A savings")
    b_goal = await new_goal(gql, b["token"], name="B")
    before = await table(resources, "select id, name, target_amount, status, updated_at from goals order by id")
    tok = b["token"]
    # reads
    assert (await gql(GOAL, {"id": a_goal["id"]}, token=tok)).ok() == {"goal": None}
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": a_goal["id"]}, token=tok)).ok() == {
        "node": None}
    assert (await gql(GOAL, {"id": a_acc["id"]}, token=tok)).ok() == {"goal": None}  # wrong type
    assert (await gql("{ goals(status: [ACTIVE, PAUSED, COMPLETED, ARCHIVED]) { id } }", token=tok)).ok()[
        "goals"] == [{"id": b_goal["id"]}]
    # writes
    attempts = [
        (UPDATE, {"id": a_goal["id"], "name": "Mine now"}, "goalUpdate", "id"),
        (UPDATE, {"id": b_goal["id"], "accountIds": [a_acc["id"]]}, "goalUpdate", "accountIds.0"),
        (CONTRIBUTE, {"goalId": a_goal["id"], "amount": "-100.00"}, "goalContribute", "goalId"),
        (DELETE, {"id": a_goal["id"]}, "goalDelete", "id"),
        (CREATE, {"name": "Spy", "targetAmount": "1", "accountIds": [a_acc["id"]]}, "goalCreate", "accountIds.0"),
    ]
    for query, values, name, field in attempts:
        payload = (await gql(query, {"input": values}, token=tok)).ok()[name]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "NOT_FOUND")], name
    assert await table(resources, "select id, name, target_amount, status, updated_at from goals order by id") == before
    assert await table(resources, "select sum(amount) from goal_contributions") == [(Decimal("100.0000"),)]


LIST = """{ goals { name progress { amount } remaining { amount } percent onTrack projectedCompletionOn
  monthlySavingRequired { amount } savedLast90Days { amount } conversions { rate } unconverted { amount }
  accounts { name balance { amount } } milestones { percent reachedAt } contributions { amount { amount } }
  history { day amount { amount } } } }"""


async def test_goals_statements_do_not_grow_with_the_number_of_goals(gql: GraphQLClient, resources) -> None:
    # given: two users with 2 and 20 goals, half of contributions, half linked to accounts in two currencies
    async def setup(n: int) -> str:
        user = await gql.register()
        eur = await account(gql, user["token"], "EUR savings", opening="500.00", kind="SAVINGS")
        usd = await account(gql, user["token"], "USD savings", currency="USD", opening="200.00", kind="SAVINGS")
        for i in range(n):
            if i % 2:
                await new_goal(gql, user["token"], name=f"L{i}", accountIds=[eur["id"], usd["id"]],
                               targetDate="2031-01-01")
            else:
                goal = await new_goal(gql, user["token"], name=f"C{i}")
                await contribute(gql, user["token"], goal["id"], "300.00", today() - dt.timedelta(days=3))
        return user["token"]

    small, large = await setup(2), await setup(20)
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text(
            "insert into exchange_rates (id, base, quote, day, rate, source) values (:id, 'EUR', 'USD', :d, 1.25, "
            "'ECB')"), {"id": uuid.uuid4(), "d": today() - dt.timedelta(days=400)})
    # when
    with count_queries(resources.engine) as two:
        few = (await gql(LIST, token=small)).ok()["goals"]
    with assert_max_queries(resources.engine, two.count) as twenty:
        many = (await gql(LIST, token=large)).ok()["goals"]
    # then: the same statements for 2 and 20 goals, and the figures are there
    assert len(few) == 2 and len(many) == 20
    assert two.count == twenty.count <= 11
    linked = next(g for g in many if g["name"] == "L1")
    assert linked["progress"]["amount"] == "660.00"  # 500 + 200 / 1.25
    assert linked["conversions"] == [{"rate": "0.8000000000"}]
    assert next(g for g in many if g["name"] == "C0")["contributions"] == [{"amount": {"amount": "300.00"}}]
