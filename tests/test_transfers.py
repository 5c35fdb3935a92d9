"""Transfers and concurrent writes: balances stay exact, transfers never change net worth."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import sqlalchemy as sa

from tests.ledger import TRANSFER, TX_DELETE, account, balance, create
from tests.support import GraphQLClient

LINK = """mutation($f: ID!, $t: ID!) { transactionLink(input: {fromId: $f, toId: $t}) {
  transfer { from { id isTransfer } to { id isTransfer } } errors { field code } } }"""
UNLINK = """mutation($id: ID!) { transactionUnlink(input: {id: $id}) { transactions { id isTransfer } errors { code } } }"""


async def _balances(gql: GraphQLClient, token: str) -> dict[str, Decimal]:
    data = (await gql("{ accounts(first: 100) { edges { node { name balance { amount } } } } }", token=token)).ok()
    return {e["node"]["name"]: Decimal(e["node"]["balance"]["amount"]) for e in data["accounts"]["edges"]}


async def test_transfer_moves_money_without_changing_net_worth_and_delete_removes_both(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    checking = await account(gql, user["token"], "Checking", opening="1000.00")
    card = await account(gql, user["token"], "Card", opening="-588.61", kind="CREDIT_CARD")
    before = await _balances(gql, user["token"])
    # when: paying the card from checking
    out = (await gql(TRANSFER, {"input": {"fromAccountId": checking["id"], "toAccountId": card["id"],
                                          "amount": "588.61", "bookedOn": "2026-11-03"}},
                     token=user["token"])).ok()["transferCreate"]
    # then
    assert out["errors"] == []
    legs = out["transfer"]
    assert legs["from"]["amount"] == {"amount": "-588.61", "currency": "EUR"} and legs["from"]["isTransfer"]
    assert legs["to"]["amount"] == {"amount": "588.61", "currency": "EUR"} and legs["to"]["isTransfer"]
    after = await _balances(gql, user["token"])
    assert after == {"Checking": Decimal("411.39"), "Card": Decimal("0.00")}
    assert sum(after.values()) == sum(before.values())
    # when: deleting one leg
    deleted = (await gql(TX_DELETE, {"id": legs["to"]["id"]}, token=user["token"])).ok()["transactionDelete"]
    # then: both are gone and balances are back
    assert sorted(deleted["deletedIds"]) == sorted([legs["from"]["id"], legs["to"]["id"]])
    assert await _balances(gql, user["token"]) == before
    count = (await gql("{ transactions { totalCount } }", token=user["token"])).ok()["transactions"]["totalCount"]
    assert count == 0


async def test_transfer_refusals(gql: GraphQLClient, resources) -> None:
    user = await gql.register()
    other = await gql.register()
    eur = await account(gql, user["token"], "EUR")
    eur2 = await account(gql, user["token"], "EUR2")
    usd = await account(gql, user["token"], "USD", currency="USD")
    foreign = await account(gql, other["token"], "Theirs")
    base = {"bookedOn": "2026-11-03", "amount": "10.00"}
    cases = [
        ({"fromAccountId": eur["id"], "toAccountId": eur["id"]}, [("toAccountId", "INVALID")]),
        ({"fromAccountId": eur["id"], "toAccountId": usd["id"]}, [("toAmount", "REQUIRED")]),
        ({"fromAccountId": eur["id"], "toAccountId": foreign["id"]}, [("toAccountId", "NOT_FOUND")]),
        ({"fromAccountId": foreign["id"], "toAccountId": eur["id"]}, [("fromAccountId", "NOT_FOUND")]),
        ({"fromAccountId": eur["id"], "toAccountId": eur2["id"], "amount": "-5.00"}, [("amount", "INVALID")]),
        ({"fromAccountId": eur["id"], "toAccountId": eur2["id"], "amount": "1.001"}, [("amount", "TOO_MANY_DECIMALS")]),
        ({"fromAccountId": eur["id"], "toAccountId": eur2["id"], "toAmount": "11.00"}, [("toAmount", "INVALID")]),
    ]
    for given, expected in cases:
        result = (await gql(TRANSFER, {"input": {**base, **given}}, token=user["token"])).ok()["transferCreate"]
        assert result["transfer"] is None
        assert [(e["field"], e["code"]) for e in result["errors"]] == expected, given
    async with resources.sessionmaker() as session:
        assert (await session.execute(sa.text("select count(*) from transactions"))).scalar_one() == 0
    # a cross-currency transfer with toAmount works
    ok = (await gql(TRANSFER, {"input": {**base, "fromAccountId": eur["id"], "toAccountId": usd["id"],
                                         "toAmount": "10.83"}}, token=user["token"])).ok()["transferCreate"]
    assert ok["errors"] == [] and ok["transfer"]["to"]["amount"] == {"amount": "10.83", "currency": "USD"}


async def test_link_and_unlink_existing_rows(gql: GraphQLClient) -> None:
    user = await gql.register()
    other = await gql.register()
    a = await account(gql, user["token"], "A")
    b = await account(gql, user["token"], "B")
    out = await create(gql, user["token"], a["id"], "-50.00")
    into = await create(gql, user["token"], b["id"], "50.00")
    wrong = await create(gql, user["token"], b["id"], "49.00")
    theirs = await create(gql, other["token"], (await account(gql, other["token"]))["id"], "50.00")
    assert (await gql(LINK, {"f": out["id"], "t": wrong["id"]}, token=user["token"])).ok()["transactionLink"][
        "errors"] == [{"field": "toId", "code": "INVALID"}]
    assert (await gql(LINK, {"f": out["id"], "t": theirs["id"]}, token=user["token"])).ok()["transactionLink"][
        "errors"] == [{"field": "toId", "code": "NOT_FOUND"}]
    assert (await gql(LINK, {"f": into["id"], "t": out["id"]}, token=user["token"])).ok()["transactionLink"][
        "errors"] == [{"field": "fromId", "code": "INVALID"}]
    linked = (await gql(LINK, {"f": out["id"], "t": into["id"]}, token=user["token"])).ok()["transactionLink"]
    assert linked["errors"] == [] and linked["transfer"]["from"]["isTransfer"] and linked["transfer"]["to"]["isTransfer"]
    again = (await gql(LINK, {"f": out["id"], "t": into["id"]}, token=user["token"])).ok()["transactionLink"]
    assert again["errors"] == [{"field": None, "code": "CONFLICT"}]
    unlinked = (await gql(UNLINK, {"id": into["id"]}, token=user["token"])).ok()["transactionUnlink"]
    assert unlinked["errors"] == [] and [t["isTransfer"] for t in unlinked["transactions"]] == [False, False]
    # the other user cannot unlink or see it
    relinked = (await gql(LINK, {"f": out["id"], "t": into["id"]}, token=user["token"])).ok()["transactionLink"]
    assert relinked["errors"] == []
    assert (await gql(UNLINK, {"id": into["id"]}, token=other["token"])).ok()["transactionUnlink"]["errors"] == [
        {"code": "NOT_FOUND"}]


async def test_balance_stays_exact_under_200_concurrent_creates_and_deletes(gql: GraphQLClient, resources) -> None:
    # given: one account and a deterministic mix of amounts
    user = await gql.register()
    acc = await account(gql, user["token"], opening="1000.00")
    rng = random.Random(7)
    amounts = [f"{rng.choice(['-', ''])}{rng.randint(0, 999)}.{rng.randint(0, 99):02d}" for _ in range(160)]
    # when: 160 creates from several connections at once, then 40 of them deleted concurrently with 40 more creates
    created = await asyncio.gather(*(create(gql, user["token"], acc["id"], a) for a in amounts))
    doomed = created[:40]
    extra = [f"-{rng.randint(1, 500)}.{rng.randint(0, 99):02d}" for _ in range(40)]
    results = await asyncio.gather(
        *(gql(TX_DELETE, {"id": t["id"]}, token=user["token"]) for t in doomed),
        *(create(gql, user["token"], acc["id"], a) for a in extra))
    for r in results[:40]:
        assert r.ok()["transactionDelete"]["errors"] == []
    # then: balance == opening + exact Decimal sum of the survivors, computed independently
    survivors = [Decimal(a) for a in amounts[40:]] + [Decimal(a) for a in extra]
    assert Decimal(await balance(gql, user["token"], acc["id"])) == Decimal("1000.00") + sum(survivors)
    async with resources.sessionmaker() as session:
        stored = (await session.execute(sa.text("select count(*), coalesce(sum(amount), 0) from transactions"))).one()
    assert stored[0] == 160 and Decimal(stored[1]) == sum(survivors)
