"""Idle memory per subscription: `transactionEvents` over graphql-transport-ws, many sockets, one API process.

Opens `count` sockets (one subscription each) spread over the users, waits until the API's /metrics
reports them all, and reads the API process's RSS before and after. Then one event proves they are live:
a `transactionCreate` by one user must reach every socket of that user (and only those), and the time
from sending the mutation to the last delivery is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import psutil

from bench.users import BenchUser

SUBSCRIPTION = "subscription Events { transactionEvents { kind transactionId accountIds count } }"
CREATE = """
mutation Create($input: TransactionCreateInput!) {
  transactionCreate(input: $input) { transaction { id } errors { code message } }
}"""


@dataclass
class SubscriptionResult:
    count: int
    users: int
    rss_before: int
    rss_after: int
    open_seconds: float
    delivered: int = 0
    expected: int = 0
    foreign_deliveries: int = 0
    delivery_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def bytes_per_subscription(self) -> float:
        return (self.rss_after - self.rss_before) / self.count if self.count else 0.0


class Socket:
    def __init__(self, user: BenchUser, ws: aiohttp.ClientWebSocketResponse):
        self.user = user
        self.ws = ws
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = orjson.loads(message.data)
            if data.get("type") == "ping":
                await self.ws.send_str('{"type":"pong"}')
            elif data.get("type") == "next":
                self.events.append((time.perf_counter(), data["payload"]))


async def _open(session: aiohttp.ClientSession, url: str, user: BenchUser, n: int) -> Socket:
    ws = await session.ws_connect(url, protocols=("graphql-transport-ws",), heartbeat=None, max_msg_size=0)
    await ws.send_str(orjson.dumps({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {user.florin_token}"}}).decode())
    ack = orjson.loads((await ws.receive(timeout=30)).data)
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    await ws.send_str(orjson.dumps({"id": f"s{n}", "type": "subscribe",
                                    "payload": {"query": SUBSCRIPTION}}).decode())
    socket = Socket(user, ws)
    socket.reader = asyncio.create_task(socket.read())
    return socket


METRICS = ("florin_active_subscriptions", "florin_event_hub_subscribers")


async def _active(session: aiohttp.ClientSession, base: str) -> int:
    """Open subscriptions as the API's /metrics counts them (the larger of its two gauges)."""
    found = -1
    async with session.get(f"{base}/metrics") as response:
        for line in (await response.text()).splitlines():
            name, _, value = line.partition(" ")
            if name.split("{")[0] in METRICS:
                found = max(found, int(float(value.split()[0])))
    return found


async def measure(api_pid: int, ws_url: str, http_url: str, users: Sequence[BenchUser], count: int,
                  batch: int = 50) -> SubscriptionResult:
    base = http_url.rsplit("/graphql", 1)[0]
    process = psutil.Process(api_pid)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        # one socket first, so code paths and pools are warm before the baseline is read
        warm = await _open(session, ws_url, users[0], -1)
        await asyncio.sleep(1)
        await warm.ws.close()
        if warm.reader:
            await warm.reader
        await asyncio.sleep(1)
        rss_before = process.memory_info().rss
        started = time.perf_counter()
        sockets: list[Socket] = []
        for offset in range(0, count, batch):
            sockets += await asyncio.gather(*(_open(session, ws_url, users[n % len(users)], n)
                                              for n in range(offset, min(count, offset + batch))))
        for _ in range(100):  # at most 20 s for the server to register them all
            if await _active(session, base) >= count:
                break
            await asyncio.sleep(0.2)
        opened = time.perf_counter() - started
        await asyncio.sleep(3)  # idle
        result = SubscriptionResult(count, len({s.user.id for s in sockets}), rss_before,
                                    process.memory_info().rss, opened)
        active = await _active(session, base)
        if active != count:
            result.notes.append(f"/metrics reported {active} active subscriptions, expected {count}")

        # liveness: one mutation reaches every socket of its user, and no other
        target = sockets[0].user
        mine = [s for s in sockets if s.user.id == target.id]
        others = [s for s in sockets if s.user.id != target.id]
        payload = {"input": {"accountId": target.account_gids["checking"], "amount": "-4.20",
                             "bookedOn": target.end.isoformat(), "description": "CARD 0001 BENCH COFFEE BERLIN DE"}}
        sent = time.perf_counter()
        async with session.post(http_url, data=orjson.dumps({"query": CREATE, "variables": payload}),
                                headers={"Authorization": f"Bearer {target.florin_token}",
                                         "Content-Type": "application/json"}) as response:
            answer = orjson.loads(await response.read())
        errors = answer.get("errors") or (answer.get("data") or {}).get("transactionCreate", {}).get("errors")
        if errors:
            result.notes.append(f"transactionCreate failed: {str(errors)[:200]}")
        for _ in range(1000):  # at most 10 s
            if all(s.events for s in mine):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        result.expected = len(mine)
        result.delivered = sum(1 for s in mine if s.events)
        result.foreign_deliveries = sum(len(s.events) for s in others)
        if result.delivered:
            result.delivery_ms = max(0.0, (max(s.events[0][0] for s in mine if s.events) - sent) * 1000)

        for s in sockets:
            with contextlib.suppress(Exception):
                await s.ws.close()
        for s in sockets:
            if s.reader:
                s.reader.cancel()
                with contextlib.suppress(BaseException):
                    await s.reader
    return result
