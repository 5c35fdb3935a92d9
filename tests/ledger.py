"""Helpers for ledger tests: create accounts, categories and transactions through the GraphQL API."""

from __future__ import annotations

from typing import Any

from tests.support import GraphQLClient

ACCOUNT_CREATE = """mutation($input: AccountCreateInput!) { accountCreate(input: $input) {
  account { id name currency balance { amount currency } } errors { field message code } } }"""
TX_CREATE = """mutation($input: TransactionCreateInput!) { transactionCreate(input: $input) {
  transaction { id amount { amount currency } bookedOn merchant description tags status isTransfer
    account { id name balance { amount } } category { id name parent { name } } }
  errors { field message code } } }"""
TX_UPDATE = """mutation($input: TransactionUpdateInput!) { transactionUpdate(input: $input) {
  transaction { id amount { amount currency } bookedOn merchant description notes tags status
    account { id } category { id name } splits { amount { amount } category { name } } }
  errors { field message code } } }"""
TX_DELETE = """mutation($id: ID!) { transactionDelete(input: {id: $id}) { deletedIds errors { field code } } }"""
TRANSFER = """mutation($input: TransferCreateInput!) { transferCreate(input: $input) {
  transfer { from { id amount { amount currency } account { id } isTransfer }
             to { id amount { amount currency } account { id } isTransfer } }
  errors { field message code } } }"""
BALANCE = """query($id: ID!) { account(id: $id) { balance { amount currency } } }"""
CATEGORIES = "{ categories { id name kind children { id name } } }"


async def account(gql: GraphQLClient, token: str, name: str = "Checking", currency: str = "EUR",
                  opening: str = "0", kind: str = "CHECKING") -> dict[str, Any]:
    result = (await gql(ACCOUNT_CREATE, {"input": {"name": name, "kind": kind, "currency": currency,
                                                   "openingBalance": opening}}, token=token)).ok()["accountCreate"]
    assert result["errors"] == [], result["errors"]
    return result["account"]


async def category_id(gql: GraphQLClient, token: str, child: str) -> str:
    tree = (await gql(CATEGORIES, token=token)).ok()["categories"]
    for root in tree:
        for c in root["children"]:
            if c["name"] == child:
                return c["id"]
        if root["name"] == child:
            return root["id"]
    raise AssertionError(f"no category {child}")


async def create(gql: GraphQLClient, token: str, account_id: str, amount: str, day: str = "2026-11-02",
                 **extra: Any) -> dict[str, Any]:
    result = (await gql(TX_CREATE, {"input": {"accountId": account_id, "amount": amount, "bookedOn": day, **extra}},
                        token=token)).ok()["transactionCreate"]
    assert result["errors"] == [], result["errors"]
    return result["transaction"]


async def balance(gql: GraphQLClient, token: str, account_id: str) -> str:
    return (await gql(BALANCE, {"id": account_id}, token=token)).ok()["account"]["balance"]["amount"]
