"""Thin jobs: take ids, open their own unit of work, call the same services as the API."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import Any

from arq import Retry

from app.db import read_session, unit_of_work
from app.networth import balances, ecb
from app.networth.refresh import refresh_reference_rates

HEARTBEAT_KEY = "florin:worker:heartbeat"

log = logging.getLogger("florin.worker.jobs")


async def heartbeat(ctx: dict[str, Any]) -> str:
    """Proves the worker is alive: records who beat and when (read by `/readyz`-style checks and tests)."""
    resources = ctx["resources"]
    stamp = dt.datetime.now(dt.UTC).isoformat()
    await resources.redis.set(HEARTBEAT_KEY, f"{socket.gethostname()}:{os.getpid()}:{stamp}", ex=180)
    return stamp


async def refresh_exchange_rates(ctx: dict[str, Any]) -> dict[str, Any] | None:
    """Store the ECB reference rates from the configured source (daily). Manual rates always win.

    An unreachable source is retried with back-off; a malformed document fails the job (logged, nothing
    written). Running twice is harmless: rates are upserted.
    """
    try:
        result = await refresh_reference_rates(ctx["resources"])
    except ecb.SourceUnavailable as exc:
        tries = int(ctx.get("job_try") or 1)
        log.warning("exchange-rate source unavailable (try %d): %s", tries, exc)
        raise Retry(defer=min(60 * 2 ** tries, 3600)) from exc
    if result is None:
        return None
    return {"source": result.source, "days": result.days, "rates": result.rates, "written": result.written}


async def fill_balances(ctx: dict[str, Any]) -> int:
    """Extend every account's end-of-day balances to tomorrow (nightly), one user per unit of work so no
    user's ledger writers wait on another's. Returns the number of accounts extended."""
    resources = ctx["resources"]
    async with read_session(resources) as session:
        users = await balances.users_to_fill(session)
    filled = 0
    for user_id in users:
        async with unit_of_work(resources) as uow:
            filled += await balances.fill_all(uow.session, user_id)
    log.info("extended the balances of %d accounts of %d users", filled, len(users))
    return filled
