"""JobQueue: jobs collected during a unit of work are enqueued to arq only after the commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arq.connections import ArqRedis

    from app.db import PendingJob

log = logging.getLogger("florin.jobs")


class JobQueue:
    def __init__(self, pool: ArqRedis, queue_name: str):
        self.pool = pool
        self.queue_name = queue_name

    async def enqueue(self, function: str, *args: object, job_id: str | None = None,
                      defer_seconds: float | None = None) -> bool:
        job = await self.pool.enqueue_job(
            function, *args, _job_id=job_id, _queue_name=self.queue_name, _defer_by=defer_seconds
        )
        if job is None:
            log.info("job %s already queued as %s", function, job_id)
        return job is not None

    async def enqueue_all(self, jobs: Iterable[PendingJob]) -> None:
        for job in jobs:
            await self.enqueue(job.function, *job.args, job_id=job.job_id, defer_seconds=job.defer_seconds)
