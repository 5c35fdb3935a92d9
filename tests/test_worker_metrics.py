"""Job metrics from a real worker: every job function and cron job the worker registers is counted by its arq
name and outcome, and `/metrics` of the API reports those counts (kept in Redis) and the queue depth.

A real arq worker (`build_worker`, as `florin worker` builds it) runs a job that succeeds (`heartbeat`), one that
fails (`sync_connection` of an id that is not a UUID), one that asks to be retried (`refresh_exchange_rates`
with an unreachable source: arq's `Retry`, deferred by two minutes) and its start-up cron jobs; it is stopped
once those runs are counted, and the API process scrapes the result.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from arq.worker import func

from app.metrics import INSTRUMENTED, jobs_key
from app.resources import Resources, build_resources
from tests.conftest import make_settings
from tests.test_metrics import scrape, value
from tests.test_security import asgi_client
from worker.main import FUNCTIONS, build_worker, cron_jobs

UNREACHABLE = "http://127.0.0.1:9/eurofxref.xml"  # the discard port: connection refused


async def _counts(resources: Resources) -> dict[str, int]:
    redis: Any = resources.redis
    raw = await redis.hgetall(jobs_key(resources.settings))
    out = {}
    for key, count in raw.items():
        key = key.decode() if isinstance(key, bytes) else key
        if key.endswith("|count"):
            out[key.removesuffix("|count")] = int(count)
    return out


async def _until(resources: Resources, wanted: set[str], within: float = 120) -> dict[str, int]:
    """Wait until every `job|outcome` in `wanted` was counted (the worker runs in this event loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        counts = await _counts(resources)
        if wanted <= set(counts) or loop.time() > deadline:
            return counts
        await asyncio.sleep(0.2)


def test_every_job_and_cron_job_is_instrumented_under_its_own_name(resources: Resources) -> None:
    # given: the worker as `florin worker` builds it
    settings = make_settings(resources.settings.database_url or "", resources.settings.redis_url or "",
                             exchange_rates_url=UNREACHABLE)
    # when
    worker = build_worker(settings, burst=True)
    # then: the same arq names as the unwrapped functions and cron jobs (enqueue names and `_job_id`s match)
    expected = {func(f).name for f in FUNCTIONS} | {job.name for job in cron_jobs(settings)}
    assert set(worker.functions) == expected
    assert {"heartbeat", "sync_connection", "refresh_exchange_rates", "cron:heartbeat"} <= expected
    for name, job in worker.functions.items():
        assert getattr(job.coroutine, INSTRUMENTED, False), name
        assert inspect.iscoroutinefunction(job.coroutine), name
    # cron schedules are kept
    crons = {job.name: job for job in worker.cron_jobs}
    assert crons["cron:heartbeat"].second == {0, 30} and crons["cron:heartbeat"].run_at_startup is True


async def test_worker_jobs_are_counted_by_name_and_outcome(resources: Resources) -> None:
    # given: a worker whose exchange-rate source cannot be reached, and three jobs queued
    settings = make_settings(resources.settings.database_url or "", resources.settings.redis_url or "",
                             exchange_rates_url=UNREACHABLE, exchange_rates_history_url=UNREACHABLE)
    api = await build_resources(settings, start_hub=False)
    try:
        assert await api.job_queue.enqueue("heartbeat", job_id="beat")
        assert await api.job_queue.enqueue("sync_connection", "not-a-uuid", job_id="broken")
        assert await api.job_queue.enqueue("refresh_exchange_rates", job_id="rates")
        async with asgi_client(api) as http:
            before = await scrape(http)
        assert value(before, "florin_queue_depth") == 3
        worker = build_worker(settings)
        startup_crons = sorted(job.name for job in worker.cron_jobs if job.run_at_startup)
        wanted = {"heartbeat|success", "sync_connection|failure", "refresh_exchange_rates|retry"}
        wanted |= {f"{name}|success" for name in startup_crons}

        # when: the worker runs until those runs are counted, then stops
        running = asyncio.create_task(worker.async_run())
        try:
            counts = await _until(api, wanted)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await worker.close()
        async with asgi_client(api) as http:
            after = await scrape(http)
        queued = [m.decode() if isinstance(m, bytes) else m
                  for m in await api.redis.zrange(settings.arq_queue_name, 0, -1)]
    finally:
        await api.close()

    # then: each job counted once under its name and outcome, as Redis holds it and as /metrics reports it
    assert wanted <= set(counts), counts
    assert {k: counts[k] for k in ("heartbeat|success", "sync_connection|failure",
                                   "refresh_exchange_rates|retry")} == {
        "heartbeat|success": 1, "sync_connection|failure": 1, "refresh_exchange_rates|retry": 1}
    assert "cron:heartbeat" in startup_crons
    for key in wanted:
        job, outcome = key.split("|")
        assert value(after, "florin_jobs_total", job=job, outcome=outcome) == counts[key], key
        assert value(after, "florin_job_seconds_total", job=job, outcome=outcome) >= 0, key
    for job, outcome in (("heartbeat", "failure"), ("heartbeat", "retry"), ("sync_connection", "success"),
                         ("refresh_exchange_rates", "success"), ("refresh_exchange_rates", "failure")):
        assert value(after, "florin_jobs_total", job=job, outcome=outcome) == 0, (job, outcome)
    # the retried job waits in the queue (deferred by arq's Retry); the others are gone; any other entry
    # is a cron job that fell due while the worker ran
    assert "rates" in queued and "beat" not in queued and "broken" not in queued
    assert all(m == "rates" or m.startswith("cron:") for m in queued), queued
    assert value(after, "florin_queue_depth") == len(queued)
