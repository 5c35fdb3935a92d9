"""Resources: what a process owns for its lifetime (engine, sessions, Redis, arq pool, event hub)."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from arq import create_pool
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.embedded import arq_redis_settings
from app.events import EventHub
from app.jobs import JobQueue


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    arq: ArqRedis
    hub: EventHub
    job_queue: JobQueue
    chat_model: Any = None
    """The assistant's `ChatModel`, built on first use by `app.chat.service.chat_model`."""
    category_model: Any = None
    """The `CategoryModel` (Gemini) of categorization, built on first use by `app.ai.factory.category_model`;
    False once built as "none configured"."""
    chat_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    """Chat replies being written by this process; cancelled on close (they record themselves FAILED)."""

    async def close(self) -> None:
        for task in list(self.chat_tasks):
            task.cancel()
        if self.chat_tasks:
            with suppress(Exception):
                await asyncio.wait(list(self.chat_tasks), timeout=10)
        with suppress(Exception):
            await self.hub.close()
        with suppress(Exception):
            await self.arq.aclose()
        with suppress(Exception):
            await self.redis.aclose()
        await self.engine.dispose()


async def build_resources(settings: Settings, *, start_hub: bool = True) -> Resources:
    """Connect to the configured Postgres and Redis; both URLs must be resolved by the caller."""
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("build_resources needs resolved database and Redis URLs")
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        echo=settings.db_echo,
    )
    redis = Redis.from_url(settings.redis_url, decode_responses=False)
    arq = await create_pool(arq_redis_settings(settings.redis_url), default_queue_name=settings.arq_queue_name)
    hub = EventHub(redis, prefix=settings.event_channel_prefix)
    if start_hub:
        await hub.start()
    return Resources(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        redis=redis,
        arq=arq,
        hub=hub,
        job_queue=JobQueue(arq, settings.arq_queue_name),
    )


# Seconds a client is told to wait (`Retry-After`, `extensions.retryAfter`) when a server Florin needs is down.
UNAVAILABLE_RETRY_AFTER = 2

_POSTGRES_DOWN = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-operation
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def unavailable(exc: BaseException) -> str | None:
    """"postgres" or "redis" when `exc`, or an error behind it, says that server cannot be reached now (it is
    down, restarting or refusing connections); None for any other error, which stays a bug."""
    for error in _causes(exc):
        if isinstance(error, RedisConnectionError | RedisTimeoutError):  # redis-py wraps its socket errors
            return "redis"
        if isinstance(error, _POSTGRES_DOWN):
            return "postgres"
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return "postgres"
        if isinstance(error, ConnectionError | FileNotFoundError | TimeoutError) and _raised_by(error, "asyncpg"):
            return "postgres"  # asyncpg's connect lets socket errors through unwrapped (refused, no socket file)
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)  # SQLAlchemy's wrapper of a driver error
        pending += [error.__cause__, error.__context__, orig if isinstance(orig, BaseException) else None]


def _raised_by(error: BaseException, package: str) -> bool:
    return any(frame.f_globals.get("__name__", "").split(".")[0] == package
               for frame, _line in traceback.walk_tb(error.__traceback__))
