"""User B can never read, change, link or filter by user A's ledger through any id-taking field."""

from __future__ import annotations

import sqlalchemy as sa

from tests.ledger import TRANSFER, TX_DELETE, TX_UPDATE, account, category_id, create
from tests.support import GraphQLClient


async def _snapshot(resources) -> list[tuple]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(sa.text(
            "select t.id, t.amount, t.category_id, t.transfer_id, t.updated_at, a.current_balance "
            "from transactions t join accounts a on a.id = t.account_id order by t.id"))
        return [tuple(r) for r in rows]


async def test_b_cannot_touch_a_transactions_through_any_field(gql: GraphQLClient, resources) -> None:
    # given: A's ledger
    a = await gql.register()
    b = await gql.register()
    a_acc = await account(gql, a["token"], "A main", opening="50.00")
    a_acc2 = await account(gql, a["token"], "A savings")
    a_cat = await category_id(gql, a["token"], "Groceries")
    a_tx = await create(gql, a["token"], a_acc["id"], "-10.00", categoryId=a_cat, description="A SECRET SHOP")
    a_in = await create(gql, a["token"], a_acc2["id"], "10.00")
    b_acc = await account(gql, b["token"], "B main")
    b_tx = await create(gql, b["token"], b_acc["id"], "-1.00")
    b_cat = await category_id(gql, b["token"], "Groceries")
    before = await _snapshot(resources)
    tok = b["token"]

    # reads: single, node, nodes, lists with filters, deletions
    assert (await gql("query($id: ID!) { transaction(id: $id) { id } }", {"id": a_tx["id"]}, token=tok)).ok() == {
        "transaction": None}
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": a_tx["id"]}, token=tok)).ok() == {"node": None}
    nodes = (await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                       {"ids": [a_tx["id"], a_acc["id"], a_cat, b_tx["id"]]}, token=tok)).ok()["nodes"]
    assert nodes == [None, None, None, {"id": b_tx["id"]}]
    for f in ({"accountIds": [a_acc["id"]]}, {"categoryIds": [a_cat]}, {"search": "secret"}, {}):
        page = (await gql("query($f: TransactionFilter) { transactions(filter: $f) { totalCount edges { node { id } } } }",
                          {"f": f}, token=tok)).ok()["transactions"]
        assert a_tx["id"] not in [e["node"]["id"] for e in page["edges"]], f
        assert page["totalCount"] == (1 if f == {} else 0), f
    assert (await gql("{ deletions(since: \"2000-01-01T00:00:00Z\") { totalCount } }", token=tok)).ok()[
        "deletions"]["totalCount"] == 0

    # writes: every id-taking input refers to A's rows
    attempts = [
        (TX_UPDATE, {"input": {"id": a_tx["id"], "amount": "-999.00"}}, "transactionUpdate", "id"),
        (TX_UPDATE, {"input": {"id": b_tx["id"], "accountId": a_acc["id"]}}, "transactionUpdate", "accountId"),
        (TX_UPDATE, {"input": {"id": b_tx["id"], "categoryId": a_cat}}, "transactionUpdate", "categoryId"),
        (TX_DELETE, {"id": a_tx["id"]}, "transactionDelete", "id"),
        (TRANSFER, {"input": {"fromAccountId": b_acc["id"], "toAccountId": a_acc["id"], "amount": "1.00",
                              "bookedOn": "2026-11-01"}}, "transferCreate", "toAccountId"),
        ("""mutation($f: ID!, $t: ID!) { transactionLink(input: {fromId: $f, toId: $t}) { errors { field code } } }""",
         {"f": b_tx["id"], "t": a_in["id"]}, "transactionLink", "toId"),
        ("""mutation($id: ID!) { transactionUnlink(input: {id: $id}) { errors { field code } } }""",
         {"id": a_tx["id"]}, "transactionUnlink", "id"),
    ]
    for query, variables, name, field in attempts:
        payload = (await gql(query, variables, token=tok)).ok()[name]
        assert {"field": field, "code": "NOT_FOUND"} in [{"field": e["field"], "code": e["code"]}
                                                         for e in payload["errors"]], (name, payload)
    # a create on A's account or with A's category is refused too
    refused = (await gql("""mutation($i: TransactionCreateInput!) { transactionCreate(input: $i) { errors { field code } } }""",
                         {"i": {"accountId": b_acc["id"], "amount": "-1.00", "bookedOn": "2026-11-01",
                                "categoryId": a_cat, "splits": [{"amount": "-0.50", "categoryId": b_cat},
                                                                {"amount": "-0.50", "categoryId": a_cat}]}},
                         token=tok)).ok()["transactionCreate"]
    assert sorted((e["field"], e["code"]) for e in refused["errors"]) == [
        ("categoryId", "NOT_FOUND"), ("splits.1.categoryId", "NOT_FOUND")]
    # then: nothing of A's changed
    assert await _snapshot(resources) == before
