"""The lifecycle of a sync run: QUEUED -> RUNNING -> SUCCEEDED | FAILED, shared by imports and syncs.

    run = await runs.create_run(uow, user_id, kind=RunKind.SYNC, connection_id=...)   # in the request's uow
    uow.enqueue("sync_connection", str(connection_id), job_id=f"sync:{connection_id}")
    ...
    # in the job: one attempt = one unit of work; it lands whole or not at all
    await runs.execute(resources, run_id, apply, job_try=ctx["job_try"], max_tries=...)

`execute` marks the run RUNNING with one more attempt (its own short transaction, committed at once so a
watcher sees it), then calls `apply(uow, run, progress)` inside ONE unit of work and finishes the run with
the returned counts in that same transaction, so the rows and the SUCCEEDED state commit together. A
failure rolls that transaction back; the run is then marked FAILED in a separate transaction, with a
SYNC_FAILED notification, unless the failure is transient (a lost database or Redis connection, a
deadlock) and tries are left: then `RetryLater` asks the job to be retried with back-off, and the run
stays RUNNING until the next attempt. A killed worker leaves the run RUNNING with nothing applied; arq runs
the job again after its timeout and the next attempt starts over.

Progress (`Progress`) is published to the user's channel at once, not after a commit, and written to the
run row in short separate transactions (throttled), so `syncProgress` and `syncRuns` show a long run move.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.db import UnitOfWork, unit_of_work
from app.errors import DomainError, DomainErrors
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from app.sync import repository as repo
from app.sync.events import SyncProgressed
from app.sync.models import RunKind, RunState, SyncRun

if TYPE_CHECKING:
    from app.resources import Resources
    from app.sync.pipeline import RunCounts

log = logging.getLogger("florin.sync.runs")

PROGRESS_KEY = "sync.progress"
"""Where `execute` leaves the run's `Progress` in `uow.state` (the pipeline reports batches through it)."""
MAX_ERROR = 2000
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006"})
"""Serialization failure, deadlock, lock not available, admin/crash shutdown, connection failures."""

ProgressCallback = Callable[[str, int, int | None], None]


class RetryLater(Exception):  # noqa: N818 - a request, not an error
    """A transient failure with tries left: the job should be retried after `defer_seconds`."""

    def __init__(self, defer_seconds: float, reason: str):
        super().__init__(reason)
        self.defer_seconds = defer_seconds


class Superseded(Exception):  # noqa: N818
    """Another attempt of the same run took over (or finished it): this attempt's work is rolled back."""


