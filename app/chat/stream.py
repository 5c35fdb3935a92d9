"""A reply's chunks: appended to a Redis stream per reply and published through the event hub.

Every chunk of reply M gets the next `seq` (from 1) and is first appended (`XADD florin:chat:{M}`, capped at
`STREAM_MAXLEN` entries, the key expiring `STREAM_TTL_SECONDS` after the last chunk) and then published to the
user's channel as a `ChatChunk` event. A subscriber therefore subscribes to the hub FIRST, then reads the
streams of the conversation's replies that are still being written or finished a moment ago, and then goes
live, skipping live chunks whose seq it already replayed: every chunk published before it subscribed was
appended before it read, so nothing is lost and nothing is sent twice.

While a task writes reply M it holds a lease (`florin:chat:lease:{M}`, refreshed well before it expires). A
STREAMING reply without a lease was cut off (its process died): `app.chat.service.fail_abandoned` marks it
FAILED at the next start of an API process and at the user's next `chatSend`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from typing import Any

from redis.asyncio import Redis

from app.events import CLOSED, Event, EventHub

STREAM_TTL_SECONDS = 600
"""How long a finished reply's chunks stay replayable (a subscriber that connects late still gets them)."""
STREAM_MAXLEN = 10_000
LEASE_SECONDS = 30
LEASE_REFRESH_SECONDS = 5

TEXT, TOOL_CALL, DONE, ERROR = "TEXT", "TOOL_CALL", "DONE", "ERROR"


@dataclasses.dataclass(frozen=True)
class ChatChunk(Event):
    """One piece of a reply: kind TEXT {text}, TOOL_CALL {name, arguments, result_summary}, DONE {input_tokens,
    output_tokens} or ERROR {code, message}, the fields as JSON in `data`."""

    conversation_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    kind: str
    data: str

    @property
    def fields(self) -> dict[str, Any]:
        value = json.loads(self.data)
        return value if isinstance(value, dict) else {}


def stream_key(message_id: uuid.UUID) -> str:
    return f"florin:chat:{message_id}"


def lease_key(message_id: uuid.UUID) -> str:
    return f"florin:chat:lease:{message_id}"


class ReplyStream:
    """Writes the chunks of one reply, in order."""

    def __init__(self, redis: Redis, hub: EventHub, user_id: uuid.UUID, conversation_id: uuid.UUID,
                 message_id: uuid.UUID):
        self.redis, self.hub = redis, hub
        self.user_id, self.conversation_id, self.message_id = user_id, conversation_id, message_id
        self.seq = 0

    async def emit(self, kind: str, **fields: Any) -> ChatChunk:
        self.seq += 1
        chunk = ChatChunk(conversation_id=self.conversation_id, message_id=self.message_id, seq=self.seq, kind=kind,
                          data=json.dumps(fields, separators=(",", ":"), default=str))
        key = stream_key(self.message_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"seq": chunk.seq, "kind": kind, "data": chunk.data}, maxlen=STREAM_MAXLEN,
                      approximate=False)
            pipe.expire(key, STREAM_TTL_SECONDS)
            await pipe.execute()
        await self.hub.publish(self.user_id, chunk)
        return chunk


async def read(redis: Redis, conversation_id: uuid.UUID, message_id: uuid.UUID) -> list[ChatChunk]:
    """The chunks of a reply still in Redis, in order."""
    entries = await redis.xrange(stream_key(message_id))
    out = []
    for _entry_id, values in entries:
        fields = {_text(k): _text(v) for k, v in values.items()}
        out.append(ChatChunk(conversation_id=conversation_id, message_id=message_id, seq=int(fields["seq"]),
                             kind=fields["kind"], data=fields["data"]))
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def take_lease(redis: Redis, message_id: uuid.UUID) -> None:
    await redis.set(lease_key(message_id), b"1", ex=LEASE_SECONDS)


async def keep_lease(redis: Redis, message_id: uuid.UUID) -> None:
    """Refresh the lease until cancelled."""
    while True:
        await asyncio.sleep(LEASE_REFRESH_SECONDS)
        with suppress(Exception):  # a blip of Redis must not end the reply; the lease outlives a few misses
            await redis.set(lease_key(message_id), b"1", ex=LEASE_SECONDS)


async def release_lease(redis: Redis, message_id: uuid.UUID) -> None:
    with suppress(Exception):
        await redis.delete(lease_key(message_id))


async def leased(redis: Redis, message_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these replies are still held by a running task."""
    if not message_ids:
        return set()
    async with redis.pipeline(transaction=False) as pipe:
        for message_id in message_ids:
            pipe.exists(lease_key(message_id))
        found = await pipe.execute()
    return {m for m, exists in zip(message_ids, found, strict=True) if exists}


async def follow(hub: EventHub, redis: Redis, user_id: uuid.UUID, conversation_id: uuid.UUID,
                 replayable: Any) -> AsyncIterator[ChatChunk]:
    """Replay, then live: the chunks of the conversation's replies. `replayable()` returns the ids of the replies
    whose chunks may still be in Redis (called once subscribed)."""
    async with hub.subscribe(user_id) as queue:
        seen: dict[uuid.UUID, int] = {}
        for message_id in await replayable():
            for chunk in await read(redis, conversation_id, message_id):
                if chunk.seq > seen.get(message_id, 0):
                    seen[message_id] = chunk.seq
                    yield chunk
        while True:
            event = await queue.get()
            if event is CLOSED:
                return
            if not isinstance(event, ChatChunk) or event.conversation_id != conversation_id:
                continue
            if event.seq <= seen.get(event.message_id, 0):
                continue
            seen[event.message_id] = event.seq
            yield event
