"""Engine factory, session makers, the naming convention and the unit of work."""

from __future__ import annotations

import datetime as dt
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uuid6
from sqlalchemy import MetaData
from sqlalchemy.event import listen
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

if TYPE_CHECKING:
    from app.events import Event
    from app.resources import Resources

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every table of every domain hangs off this one metadata (SQLModel's), with stable constraint names.
metadata: MetaData = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, generated in the application."""
    return uuid.UUID(int=uuid6.uuid7().int)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, echo: bool = False) -> AsyncEngine:
    """The engine and its pool. Instead of `pool_pre_ping` (with asyncpg a BEGIN, a ping and a ROLLBACK: three
    round trips on every checkout), a connection that Postgres closed while it sat in the pool (a restart, a
    terminated backend) is found without a round trip and replaced before use (`_discard_closed`)."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        echo=echo,
        connect_args={"server_settings": {"application_name": "florin", "timezone": "UTC"}},
    )
    listen(engine.sync_engine.pool, "checkout", _discard_closed)
    return engine


def _discard_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """asyncpg has seen the server close the socket: SQLAlchemy's pool drops the connection and checks out
    another (its documented way of a custom pessimistic check)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("connection closed by the server while in the pool")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass
class PendingJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None = None
    defer_seconds: float | None = None


@dataclass
class UnitOfWork:
    """One transaction; the jobs and events collected here leave only after it commits."""

    session: AsyncSession
    jobs: list[PendingJob] = field(default_factory=list)
    events: list[tuple[uuid.UUID, Event]] = field(default_factory=list)
    after_commit: list[Any] = field(default_factory=list)
    before_commit: list[Any] = field(default_factory=list)
    """Coroutine functions run in order inside the transaction, just before it commits."""
    state: dict[str, Any] = field(default_factory=dict)
    """Per-unit-of-work accumulators (e.g. the ledger changes whose consequences run before commit)."""

    @staticmethod
    def of(session: AsyncSession) -> UnitOfWork:
        """The unit of work a session belongs to (services that take only a session reach it here)."""
        uow = session.info.get("uow")
        if uow is None:
            raise RuntimeError("this session is not part of a unit of work; use `unit_of_work(resources)`")
        return uow  # type: ignore[no-any-return]

    def enqueue(self, function: str, *args: Any, job_id: str | None = None, defer_seconds: float | None = None) -> None:
        self.jobs.append(PendingJob(function, args, job_id, defer_seconds))

    def publish(self, user_id: uuid.UUID, event: Event) -> None:
        self.events.append((user_id, event))


@asynccontextmanager
async def unit_of_work(resources: Resources) -> AsyncIterator[UnitOfWork]:
    """Commit at the end and roll back on an exception; then enqueue jobs and publish events."""
    async with resources.sessionmaker() as session:
        uow = UnitOfWork(session)
        session.info["uow"] = uow
        async with session.begin():
            yield uow
            # hooks may add more hooks (a consequence of a consequence): run until none is left
            while uow.before_commit:
                hook = uow.before_commit.pop(0)
                await hook()
    if uow.jobs:
        await resources.job_queue.enqueue_all(uow.jobs)
    for user_id, event in uow.events:
        await resources.hub.publish(user_id, event)
    for callback in uow.after_commit:
        await callback()


@asynccontextmanager
async def read_session(resources: Resources) -> AsyncIterator[AsyncSession]:
    """A short read-only session for a loader batch or a page query."""
    async with resources.sessionmaker() as session:
        yield session


_READERS: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]] = (
    weakref.WeakKeyDictionary())


def read_sessions(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only, on the same pool, in autocommit: no BEGIN and ROLLBACK around a read (two
    round trips each time). Each statement sees the data committed when it starts, as in a READ COMMITTED
    transaction, and an error ends nothing else. Never write with one: a write would commit at once, alone;
    writes belong in a `unit_of_work`. Built once per sessionmaker."""
    readers = _READERS.get(sessionmaker)
    if readers is None:
        engine = sessionmaker.kw["bind"]
        readers = _READERS[sessionmaker] = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"),
            **{key: value for key, value in sessionmaker.kw.items() if key != "bind"})
    return readers
