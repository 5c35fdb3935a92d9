"""The arq worker: functions, cron jobs, startup/shutdown, Redis settings."""

from __future__ import annotations

import logging
from typing import Any

from arq import cron
from arq.worker import Worker

from app.config import Settings
from app.embedded import arq_redis_settings
from app.resources import build_resources
from worker.jobs import heartbeat

log = logging.getLogger("florin.worker")

FUNCTIONS: list[Any] = [heartbeat]


def build_worker(settings: Settings, *, burst: bool = False, job_timeout: int = 300) -> Worker:
    """An arq Worker wired to `settings`; both URLs must already be resolved."""
    assert settings.redis_url, "worker needs a Redis URL"

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = await build_resources(settings, start_hub=False)
        log.info("worker started")

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        resources = ctx.pop("resources", None)
        if resources is not None:
            await resources.close()
        log.info("worker stopped")

    return Worker(
        functions=FUNCTIONS,
        cron_jobs=[cron(heartbeat, second={0, 30}, run_at_startup=True, unique=True)],  # type: ignore[arg-type]
        redis_settings=arq_redis_settings(settings.redis_url),
        queue_name=settings.arq_queue_name,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        burst=burst,
        job_timeout=job_timeout,
        max_tries=5,
        health_check_interval=30,
        health_check_key=f"{settings.arq_queue_name}:health-check",
        handle_signals=True,
    )
