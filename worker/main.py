"""The arq worker: functions, cron jobs, startup/shutdown, Redis settings."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, Worker, async_check_health, func

from app.config import Settings
from app.embedded import arq_redis_settings
from app.metrics import instrument_jobs
from app.resources import build_resources
from worker import categorize_jobs, export_jobs, import_jobs, insight_jobs, sync_jobs
from worker.jobs import fill_balances, heartbeat, refresh_exchange_rates

log = logging.getLogger("florin.worker")

FUNCTIONS: list[Any] = [heartbeat, refresh_exchange_rates, fill_balances, *export_jobs.FUNCTIONS]
FUNCTIONS += sync_jobs.FUNCTIONS
FUNCTIONS += import_jobs.FUNCTIONS
FUNCTIONS += insight_jobs.FUNCTIONS
FUNCTIONS += categorize_jobs.FUNCTIONS


def cron_jobs(settings: Settings) -> list[Any]:
    """Heartbeat twice a minute; balances extended just after midnight UTC (when "tomorrow" moves on); the
    ECB reference rates, published around 16:00 CET, fetched at 16:05 UTC when a source is configured."""
    jobs: list[Any] = [
        cron(heartbeat, second={0, 30}, run_at_startup=True, unique=True),  # type: ignore[arg-type]
        cron(fill_balances, hour={0}, minute={5}, second={0}, unique=True, timeout=3600),  # type: ignore[arg-type]
        cron(export_jobs.expire_data_exports, minute={17}, second={0}, unique=True),  # type: ignore[arg-type]
    ]
    jobs += sync_jobs.cron_jobs(settings)
    jobs += insight_jobs.cron_jobs()
    if settings.exchange_rates_url:
        jobs.append(cron(refresh_exchange_rates, hour={16}, minute={5}, second={0},  # type: ignore[arg-type]
                         unique=True, timeout=600))
    return jobs


def capped(jobs: list[Any], ceiling: int) -> list[Any]:
    """The jobs with no timeout over `ceiling`: arq runs a killed worker's job again only once the longest
    timeout of all jobs has passed, so one ceiling (short in tests) bounds that wait."""
    out = []
    for job in jobs:
        job = job if isinstance(job, Function | CronJob) else func(job)
        if job.timeout_s is not None and job.timeout_s > ceiling:
            job = dataclasses.replace(job, timeout_s=ceiling)
        out.append(job)
    return out


def build_worker(settings: Settings, *, burst: bool = False, job_timeout: int | None = None) -> Worker:
    """An arq Worker wired to `settings`; both URLs must already be resolved.

    Health: every `health_check_interval` seconds the worker writes its counts to `health_check_key`
    (`florin worker --check` reads it). SIGTERM/SIGINT: no new job is taken, running ones get
    `worker_shutdown_grace_seconds` to finish, then are cancelled and rolled back, and run again later.
    Metrics: every job and cron job is counted by its arq name and outcome (`app.metrics.instrument_jobs`).
    """
    assert settings.redis_url, "worker needs a Redis URL"

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = await build_resources(settings, start_hub=False)
        log.info("worker started")

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        resources = ctx.pop("resources", None)
        if resources is not None:
            await resources.close()
        log.info("worker stopped")

    ceiling = max(settings.max_job_timeout_seconds, job_timeout or settings.job_timeout_seconds)
    return Worker(
        functions=instrument_jobs(capped(FUNCTIONS, ceiling)),
        cron_jobs=instrument_jobs(capped(cron_jobs(settings), ceiling)),
        redis_settings=arq_redis_settings(settings.redis_url),
        queue_name=settings.arq_queue_name,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        burst=burst,
        job_timeout=job_timeout or settings.job_timeout_seconds,
        max_tries=settings.job_max_tries,
        health_check_interval=30,
        health_check_key=health_check_key(settings),
        handle_signals=True,
        job_completion_wait=settings.worker_shutdown_grace_seconds,
    )


def health_check_key(settings: Settings) -> str:
    return f"{settings.arq_queue_name}:health-check"


async def check_health(settings: Settings) -> bool:
    """Whether a worker of this queue recorded its health lately (what `florin worker --check` exits on)."""
    assert settings.redis_url, "the health check needs a Redis URL"
    return await async_check_health(arq_redis_settings(settings.redis_url), health_check_key(settings),
                                    settings.arq_queue_name) == 0
