"""Resources: what a process owns for its lifetime (engine, sessions, Redis, arq pool, event hub)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from arq import create_pool
from arq.connections import ArqRedis
from redis.asyncio import Redis
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

    async def close(self) -> None:
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
