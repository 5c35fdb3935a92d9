"""Rules of connections to providers: create, delete, ask for a sync, schedule syncs. Never commits.

Asking for a sync (`request_sync`) locks the connection's row, so concurrent requests for one connection run
one after another: the first creates a QUEUED run and enqueues `sync_connection` (`_job_id =
sync:{connection}`, after the commit); any request while that run is still QUEUED widens its window (a
missing bound means "everything the provider serves", so it stays missing) and returns the same run. A
request while a run is RUNNING queues the next one, which the running job picks up when it is done.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.db import UnitOfWork, new_id, read_session, unit_of_work
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound
from app.sync import connection_repository as repo
from app.sync import egress, runs
from app.sync.models import Connection, ConnectionStatus, Provider, RunKind, SyncRun

if TYPE_CHECKING:
    from app.resources import Resources

MAX_NAME = 120
MAX_URL = 500
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2200, 12, 31)
DEFAULT_NAMES = {Provider.FI_MCP: "Fi Money"}
JOB = "sync_connection"


def job_id(connection_id: uuid.UUID) -> str:
    return f"sync:{connection_id}"


def check_url(value: str | None, errors: Collector, field: str = "url", *, allow_private: bool = True) -> str:
    """An absolute http(s) URL without user info or fragment, at most 500 characters; without
    `allow_private`, its host may not be a local name or a non-public IP literal."""
    text = (value or "").strip()
    if not text:
        errors.add(ErrorCode.REQUIRED, "The provider's URL is required.", field)
        return text
    if len(text) > MAX_URL:
        errors.add(ErrorCode.TOO_LONG, f"A URL has at most {MAX_URL} characters.", field)
        return text
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (parts is None or not port_ok or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.username is not None or parts.password is not None or parts.fragment):
        errors.add(ErrorCode.INVALID, "Give the server's endpoint as an http(s) URL, like "
                                      "https://mcp.fi.money:8080/mcp/stream.", field)
    elif not allow_private and egress.names_a_private_host(text):
        errors.add(ErrorCode.INVALID, "The provider's URL must name a public server, not a local or private "
                                      "address.", field)
    return text


def check_name(value: str | None, provider: Provider, errors: Collector) -> str:
    name = (value or "").strip() or DEFAULT_NAMES.get(provider, provider.value)
    if len(name) > MAX_NAME:
        errors.add(ErrorCode.TOO_LONG, f"Name must have at most {MAX_NAME} characters.", "name")
    return name


async def create_connection(session: AsyncSession, *, user_id: uuid.UUID, provider: Provider, url: str | None,
                            name: str | None = None, connection_id: uuid.UUID | None = None,
                            allow_private: bool = True) -> Connection:
    """A new ACTIVE connection (nothing is fetched until a sync). An id taken by any row is CONFLICT on `id`;
    without `allow_private` (production), a URL naming a local or private host is INVALID on `url`."""
    errors = Collector()
    provider = Provider(provider)
    clean_url = check_url(url, errors, allow_private=allow_private)
    clean_name = check_name(name, provider, errors)
    errors.raise_if_any()
    row = await repo.insert_connection(session, {
        "id": connection_id or new_id(), "user_id": user_id, "provider": provider.value, "name": clean_name,
        "url": clean_url, "status": ConnectionStatus.ACTIVE.value, "cursor": {}})
    if row is None:
        raise Conflict(message="This id cannot be used for a new connection; choose another.", field="id")
    return row


async def delete_connection(session: AsyncSession, *, user_id: uuid.UUID, connection_id: uuid.UUID) -> uuid.UUID:
    """Forget the connection, its stored session and its runs; its accounts and transactions stay."""
    await effects.lock_ledger(session, user_id)  # its accounts change: same lock order as a running sync
    if not await repo.delete_connection(session, user_id, connection_id):
        raise NotFound(message="No Connection with this id", field="id")
    return connection_id


def _check_window(start: dt.date | None, end: dt.date | None) -> None:
    errors = Collector()
    for value, field in ((start, "from"), (end, "to")):
        if value is not None and not MIN_DAY <= value <= MAX_DAY:
            errors.add(ErrorCode.INVALID, f"The day must lie between {MIN_DAY} and {MAX_DAY}.", field)
    if start is not None and end is not None and start > end:
        errors.add(ErrorCode.INVALID, "`from` must not be after `to`.", "from")
    errors.raise_if_any()


def _wider(old_start: dt.date | None, old_end: dt.date | None, start: dt.date | None, end: dt.date | None
           ) -> tuple[dt.date | None, dt.date | None]:
    """The window covering both (a missing bound is unbounded)."""
    low = None if old_start is None or start is None else min(old_start, start)
    high = None if old_end is None or end is None else max(old_end, end)
    return low, high


async def request_sync(uow: UnitOfWork, *, user_id: uuid.UUID, connection_id: uuid.UUID,
                       start: dt.date | None = None, end: dt.date | None = None,
                       field: str = "connectionId") -> SyncRun:
    """The run that will sync the connection for [start, end] (see the module text)."""
    _check_window(start, end)
    connection = await repo.connection_for_update(uow.session, user_id, connection_id)
    if connection is None:
        raise NotFound(message="No Connection with this id", field=field)
    if connection.status == ConnectionStatus.DISABLED.value:
        raise Conflict(message="This connection is disabled.", field=field)
    queued = await repo.queued_run(uow.session, connection.id)
    if queued is not None:
        low, high = _wider(queued.window_start, queued.window_end, start, end)
        if (low, high) != (queued.window_start, queued.window_end):
            queued = await repo.widen_run(uow.session, queued.id, low, high)
        uow.enqueue(JOB, str(connection.id), job_id=job_id(connection.id))  # harmless when already queued
        return queued
    run = await runs.create_run(uow, user_id, kind=RunKind.SYNC, connection_id=connection.id, window_start=start,
                                window_end=end)
    uow.enqueue(JOB, str(connection.id), job_id=job_id(connection.id))
    return run


async def schedule_due(resources: Resources, *, interval: dt.timedelta, now: dt.datetime | None = None,
                       stale_after: dt.timedelta = dt.timedelta(minutes=2)) -> tuple[int, int]:
    """Queue a sync for every ACTIVE or ERROR connection without one for `interval`, and enqueue again the job
    of runs left QUEUED for `stale_after` (a lost enqueue). Returns (runs queued, jobs re-enqueued)."""
    now = now or dt.datetime.now(dt.UTC)
    async with read_session(resources) as session:
        due, stale = await repo.due_connections(session, before=now - interval, stale_before=now - stale_after)
    queued = 0
    for user_id, connection_id in due:
        try:
            async with unit_of_work(resources) as uow:
                await request_sync(uow, user_id=user_id, connection_id=connection_id)
        except DomainError:  # deleted or disabled meanwhile
            continue
        queued += 1
    for connection_id in stale:
        await resources.job_queue.enqueue(JOB, str(connection_id), job_id=job_id(connection_id))
    return queued, len(stale)
