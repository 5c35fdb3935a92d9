"""The local assistant answering a question: `chatSend`, then the reply streamed over `chatStream`.

Not a request loop with a floor (nothing plain SQL could be compared with): `requests` questions, at most
`concurrency` at a time and each user with one reply in flight (Florin allows 3), spread over the users of
the tier. Each request picks a client-chosen conversation id, subscribes to `chatStream` over
graphql-transport-ws first, then sends `chatSend` over HTTP, and measures from sending the mutation to the
first stream event (a tool call or a text chunk) and to `ChatDone`. The local model is Florin's default
assistant when no Vertex project is set: it turns the question into tool calls over the user's data and
answers from their results.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import orjson

from app.graphql.node import to_global_id
from bench.users import BenchUser

QUESTIONS = (
    "How much did I spend on groceries last month?",
    "What did I spend at REWE this year?",
    "How is my Monthly budget doing?",
    "What is my net worth?",
    "How much did I spend on restaurants in the last 3 months?",
    "How far am I with my Emergency fund goal?",
    "What are my biggest spending categories this year?",
    "Show my recent Amazon transactions",
)

SEND = """
mutation Send($input: ChatSendInput!) {
  chatSend(input: $input) { reply { id state } errors { code message } }
}"""
STREAM = """
subscription Stream($id: ID!) {
  chatStream(conversationId: $id) {
    __typename
    ... on ChatTextChunk { seq text }
    ... on ChatToolCall { seq name }
    ... on ChatError { code message }
  }
}"""


@dataclass
class AssistantResult:
    requests: int
    concurrency: int
    first_event_ms: list[float] = field(default_factory=list)
    first_text_ms: list[float] = field(default_factory=list)
    done_ms: list[float] = field(default_factory=list)
    tool_calls: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"first_event": percentiles(self.first_event_ms),
                               "first_text": percentiles(self.first_text_ms), "done": percentiles(self.done_ms)}


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], 1), "n": len(ordered)}


async def _one(session: aiohttp.ClientSession, http_url: str, ws_url: str, user: BenchUser, question: str,
               result: AssistantResult) -> None:
    conversation = to_global_id("Conversation", uuid.uuid4())
    async with session.ws_connect(ws_url, protocols=("graphql-transport-ws",), heartbeat=None) as ws:
        await ws.send_str(orjson.dumps({"type": "connection_init",
                                        "payload": {"authorization": f"Bearer {user.florin_token}"}}).decode())
        ack = orjson.loads((await ws.receive(timeout=30)).data)
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        await ws.send_str(orjson.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": STREAM, "variables": {"id": conversation}}}).decode())
        body = orjson.dumps({"query": SEND, "variables": {"input": {"id": conversation, "content": question}}})
        t0 = time.perf_counter()
        async with session.post(http_url, data=body, headers={"Content-Type": "application/json",
                                                              "Authorization": f"Bearer {user.florin_token}"}) as r:
            payload = orjson.loads(await r.read())
        sent = payload.get("data", {}).get("chatSend") if isinstance(payload.get("data"), dict) else None
        if not sent or sent["errors"]:
            raise RuntimeError(f"chatSend refused: {str(payload)[:300]}")
        first_event = first_text = None
        while True:
            message = await ws.receive(timeout=60)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"socket closed before ChatDone: {message.type}")
            data = orjson.loads(message.data)
            if data.get("type") == "ping":
                await ws.send_str('{"type":"pong"}')
                continue
            if data.get("type") != "next":
                continue
            event = data["payload"]["data"]["chatStream"]
            now = (time.perf_counter() - t0) * 1000
            kind = event["__typename"]
            first_event = first_event if first_event is not None else now
            if kind == "ChatToolCall":
                result.tool_calls += 1
            elif kind == "ChatTextChunk" and first_text is None:
                first_text = now
            elif kind == "ChatError":
                raise RuntimeError(f"ChatError {event.get('code')}: {event.get('message')}")
            elif kind == "ChatDone":
                result.first_event_ms.append(first_event)
                if first_text is not None:
                    result.first_text_ms.append(first_text)
                result.done_ms.append(now)
                return


async def measure(http_url: str, ws_url: str, users: Sequence[BenchUser], *, requests: int = 40,
                  concurrency: int = 4) -> AssistantResult:
    result = AssistantResult(requests, concurrency)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def worker(w: int) -> None:
            while not queue.empty():
                i = queue.get_nowait()
                # worker w only ever uses users w, w + concurrency, ...: one reply in flight per user
                mine = users[w::concurrency] or users
                user = mine[(i // concurrency) % len(mine)]
                try:
                    await _one(session, http_url, ws_url, user, QUESTIONS[i % len(QUESTIONS)], result)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    result.errors.append(f"{type(exc).__name__}: {exc}"[:300])

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def markdown(r: dict[str, Any]) -> list[str]:
    def row(label: str, p: dict[str, float]) -> str:
        return f"| {label} | {p.get('p50', '–')} | {p.get('p99', '–')} | {p.get('max', '–')} | {p.get('n', 0)} |"

    return [
        f"{r['requests']} questions ({len(QUESTIONS)} phrasings: spending by category and merchant, budget, net worth, "
        f"goal, search), {r['concurrency']} at a time, one reply in flight per user, one API process; "
        f"{r['tool_calls']} tool calls in all; {len(r['errors'])} failed"
        + (f" (first: {r['errors'][0]})" if r["errors"] else "") + f"; {r['seconds']:.1f}s in all.", "",
        "| from sending `chatSend` to | p50 ms | p99 ms | max ms | replies |", "|---|---:|---:|---:|---:|",
        row("the first `chatStream` event (tool call or text)", r["first_event"]),
        row("the first text chunk", r["first_text"]), row("`ChatDone`", r["done"]),
    ]
