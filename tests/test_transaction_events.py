"""`transactionEvents` over graphql-transport-ws: an event caused in one API process reaches a subscriber
connected to another, with the transaction, and only the owner's subscribers get it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.servers import api_process
from tests.test_processes import graphql_http, init, receive, register, send, socket

pytestmark = pytest.mark.slow

SUBSCRIBE = """subscription { transactionEvents { kind transactionId accountIds count
  transaction { id amount { amount currency } merchant account { name } } } }"""
ACCOUNT = """mutation($i: AccountCreateInput!) { accountCreate(input: $i) { account { id } errors { code } } }"""
CREATE = """mutation($i: TransactionCreateInput!) { transactionCreate(input: $i) {
  transaction { id } errors { code } } }"""
DELETE = """mutation($id: ID!) { transactionDelete(input: {id: $id}) { deletedIds errors { code } } }"""


async def test_event_from_a_second_api_process_reaches_the_subscriber(
        database_url: str, servers: dict[str, str], tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    async with api_process(database_url, servers["redis"], log_dir=tmp_path / "one") as one, \
            api_process(database_url, servers["redis"], log_dir=tmp_path / "two") as two:
        # given: a user subscribed on API one, and a stranger subscribed too
        user = await register(one)
        stranger = await register(one)
        acc = (await graphql_http(two, ACCOUNT, {"i": {"name": "Main", "kind": "CHECKING", "currency": "EUR"}},
                                  token=user["token"]))["accountCreate"]["account"]
        async with socket(one) as ws, socket(one) as other:
            await init(ws, user["token"])
            await init(other, stranger["token"])
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await send(other, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await asyncio.sleep(0.5)  # let both subscriptions reach the hub
            # when: a transaction is created through API two
            made = (await graphql_http(two, CREATE, {"i": {"accountId": acc["id"], "amount": "-12.50",
                                                            "bookedOn": "2026-11-02",
                                                            "description": "CARD 1234 REWE SAGT DANKE"}},
                                       token=user["token"]))["transactionCreate"]
            assert made["errors"] == []
            # then: the subscriber on API one receives it, with the transaction itself
            message = await receive(ws, within=10)
            assert message["type"] == "next", message
            event = message["payload"]["data"]["transactionEvents"]
            assert event == {
                "kind": "CREATED", "transactionId": made["transaction"]["id"], "accountIds": [acc["id"]], "count": 1,
                "transaction": {"id": made["transaction"]["id"], "amount": {"amount": "-12.50", "currency": "EUR"},
                                "merchant": "REWE", "account": {"name": "Main"}}}
            # when: it is deleted through API two, the subscriber sees DELETED without the transaction
            await graphql_http(two, DELETE, {"id": made["transaction"]["id"]}, token=user["token"])
            gone = (await receive(ws, within=10))["payload"]["data"]["transactionEvents"]
            assert (gone["kind"], gone["transactionId"], gone["transaction"]) == (
                "DELETED", made["transaction"]["id"], None)
            # and the stranger received nothing at all
            with pytest.raises(TimeoutError):
                await receive(other, within=1.0)
