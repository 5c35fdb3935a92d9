"""Typed events and the event hub.

Services publish events inside a unit of work; they leave for Redis channel `florin:user:{user_id}` only
after the commit. Each process holds one pub/sub connection and fans events out to its local subscribers,
so an event raised by a worker or another API instance reaches every open subscription of that user.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
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
    """One Redis pub/sub connection per process, fanned out to per-user asyncio queues.

    When Redis goes away the hub keeps its subscribers, reconnects with back-off until Redis answers again,
    and subscribes every channel anew, so open subscriptions resume by themselves; events published while
    Redis was unreachable are lost (pub/sub keeps nothing).
    """

    RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)  # seconds between attempts; the last one repeats

    def __init__(self, redis: Redis, prefix: str = "florin:user:", queue_size: int = 1000):
        self._redis = redis
        self._prefix = prefix
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._control = f"florin:hub:{uuid.uuid4()}"
        self._pubsub: Any = None
        self._connected = False
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def channel(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}{user_id}"

    @property
    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._subscribers.values())

    @property
    def connected(self) -> bool:
        """False from the moment the hub notices it lost Redis until it has subscribed again."""
        return self._connected

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
        self._connected = False
        for queues in self._subscribers.values():
            for queue in queues:
                with suppress(asyncio.QueueFull):
                    queue.put_nowait(CLOSED)

    async def publish(self, user_id: uuid.UUID, event: Event) -> None:
        """Send `event` to every subscriber of the user, in any process. Pub/sub delivers at most once: while
        Redis is unreachable the event is logged and dropped, like one nobody listens to, so the committed
        write that raised it is not reported as failed (a client that reconnects refetches)."""
        try:
            await self._redis.publish(self.channel(user_id), event.to_json())
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("event %s for %s dropped: Redis unavailable (%s)", event.type_name, user_id,
                        type(exc).__name__)

    @asynccontextmanager
    async def subscribe(self, user_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue of this user's events; events published after entering are never missed while Redis is
        up. Entering during a Redis outage does not fail: the queue receives events once Redis is back."""
        channel = self.channel(user_id)
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        async with self._lock:
            queues = self._subscribers.setdefault(channel, set())
            queues.add(queue)
            if len(queues) == 1:
                await self._subscribe_channel(channel)
            confirmed = self._confirmations.get(channel)
        try:
            if confirmed is not None and self._connected and self._task is not None:
                try:  # Redis' confirmation: from then on, every event published to the channel reaches us
                    await asyncio.wait_for(asyncio.shield(confirmed), timeout=10)
                except TimeoutError:
                    log.warning("no confirmation of the subscription to %s within 10 s", channel)
            yield queue
        finally:
            async with self._lock:
                queues = self._subscribers.get(channel, set())
                queues.discard(queue)
                if not queues:
                    self._subscribers.pop(channel, None)
                    self._confirmations.pop(channel, None)
                    if self._connected:
                        with suppress(Exception):
                            await self._pubsub.unsubscribe(channel)

    async def stream(self, user_id: uuid.UUID, *types: type[Event]) -> AsyncIterator[Event]:
        async with self.subscribe(user_id) as queue:
            while True:
                event = await queue.get()
                if event is CLOSED:
                    return
                if not types or isinstance(event, types):
                    yield event

    async def _connect(self) -> None:
        """A new pub/sub connection listening on the control channel and every channel with subscribers;
        raises (leaving nothing open) when Redis does not answer."""
        pubsub = self._redis.pubsub()
        channels = list(self._subscribers)
        for channel in channels:
            if channel not in self._confirmations:
                self._confirmations[channel] = asyncio.get_running_loop().create_future()
        try:
            await pubsub.subscribe(self._control, *channels)
        except BaseException:
            with suppress(Exception):
                await pubsub.aclose()
            raise
        self._pubsub, self._connected = pubsub, True

    async def _subscribe_channel(self, channel: str) -> None:
        """Send SUBSCRIBE for a channel (under the lock); while Redis is away, the reconnection does it."""
        self._confirmations[channel] = asyncio.get_running_loop().create_future()
        if not self._connected:
            return
        try:
            await self._pubsub.subscribe(channel)
        except Exception as exc:  # Redis just went away: the reader notices and subscribes it when it is back
            log.warning("could not subscribe to %s now (%s); it is subscribed when Redis is back",
                        channel, type(exc).__name__)

    async def _reconnect(self) -> None:
        """Until Redis answers again: drop the broken connection, then reconnect with back-off."""
        async with self._lock:
            self._connected = False
            broken, self._pubsub = self._pubsub, None
        if broken is not None:
            with suppress(Exception):
                await broken.aclose()
        for attempt in itertools.count():
            await asyncio.sleep(self.RECONNECT_DELAYS[min(attempt, len(self.RECONNECT_DELAYS) - 1)])
            async with self._lock:
                try:
                    await self._connect()
                except Exception as exc:  # still down
                    log.debug("event hub reconnection %d failed: %s", attempt + 1, exc)
                    continue
                log.info("event hub reconnected to Redis; listening on %d channel(s) again", len(self._subscribers))
                return

    async def _reader(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away (or its connection broke): keep trying until it is back
                log.warning("event hub lost Redis (%s: %s); reconnecting", type(exc).__name__, exc)
                await self._reconnect()
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


CLOSED: Event = _Closed()
"""Put on a subscriber's queue when the hub closes: a stream that reads it ends."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
