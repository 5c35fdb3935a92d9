"""Budgets through the GraphQL schema: create, read, partial update, delete, validation with field paths, isolation.

Helpers here are shared by tests/test_budget_status.py and tests/test_budget_alerts.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id, to_global_id
from tests.ledger import category_id
from tests.support import GraphQLClient

FIELDS = """id name currency period startDay rollover thresholds startsOn
  lines { id limit { amount currency } position category { id name } }"""
CREATE = f"""mutation($input: BudgetCreateInput!) {{ budgetCreate(input: $input) {{
  budget {{ {FIELDS} }} errors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: BudgetUpdateInput!) {{ budgetUpdate(input: $input) {{
  budget {{ {FIELDS} }} errors {{ field message code }} }} }}"""
DELETE = """mutation($input: BudgetDeleteInput!) { budgetDelete(input: $input) {
  deletedId errors { field message code } } }"""
BUDGET = f"query($id: ID!) {{ budget(id: $id) {{ {FIELDS} }} }}"
BUDGETS = f"{{ budgets {{ {FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id ... on Budget { name } } }"


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def categories(gql: GraphQLClient, token: str, *names: str) -> list[str]:
    return [await category_id(gql, token, name) for name in names]


async def create_budget(gql: GraphQLClient, token: str, **values: Any) -> dict[str, Any]:
    payload = (await gql(CREATE, {"input": values}, token=token)).ok()["budgetCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["budget"]


async def rows(resources: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with resources.sessionmaker() as session:
        return [dict(r._mapping) for r in await session.execute(sa.text(sql), params)]


async def snapshot(resources: Any) -> dict[str, list[dict[str, Any]]]:
    return {table: await rows(resources, f"select * from {table} order by id")
            for table in ("budgets", "budget_lines", "budget_alerts")}


async def test_create_read_and_list_a_budget(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    food, fuel = await categories(gql, user["token"], "Food & drink", "Fuel")
    # when
    budget = await create_budget(gql, user["token"], name="  Household ", currency="eur", period="MONTHLY",
                                 startDay=25, rollover="SURPLUS", startsOn="2026-09-30",
                                 lines=[{"categoryId": food, "limit": "400"}, {"categoryId": fuel, "limit": "80.5"}])
    # then
    expected = {
        "id": budget["id"], "name": "Household", "currency": "EUR", "period": "MONTHLY", "startDay": 25,
        "rollover": "SURPLUS", "thresholds": [50, 80, 100], "startsOn": "2026-09-30",
        "lines": [
            {"id": budget["lines"][0]["id"], "limit": {"amount": "400.00", "currency": "EUR"}, "position": 0,
             "category": {"id": food, "name": "Food & drink"}},
            {"id": budget["lines"][1]["id"], "limit": {"amount": "80.50", "currency": "EUR"}, "position": 1,
             "category": {"id": fuel, "name": "Fuel"}},
        ],
    }
    assert budget == expected
    assert (await gql(BUDGET, {"id": budget["id"]}, token=user["token"])).ok()["budget"] == expected
    assert (await gql(BUDGETS, token=user["token"])).ok()["budgets"] == [expected]
    assert (await gql(NODE, {"id": budget["id"]}, token=user["token"])).ok()["node"] == {
        "id": budget["id"], "name": "Household"}
    stored = await rows(resources, "select name, currency, period, start_day, rollover, thresholds, starts_on "
                                   "from budgets where id = :id", id=db_id(budget["id"]))
    assert stored == [{"name": "Household", "currency": "EUR", "period": "MONTHLY", "start_day": 25,
                       "rollover": "SURPLUS", "thresholds": [50, 80, 100], "starts_on": dt.date(2026, 9, 30)}]


async def test_defaults_thresholds_deduplicated_and_starts_today(gql: GraphQLClient) -> None:
    # given: a user in a time zone far east of UTC
    user = await gql.register(timeZone="Pacific/Kiritimati")
    (groceries,) = await categories(gql, user["token"], "Groceries")
    # when
    budget = await create_budget(gql, user["token"], name="Food", currency="JPY", thresholds=[90, 25, 90, 1000],
                                 lines=[{"categoryId": groceries, "limit": "30000"}])
    # then: monthly from the 1st, no rollover, thresholds sorted without duplicates, the first period today's
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=14))).date()
    assert (budget["period"], budget["startDay"], budget["rollover"]) == ("MONTHLY", 1, "NONE")
    assert budget["thresholds"] == [25, 90, 1000]
    assert budget["startsOn"] == today.isoformat()
    assert budget["lines"][0]["limit"] == {"amount": "30000", "currency": "JPY"}


async def test_client_id_replays_and_conflicts(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    (groceries,) = await categories(gql, user["token"], "Groceries")
    wanted = to_global_id("Budget", uuid.uuid4())
    values = {"id": wanted, "name": "Food", "currency": "EUR", "lines": [{"categoryId": groceries, "limit": "10"}]}
    # when: the same create twice, then with another input
    first = (await gql(CREATE, {"input": values}, token=user["token"])).ok()["budgetCreate"]
    again = (await gql(CREATE, {"input": values}, token=user["token"])).ok()["budgetCreate"]
    other = (await gql(CREATE, {"input": {**values, "name": "Other"}}, token=user["token"])).ok()["budgetCreate"]
    # then
    assert first["budget"]["id"] == wanted and first["errors"] == []
    assert again == first
    assert codes(other) == [("id", "CONFLICT")] and other["budget"] is None
    assert len(await rows(resources, "select id from budgets")) == 1


async def test_validation_reports_every_field_and_stores_nothing(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    stranger = await gql.register()
    groceries, food, salary, fuel = await categories(gql, user["token"], "Groceries", "Food & drink", "Salary", "Fuel")
    (foreign,) = await categories(gql, stranger["token"], "Fuel")
    before = await snapshot(resources)
    # when
    payload = (await gql(CREATE, {"input": {
        "name": " ", "currency": "EUR", "period": "MONTHLY", "startDay": 29, "thresholds": [0, 50, 1001],
        "startsOn": "1800-01-01",
        "lines": [
            {"categoryId": food, "limit": "100"},
            {"categoryId": groceries, "limit": "50"},      # its parent already has a line
            {"categoryId": salary, "limit": "10"},         # an INCOME category
            {"categoryId": fuel, "limit": "0"},            # not positive
            {"categoryId": fuel, "limit": "1.234"},        # a second line on Fuel, too many decimals
            {"categoryId": foreign, "limit": "5"},         # another user's category
        ]}}, token=user["token"])).ok()["budgetCreate"]
    # then
    assert payload["budget"] is None
    assert sorted(codes(payload), key=str) == sorted([
        ("name", "REQUIRED"), ("startDay", "INVALID"), ("thresholds.0", "INVALID"), ("thresholds.2", "INVALID"),
        ("startsOn", "INVALID"), ("lines.1.categoryId", "INVALID"), ("lines.2.categoryId", "INVALID"),
        ("lines.3.limit", "INVALID"), ("lines.4.categoryId", "CONFLICT"), ("lines.4.limit", "TOO_MANY_DECIMALS"),
        ("lines.5.categoryId", "NOT_FOUND"),
    ], key=str)
    assert await snapshot(resources) == before


async def test_more_validation_currency_period_days_and_limits(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    (fuel,) = await categories(gql, user["token"], "Fuel")
    line = [{"categoryId": fuel, "limit": "10"}]

    async def errors(**values: Any) -> list[tuple[str | None, str]]:
        payload = (await gql(CREATE, {"input": {"name": "B", "currency": "EUR", "lines": line, **values}},
                             token=user["token"])).ok()["budgetCreate"]
        return codes(payload)

    # when / then
    assert await errors(currency="EURO") == [("currency", "INVALID_CURRENCY")]
    assert await errors(name="x" * 121) == [("name", "TOO_LONG")]
    assert await errors(period="WEEKLY", startDay=8) == [("startDay", "INVALID")]
    assert await errors(period="WEEKLY", startDay=0) == [("startDay", "INVALID")]
    assert await errors(period="YEARLY", startDay=13) == [("startDay", "INVALID")]
    assert await errors(thresholds=list(range(1, 12))) == [("thresholds", "LIMIT_EXCEEDED")]
    assert await errors(lines=[{"categoryId": fuel, "limit": "-5"}]) == [("lines.0.limit", "INVALID")]
    assert await errors(lines=[{"categoryId": fuel, "limit": "ten"}]) == [("lines.0.limit", "INVALID")]
    assert await errors(lines=[{"categoryId": "nonsense", "limit": "1"}]) == [("lines.0.categoryId", "NOT_FOUND")]
    assert await errors(lines=[{"categoryId": to_global_id("Account", uuid.uuid4()), "limit": "1"}]) == [
        ("lines.0.categoryId", "NOT_FOUND")]
    assert await errors(currency="JPY", lines=[{"categoryId": fuel, "limit": "10.50"}]) == [
        ("lines.0.limit", "TOO_MANY_DECIMALS")]
    assert await rows(resources, "select id from budgets") == []
    # and: 1..28, weekdays 1..7, months 1..12 and thresholds 1..1000 (ten of them, duplicates aside) are fine
    assert await errors(startDay=28, thresholds=[1, 1, *range(200, 1001, 100)]) == []
    assert await errors(period="WEEKLY", startDay=7) == []
    assert await errors(period="YEARLY", startDay=12) == []


async def test_update_changes_only_what_is_given(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    food, fuel, rent = await categories(gql, user["token"], "Food & drink", "Fuel", "Rent")
    budget = await create_budget(gql, user["token"], name="Home", currency="EUR", startDay=25, rollover="SURPLUS",
                                 thresholds=[75], startsOn="2026-01-10",
                                 lines=[{"categoryId": food, "limit": "400"}, {"categoryId": fuel, "limit": "80"}])
    food_line = budget["lines"][0]["id"]

    async def update(**values: Any) -> dict[str, Any]:
        return (await gql(UPDATE, {"input": {"id": budget["id"], **values}}, token=user["token"])).ok()["budgetUpdate"]

    # when: only the name is given
    renamed = await update(name="Flat")
    # then: everything else stays
    assert renamed["errors"] == []
    assert renamed["budget"] == {**budget, "name": "Flat"}
    # when: the lines are replaced: food keeps its line with a new limit, fuel goes, rent comes first
    changed = await update(lines=[{"categoryId": rent, "limit": "900"}, {"categoryId": food, "limit": "350.25"}])
    # then
    assert changed["errors"] == []
    lines = changed["budget"]["lines"]
    assert [(x["category"]["name"], x["limit"]["amount"], x["position"]) for x in lines] == [
        ("Rent", "900.00", 0), ("Food & drink", "350.25", 1)]
    assert lines[1]["id"] == food_line  # the same line, so the alerts it fired still count
    assert len(await rows(resources, "select id from budget_lines")) == 2
    # when: a new period without a start day starts on 1; null thresholds are the defaults; [] turns them off
    weekly = await update(period="WEEKLY", thresholds=None, rollover="NONE")
    assert (weekly["budget"]["period"], weekly["budget"]["startDay"], weekly["budget"]["thresholds"],
            weekly["budget"]["rollover"]) == ("WEEKLY", 1, [50, 80, 100], "NONE")
    reset = await update(startDay=None, startsOn=None)
    assert (reset["budget"]["startDay"], reset["budget"]["startsOn"]) == (
        1, dt.datetime.now(dt.UTC).date().isoformat())
    quiet = await update(thresholds=[], startDay=5, startsOn="2026-02-01", currency="usd")
    assert (quiet["budget"]["thresholds"], quiet["budget"]["startDay"], quiet["budget"]["startsOn"],
            quiet["budget"]["currency"], quiet["budget"]["lines"][1]["limit"]) == (
        [], 5, "2026-02-01", "USD", {"amount": "350.25", "currency": "USD"})


async def test_update_refusals_change_nothing(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    stranger = await gql.register()
    (food,) = await categories(gql, user["token"], "Food & drink")
    budget = await create_budget(gql, user["token"], name="Home", currency="EUR",
                                 lines=[{"categoryId": food, "limit": "400.50"}])
    before = await snapshot(resources)

    async def update(token: str, **values: Any) -> dict[str, Any]:
        return (await gql(UPDATE, {"input": {"id": budget["id"], **values}}, token=token)).ok()["budgetUpdate"]

    # when / then
    assert codes(await update(user["token"], name="")) == [("name", "REQUIRED")]
    for field in ("name", "currency", "period", "rollover", "lines"):  # these cannot be null, only absent
        refused = await gql(UPDATE, {"input": {"id": budget["id"], field: None}}, token=user["token"])
        assert refused.codes == ["BAD_USER_INPUT"], field
    assert codes(await update(user["token"], currency="JPY")) == [("currency", "TOO_MANY_DECIMALS")]
    assert codes(await update(user["token"], startDay=31)) == [("startDay", "INVALID")]
    assert codes(await update(user["token"], period="YEARLY", startDay=13)) == [("startDay", "INVALID")]
    assert codes(await update(user["token"], lines=[{"categoryId": food, "limit": "0"}])) == [
        ("lines.0.limit", "INVALID")]
    assert codes(await update(stranger["token"], name="Mine")) == [("id", "NOT_FOUND")]
    wrong_type = (await gql(UPDATE, {"input": {"id": to_global_id("Account", db_id(budget["id"])), "name": "X"}},
                            token=user["token"])).ok()["budgetUpdate"]
    assert codes(wrong_type) == [("id", "NOT_FOUND")]
    assert await snapshot(resources) == before


async def test_isolation_another_users_budget_is_null(gql: GraphQLClient) -> None:
    # given
    owner = await gql.register()
    stranger = await gql.register()
    (food,) = await categories(gql, owner["token"], "Food & drink")
    budget = await create_budget(gql, owner["token"], name="Mine", currency="EUR",
                                 lines=[{"categoryId": food, "limit": "10"}])
    status = "query($id: ID!) { budgetStatus(budgetId: $id) { periodStart } }"
    # when / then
    assert (await gql(BUDGET, {"id": budget["id"]}, token=stranger["token"])).ok()["budget"] is None
    assert (await gql(BUDGETS, token=stranger["token"])).ok()["budgets"] == []
    assert (await gql(NODE, {"id": budget["id"]}, token=stranger["token"])).ok()["node"] is None
    assert (await gql(status, {"id": budget["id"]}, token=stranger["token"])).ok()["budgetStatus"] is None
    other_type = to_global_id("Account", db_id(budget["id"]))
    assert (await gql(BUDGET, {"id": other_type}, token=owner["token"])).ok()["budget"] is None
    assert (await gql(status, {"id": other_type}, token=owner["token"])).ok()["budgetStatus"] is None
    assert (await gql(BUDGET, {"id": "garbage"}, token=owner["token"])).ok()["budget"] is None
    assert (await gql(BUDGETS)).codes == ["UNAUTHENTICATED"]


async def test_delete_removes_the_budget_lines_and_alerts_and_leaves_a_tombstone(gql: GraphQLClient,
                                                                                  resources: Any) -> None:
    # given
    user = await gql.register()
    stranger = await gql.register()
    (food,) = await categories(gql, user["token"], "Food & drink")
    budget = await create_budget(gql, user["token"], name="Mine", currency="EUR",
                                 lines=[{"categoryId": food, "limit": "10"}])
    keep = await create_budget(gql, user["token"], name="Keep", currency="EUR",
                               lines=[{"categoryId": food, "limit": "10"}])
    # when: a stranger tries, then the owner deletes it
    refused = (await gql(DELETE, {"input": {"id": budget["id"]}}, token=stranger["token"])).ok()["budgetDelete"]
    deleted = (await gql(DELETE, {"input": {"id": budget["id"]}}, token=user["token"])).ok()["budgetDelete"]
    again = (await gql(DELETE, {"input": {"id": budget["id"]}}, token=user["token"])).ok()["budgetDelete"]
    # then
    assert refused == {"deletedId": None, "errors": [{"field": "id", "message": "No Budget with this id",
                                                      "code": "NOT_FOUND"}]}
    assert deleted == {"deletedId": budget["id"], "errors": []}
    assert codes(again) == [("id", "NOT_FOUND")]
    assert (await gql(BUDGET, {"id": budget["id"]}, token=user["token"])).ok()["budget"] is None
    assert [b["id"] for b in (await gql(BUDGETS, token=user["token"])).ok()["budgets"]] == [keep["id"]]
    assert await rows(resources, "select budget_id from budget_lines") == [{"budget_id": db_id(keep["id"])}]
    assert await rows(resources, "select entity, entity_id from deletions where entity = 'Budget'") == [
        {"entity": "Budget", "entity_id": db_id(budget["id"])}]
