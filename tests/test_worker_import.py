"""Real `florin worker` processes against the test database and Redis, with short job timeouts:

- killed with SIGKILL while applying a large import, the worker leaves nothing applied; another worker runs
  the job again once its timeout has passed, and the result is exactly that of an uninterrupted import;
- stopped with SIGTERM while applying, the worker finishes the job before it exits;
- `florin worker --check` tells whether a worker of the queue recorded its health.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.resources import Resources
from tests import ledger
from tests.importing import count, db_id, drain, generated_csv, ledger_rows, statement_import
from tests.servers import ROOT, TEST_SETTINGS, clean_env, kill_group
from tests.support import GraphQLClient

pytestmark = pytest.mark.slow

ROWS = 10_000
JOB_TIMEOUT = 45
"""Every job's timeout in the worker processes: arq runs a killed worker's job again after this plus 10 s."""


def worker_env(resources: Resources, **extra: Any) -> dict[str, str]:
    settings = resources.settings
    return clean_env(**TEST_SETTINGS, database_url=settings.database_url, redis_url=settings.redis_url,
                     arq_queue_name=settings.arq_queue_name, job_timeout_seconds=JOB_TIMEOUT,
                     max_job_timeout_seconds=JOB_TIMEOUT, **extra)


@contextlib.contextmanager
def worker_process(resources: Resources, log: Path, **extra: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m app.cli worker` in its own process group, its output appended to `log`."""
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=worker_env(resources, **extra),
                                   cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        kill_group(process)


async def run_row(resources: Resources, run_id: uuid.UUID) -> dict[str, Any]:
    async with resources.sessionmaker() as session:
        row = (await session.execute(sa.text("SELECT * FROM sync_runs WHERE id = :id"), {"id": run_id})).one()
        return dict(row._mapping)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def wait_until(what: str, check: Any, within: float, log: Path) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; worker output:\n{tail(log)}")


async def health_check(resources: Resources) -> subprocess.CompletedProcess[bytes]:
    """`florin worker --check` for the test's queue."""
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "app.cli", "worker", "--check"],
                                   env=worker_env(resources), cwd=ROOT, capture_output=True, timeout=60)


async def queue_import(gql: GraphQLClient, user: dict[str, Any], data: bytes) -> tuple[str, uuid.UUID]:
    account = await ledger.account(gql, user["token"], name="Giro", currency="EUR", opening="1000.00")
    payload = await statement_import(gql, user["token"], data, "big.csv", accountId=account["id"])
    assert payload["errors"] == [], payload["errors"]
    return account["id"], db_id(payload["import"]["run"]["id"])


def comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["booked_on"], r["amount"], r["currency"], r["description"], r["merchant"], r["status"],
             r["fingerprint"], r["external_id"]) for r in rows]


async def test_a_worker_killed_mid_import_is_retried_and_the_result_is_whole(
        gql: GraphQLClient, resources: Resources, tmp_path: Path) -> None:
    # given: a queued import of 10,000 rows
    data = generated_csv(ROWS)
    user = await gql.register()
    account_id, run_id = await queue_import(gql, user, data)
    log = tmp_path / "workers.log"

    # when: a worker starts applying it and is killed with SIGKILL halfway
    with worker_process(resources, log) as first:
        async def applying() -> bool:
            row = await run_row(resources, run_id)
            return bool(row["phase"] == "applying" and 0 < row["done"] < ROWS)

        await wait_until("the worker to apply", applying, 120, log)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    # then: nothing of it is in the ledger; the run waits, RUNNING, for its next attempt
    assert await count(resources, "transactions") == 0
    after_kill = await run_row(resources, run_id)
    assert (after_kill["state"], after_kill["attempts"]) == ("RUNNING", 1)
    assert await ledger.balance(gql, user["token"], account_id) == "1000.00"

    # when: another worker starts; arq hands it the job once the killed one's timeout has passed
    with worker_process(resources, log):
        async def ended() -> dict[str, Any] | None:
            row = await run_row(resources, run_id)
            return row if row["state"] in ("SUCCEEDED", "FAILED") else None

        final = await wait_until("the retried run to end", ended, JOB_TIMEOUT + 10 + 120, log)

    # then: applied whole by the second attempt
    assert (final["state"], final["attempts"], final["added"], final["duplicates"], final["errors"]) == \
        ("SUCCEEDED", 2, ROWS, 0, 0), final
    rows = await ledger_rows(resources, user["user_id"])

    # and exactly what an uninterrupted import of the same file gives
    other = await gql.register()
    other_account, other_run = await queue_import(gql, other, data)
    await drain(resources)
    reference = await ledger_rows(resources, other["user_id"])
    reference_run = await run_row(resources, other_run)
    assert (reference_run["state"], reference_run["added"], reference_run["attempts"]) == ("SUCCEEDED", ROWS, 1)
    assert len(rows) == ROWS
    assert comparable(rows) == comparable(reference)
    expected = sum((r["amount"] for r in reference), start=0) + 1000
    assert await ledger.balance(gql, user["token"], account_id) == f"{expected:.2f}"
    assert await ledger.balance(gql, other["token"], other_account) == f"{expected:.2f}"
    async with resources.sessionmaker() as session:
        counts = (await session.execute(sa.text(
            "SELECT a.user_id, count(*), min(b.day), max(b.day) FROM balances b JOIN accounts a ON a.id = b.account_id "
            "GROUP BY a.user_id"))).all()
    by_user = {row[0]: row[1:] for row in counts}
    assert by_user[db_id(user["user_id"])] == by_user[db_id(other["user_id"])]


async def test_sigterm_lets_the_running_import_finish(gql: GraphQLClient, resources: Resources,
                                                      tmp_path: Path) -> None:
    # given: a queued import, and no worker yet: the health check fails
    data = generated_csv(ROWS, seed=11)
    user = await gql.register()
    _, run_id = await queue_import(gql, user, data)
    log = tmp_path / "worker.log"
    before = await health_check(resources)

    with worker_process(resources, log, worker_shutdown_grace_seconds=120) as worker:
        # when: the worker is applying and gets SIGTERM
        async def applying() -> bool:
            row = await run_row(resources, run_id)
            return bool(row["phase"] == "applying" and 0 < row["done"] < ROWS)

        await wait_until("the worker to apply", applying, 120, log)
        during = await health_check(resources)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=150)

    # then: it finished the job before exiting, in its first attempt
    final = await run_row(resources, run_id)
    assert (final["state"], final["attempts"], final["added"]) == ("SUCCEEDED", 1, ROWS), final
    assert await count(resources, "transactions") == ROWS
    assert before.returncode == 1, before
    assert during.returncode == 0, during


def test_one_setting_bounds_every_job_timeout_and_so_the_wait_for_a_retry(resources: Resources) -> None:
    # given: the nightly balance fill asks for an hour, syncs for 15 minutes
    from tests.conftest import make_settings
    from worker.main import build_worker

    settings = make_settings(resources.settings.database_url or "", resources.settings.redis_url or "",
                             job_timeout_seconds=7, max_job_timeout_seconds=20, job_max_tries=4,
                             worker_shutdown_grace_seconds=33)
    # when
    worker = build_worker(settings, burst=True)
    # then
    timeouts = {name: fn.timeout_s for name, fn in worker.functions.items()}
    assert timeouts["apply_import"] is None and worker.job_timeout_s == 7
    assert max(t for t in timeouts.values() if t is not None) == 20
    assert worker.in_progress_timeout_s == 30
    assert (worker.max_tries, worker._job_completion_wait) == (4, 33)
    assert worker.health_check_key == f"{settings.arq_queue_name}:health-check"
