"""Transactions: exact money, validation that changes nothing, filters, pagination, splits, offline sync."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from tests.ledger import (
    TX_CREATE,
    TX_DELETE,
    TX_UPDATE,
    account,
    balance,
    category_id,
    create,
)
from tests.support import GraphQLClient, assert_max_queries, count_queries


async def _count(resources, table: str = "transactions") -> int:
    async with resources.sessionmaker() as session:
        return (await session.execute(sa.text(f"select count(*) from {table}"))).scalar_one()


async def test_create_round_trips_exact_amounts_and_normalizes_the_merchant(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    acc = await account(gql, user["token"], opening="100.00")
    groceries = await category_id(gql, user["token"], "Groceries")
    # when
    tx = await create(gql, user["token"], acc["id"], "-12.50", description="CARD 1234 REWE SAGT DANKE",
                      categoryId=groceries, tags=["food", "food", " weekly "])
    # then
    assert tx["amount"] == {"amount": "-12.50", "currency": "EUR"}
    assert tx["merchant"] == "REWE"
    assert tx["tags"] == ["food", "weekly"]
    assert tx["category"]["name"] == "Groceries" and tx["category"]["parent"]["name"] == "Food & drink"
    assert tx["account"]["balance"]["amount"] == "87.50"
    # and amounts of many sizes round-trip exactly
    for amount in ["0.01", "-0.01", "18.150", "-999999999999.99", "123456789.10"]:
        made = await create(gql, user["token"], acc["id"], amount)
        assert Decimal(made["amount"]["amount"]) == Decimal(amount)
    expected = Decimal("100.00") - Decimal("12.50") + sum(
        Decimal(a) for a in ["0.01", "-0.01", "18.150", "-999999999999.99", "123456789.10"])
    assert Decimal(await balance(gql, user["token"], acc["id"])) == expected


async def test_bad_input_gets_typed_errors_and_writes_nothing(gql: GraphQLClient, resources) -> None:
    # given
    user = await gql.register()
    other = await gql.register()
    acc = await account(gql, user["token"], opening="10.00")
    jpy = await account(gql, user["token"], name="Yen", currency="JPY")
    foreign_acc = await account(gql, other["token"])
    foreign_cat = await category_id(gql, other["token"], "Groceries")
    cases = [
        ({"accountId": acc["id"], "amount": "1.234", "bookedOn": "2026-11-02"}, [("amount", "TOO_MANY_DECIMALS")]),
        ({"accountId": jpy["id"], "amount": "1.5", "bookedOn": "2026-11-02"}, [("amount", "TOO_MANY_DECIMALS")]),
        ({"accountId": acc["id"], "amount": "abc", "bookedOn": "2026-11-02"}, [("amount", "INVALID")]),
        ({"accountId": acc["id"], "amount": "", "bookedOn": "2026-11-02"}, [("amount", "REQUIRED")]),
        ({"accountId": foreign_acc["id"], "amount": "1", "bookedOn": "2026-11-02"}, [("accountId", "NOT_FOUND")]),
        ({"accountId": "garbage", "amount": "1", "bookedOn": "2026-11-02"}, [("accountId", "NOT_FOUND")]),
        ({"accountId": acc["id"], "amount": "1", "bookedOn": "2026-11-02", "categoryId": foreign_cat},
         [("categoryId", "NOT_FOUND")]),
        ({"accountId": acc["id"], "amount": "1", "bookedOn": "2026-11-02", "categoryId": acc["id"]},
         [("categoryId", "NOT_FOUND")]),
        ({"accountId": acc["id"], "amount": "-10.00", "bookedOn": "2026-11-02",
          "splits": [{"amount": "-4.00"}, {"amount": "-5.00"}]}, [("splits", "INVALID")]),
        ({"accountId": acc["id"], "amount": "1", "bookedOn": "2026-11-02", "description": "x" * 501,
          "tags": [""]}, [("description", "TOO_LONG"), ("tags.0", "REQUIRED")]),
    ]
    before = await balance(gql, user["token"], acc["id"])
    for given, expected in cases:
        # when
        result = (await gql(TX_CREATE, {"input": given}, token=user["token"])).ok()["transactionCreate"]
        # then
        assert result["transaction"] is None
        assert sorted((e["field"], e["code"]) for e in result["errors"]) == sorted(expected), given
    assert await _count(resources) == 0
    assert await balance(gql, user["token"], acc["id"]) == before


async def test_splits_sum_exactly_and_can_be_replaced(gql: GraphQLClient) -> None:
    user = await gql.register()
    acc = await account(gql, user["token"])
    groceries = await category_id(gql, user["token"], "Groceries")
    household = await category_id(gql, user["token"], "Household")
    tx = await create(gql, user["token"], acc["id"], "-58.37", description="SUPERMARKET",
                      splits=[{"amount": "-41.20", "categoryId": groceries},
                              {"amount": "-17.17", "categoryId": household, "notes": "detergent"}])
    read = (await gql("query($id: ID!) { transaction(id: $id) { splits { amount { amount } category { name } notes } } }",
                      {"id": tx["id"]}, token=user["token"])).ok()["transaction"]
    assert read["splits"] == [
        {"amount": {"amount": "-41.20"}, "category": {"name": "Groceries"}, "notes": ""},
        {"amount": {"amount": "-17.17"}, "category": {"name": "Household"}, "notes": "detergent"}]
    assert sum(Decimal(s["amount"]["amount"]) for s in read["splits"]) == Decimal("-58.37")
    # changing the amount without new lines is refused, and nothing changes
    refused = (await gql(TX_UPDATE, {"input": {"id": tx["id"], "amount": "-60.00"}}, token=user["token"])).ok()
    assert refused["transactionUpdate"]["errors"] == [
        {"field": "splits", "message": "Give new split lines that sum to the new amount", "code": "INVALID"}]
    assert await balance(gql, user["token"], acc["id"]) == "-58.37"
    # with new lines it works, and null removes the split
    done = (await gql(TX_UPDATE, {"input": {"id": tx["id"], "amount": "-60.00", "splits": [
        {"amount": "-30.00", "categoryId": groceries}, {"amount": "-30.00", "categoryId": household}]}},
        token=user["token"])).ok()["transactionUpdate"]
    assert done["errors"] == [] and [s["amount"]["amount"] for s in done["transaction"]["splits"]] == ["-30.00"] * 2
    removed = (await gql(TX_UPDATE, {"input": {"id": tx["id"], "splits": None}}, token=user["token"])).ok()
    assert removed["transactionUpdate"]["transaction"]["splits"] == []
    assert await balance(gql, user["token"], acc["id"]) == "-60.00"


async def test_update_moves_balances_exactly_and_partial_fields_stay(gql: GraphQLClient) -> None:
    user = await gql.register()
    a = await account(gql, user["token"], name="A", opening="100.00")
    b = await account(gql, user["token"], name="B", opening="5.00")
    usd = await account(gql, user["token"], name="USD", currency="USD")
    tx = await create(gql, user["token"], a["id"], "-20.00", description="COFFEE", notes="n", tags=["x"])
    upd = (await gql(TX_UPDATE, {"input": {"id": tx["id"], "amount": "-25.55", "accountId": b["id"]}},
                     token=user["token"])).ok()["transactionUpdate"]
    assert upd["errors"] == []
    assert (upd["transaction"]["notes"], upd["transaction"]["tags"], upd["transaction"]["description"]) == (
        "n", ["x"], "COFFEE")
    assert await balance(gql, user["token"], a["id"]) == "100.00"
    assert await balance(gql, user["token"], b["id"]) == "-20.55"
    mismatch = (await gql(TX_UPDATE, {"input": {"id": tx["id"], "accountId": usd["id"]}}, token=user["token"])).ok()
    assert mismatch["transactionUpdate"]["errors"][0]["code"] == "CURRENCY_MISMATCH"
    cleared = (await gql(TX_UPDATE, {"input": {"id": tx["id"], "notes": None, "tags": None}},
                         token=user["token"])).ok()["transactionUpdate"]["transaction"]
    assert (cleared["notes"], cleared["tags"]) == ("", [])


async def test_filters_search_order_and_keyset_pages_both_ways(gql: GraphQLClient) -> None:
    # given: 12 transactions over two accounts
    user = await gql.register()
    a = await account(gql, user["token"], name="A")
    b = await account(gql, user["token"], name="B")
    coffee = await category_id(gql, user["token"], "Coffee")
    food = await category_id(gql, user["token"], "Food & drink")
    made = []
    for i in range(12):
        made.append(await create(
            gql, user["token"], a["id"] if i % 2 else b["id"], f"-{i + 1}.00", day=f"2026-10-{i + 10:02d}",
            description=["REWE BERLIN", "STARBUCKS STORE 12", "NETFLIX.COM"][i % 3],
            categoryId=coffee if i % 3 == 1 else None, tags=["t"] if i < 4 else []))
    q = """query($f: TransactionFilter, $o: TransactionOrder, $first: Int, $after: String, $last: Int, $before: String) {
      transactions(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
        totalCount edges { cursor node { amount { amount } bookedOn merchant } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""

    async def run(**v):
        return (await gql(q, v, token=user["token"])).ok()["transactions"]

    # then: filters
    assert (await run(f={"accountIds": [a["id"]]}))["totalCount"] == 6
    assert (await run(f={"search": "starb"}))["totalCount"] == 4
    assert (await run(f={"search": "rewe berl"}))["totalCount"] == 4
    assert (await run(f={"search": "&|!:*"}))["totalCount"] == 0
    assert (await run(f={"categoryIds": [food]}))["totalCount"] == 4  # children included by default
    assert (await run(f={"categoryIds": [food], "includeChildCategories": False}))["totalCount"] == 0
    assert (await run(f={"amountMin": "-5.00", "amountMax": "-2.00"}))["totalCount"] == 4
    assert (await run(f={"from": "2026-10-12", "to": "2026-10-14"}))["totalCount"] == 3
    assert (await run(f={"tags": ["t"]}))["totalCount"] == 4
    assert (await run(f={"accountIds": [coffee]}))["totalCount"] == 0  # an id of another type matches nothing
    # order
    by_amount = await run(o="AMOUNT_ASC", first=3)
    assert [e["node"]["amount"]["amount"] for e in by_amount["edges"]] == ["-12.00", "-11.00", "-10.00"]
    # forward pages cover everything once, newest first
    seen, after = [], None
    while True:
        page = await run(first=5, after=after)
        seen += [e["node"]["bookedOn"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted((f"2026-10-{i + 10:02d}" for i in range(12)), reverse=True)
    # backwards from the end
    last = await run(last=5)
    assert [e["node"]["bookedOn"] for e in last["edges"]] == seen[-5:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    before = await run(last=5, before=last["pageInfo"]["startCursor"])
    assert [e["node"]["bookedOn"] for e in before["edges"]] == seen[-10:-5]
    # limits and bad cursors are top-level BAD_USER_INPUT
    for bad in ({"first": 101}, {"first": -1}, {"after": "nope"}, {"last": 101}):
        assert (await gql(q, bad, token=user["token"])).codes == ["BAD_USER_INPUT"]
    cursor_of_other_order = by_amount["pageInfo"]["endCursor"]
    assert (await gql(q, {"after": cursor_of_other_order}, token=user["token"])).codes == ["BAD_USER_INPUT"]


PAGE = """query($first: Int!) { transactions(first: $first) { edges { node {
  amount { amount } account { name } category { name parent { name } } } } } }"""


async def test_page_statements_do_not_grow_with_page_size(gql: GraphQLClient, resources) -> None:
    # given: 120 categorized transactions over 3 accounts
    user = await gql.register()
    accounts = [await account(gql, user["token"], name=f"A{i}") for i in range(3)]
    cats = [await category_id(gql, user["token"], n) for n in ("Groceries", "Coffee", "Fuel", "Rent")]
    for i in range(120):
        await create(gql, user["token"], accounts[i % 3]["id"], f"-{i + 1}.00", categoryId=cats[i % 4])
    # when
    with count_queries(resources.engine) as small:
        ten = (await gql(PAGE, {"first": 10}, token=user["token"])).ok()
    with assert_max_queries(resources.engine, 2) as large:  # authentication + one page statement
        hundred = (await gql(PAGE, {"first": 100}, token=user["token"])).ok()
    # then
    assert len(ten["transactions"]["edges"]) == 10 and len(hundred["transactions"]["edges"]) == 100
    assert small.count == large.count == 2
    assert all(e["node"]["category"]["parent"]["name"] for e in hundred["transactions"]["edges"])


async def test_updated_since_and_deletions_let_a_client_replay_the_state(gql: GraphQLClient) -> None:
    user = await gql.register()
    acc = await account(gql, user["token"])
    first = [await create(gql, user["token"], acc["id"], f"-{i}.00") for i in range(1, 5)]
    sync = """query($since: DateTime) { transactions(first: 100, filter: {updatedSince: $since}) {
      edges { node { id amount { amount } updatedAt } } } }"""
    # a client takes a full copy
    client = {e["node"]["id"]: e["node"]["amount"]["amount"]
              for e in (await gql(sync, {"since": None}, token=user["token"])).ok()["transactions"]["edges"]}
    mark = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    # the server changes: one update, one delete, one create
    await gql(TX_UPDATE, {"input": {"id": first[0]["id"], "amount": "-99.00"}}, token=user["token"])
    deleted = (await gql(TX_DELETE, {"id": first[1]["id"]}, token=user["token"])).ok()["transactionDelete"]
    assert deleted == {"deletedIds": [first[1]["id"]], "errors": []}
    await create(gql, user["token"], acc["id"], "-7.00")
    # the client replays the deltas since its mark
    changed = (await gql(sync, {"since": mark}, token=user["token"])).ok()["transactions"]["edges"]
    gone = (await gql("""query($since: DateTime!) { deletions(since: $since) { edges { node { entity entityId } } } }""",
                      {"since": mark}, token=user["token"])).ok()["deletions"]["edges"]
    for edge in changed:
        client[edge["node"]["id"]] = edge["node"]["amount"]["amount"]
    for edge in gone:
        assert edge["node"]["entity"] == "Transaction"
        client.pop(edge["node"]["entityId"], None)
    server = {e["node"]["id"]: e["node"]["amount"]["amount"]
              for e in (await gql(sync, {"since": None}, token=user["token"])).ok()["transactions"]["edges"]}
    assert client == server
    assert len(server) == 4 and first[1]["id"] not in server


async def test_a_long_description_without_merchant_gets_a_merchant_of_at_most_200_characters(gql: GraphQLClient) -> None:
    # given: a 500-character description the normalizer keeps whole, and no merchant
    user = await gql.register()
    acc = await account(gql, user["token"])
    text = " ".join(["ZAHLUNG"] + ["WORT"] * 98)[:500]
    # when: created, then updated with another long description
    made = await create(gql, user["token"], acc["id"], "-1.00", description=text)
    changed = (await gql(TX_UPDATE, {"input": {"id": made["id"], "description": "X" * 500}},
                         token=user["token"])).ok()["transactionUpdate"]
    # then: both accepted; the merchant is cut to 200 characters
    assert len(made["merchant"]) <= 200 and made["merchant"]
    assert changed["errors"] == [] and len(changed["transaction"]["merchant"]) == 200
