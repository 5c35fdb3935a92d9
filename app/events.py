"""Typed events and the event hub.

Services publish events inside a unit of work; they leave for Redis channel `florin:user:{user_id}` only
after the commit. Each process holds one pub/sub connection and fans events out to its local subscribers,
so an event raised by a worker or another API instance reaches every open subscription of that user.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from decimal import Decimal
from typing import Any, ClassVar

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("florin.events")

_REGISTRY: dict[str, type[Event]] = {}


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of every event; subclasses are frozen dataclasses of plain values."""

    type_name: ClassVar[str] = "Event"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__name__
        _REGISTRY[cls.__name__] = cls

    def to_json(self) -> str:
        return json.dumps({"type": self.type_name, "data": dataclasses.asdict(self)}, default=_encode)

    @staticmethod
    def from_json(raw: str | bytes) -> Event:
        message = json.loads(raw)
        cls = _REGISTRY[message["type"]]
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
        data = {key: _decode(hints.get(key), value) for key, value in message["data"].items()}
        return cls(**data)


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in an event")


def _decode(annotation: Any, value: Any) -> Any:
    text = str(annotation)
    if value is None:
        return None
    if "list[uuid.UUID]" in text or "tuple[uuid.UUID" in text:
        return tuple(uuid.UUID(v) for v in value)
    if "uuid.UUID" in text:
        return uuid.UUID(value)
    if "Decimal" in text:
        return Decimal(value)
    if "dt.datetime" in text:
        return dt.datetime.fromisoformat(value)
    if "dt.date" in text:
        return dt.date.fromisoformat(value)
    return value


@dataclasses.dataclass(frozen=True)
class Ping(Event):
    """A test and liveness event; carries a free-form note."""

    note: str = ""


class EventHub:
    """One Redis pub/sub connection per process, fanned out to per-user asyncio queues."""

    def __init__(self, redis: Redis, prefix: str = "florin:user:", queue_size: int = 1000):
        self._redis = redis
        self._prefix = prefix
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._control = f"florin:hub:{uuid.uuid4()}"
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def channel(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}{user_id}"

    @property
    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._subscribers.values())

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._reader(), name="florin-event-hub")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._pubsub is not None:
            with suppress(Exception):
                await self._pubsub.aclose()
        for queues in self._subscribers.values():
            for queue in queues:
                with suppress(asyncio.QueueFull):
                    queue.put_nowait(_CLOSED)

    async def publish(self, user_id: uuid.UUID, event: Event) -> None:
        await self._redis.publish(self.channel(user_id), event.to_json())

    @asynccontextmanager
    async def subscribe(self, user_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue of this user's events; events published after entering are never missed."""
        channel = self.channel(user_id)
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        async with self._lock:
            queues = self._subscribers.setdefault(channel, set())
            queues.add(queue)
            if len(queues) == 1:
                await self._subscribe_channel(channel)
        try:
            yield queue
        finally:
            async with self._lock:
                queues = self._subscribers.get(channel, set())
                queues.discard(queue)
                if not queues:
                    self._subscribers.pop(channel, None)
                    with suppress(Exception):
                        await self._pubsub.unsubscribe(channel)

    async def stream(self, user_id: uuid.UUID, *types: type[Event]) -> AsyncIterator[Event]:
        async with self.subscribe(user_id) as queue:
            while True:
                event = await queue.get()
                if event is _CLOSED:
                    return
                if not types or isinstance(event, types):
                    yield event

    async def _connect(self) -> None:
        self._pubsub = self._redis.pubsub()
        await self._subscribe_channel(self._control, wait=False)
        for channel in list(self._subscribers):
            await self._subscribe_channel(channel, wait=False)

    async def _subscribe_channel(self, channel: str, wait: bool = True) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = future
        await self._pubsub.subscribe(channel)
        if wait and self._task is not None:
            await asyncio.wait_for(future, timeout=10)
        else:
            self._confirmations.pop(channel, None)

    async def _reader(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("event hub lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(0.5)
                with suppress(Exception):
                    await self._pubsub.aclose()
                with suppress(Exception):
                    await self._connect()
                continue
            if message is None:
                continue
            channel = _text(message.get("channel"))
            if message["type"] == "subscribe":
                future = self._confirmations.pop(channel, None)
                if future is not None and not future.done():
                    future.set_result(None)
                continue
            if message["type"] != "message":
                continue
            try:
                event = Event.from_json(message["data"])
            except Exception:  # a malformed message must not stop the hub
                log.exception("dropping malformed event on %s", channel)
                continue
            for queue in list(self._subscribers.get(channel, ())):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    log.warning("subscriber queue full on %s; dropping event", channel)


class _Closed(Event):
    pass


_CLOSED: Event = _Closed()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