def backoff_seconds(job_try: int, base: float = 5.0, cap: float = 600.0) -> float:
    """5 s, 10 s, 20 s, ... at most 10 minutes."""
    return float(min(cap, base * 2 ** max(0, job_try - 1)))


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed: lost connections, timeouts, deadlocks, serialization failures."""
    if isinstance(exc, OperationalError | InterfaceError | RedisConnectionError | RedisTimeoutError
                  | ConnectionError | TimeoutError | asyncio.TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        driver = getattr(exc, "orig", None)
        state = getattr(getattr(driver, "__cause__", None), "sqlstate", None) or getattr(driver, "sqlstate", None)
        return state in TRANSIENT_SQLSTATES
    return isinstance(exc, OSError)


class Progress:
    """Reports the progress of one attempt: an event at once, the run row now and then."""

    def __init__(self, resources: Resources | None, run: SyncRun, attempt: int, *,
                 on_report: ProgressCallback | None = None, min_interval: float = 0.5):
        self.resources = resources
        self.user_id = run.user_id
        self.run_id = run.id
        self.attempt = attempt
        self.on_report = on_report
        self.min_interval = min_interval
        self._last_write = 0.0
        self._last_phase: str | None = None

    async def __call__(self, phase: str, done: int, total: int | None = None) -> None:
        if self.on_report is not None:
            self.on_report(phase, done, total)
        if self.resources is None:
            return
        await self.resources.hub.publish(self.user_id, SyncProgressed(
            run_id=self.run_id, state=RunState.RUNNING.value, phase=phase, done=done, total=total))
        now = time.monotonic()
        if phase != self._last_phase or now - self._last_write >= self.min_interval:
            self._last_phase, self._last_write = phase, now
            async with self.resources.sessionmaker() as session, session.begin():
                await repo.record_progress(session, self.run_id, self.attempt, phase=phase, done=done, total=total)


def progress_of(uow: UnitOfWork) -> Progress | None:
    """The progress reporter of the run being applied in `uow`, if any."""
    found = uow.state.get(PROGRESS_KEY)
    return found if isinstance(found, Progress) else None


def _event(run: SyncRun) -> SyncProgressed:
    return SyncProgressed(run_id=run.id, state=run.state, phase=run.phase, done=run.done, total=run.total)


async def create_run(uow: UnitOfWork, user_id: uuid.UUID, *, kind: RunKind, connection_id: uuid.UUID | None = None,
                     import_id: uuid.UUID | None = None, window_start: dt.date | None = None,
                     window_end: dt.date | None = None, total: int | None = None) -> SyncRun:
    """A QUEUED run, announced after the commit (enqueue its job in the same unit of work)."""
    run = SyncRun(user_id=user_id, kind=kind.value, state=RunState.QUEUED.value, connection_id=connection_id,
                  import_id=import_id, window_start=window_start, window_end=window_end, total=total,
                  phase="queued")
    await repo.insert_run(uow.session, run)
    uow.publish(user_id, _event(run))
    return run


async def start_run(resources: Resources, run_id: uuid.UUID) -> SyncRun | None:
    """Mark the run RUNNING with one more attempt, committed at once; None when it has already ended."""
    async with resources.sessionmaker() as session, session.begin():
        run = await repo.start_run(session, run_id, phase="starting")
    if run is not None:
        await resources.hub.publish(run.user_id, _event(run))
    return run


async def finish_run(uow: UnitOfWork, run_id: uuid.UUID, attempt: int | None, counts: RunCounts,
                     *, total: int | None = None) -> SyncRun:
    """SUCCEEDED with `counts`, inside the unit of work that applied the rows; `Superseded` when another
    attempt took over (the caller's transaction must then roll back)."""
    values: dict[str, Any] = {"added": counts.added, "updated": counts.updated, "duplicates": counts.duplicates,
                              "errors": counts.errors, "phase": "done",
                              "error": "; ".join(counts.messages)[:MAX_ERROR] or None}
    handled = counts.added + counts.updated + counts.duplicates + counts.errors
    values["done"] = handled
    values["total"] = total if total is not None else handled
    run = await repo.finish_run(uow.session, run_id, attempt, values)
    if run is None:
        raise Superseded(f"run {run_id} attempt {attempt} was superseded")
    uow.publish(run.user_id, _event(run))
    return run


async def fail_run(resources: Resources, run_id: uuid.UUID, error: str, *, attempt: int | None = None,
                   notify_user: bool = True) -> SyncRun | None:
    """FAILED with the error text, in its own transaction (after the failed one rolled back), with a
    SYNC_FAILED notification; None when the run had already ended or another attempt runs it."""
    async with unit_of_work(resources) as uow:
        run = await repo.fail_run(uow.session, run_id, attempt, error[:MAX_ERROR])
        if run is None:
            return None
        if notify_user:
            what = "Import" if run.kind == RunKind.IMPORT.value else "Sync"
            data = {"runId": str(run.id), "kind": run.kind, "error": run.error}
            if run.import_id:
                data["importId"] = str(run.import_id)
            if run.connection_id:
                data["connectionId"] = str(run.connection_id)
            await notify(uow, run.user_id, kind=NotificationKind.SYNC_FAILED, title=f"{what} failed",
                         body=run.error or "", data=data, subject_id=run.id)
        uow.publish(run.user_id, _event(run))
    return run


def error_text(exc: BaseException) -> str:
    """What a user is told about a failure (an unexpected one is logged, not shown)."""
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, DomainErrors):
        return "; ".join(e.message for e in exc.errors)
    if is_transient(exc):
        return f"The database or the queue was unavailable ({type(exc).__name__}); giving up after retries."
    return "An unexpected error stopped this run; nothing of it was applied."


Applier = Callable[[UnitOfWork, SyncRun, Progress], Awaitable["RunCounts"]]


async def execute(resources: Resources, run_id: uuid.UUID, apply: Applier, *, job_try: int = 1, max_tries: int = 1,
                  on_progress: ProgressCallback | None = None) -> SyncRun | None:
    """Run one attempt of a run (see the module text). Returns the run as it ended (None when superseded);
    raises `RetryLater` for a transient failure while `job_try < max_tries`."""
    run = await start_run(resources, run_id)
    if run is None:
        async with resources.sessionmaker() as session:
            return await repo.run_by_id(session, run_id)  # already ended: the job ran twice
    attempt = run.attempts
    progress = Progress(resources, run, attempt, on_report=on_progress)
    try:
        async with unit_of_work(resources) as uow:
            uow.state[PROGRESS_KEY] = progress
            counts = await apply(uow, run, progress)
            finished = await finish_run(uow, run.id, attempt, counts, total=run.total)
    except Superseded:
        log.warning("run %s attempt %d was superseded; its work was rolled back", run_id, attempt)
        return None
    except Exception as exc:
        if is_transient(exc) and job_try < max_tries:
            delay = backoff_seconds(job_try)
            log.warning("run %s attempt %d failed transiently (%s); retrying in %.0f s", run_id, attempt, exc, delay)
            raise RetryLater(delay, str(exc)) from exc
        if not isinstance(exc, DomainError | DomainErrors):
            log.exception("run %s attempt %d failed", run_id, attempt)
        return await fail_run(resources, run.id, error_text(exc), attempt=attempt)
    return finished
