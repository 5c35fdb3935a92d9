"""`netWorthUpdates` over graphql-transport-ws: a change written by another process (a valuation, a rate of the
user's, a transaction) reaches the subscriber of an API subprocess with the fresh figure; a stranger gets
nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.ledger import account, create
from tests.servers import api_process
from tests.support import GraphQLClient
from tests.test_processes import init, receive, register, send, socket

pytestmark = pytest.mark.slow

SUBSCRIBE = """subscription { netWorthUpdates { on netWorth { assets { amount } liabilities { amount }
  netWorth { amount currency } unconverted { amount currency } } } }"""
VALUATION = """mutation($input: ValuationRecordInput!) { valuationRecord(input: $input) { errors { code } } }"""
RATE = """mutation($input: ExchangeRateSetInput!) { exchangeRateSet(input: $input) { errors { code } } }"""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()  # the users here live in UTC


async def test_changes_from_another_process_reach_a_websocket_subscriber(
        database_url: str, servers: dict[str, str], gql: GraphQLClient, tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path) as api:
        # given: a user with a credit card and a USD house, subscribed through the API subprocess; a stranger too
        user, stranger = await register(api), await register(api)
        token = user["token"]
        card = (await account(gql, token, name="Card", kind="CREDIT_CARD", opening="-100.00"))["id"]
        house = (await account(gql, token, name="House", kind="PROPERTY", currency="USD"))["id"]
        async with socket(api) as ws, socket(api) as other:
            await init(ws, token)
            await init(other, stranger["token"])
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            await send(other, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})

            async def next_figure() -> Any:
                message = await receive(ws, within=10)
                assert message["type"] == "next", message
                return message["payload"]["data"]["netWorthUpdates"]

            # when: this process values the house at 300000 USD (no rate yet)
            await asyncio.sleep(0.5)  # let both subscriptions reach the hub
            result = (await gql(VALUATION, {"input": {"accountId": house, "value": "300000"}}, token=token)).ok()
            assert result["valuationRecord"]["errors"] == []
            # then: the figure of today, with the house listed as unconverted
            assert await next_figure() == {"on": today().isoformat(), "netWorth": {
                "assets": {"amount": "0.00"}, "liabilities": {"amount": "100.00"},
                "netWorth": {"amount": "-100.00", "currency": "EUR"},
                "unconverted": [{"amount": "300000.00", "currency": "USD"}]}}
            # when: the user sets a USD rate, then the house counts
            rate = {"base": "USD", "quote": "EUR", "rate": "0.9"}
            assert (await gql(RATE, {"input": rate}, token=token)).ok()["exchangeRateSet"]["errors"] == []
            figure = await next_figure()
            assert (figure["netWorth"]["netWorth"]["amount"], figure["netWorth"]["unconverted"]) == ("269900.00", [])
            # when: the card is paid down
            await create(gql, token, card, "40.00", today().isoformat())
            figure = await next_figure()
            assert (figure["netWorth"]["liabilities"]["amount"], figure["netWorth"]["netWorth"]["amount"]) == (
                "60.00", "269940.00")
            # and the stranger received nothing
            with pytest.raises(TimeoutError):
                await receive(other, within=1.0)
