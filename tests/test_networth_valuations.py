"""`valuationRecord`: typed errors that change nothing, idempotent retries, today in the user's time zone."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.ledger import account
from tests.support import GraphQLClient

VALUATION = """mutation($input: ValuationRecordInput!) { valuationRecord(input: $input) {
  account { id balance { amount currency } } valuation { id day value { amount currency } note }
  errors { field message code } } }"""


async def snapshot(resources: Any) -> tuple[Any, ...]:
    async with resources.sessionmaker() as session:
        valuations = (await session.execute(sa.text("SELECT id, day, value, note FROM valuations ORDER BY id"))).all()
        balances = (await session.execute(sa.text(
            "SELECT account_id, day, balance, computed_at FROM balances ORDER BY account_id, day"))).all()
        accounts = (await session.execute(sa.text("SELECT id, current_balance FROM accounts ORDER BY id"))).all()
    return tuple(valuations), tuple(balances), tuple(accounts)


async def test_bad_input_gets_typed_errors_and_changes_nothing(gql: GraphQLClient, resources: Any) -> None:
    # given: a house of the user's and an account of a stranger's
    user, stranger = await gql.register(), await gql.register()
    house = (await account(gql, user["token"], name="House", kind="PROPERTY", opening="1000.00"))["id"]
    foreign = (await account(gql, stranger["token"]))["id"]
    category = base64.b64encode(f"Category:{uuid.uuid4()}".encode()).decode()
    cases = [
        ({"accountId": house, "value": "abc"}, [("value", "INVALID")]),
        ({"accountId": house, "value": "1.234"}, [("value", "TOO_MANY_DECIMALS")]),
        ({"accountId": house, "value": ""}, [("value", "REQUIRED")]),
        ({"accountId": house, "value": "1e5"}, [("value", "INVALID")]),
        ({"accountId": house, "value": "1", "note": "x" * 501}, [("note", "TOO_LONG")]),
        ({"accountId": house, "value": "1", "day": "1800-01-01"}, [("day", "INVALID")]),
        ({"accountId": house, "value": "x", "day": "1800-01-01"}, [("value", "INVALID"), ("day", "INVALID")]),
        ({"accountId": foreign, "value": "1"}, [("accountId", "NOT_FOUND")]),
        ({"accountId": category, "value": "1"}, [("accountId", "NOT_FOUND")]),
        ({"accountId": "garbage", "value": "1"}, [("accountId", "NOT_FOUND")]),
    ]
    before = await snapshot(resources)
    for given, expected in cases:
        # when
        result = (await gql(VALUATION, {"input": given}, token=user["token"])).ok()["valuationRecord"]
        # then
        assert (result["account"], result["valuation"]) == (None, None)
        assert sorted((e["field"], e["code"]) for e in result["errors"]) == sorted(expected), given
    assert await snapshot(resources) == before


async def test_the_same_key_replays_and_another_input_conflicts(gql: GraphQLClient, resources: Any) -> None:
    # given: a valuation recorded with an idempotency key
    user = await gql.register()
    car = (await account(gql, user["token"], name="Car", kind="VEHICLE"))["id"]
    first = (await gql(VALUATION, {"input": {"accountId": car, "value": "12000", "day": "2026-11-01",
                                             "idempotencyKey": "k1"}}, token=user["token"])).ok()["valuationRecord"]
    assert first["errors"] == []
    before = await snapshot(resources)
    # when: retried with the same key and input
    again = (await gql(VALUATION, {"input": {"accountId": car, "value": "12000", "day": "2026-11-01",
                                             "idempotencyKey": "k1"}}, token=user["token"])).ok()["valuationRecord"]
    # then: the first result, nothing written
    assert again == first
    assert await snapshot(resources) == before
    # when: the key comes with another input, then CONFLICT and nothing written
    other = (await gql(VALUATION, {"input": {"accountId": car, "value": "9000", "day": "2026-11-01",
                                             "idempotencyKey": "k1"}}, token=user["token"])).ok()["valuationRecord"]
    assert [(e["field"], e["code"]) for e in other["errors"]] == [("idempotencyKey", "CONFLICT")]
    assert await snapshot(resources) == before


async def test_the_day_defaults_to_today_in_the_users_time_zone(gql: GraphQLClient, resources: Any) -> None:
    # given: a user far east of UTC (for most of the UTC day it is already tomorrow there)
    user = await gql.register(timeZone="Pacific/Kiritimati")
    boat = (await account(gql, user["token"], name="Boat", kind="OTHER_ASSET"))["id"]
    # when
    result = (await gql(VALUATION, {"input": {"accountId": boat, "value": "5000.00"}},
                        token=user["token"])).ok()["valuationRecord"]
    # then: the valuation is dated today there, and the balance row of that day (at most tomorrow UTC) holds it
    local_today = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert result["valuation"]["day"] == local_today.isoformat()
    assert result["account"]["balance"]["amount"] == "5000.00"
    async with resources.sessionmaker() as session:
        stored = (await session.execute(sa.text("SELECT balance FROM balances b JOIN accounts a ON a.id = b.account_id "
                                                "WHERE a.name = 'Boat' AND b.day = :d"), {"d": local_today})).scalar_one()
    assert str(stored) == "5000.0000"


async def test_a_read_token_cannot_record(gql: GraphQLClient) -> None:
    # given: a READ api token
    user = await gql.register()
    house = (await account(gql, user["token"], name="House", kind="PROPERTY"))["id"]
    created = (await gql("""mutation { apiTokenCreate(input: {name: "r", scope: READ}) { token errors { code } } }""",
                         token=user["token"])).ok()["apiTokenCreate"]
    # when
    result = await gql(VALUATION, {"input": {"accountId": house, "value": "1"}}, token=created["token"])
    # then
    assert result.codes == ["FORBIDDEN"]
