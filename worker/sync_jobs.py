"""Jobs of provider syncs: `sync_connection` (after `connectionSync` and the scheduler) and `schedule_syncs`.

`sync_connection` keeps no result (`keep_result=0`): arq refuses a job id whose result is still stored, and
the next sync of the connection must be able to use `sync:{connection}` again at once.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import Retry, cron
from arq.worker import func

from app.config import Settings
from app.sync import runs, sync_job

log = logging.getLogger("florin.worker.sync")

LOCK_RETRIES = 20
"""How often a job that found its connection locked by another worker comes back (every 15 s)."""


async def sync_connection(ctx: dict[str, Any], connection_id: str) -> dict[str, Any] | None:
    """Sync one connection (every pending run of it); unique per connection (`_job_id = sync:{id}`)."""
    job_try = int(ctx.get("job_try") or 1)
    try:
        ended = await sync_job.sync_connection(ctx["resources"], uuid.UUID(connection_id), job_try=job_try,
                                               max_tries=sync_job.SYNC_TRIES)
    except sync_job.LockBusy:
        if job_try >= LOCK_RETRIES:
            log.warning("connection %s stayed locked by another worker; its runs are left to that worker",
                        connection_id)
            return None
        raise Retry(defer=15) from None
    except runs.RetryLater as exc:
        raise Retry(defer=exc.defer_seconds) from exc
    return {"runs": {str(run.id): run.state for run in ended}}


async def schedule_syncs(ctx: dict[str, Any]) -> dict[str, int]:
    """Queue the syncs that are due (every FLORIN_SYNC_INTERVAL_HOURS per connection)."""
    queued, requeued = await sync_job.schedule(ctx["resources"])
    if queued or requeued:
        log.info("queued %d scheduled syncs, re-enqueued %d waiting ones", queued, requeued)
    return {"queued": queued, "requeued": requeued}


FUNCTIONS: list[Any] = [
    func(sync_connection, keep_result=0, timeout=900, max_tries=LOCK_RETRIES + 1),  # type: ignore[arg-type]
]


def cron_jobs(settings: Settings) -> list[Any]:
    """The scheduler every five minutes (each connection is synced every `sync_interval_hours`)."""
    return [cron(schedule_syncs, minute=set(range(0, 60, 5)), second={40}, unique=True,  # type: ignore[arg-type]
                 timeout=300)]
