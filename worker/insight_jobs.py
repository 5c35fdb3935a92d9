"""Insight jobs: `generate_insights` for one user, and the daily fan-out over every user."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from arq import cron
from arq.worker import func

from app.db import unit_of_work
from app.insights import service

log = logging.getLogger("florin.worker.insights")


async def generate_insights(ctx: dict[str, Any], user_id: str, day: str | None = None) -> dict[str, Any]:
    """Run the generators for one user (as of `day`, default today in their time zone); idempotent: the
    dedupe keys make a second run store and notify nothing."""
    async with unit_of_work(ctx["resources"]) as uow:
        fresh = await service.generate_for(uow, uuid.UUID(user_id),
                                           today=dt.date.fromisoformat(day) if day else None)
    return {"created": [str(i.id) for i in fresh]}


async def schedule_insights(ctx: dict[str, Any]) -> dict[str, int]:
    """Queue `generate_insights` for every user, one job per user and day (`insights:{user}:{day}`)."""
    async with unit_of_work(ctx["resources"]) as uow:
        queued = await service.schedule_all(uow, day=dt.datetime.now(dt.UTC).date())
    log.info("queued insight generation for %d users", queued)
    return {"queued": queued}


FUNCTIONS: list[Any] = [func(generate_insights, keep_result=0, timeout=600)]  # type: ignore[arg-type]


def cron_jobs() -> list[Any]:
    """Once a day at 06:10 UTC."""
    return [cron(schedule_insights, hour={6}, minute={10}, second={0}, unique=True,  # type: ignore[arg-type]
                 timeout=600)]
