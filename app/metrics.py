"""Prometheus metrics: GraphQL requests by operation and outcome, latency, SQL statements per request, active
subscriptions, jobs by name and outcome, and the arq queue depth.

Request metrics live in this process. Job counts are kept in Redis (a worker is another process), so any API
process reports the jobs of every worker. The worker wraps every job function and cron job in `instrumented`
(`instrument_jobs`, applied where the Worker is built; arq keeps the function's name).

SQL statements are counted by an engine event into the `RequestStats` of the current request (a contextvar;
SQLAlchemy runs the event in the request's context).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

REGISTRY = CollectorRegistry(auto_describe=True)
MAX_OPERATION_NAMES = 200

REQUESTS = Counter("florin_graphql_requests", "GraphQL requests over HTTP by operation and outcome.",
                   ["operation", "type", "outcome"], registry=REGISTRY)
LATENCY = Histogram("florin_graphql_request_duration_seconds", "Time to answer a GraphQL request over HTTP.",
                    ["operation", "type"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SQL_PER_REQUEST = Histogram("florin_sql_statements_per_request", "SQL statements run by one GraphQL request.",
                            ["operation", "type"], registry=REGISTRY,
                            buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100))
ACTIVE_SUBSCRIPTIONS = Gauge("florin_active_subscriptions", "GraphQL subscriptions streaming in this process.",
                             registry=REGISTRY)
HUB_SUBSCRIBERS = Gauge("florin_event_hub_subscribers", "Listeners of the Redis event hub in this process.",
                        registry=REGISTRY)
DB_POOL_CHECKED_OUT = Gauge("florin_db_pool_checked_out", "Database connections in use.", registry=REGISTRY)
QUEUE_DEPTH = Gauge("florin_queue_depth", "Jobs waiting in the arq queue (deferred ones included).",
                    registry=REGISTRY)

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_seen_operations: set[str] = set()


@dataclass
class RequestStats:
    """What one request did, filled in as it runs."""

    started: float = field(default_factory=time.perf_counter)
    operation: str | None = None
    operation_type: str | None = None
    outcome: str = "ok"
    sql_statements: int = 0


request_stats: contextvars.ContextVar[RequestStats | None] = contextvars.ContextVar("request_stats", default=None)


def operation_label(name: str | None) -> str:
    """A bounded label: the operation's name, `anonymous`, or `other` once too many names were seen."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "other"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_operations.add(name)
    return name


def observe_request(stats: RequestStats, seconds: float) -> None:
    operation = operation_label(stats.operation)
    kind = stats.operation_type or "unknown"
    REQUESTS.labels(operation, kind, stats.outcome).inc()
    LATENCY.labels(operation, kind).observe(seconds)
    SQL_PER_REQUEST.labels(operation, kind).observe(stats.sql_statements)


def _count_statement(*_args: Any) -> None:
    stats = request_stats.get()
    if stats is not None:
        stats.sql_statements += 1


def instrument_engine(engine: AsyncEngine) -> None:
    """Count SQL statements of the current request (idempotent)."""
    if not event.contains(engine.sync_engine, "before_cursor_execute", _count_statement):
        event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)


# --- jobs ------------------------------------------------------------------------------------------------


def jobs_key(settings: Any) -> str:
    """The Redis hash of job counts of one deployment (its queue)."""
    return f"{settings.arq_queue_name}:metrics:jobs"


async def record_job(redis: Any, key: str, name: str, outcome: str, seconds: float) -> None:
    """Count a finished job run (`outcome`: success, failure or retry) for every API process to report."""
    pipe = redis.pipeline(transaction=True)
    pipe.hincrby(key, f"{name}|{outcome}|count", 1)
    pipe.hincrbyfloat(key, f"{name}|{outcome}|seconds", round(seconds, 6))
    await pipe.execute()


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
INSTRUMENTED = "__florin_instrumented__"


def instrumented(function: F, *, name: str | None = None) -> F:
    """Wrap an arq job so each run is counted by name and outcome (arq's own `Retry` counts as `retry`).

    `name` is the job's label (its arq name; the function's name by default). `functools.wraps` keeps the
    function's `__name__`/`__qualname__`, so arq registers the wrapper under the same name. The worker's
    context needs `resources` (set on start-up by worker/main.py)."""
    from arq.worker import Retry

    if getattr(function, INSTRUMENTED, False):
        return function
    label = name or function.__name__

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "failure"
        try:
            result = await function(ctx, *args, **kwargs)
            outcome = "success"
            return result
        except Retry:
            outcome = "retry"
            raise
        finally:
            resources = ctx.get("resources")
            if resources is not None:
                try:
                    await record_job(resources.redis, jobs_key(resources.settings), label, outcome,
                                     time.perf_counter() - started)
                except Exception:  # noqa: BLE001 - metrics never fail a job
                    pass

    setattr(run, INSTRUMENTED, True)
    return run  # type: ignore[return-value]


def instrument_jobs(jobs: list[Any]) -> list[Any]:
    """arq `Function`s and `CronJob`s with their coroutines wrapped in `instrumented`, labelled by their arq
    name (`cron:…` for cron jobs). Names, timeouts and schedules stay as they were, so enqueued names and
    `_job_id`s still match."""
    from arq.cron import CronJob
    from arq.worker import Function, func

    out = []
    for job in jobs:
        job = job if isinstance(job, Function | CronJob) else func(job)
        out.append(dataclasses.replace(job, coroutine=instrumented(job.coroutine, name=job.name)))
    return out


class _JobsCollector(Collector):
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[float, float]] = {}

    def collect(self) -> Any:
        total = CounterMetricFamily("florin_jobs", "Job runs by name and outcome (all workers).",
                                    labels=["job", "outcome"])
        seconds = CounterMetricFamily("florin_job_seconds", "Time spent in job runs by name and outcome.",
                                      labels=["job", "outcome"])
        for (job, outcome), (count, spent) in sorted(self.values.items()):
            total.add_metric([job, outcome], count)
            seconds.add_metric([job, outcome], spent)
        yield total
        yield seconds


_jobs = _JobsCollector()
REGISTRY.register(_jobs)


async def _load_jobs(redis: Any, key: str) -> None:
    raw = await redis.hgetall(key)
    values: dict[tuple[str, str], list[float]] = {}
    for key, value in raw.items():
        parts = (key.decode() if isinstance(key, bytes) else key).rsplit("|", 2)
        if len(parts) != 3:
            continue
        job, outcome, what = parts
        pair = values.setdefault((job, outcome), [0.0, 0.0])
        pair[0 if what == "count" else 1] = float(value)
    _jobs.values = {k: (v[0], v[1]) for k, v in values.items()}


async def render(resources: Any) -> tuple[bytes, str]:
    """The exposition text, with the gauges read now."""
    HUB_SUBSCRIBERS.set(resources.hub.subscriber_count)
    pool = resources.engine.pool
    DB_POOL_CHECKED_OUT.set(getattr(pool, "checkedout", lambda: 0)())
    try:
        QUEUE_DEPTH.set(await resources.redis.zcard(resources.settings.arq_queue_name))
        await _load_jobs(resources.redis, jobs_key(resources.settings))
    except Exception:  # noqa: BLE001 - an unreachable Redis shows in /readyz; keep the last values
        pass
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
