"""The `sync_connection` job's work: every pending run of one connection, one at a time, never two at once.

A connection never syncs twice at once: `_job_id = sync:{connection}` keeps one job per connection in the
queue, and the job holds a Postgres session-level advisory lock on the connection (on a connection of its
own, so a killed worker's lock goes with its database connection) while it works; a second job that finds
the lock taken is retried later (`LockBusy`). Under the lock the job takes the connection's runs in order
(an interrupted or retried RUNNING one first, then QUEUED ones, including any queued while it worked) and
runs each with `app.sync.runs.execute`:

1. read the connection and its stored session (decrypted; a session that cannot be decrypted, say after a
   key change, is dropped and the user logs in again), without holding a transaction;
2. call Fi (`fetch_net_worth`, `fetch_bank_transactions`) on that session;
3. apply the answer (app/sync/fi_apply.py) and finish the run in ONE unit of work.

Failures: `login_required` fails the run with a message to log in, and the connection becomes NEEDS_LOGIN
with the login URL and the provider session stored (the URL belongs to that session). An unreachable
server is retried with back-off while tries are left, then fails the run. Anything else fails the run with
its error text. A failed run leaves the connection in ERROR (or NEEDS_LOGIN) with `last_error`, and a
SYNC_FAILED notification (app/sync/runs.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from app.db import UnitOfWork, read_session, unit_of_work
from app.errors import DomainError, ErrorCode
from app.rules import learned
from app.sync import connection_repository as repo
from app.sync import egress, fi_apply, runs
from app.sync.crypto import Cipher, CredentialsError, cipher_for
from app.sync.models import Connection, ConnectionStatus, RunState, SyncRun
from app.sync.pipeline import RunCounts
from app.sync.providers import fi_mcp
from app.sync.providers.fi_mapping import ProviderDataError

if TYPE_CHECKING:
    from app.resources import Resources

log = logging.getLogger("florin.sync.job")

SYNC_TRIES = 4
"""Attempts of a run whose provider or database is unavailable, before it fails."""
LOCK_SPACE = 11
MAX_ERROR = 1000


class LockBusy(Exception):  # noqa: N818 - a request to come back later
    """Another worker is syncing this connection right now."""


class SyncStopped(DomainError):
    """The provider refused or answered something unusable: the run fails with this message."""

    def __init__(self, message: str):
        super().__init__(ErrorCode.INVALID, message[:MAX_ERROR], None)


class SyncUnavailable(DomainError, ConnectionError):
    """The provider could not be reached: transient (retried while tries are left), shown when it fails."""

    def __init__(self, message: str):
        DomainError.__init__(self, ErrorCode.INVALID, message[:MAX_ERROR], None)


_LOCK = sa.text("SELECT pg_try_advisory_lock(hashtextextended(:key, :space))")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(hashtextextended(:key, :space))")


async def sync_connection(resources: Resources, connection_id: uuid.UUID, *, job_try: int = 1,
                          max_tries: int = SYNC_TRIES) -> list[SyncRun]:
    """Run the connection's pending runs under its lock; the runs as they ended. `LockBusy` when another
    worker holds the lock; `runs.RetryLater` when a run failed transiently with tries left.

    After unlocking it looks once more: a run queued between its last look and the unlock could not enqueue
    a job of its own (this job still held `sync:{connection}`), so this job takes it too. What is left is a run
    queued in the moment between that look and arq releasing the job id: the scheduler re-enqueues it."""
    ended: list[SyncRun] = []
    seen: set[uuid.UUID] = set()
    first = True
    while True:
        try:
            ended += await _drain(resources, connection_id, seen, job_try=job_try, max_tries=max_tries)
        except LockBusy:
            if first:
                raise
            return ended  # whoever holds the lock now looks again after unlocking
        first = False
        async with read_session(resources) as session:
            run_id = await repo.next_run_id(session, connection_id)
        if run_id is None or run_id in seen:
            return ended


async def _drain(resources: Resources, connection_id: uuid.UUID, seen: set[uuid.UUID], *, job_try: int,
                 max_tries: int) -> list[SyncRun]:
    key = {"key": f"sync:{connection_id}", "space": LOCK_SPACE}
    async with resources.engine.connect() as lock:
        taken = bool(await lock.scalar(_LOCK, key))
        await lock.commit()
        if not taken:
            raise LockBusy(str(connection_id))
        try:
            ended: list[SyncRun] = []
            while True:
                async with read_session(resources) as session:
                    run_id = await repo.next_run_id(session, connection_id)
                if run_id is None or run_id in seen:
                    break
                seen.add(run_id)
                run = await _run_once(resources, connection_id, run_id, job_try=job_try, max_tries=max_tries)
                if run is not None:
                    ended.append(run)
            return ended
        finally:
            await lock.scalar(_UNLOCK, key)
            await lock.commit()


def stored_session(cipher: Cipher, connection: Connection) -> fi_mcp.FiSession | None:
    """The provider session kept for the connection, or None (none yet, or unreadable with this key)."""
    try:
        return fi_mcp.FiSession.from_json(cipher.open_json(connection.credentials, connection.id))
    except CredentialsError as exc:
        log.warning("connection %s: %s; a new provider session will be opened", connection.id, exc)
        return None


async def _run_once(resources: Resources, connection_id: uuid.UUID, run_id: uuid.UUID, *, job_try: int,
                    max_tries: int) -> SyncRun | None:
    cipher = cipher_for(resources.settings)
    outcome: dict[str, Any] = {}

    async def apply(uow: UnitOfWork, run: SyncRun, progress: runs.Progress) -> RunCounts:
        await progress("reading", 0, None)
        async with read_session(resources) as session:
            connection = await repo.connection_of_worker(session, connection_id)
        if connection is None:
            raise SyncStopped("The connection was deleted.")
        if not resources.settings.private_provider_urls_allowed:
            try:
                await egress.check_public(connection.url)
            except egress.PrivateAddress as exc:
                raise SyncStopped(f"The provider's URL does not lead to a public server ({exc}); Florin does not "
                                  "connect to local or private addresses.") from exc
        try:
            reply = await fi_mcp.fetch(connection.url, session=stored_session(cipher, connection),
                                       call_timeout=resources.settings.sync_timeout_seconds)
        except fi_mcp.LoginRequired as exc:
            outcome["login"] = exc
            raise SyncStopped("Log in to Fi Money to continue: open the connection's login URL, then sync "
                              "again.") from exc
        except fi_mcp.ProviderUnavailable as exc:
            raise SyncUnavailable(str(exc)) from exc
        except fi_mcp.FiError as exc:
            raise SyncStopped(str(exc)) from exc
        await progress("matching", 0, None)
        try:
            counts = await fi_apply.apply_reply(uow, connection, run, reply, cipher)
        except ProviderDataError as exc:
            raise SyncStopped(f"Fi Money answered data Florin cannot read ({exc}).") from exc
        except fi_apply.ConnectionGone as exc:
            raise SyncStopped("The connection was deleted.") from exc
        learned.queue_categorize(uow, run.user_id, run.id, counts.added + counts.updated)
        return counts

    run = await runs.execute(resources, run_id, apply, job_try=job_try, max_tries=max_tries)
    if run is not None and run.state == RunState.FAILED.value:
        await _after_failure(resources, connection_id, cipher, run.error or "The sync failed.", outcome.get("login"))
    return run


async def _after_failure(resources: Resources, connection_id: uuid.UUID, cipher: Cipher, error: str,
                         login: fi_mcp.LoginRequired | None) -> None:
    """The connection's state after a failed run: NEEDS_LOGIN (with the URL and the session) or ERROR."""
    async with unit_of_work(resources) as uow:
        if await repo.connection_of_worker(uow.session, connection_id, lock=True) is None:
            return
        if login is not None:
            values: dict[str, Any] = {
                "status": ConnectionStatus.NEEDS_LOGIN.value, "login_url": login.login_url,
                "last_error": error[:MAX_ERROR],
                "credentials": cipher.seal_json(login.session.to_json(), connection_id)}
        else:
            values = {"status": ConnectionStatus.ERROR.value, "login_url": None, "last_error": error[:MAX_ERROR]}
        await repo.update_connection(uow.session, connection_id, values)


async def schedule(resources: Resources) -> tuple[int, int]:
    """The scheduler's pass (cron): queue syncs that are due, re-enqueue runs whose job was lost."""
    from app.sync.connections import schedule_due

    interval = dt.timedelta(hours=resources.settings.sync_interval_hours)
    return await schedule_due(resources, interval=interval)
