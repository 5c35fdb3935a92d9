"""Sync runs: the lifecycle (QUEUED -> RUNNING -> SUCCEEDED | FAILED) that imports and syncs share, failures
in a separate transaction with a SYNC_FAILED notification, transient failures retried, a run applied once
even when its job runs twice; `syncRuns` (newest first, filters, pages, isolation) and `syncProgress`."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError

from app.db import UnitOfWork, unit_of_work
from app.errors import DomainError, ErrorCode
from app.resources import Resources
from app.sync import runs
from app.sync.models import RunKind, SyncRun
from app.sync.pipeline import RunCounts, apply_rows
from app.sync.providers.statement import ParsedTransaction
from tests import ledger
from tests.importing import RUN, Subscription, count, db_id, drain, imported, ledger_rows, statement_import
from tests.support import GraphQLClient, assert_max_queries

RUNS = """query($first: Int, $after: String, $filter: SyncRunFilter) { syncRuns(first: $first, after: $after,
  filter: $filter) { totalCount edges { cursor node { id kind state added duplicates importId } }
  pageInfo { hasNextPage endCursor } } }"""
PROGRESS = """subscription($id: ID!) { syncProgress(runId: $id) { phase done total
  run { id state added duplicates errors attempts } } }"""
NOTIFICATIONS = """{ notifications(first: 10) { edges { node { kind title body data } } } }"""


def rows(*amounts: str) -> list[ParsedTransaction]:
    return [ParsedTransaction(booked_on=dt.date(2026, 1, 1 + i), amount=Decimal(a), currency=None,
                              description=f"ROW {i}", ref=f"line {i + 2}") for i, a in enumerate(amounts)]


async def new_run(resources: Resources, user_id: uuid.UUID) -> SyncRun:
    async with unit_of_work(resources) as uow:
        return await runs.create_run(uow, user_id, kind=RunKind.IMPORT)


async def test_a_failing_run_is_rolled_back_and_failed_with_a_notification(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: an applier that writes rows, then fails
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    user_id, account_id = db_id(user["user_id"]), db_id(giro["id"])
    run = await new_run(resources, user_id)

    async def apply(uow: UnitOfWork, run: SyncRun, progress: runs.Progress) -> RunCounts:
        await apply_rows(uow, user_id, run_id=run.id, batches=[(account_id, rows("-1.00", "-2.00"))])
        raise DomainError(ErrorCode.MALFORMED_FILE, "Line 3: no amount")

    # when
    ended = await runs.execute(resources, run.id, apply)
    # then: nothing of it landed; the run says why; the user is told
    assert ended is not None
    assert (ended.state, ended.error, ended.attempts, ended.added) == ("FAILED", "Line 3: no amount", 1, 0)
    assert await count(resources, "transactions") == 0
    assert await ledger.balance(gql, user["token"], giro["id"]) == "0.00"
    feed = [e["node"] for e in (await gql(NOTIFICATIONS, token=user["token"])).ok()["notifications"]["edges"]]
    assert [(n["kind"], n["title"], n["body"], n["data"]["runId"]) for n in feed] == [
        ("SYNC_FAILED", "Import failed", "Line 3: no amount", str(run.id))]


async def test_a_transient_failure_is_retried_and_the_next_attempt_applies(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: an applier whose first attempt loses the database after writing
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    user_id, account_id = db_id(user["user_id"]), db_id(giro["id"])
    run = await new_run(resources, user_id)
    attempts: list[int] = []

    async def apply(uow: UnitOfWork, run: SyncRun, progress: runs.Progress) -> RunCounts:
        attempts.append(run.attempts)
        counts = await apply_rows(uow, user_id, run_id=run.id, batches=[(account_id, rows("-1.00", "-2.00"))])
        if len(attempts) == 1:
            raise OperationalError("SELECT 1", {}, ConnectionResetError("connection lost"))
        return counts

    # when: the first try asks to be retried, the second succeeds
    with pytest.raises(runs.RetryLater) as retry:
        await runs.execute(resources, run.id, apply, job_try=1, max_tries=3)
    async with resources.sessionmaker() as session:
        between = await session.get(SyncRun, run.id)
    ended = await runs.execute(resources, run.id, apply, job_try=2, max_tries=3)
    again = await runs.execute(resources, run.id, apply, job_try=3, max_tries=3)  # the job ran once more

    # then
    assert retry.value.defer_seconds == 5.0
    assert between is not None and (between.state, between.attempts) == ("RUNNING", 1)
    assert ended is not None and (ended.state, ended.attempts, ended.added) == ("SUCCEEDED", 2, 2)
    assert again is not None and (again.state, again.attempts, again.added) == ("SUCCEEDED", 2, 2)
    assert attempts == [1, 2]
    assert [str(r["amount"]) for r in await ledger_rows(resources, user["user_id"])] == ["-1.0000", "-2.0000"]
    assert await count(resources, "notifications") == 0


async def test_a_transient_failure_on_the_last_try_fails_the_run(gql: GraphQLClient, resources: Resources) -> None:
    user = await gql.register()
    run = await new_run(resources, db_id(user["user_id"]))

    async def apply(uow: UnitOfWork, run: SyncRun, progress: runs.Progress) -> RunCounts:
        raise ConnectionRefusedError("redis down")

    ended = await runs.execute(resources, run.id, apply, job_try=3, max_tries=3)
    assert ended is not None and ended.state == "FAILED"
    assert ended.error == "The database or the queue was unavailable (ConnectionRefusedError); giving up after retries."


async def test_a_superseded_attempt_is_rolled_back(gql: GraphQLClient, resources: Resources) -> None:
    # given: while attempt 1 applies, a second worker starts attempt 2 of the same run (attempt 1 timed out)
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    user_id, account_id = db_id(user["user_id"]), db_id(giro["id"])
    run = await new_run(resources, user_id)

    async def apply(uow: UnitOfWork, run: SyncRun, progress: runs.Progress) -> RunCounts:
        counts = await apply_rows(uow, user_id, run_id=run.id, batches=[(account_id, rows("-1.00"))])
        await runs.start_run(resources, run.id)
        return counts

    # when
    ended = await runs.execute(resources, run.id, apply)
    # then: attempt 1 wrote nothing; attempt 2 is in charge
    assert ended is None
    assert await count(resources, "transactions") == 0
    async with resources.sessionmaker() as session:
        stored = await session.get(SyncRun, run.id)
    assert stored is not None and (stored.state, stored.attempts) == ("RUNNING", 2)


async def test_sync_runs_lists_the_callers_runs_newest_first(gql: GraphQLClient, resources: Resources) -> None:
    # given: three imports of alice (one refused file stores nothing), one of bob
    alice, bob = await gql.register(), await gql.register()
    giro = await ledger.account(gql, alice["token"], name="Giro", currency="EUR")
    bobs = await ledger.account(gql, bob["token"], name="Bob", currency="EUR")
    data = b"Date,Description,Amount\n2026-01-03,COFFEE HOUSE,-3.50\n"
    made = [await imported(gql, resources, alice["token"], data, f"{i}.csv", accountId=giro["id"]) for i in range(3)]
    assert (await statement_import(gql, alice["token"], b"%PDF-1.4", "x.pdf"))["errors"]
    theirs = await imported(gql, resources, bob["token"], data, "bob.csv", accountId=bobs["id"])
    ids = [m["run"]["id"] for m in made]

    # when
    with assert_max_queries(resources.engine, 3):
        page = (await gql(RUNS, {"first": 2}, token=alice["token"])).ok()["syncRuns"]
    rest = (await gql(RUNS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=alice["token"])).ok()["syncRuns"]
    succeeded = (await gql(RUNS, {"filter": {"state": "SUCCEEDED", "kind": "IMPORT"}}, token=alice["token"])).ok()
    failed = (await gql(RUNS, {"filter": {"state": "FAILED"}}, token=alice["token"])).ok()
    of_import = (await gql(RUNS, {"filter": {"importId": made[1]["import"]["id"]}}, token=alice["token"])).ok()
    foreign = (await gql(RUN, {"id": theirs["run"]["id"]}, token=alice["token"])).ok()

    # then
    assert page["totalCount"] == 3
    assert [e["node"]["id"] for e in page["edges"] + rest["edges"]] == ids[::-1]
    assert page["pageInfo"]["hasNextPage"] is True and rest["pageInfo"]["hasNextPage"] is False
    assert [(e["node"]["added"], e["node"]["duplicates"]) for e in page["edges"] + rest["edges"]] == \
        [(0, 1), (0, 1), (1, 0)]
    assert succeeded["syncRuns"]["totalCount"] == 3 and failed["syncRuns"]["totalCount"] == 0
    assert [e["node"]["id"] for e in of_import["syncRuns"]["edges"]] == [ids[1]]
    assert foreign["node"] is None


async def test_sync_progress_streams_a_run_to_its_end(gql: GraphQLClient, resources: Resources) -> None:
    # given: a queued import of 3 rows, followed by its owner; a stranger asks for it too
    user, stranger = await gql.register(), await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    data = b"Date,Description,Amount\n2026-01-03,A,-1.00\n2026-01-04,B,-2.00\n2026-01-05,C,-3.00\n"
    payload = await statement_import(gql, user["token"], data, "a.csv", accountId=giro["id"])
    run_id = payload["import"]["run"]["id"]
    async with Subscription(gql, resources, user["token"], PROGRESS, {"id": run_id}) as follow, \
            Subscription(gql, resources, stranger["token"], PROGRESS, {"id": run_id}) as spy:
        first = await follow.wait_for(1)
        # when
        await drain(resources)
        await follow.ended.wait()
        await spy.ended.wait()
    # then: its state first, then every step, ending with the counts
    steps = [r.data["syncProgress"] for r in follow.results]
    assert all(r.errors is None for r in follow.results)
    assert first[0].data["syncProgress"]["run"]["state"] == "QUEUED"
    assert (steps[0]["phase"], steps[0]["run"]["state"]) == ("queued", "QUEUED")
    phases = [s["phase"] for s in steps]
    assert phases[1] == "starting" and phases[-1] == "done"
    assert {"reading", "matching", "applying"} <= set(phases)
    applying = [s for s in steps if s["phase"] == "applying"]
    assert (applying[-1]["done"], applying[-1]["total"]) == (3, 3)
    assert steps[-1]["run"] == {"id": run_id, "state": "SUCCEEDED", "added": 3, "duplicates": 0, "errors": 0,
                                "attempts": 1}
    assert [r.data for r in spy.results] == [None]
    assert [e.extensions["code"] for e in spy.results[0].errors] == ["NOT_FOUND"]
