"""Accounts through the GraphQL schema: create, precision, client ids, partial updates, archive, pages, isolation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id, to_global_id
from tests.support import GraphQLClient, assert_max_queries

ACCOUNT_FIELDS = """id name kind classification currency institution mask openingDate archived
  openingBalance { amount currency } balance { amount currency }"""
CREATE = f"""mutation($input: AccountCreateInput!) {{ accountCreate(input: $input) {{
  account {{ {ACCOUNT_FIELDS} }} errors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: AccountUpdateInput!) {{ accountUpdate(input: $input) {{
  account {{ {ACCOUNT_FIELDS} }} errors {{ field message code }} }} }}"""
ARCHIVE = """mutation($input: AccountArchiveInput!) { accountArchive(input: $input) {
  account { id archived } errors { field code } } }"""
ACCOUNT = f"query($id: ID!) {{ account(id: $id) {{ {ACCOUNT_FIELDS} }} }}"
LIST = """query($first: Int, $after: String, $last: Int, $before: String, $all: Boolean! = false) {
  accounts(first: $first, after: $after, last: $last, before: $before, includeArchived: $all) {
    totalCount edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def create(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    values = {"name": "Checking", "kind": "CHECKING", "currency": "EUR", **fields}
    payload = (await gql(CREATE, {"input": values}, token=token)).ok()["accountCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["account"]


async def rows(resources: Any, user_global_id: str | None = None) -> list[dict[str, Any]]:
    """Every account row (of one user when given), straight from the database, by name."""
    stmt = "select * from accounts"
    params: dict[str, Any] = {}
    if user_global_id is not None:
        stmt += " where user_id = :u"
        params["u"] = db_id(user_global_id)
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text(stmt + " order by name, id"), params)
        return [dict(row._mapping) for row in result]


async def test_every_kind_gets_its_classification_and_a_signed_balance(gql: GraphQLClient, resources) -> None:
    # given: the kinds that are money owed, written out by hand
    user = await gql.register()
    liabilities = {"CREDIT_CARD", "LOAN", "MORTGAGE", "OTHER_LIABILITY"}
    kinds = ["CHECKING", "SAVINGS", "CREDIT_CARD", "LOAN", "MORTGAGE", "INVESTMENT", "RETIREMENT", "CRYPTO",
             "PROPERTY", "VEHICLE", "CASH", "OTHER_ASSET", "OTHER_LIABILITY"]
    # when
    created = {kind: await create(gql, user["token"], name=f"My {kind}", kind=kind,
                                  openingBalance="-588.61" if kind in liabilities else "1200.5")
               for kind in kinds}
    # then
    for kind, account in created.items():
        assert account["kind"] == kind
        assert account["classification"] == ("LIABILITY" if kind in liabilities else "ASSET")
        expected = "-588.61" if kind in liabilities else "1200.50"
        assert account["balance"] == {"amount": expected, "currency": "EUR"}
        assert account["openingBalance"] == {"amount": expected, "currency": "EUR"}
        assert account["archived"] is False
    assert created["CREDIT_CARD"]["balance"] == {"amount": "-588.61", "currency": "EUR"}
    stored = await rows(resources)
    assert len(stored) == len(kinds)
    card = next(r for r in stored if r["kind"] == "CREDIT_CARD")
    assert (card["current_balance"], card["opening_balance"]) == (Decimal("-588.61"), Decimal("-588.61"))
    assert card["classification"] == "LIABILITY"


async def test_amounts_follow_the_currency_precision(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    # when / then: JPY has no minor unit, EUR two (trailing zeros do not count), BHD three
    yen = await create(gql, user["token"], name="Yen", currency="jpy", openingBalance="100")
    assert (yen["currency"], yen["balance"]) == ("JPY", {"amount": "100", "currency": "JPY"})
    euro = await create(gql, user["token"], name="Euro", openingBalance="18.150")
    assert euro["balance"] == {"amount": "18.15", "currency": "EUR"}
    dinar = await create(gql, user["token"], name="Dinar", currency="BHD", openingBalance="1.234")
    assert dinar["balance"] == {"amount": "1.234", "currency": "BHD"}
    default = await create(gql, user["token"], name="Zero")
    assert default["balance"] == {"amount": "0.00", "currency": "EUR"}
    # when: too many decimals
    refused = (await gql(CREATE, {"input": {"name": "Bad yen", "kind": "CASH", "currency": "JPY",
                                            "openingBalance": "1.5"}}, token=user["token"])).ok()["accountCreate"]
    # then
    assert refused["account"] is None
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("openingBalance", "TOO_MANY_DECIMALS")]
    assert [r["name"] for r in await rows(resources)] == ["Dinar", "Euro", "Yen", "Zero"]


async def test_create_reports_every_bad_field_and_writes_nothing(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    cases = [
        ({"name": "  ", "currency": "XYZ", "mask": "12345"},
         [("name", "REQUIRED"), ("currency", "INVALID_CURRENCY"), ("mask", "INVALID")]),
        ({"name": "x" * 121}, [("name", "TOO_LONG")]),
        ({"openingBalance": "12,50"}, [("openingBalance", "INVALID")]),
        ({"openingBalance": "1.999", "mask": "ab"}, [("openingBalance", "TOO_MANY_DECIMALS"), ("mask", "INVALID")]),
        ({"institution": "b" * 121}, [("institution", "TOO_LONG")]),
        ({"id": to_global_id("Category", uuid.uuid4())}, [("id", "INVALID")]),
    ]
    for given, expected in cases:
        # when
        values = {"name": "Checking", "kind": "CHECKING", "currency": "EUR", **given}
        payload = (await gql(CREATE, {"input": values}, token=user["token"])).ok()["accountCreate"]
        # then
        assert payload["account"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, given
    assert await rows(resources) == []
    # and a decorated mask is accepted as its digits
    ok = await create(gql, user["token"], mask="**** 4242")
    assert ok["mask"] == "4242"


async def test_client_id_replays_and_conflicts_without_revealing_the_owner(gql: GraphQLClient, resources) -> None:
    # given
    alice, bob = await gql.register(), await gql.register()
    chosen = to_global_id("Account", uuid.uuid4())
    first = await create(gql, alice["token"], id=chosen, name="Joint", openingBalance="10")
    assert first["id"] == chosen
    # when: the same id and input again (a retry)
    again = (await gql(CREATE, {"input": {"id": chosen, "name": "Joint", "kind": "CHECKING", "currency": "EUR",
                                          "openingBalance": "10"}}, token=alice["token"])).ok()["accountCreate"]
    # then: the first result, nothing written
    assert again == {"account": first, "errors": []}
    # when: the same id with another input
    other = (await gql(CREATE, {"input": {"id": chosen, "name": "Other", "kind": "CHECKING", "currency": "EUR",
                                          "openingBalance": "10"}}, token=alice["token"])).ok()["accountCreate"]
    # then
    assert other["account"] is None
    assert [(e["field"], e["code"]) for e in other["errors"]] == [("id", "CONFLICT")]
    # when: another user picks the same id
    stolen = (await gql(CREATE, {"input": {"id": chosen, "name": "Mine now", "kind": "CHECKING",
                                           "currency": "EUR"}}, token=bob["token"])).ok()["accountCreate"]
    # then: CONFLICT that says nothing about Alice's account
    assert stolen["account"] is None
    assert [(e["field"], e["code"]) for e in stolen["errors"]] == [("id", "CONFLICT")]
    assert "Joint" not in stolen["errors"][0]["message"]
    stored = await rows(resources)
    assert [(r["name"], r["user_id"]) for r in stored] == [("Joint", db_id(alice["user_id"]))]
    # and Bob's retry with a fresh id works: the refused attempt left no idempotency key behind
    async with resources.sessionmaker() as session:
        keys = (await session.execute(sa.text("select count(*) from idempotency_keys where user_id = :u"),
                                      {"u": db_id(bob["user_id"])})).scalar_one()
    assert keys == 0


async def test_update_is_partial_absent_keeps_null_clears(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    account = await create(gql, user["token"], name="Old", institution="Bank", mask="1234",
                           openingDate="2024-01-31", openingBalance="5")

    async def update(**fields: Any) -> dict[str, Any]:
        result = await gql(UPDATE, {"input": {"id": account["id"], **fields}}, token=user["token"])
        return result.ok()["accountUpdate"]

    # when: only the name
    renamed = await update(name="  New  ")
    # then: everything else as it was
    assert renamed["errors"] == []
    assert {**account, "name": "New"} == renamed["account"]
    # when: null clears the institution only
    cleared = (await update(institution=None))["account"]
    assert (cleared["institution"], cleared["mask"], cleared["openingDate"]) == (None, "1234", "2024-01-31")
    cleared = (await update(mask=None, openingDate=None))["account"]
    assert (cleared["mask"], cleared["openingDate"], cleared["name"]) == (None, None, "New")
    # when: a new kind
    card = (await update(kind="CREDIT_CARD"))["account"]
    assert (card["kind"], card["classification"]) == ("CREDIT_CARD", "LIABILITY")
    # when: null on a field that cannot be null, or bad values
    assert (await gql(UPDATE, {"input": {"id": account["id"], "name": None}}, token=user["token"])).codes == [
        "BAD_USER_INPUT"]
    refused = await update(name="", mask="1", openingBalance="0.001")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("name", "REQUIRED"), ("mask", "INVALID"), ("openingBalance", "TOO_MANY_DECIMALS")]
    # then: nothing changed by the refusals
    now = (await gql(ACCOUNT, {"id": account["id"]}, token=user["token"])).ok()["account"]
    assert now == card
    assert now["currency"] == "EUR"


async def test_opening_balance_change_moves_the_balance_by_the_exact_delta(gql: GraphQLClient, resources) -> None:
    from app.accounts import repository as accounts_repo

    # given: opened with 100.00, then -30.25 of transactions booked against it
    user = await gql.register()
    account = await create(gql, user["token"], openingBalance="100.00")
    async with resources.sessionmaker() as session, session.begin():
        await accounts_repo.add_to_balance(session, user_id=db_id(user["user_id"]), account_id=db_id(account["id"]),
                                           delta=Decimal("-30.25"))
    before = (await gql(ACCOUNT, {"id": account["id"]}, token=user["token"])).ok()["account"]
    assert before["balance"]["amount"] == "69.75"
    # when: the opening balance was really 150.10
    result = await gql(UPDATE, {"input": {"id": account["id"], "openingBalance": "150.10"}}, token=user["token"])
    # then: 69.75 + (150.10 - 100.00) = 119.85
    updated = result.ok()["accountUpdate"]["account"]
    assert updated["openingBalance"]["amount"] == "150.10"
    assert updated["balance"]["amount"] == "119.85"
    # when: lowered below zero
    lowered = await gql(UPDATE, {"input": {"id": account["id"], "openingBalance": "-49.90"}}, token=user["token"])
    # then: 119.85 + (-49.90 - 150.10) = -80.15
    assert lowered.ok()["accountUpdate"]["account"]["balance"]["amount"] == "-80.15"
    stored = (await rows(resources))[0]
    assert (stored["opening_balance"], stored["current_balance"]) == (Decimal("-49.90"), Decimal("-80.15"))


async def test_idempotency_key_on_update_replays_and_conflicts(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    account = await create(gql, user["token"], openingBalance="10")
    move = {"id": account["id"], "openingBalance": "20", "idempotencyKey": "k1"}
    # when: the same request twice
    first = (await gql(UPDATE, {"input": move}, token=user["token"])).ok()["accountUpdate"]
    second = (await gql(UPDATE, {"input": move}, token=user["token"])).ok()["accountUpdate"]
    # then: the delta is applied once
    assert first == second
    assert second["account"]["balance"]["amount"] == "20.00"
    # when: the key with another input
    other = (await gql(UPDATE, {"input": {**move, "openingBalance": "30"}}, token=user["token"])).ok()
    # then
    assert [(e["field"], e["code"]) for e in other["accountUpdate"]["errors"]] == [("idempotencyKey", "CONFLICT")]
    assert (await rows(resources))[0]["current_balance"] == Decimal("20")


async def test_archive_hides_from_the_list_unless_asked(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    kept = await create(gql, user["token"], name="Kept")
    old = await create(gql, user["token"], name="Old")
    # when
    archived = (await gql(ARCHIVE, {"input": {"id": old["id"]}}, token=user["token"])).ok()["accountArchive"]
    # then
    assert archived == {"account": {"id": old["id"], "archived": True}, "errors": []}
    listed = (await gql(LIST, token=user["token"])).ok()["accounts"]
    assert [e["node"]["name"] for e in listed["edges"]] == ["Kept"] and listed["totalCount"] == 1
    everything = (await gql(LIST, {"all": True}, token=user["token"])).ok()["accounts"]
    assert [e["node"]["name"] for e in everything["edges"]] == ["Kept", "Old"] and everything["totalCount"] == 2
    assert (await gql(ACCOUNT, {"id": old["id"]}, token=user["token"])).ok()["account"]["archived"] is True
    # when: brought back
    back = (await gql(ARCHIVE, {"input": {"id": old["id"], "archived": False}}, token=user["token"])).ok()
    # then
    assert back["accountArchive"]["account"]["archived"] is False
    listed = (await gql(LIST, token=user["token"])).ok()["accounts"]
    assert [e["node"]["name"] for e in listed["edges"]] == ["Kept", "Old"]
    assert kept["archived"] is False


async def test_pages_forwards_and_backwards(gql: GraphQLClient) -> None:
    # given: five accounts created out of order
    user = await gql.register()
    for name in ["Delta", "Alpha", "Echo", "Charlie", "Bravo"]:
        await create(gql, user["token"], name=name)

    async def page(**args: Any) -> dict[str, Any]:
        return (await gql(LIST, args, token=user["token"])).ok()["accounts"]

    def names(p: dict[str, Any]) -> list[str]:
        return [e["node"]["name"] for e in p["edges"]]

    # when / then: forwards
    p1 = await page(first=2)
    assert names(p1) == ["Alpha", "Bravo"] and p1["totalCount"] == 5
    assert (p1["pageInfo"]["hasNextPage"], p1["pageInfo"]["hasPreviousPage"]) == (True, False)
    p2 = await page(first=2, after=p1["pageInfo"]["endCursor"])
    assert names(p2) == ["Charlie", "Delta"]
    assert (p2["pageInfo"]["hasNextPage"], p2["pageInfo"]["hasPreviousPage"]) == (True, True)
    p3 = await page(first=2, after=p2["pageInfo"]["endCursor"])
    assert names(p3) == ["Echo"] and p3["pageInfo"]["hasNextPage"] is False
    # when / then: backwards
    b1 = await page(last=2)
    assert names(b1) == ["Delta", "Echo"]
    assert (b1["pageInfo"]["hasNextPage"], b1["pageInfo"]["hasPreviousPage"]) == (False, True)
    b2 = await page(last=2, before=b1["pageInfo"]["startCursor"])
    assert names(b2) == ["Bravo", "Charlie"] and b2["pageInfo"]["hasPreviousPage"] is True
    b3 = await page(last=2, before=b2["pageInfo"]["startCursor"])
    assert names(b3) == ["Alpha"] and b3["pageInfo"]["hasPreviousPage"] is False
    assert b3["totalCount"] == 5
    # when / then: bad page arguments are top-level errors
    for bad in ({"first": 101}, {"first": -1}, {"last": 101}, {"after": "not-a-cursor"}):
        assert (await gql(LIST, bad, token=user["token"])).codes == ["BAD_USER_INPUT"], bad


async def test_another_user_can_neither_see_nor_change_an_account(gql: GraphQLClient, resources) -> None:
    # given
    alice, bob = await gql.register(), await gql.register()
    account = await create(gql, alice["token"], name="Savings", kind="SAVINGS", openingBalance="1000")
    before = await rows(resources)
    category_id = (await gql("{ categories { id } }", token=alice["token"])).ok()["categories"][0]["id"]
    # when / then: reads give null or nothing
    assert (await gql(ACCOUNT, {"id": account["id"]}, token=bob["token"])).ok() == {"account": None}
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await gql(node, {"id": account["id"]}, token=bob["token"])).ok() == {"node": None}
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert (await gql(nodes, {"ids": [account["id"]]}, token=bob["token"])).ok() == {"nodes": [None]}
    listed = (await gql(LIST, {"all": True}, token=bob["token"])).ok()["accounts"]
    assert listed["edges"] == [] and listed["totalCount"] == 0
    # when / then: writes are NOT_FOUND on `id`, also for a missing id and an id of another type
    for target in (account["id"], to_global_id("Account", uuid.uuid4()), category_id, "garbage"):
        update = (await gql(UPDATE, {"input": {"id": target, "name": "Mine", "openingBalance": "0"}},
                            token=bob["token"])).ok()["accountUpdate"]
        assert update == {"account": None, "errors": [
            {"field": "id", "message": "No Account with this id", "code": "NOT_FOUND"}]}, target
        archive = (await gql(ARCHIVE, {"input": {"id": target}}, token=bob["token"])).ok()["accountArchive"]
        assert archive == {"account": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}, target
    # and a Category id is no Account for its owner either
    assert (await gql(ACCOUNT, {"id": category_id}, token=alice["token"])).ok() == {"account": None}
    # then: Alice's account is exactly as it was
    assert await rows(resources) == before
    assert (await gql(ACCOUNT, {"id": account["id"]}, token=alice["token"])).ok()["account"] == account


async def test_repository_helpers_are_scoped_to_the_owner(gql: GraphQLClient, resources) -> None:
    from app.accounts import repository as accounts_repo

    # given
    alice, bob = await gql.register(), await gql.register()
    account = await create(gql, alice["token"], openingBalance="1")
    a, b, acc = db_id(alice["user_id"]), db_id(bob["user_id"]), db_id(account["id"])
    # when
    async with resources.sessionmaker() as session, session.begin():
        mine = await accounts_repo.accounts_by_ids(session, a, [acc, uuid.uuid4()])
        theirs = await accounts_repo.accounts_by_ids(session, b, [acc])
        locked = await accounts_repo.account_for_update(session, a, acc)
        foreign_lock = await accounts_repo.account_for_update(session, b, acc)
        await accounts_repo.add_to_balance(session, user_id=b, account_id=acc, delta=Decimal("1000"))
        await accounts_repo.add_to_balance(session, user_id=a, account_id=acc, delta=Decimal("0.01"))
    # then
    assert [r.id for r in mine] == [acc] and theirs == []
    assert locked is not None and foreign_lock is None
    assert (await rows(resources))[0]["current_balance"] == Decimal("1.01")


async def test_account_list_runs_one_statement_for_fifty_accounts(gql: GraphQLClient, resources) -> None:
    from app.accounts import service as accounts_service
    from app.accounts.models import AccountKind
    from app.graphql.context import build_context

    # given
    user = await gql.register()
    from app.db import unit_of_work

    async with unit_of_work(resources) as uow:
        for i in range(50):
            await accounts_service.create_account(uow.session, user_id=db_id(user["user_id"]), name=f"Account {i:02}",
                                                  kind=AccountKind.CHECKING, currency="EUR", opening_balance=str(i))
    query = "{ accounts(first: 50) { edges { node { name balance { amount } } } } }"
    context = await build_context(resources, authorization=f"Bearer {user['token']}")  # authentication: 1 statement
    # when: only the execution is counted
    with assert_max_queries(resources.engine, 1) as counter:
        result = await gql.schema.execute(query, context_value=context)
    # then
    assert result.errors is None
    assert len(result.data["accounts"]["edges"]) == 50 and counter.count == 1
    assert result.data["accounts"]["edges"][7]["node"] == {"name": "Account 07", "balance": {"amount": "7.00"}}


async def test_a_read_token_cannot_create_accounts(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    created = (await gql("""mutation { apiTokenCreate(input: {name: "reader", scope: READ}) { token } }""",
                         token=user["token"])).ok()
    reader = created["apiTokenCreate"]["token"]
    # when
    refused = await gql(CREATE, {"input": {"name": "X", "kind": "CASH", "currency": "EUR"}}, token=reader)
    # then
    assert refused.codes == ["FORBIDDEN"]
    assert await rows(resources) == []
    assert (await gql(LIST, token=reader)).ok()["accounts"]["totalCount"] == 0
