"""Connections over GraphQL: create/delete/list, validation, isolation, one sync at a time (row lock, advisory
lock, a widened QUEUED run), the scheduler, and a real arq worker running `sync_connection`."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from arq import Retry

from app.graphql.context import build_context
from app.graphql.node import from_global_id, to_global_id
from app.resources import Resources
from app.sync import runs
from app.sync.connections import schedule_due
from app.sync.sync_job import LOCK_SPACE
from tests.fi_server import (
    CONNECTION,
    CONNECTION_DELETE,
    CONNECTION_SYNC,
    FiServer,
    connection,
    create_connection,
    request_sync,
    run_jobs,
    sync,
)
from tests.support import GraphQLClient, assert_max_queries

CREATE = """mutation($input: ConnectionCreateInput!) { connectionCreate(input: $input) {
  connection { id name url status provider } errors { field message code } } }"""
LIST = "{ connections(first: 10) { totalCount edges { node { id name status } } } }"
RUNS = """query($id: ID!) { syncRuns(filter: {connectionId: $id}, first: 20) { totalCount
  edges { node { id state added duplicates windowStart windowEnd } } } }"""
ACCOUNTS = "{ accounts(first: 50) { totalCount edges { node { id name } } } }"
TXN_COUNT = "{ transactions(first: 1) { totalCount } }"


@pytest.fixture
def fi() -> Iterator[FiServer]:
    with FiServer() as server:
        yield server


def db(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def runs_of(gql: GraphQLClient, token: str, connection_id: str) -> list[dict[str, Any]]:
    data = (await gql(RUNS, {"id": connection_id}, token=token)).ok()["syncRuns"]
    return [edge["node"] for edge in data["edges"]]


async def logged_in(gql: GraphQLClient, resources: Resources, fi: FiServer, token: str) -> dict[str, Any]:
    created = await create_connection(gql, token, fi.url)
    await sync(gql, resources, token, created["id"])
    login_url = (await connection(gql, token, created["id"]))["loginUrl"]
    assert (await asyncio.to_thread(fi.login_at, login_url)).status_code == 200
    return created


# --- create, validation, replay ------------------------------------------------------------------------


async def test_create_validates_and_replays(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    client_id = to_global_id("Connection", uuid.uuid4())
    good = {"provider": "FI_MCP", "url": "http://127.0.0.1:8080/mcp/stream", "name": " Fi at home ", "id": client_id}
    # when / then: bad inputs are refused with every bad field named
    cases = [
        ({"url": ""}, [("url", "REQUIRED")]),
        ({"url": "ftp://example.com/mcp"}, [("url", "INVALID")]),
        ({"url": "http://user:pw@example.com/mcp"}, [("url", "INVALID")]),
        ({"url": "https://example.com/" + "x" * 500}, [("url", "TOO_LONG")]),
        ({"url": "not a url", "name": "n" * 121}, [("url", "INVALID"), ("name", "TOO_LONG")]),
        ({"id": to_global_id("Account", uuid.uuid4())}, [("id", "INVALID")]),
    ]
    for change, expected in cases:
        payload = (await gql(CREATE, {"input": {**good, **change}}, token=user["token"])).ok()["connectionCreate"]
        assert payload["connection"] is None, change
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, change
    assert (await gql(LIST, token=user["token"])).ok()["connections"]["totalCount"] == 0
    # when: a good one, twice with the same client id (a retry)
    first = (await gql(CREATE, {"input": good}, token=user["token"])).ok()["connectionCreate"]
    again = (await gql(CREATE, {"input": good}, token=user["token"])).ok()["connectionCreate"]
    # then: one connection, named as given (trimmed), ACTIVE
    assert first["errors"] == [] and again == first
    assert first["connection"] == {"id": client_id, "name": "Fi at home", "url": good["url"], "status": "ACTIVE",
                                   "provider": "FI_MCP"}
    # the same id with another input, or taken by another user, is CONFLICT
    other = (await gql(CREATE, {"input": {**good, "name": "other"}}, token=user["token"])).ok()["connectionCreate"]
    assert [e["code"] for e in other["errors"]] == ["CONFLICT"]
    stranger = await gql.register()
    taken = (await gql(CREATE, {"input": good}, token=stranger["token"])).ok()["connectionCreate"]
    assert [(e["field"], e["code"]) for e in taken["errors"]] == [("id", "CONFLICT")]
    assert (await gql(LIST, token=user["token"])).ok()["connections"]["totalCount"] == 1


async def test_sync_window_is_validated(gql: GraphQLClient, fi: FiServer) -> None:
    # given
    user = await gql.register()
    created = await create_connection(gql, user["token"], fi.url)
    # when
    payload = (await gql(CONNECTION_SYNC, {"input": {"connectionId": created["id"], "from": "2026-11-10",
                                                     "to": "2026-11-01"}}, token=user["token"])).ok()["connectionSync"]
    # then
    assert payload["run"] is None and [(e["field"], e["code"]) for e in payload["errors"]] == [("from", "INVALID")]
    assert await runs_of(gql, user["token"], created["id"]) == []


# --- isolation ---------------------------------------------------------------------------------------------


async def test_another_users_connection_is_not_found(gql: GraphQLClient, resources: Resources, fi: FiServer) -> None:
    # given: Ann's synced connection
    ann, bob = await gql.register(), await gql.register()
    created = await logged_in(gql, resources, fi, ann["token"])
    await sync(gql, resources, ann["token"], created["id"])
    before = await connection(gql, ann["token"], created["id"])
    runs_before = await runs_of(gql, ann["token"], created["id"])
    # when: Bob tries everything with its id
    seen = (await gql(CONNECTION, {"id": created["id"]}, token=bob["token"])).ok()["connection"]
    node = (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": created["id"]}, token=bob["token"])).ok()
    synced = (await gql(CONNECTION_SYNC, {"input": {"connectionId": created["id"]}},
                        token=bob["token"])).ok()["connectionSync"]
    deleted = (await gql(CONNECTION_DELETE, {"input": {"id": created["id"]}}, token=bob["token"])).ok()
    listed = (await gql(LIST, token=bob["token"])).ok()["connections"]
    wrong_type = (await gql(CONNECTION_SYNC, {"input": {"connectionId": to_global_id("Account", db(created["id"]))}},
                            token=ann["token"])).ok()["connectionSync"]
    # then: nothing is visible or changed, and the errors do not tell that it exists
    assert seen is None and node["node"] is None and listed == {"totalCount": 0, "edges": []}
    assert [(e["field"], e["code"]) for e in synced["errors"]] == [("connectionId", "NOT_FOUND")]
    assert [(e["field"], e["code"]) for e in deleted["connectionDelete"]["errors"]] == [("id", "NOT_FOUND")]
    assert [(e["field"], e["code"]) for e in wrong_type["errors"]] == [("connectionId", "NOT_FOUND")]
    assert await connection(gql, ann["token"], created["id"]) == before
    assert await runs_of(gql, ann["token"], created["id"]) == runs_before
    assert (await gql(ACCOUNTS, token=bob["token"])).ok()["accounts"]["totalCount"] == 0


# --- one sync at a time ------------------------------------------------------------------------------------


async def test_two_simultaneous_syncs_run_once_and_return_the_same_run(gql: GraphQLClient, resources: Resources,
                                                                       fi: FiServer) -> None:
    # given
    user = await gql.register()
    created = await logged_in(gql, resources, fi, user["token"])
    calls_before = len(fi.calls)
    # when: two requests at the same time, each with its own context and database connection
    first, second = await asyncio.gather(
        gql(CONNECTION_SYNC, {"input": {"connectionId": created["id"], "idempotencyKey": "a"}}, token=user["token"]),
        gql(CONNECTION_SYNC, {"input": {"connectionId": created["id"], "idempotencyKey": "b"}}, token=user["token"]))
    # then: the same QUEUED run
    one, two = first.ok()["connectionSync"], second.ok()["connectionSync"]
    assert one["errors"] == two["errors"] == []
    assert one["run"]["id"] == two["run"]["id"] and one["run"]["state"] == "QUEUED"
    # when: the worker runs the job (the queue holds it once: `_job_id = sync:{id}`)
    queued = await resources.arq.queued_jobs(queue_name=resources.settings.arq_queue_name)
    assert [job.job_id for job in queued].count(f"sync:{db(created['id'])}") == 1
    await run_jobs(resources, created["id"])
    # then: one sync ran: one run, one pass over the provider's two tools
    runs_now = await runs_of(gql, user["token"], created["id"])
    assert [r["state"] for r in runs_now] == ["SUCCEEDED", "FAILED"]  # this one, and the first (login) one
    assert runs_now[0]["id"] == one["run"]["id"] and runs_now[0]["added"] == 11
    assert [tool for tool, _ in fi.calls[calls_before:]] == ["fetch_net_worth", "fetch_bank_transactions"]


async def test_asking_again_while_queued_widens_the_window(gql: GraphQLClient, resources: Resources,
                                                           fi: FiServer) -> None:
    # given: a queued sync of 5-6 November
    user = await gql.register()
    created = await logged_in(gql, resources, fi, user["token"])
    first = await request_sync(gql, user["token"], created["id"], **{"from": "2026-11-05", "to": "2026-11-06"})
    # when: asked again for 2-3 November, then for everything up to the 10th
    second = await request_sync(gql, user["token"], created["id"], **{"from": "2026-11-02", "to": "2026-11-03"})
    # then: the same run, covering both
    assert second["id"] == first["id"] and (second["windowStart"], second["windowEnd"]) == ("2026-11-02", "2026-11-06")
    third = await request_sync(gql, user["token"], created["id"], to="2026-11-10")
    assert third["id"] == first["id"] and (third["windowStart"], third["windowEnd"]) == (None, "2026-11-10")
    # when: it runs; then it imported every row up to the 10th (bank rows: 10-31, 11-01, 11-02 x2, 11-03, 11-05,
    # 11-08, 11-10)
    await run_jobs(resources, created["id"])
    ended = (await runs_of(gql, user["token"], created["id"]))[0]
    assert (ended["id"], ended["state"], ended["added"]) == (first["id"], "SUCCEEDED", 8)


async def test_a_request_while_running_queues_the_next_run_which_the_job_also_runs(
        gql: GraphQLClient, resources: Resources, fi: FiServer) -> None:
    # given: a run a worker has started (RUNNING), and a request that came in meanwhile
    user = await gql.register()
    created = await logged_in(gql, resources, fi, user["token"])
    running = await request_sync(gql, user["token"], created["id"])
    assert await runs.start_run(resources, db(running["id"])) is not None
    queued = await request_sync(gql, user["token"], created["id"])
    assert queued["id"] != running["id"] and queued["state"] == "QUEUED"
    # when: the job runs (as after a worker restart)
    await run_jobs(resources, created["id"])
    # then: both ran, one after the other; the second found everything there already
    by_id = {r["id"]: r for r in await runs_of(gql, user["token"], created["id"])}
    assert (by_id[running["id"]]["state"], by_id[running["id"]]["added"]) == ("SUCCEEDED", 11)
    assert (by_id[queued["id"]]["state"], by_id[queued["id"]]["added"], by_id[queued["id"]]["duplicates"]) == \
        ("SUCCEEDED", 0, 11)


async def test_a_connection_locked_by_another_worker_is_retried_later(gql: GraphQLClient, resources: Resources,
                                                                     fi: FiServer) -> None:
    # given: another worker holds the connection's advisory lock
    user = await gql.register()
    created = await logged_in(gql, resources, fi, user["token"])
    run = await request_sync(gql, user["token"], created["id"])
    calls_before = len(fi.calls)
    key = {"key": f"sync:{db(created['id'])}", "space": LOCK_SPACE}
    async with resources.engine.connect() as other:
        assert await other.scalar(sa.text("SELECT pg_try_advisory_lock(hashtextextended(:key, :space))"), key)
        # when
        with pytest.raises(Retry):
            await run_jobs(resources, created["id"])
        # then: the job did nothing; the run waits
        assert len(fi.calls) == calls_before
        assert (await runs_of(gql, user["token"], created["id"]))[0]["state"] == "QUEUED"
        await other.scalar(sa.text("SELECT pg_advisory_unlock(hashtextextended(:key, :space))"), key)
    # when: the lock is free again
    await run_jobs(resources, created["id"])
    # then
    ended = (await runs_of(gql, user["token"], created["id"]))[0]
    assert (ended["id"], ended["state"], ended["added"]) == (run["id"], "SUCCEEDED", 11)


# --- delete, list, scheduler -----------------------------------------------------------------------------


async def test_delete_keeps_accounts_and_transactions(gql: GraphQLClient, resources: Resources, fi: FiServer) -> None:
    # given: a synced connection
    user = await gql.register()
    created = await logged_in(gql, resources, fi, user["token"])
    await sync(gql, resources, user["token"], created["id"])
    accounts = (await gql(ACCOUNTS, token=user["token"])).ok()["accounts"]
    # when: deleted (twice with one idempotency key)
    variables = {"input": {"id": created["id"], "idempotencyKey": "del-1"}}
    first = (await gql(CONNECTION_DELETE, variables, token=user["token"])).ok()["connectionDelete"]
    again = (await gql(CONNECTION_DELETE, variables, token=user["token"])).ok()["connectionDelete"]
    # then: gone with its runs; the accounts and transactions stay
    assert first == again == {"deletedId": created["id"], "errors": []}
    assert await connection(gql, user["token"], created["id"]) is None
    assert await runs_of(gql, user["token"], created["id"]) == []
    assert (await gql(ACCOUNTS, token=user["token"])).ok()["accounts"] == accounts and accounts["totalCount"] == 10
    assert (await gql(TXN_COUNT, token=user["token"])).ok()["transactions"]["totalCount"] == 11
    # a new key deleting again is NOT_FOUND
    gone = (await gql(CONNECTION_DELETE, {"input": {"id": created["id"]}}, token=user["token"])).ok()
    assert [e["code"] for e in gone["connectionDelete"]["errors"]] == ["NOT_FOUND"]


async def test_connections_list_has_no_n_plus_one(gql: GraphQLClient, resources: Resources, fi: FiServer) -> None:
    # given: three connections, one synced
    user = await gql.register()
    synced = await logged_in(gql, resources, fi, user["token"])
    await sync(gql, resources, user["token"], synced["id"])
    for name in ("B", "C"):
        await create_connection(gql, user["token"], fi.url, name=name)
    context = await build_context(resources, authorization=f"Bearer {user['token']}")
    query = """{ connections(first: 10) { edges { node { name status accounts { name balance { amount } }
                 lastRun { state added } } } } }"""
    # when: the page, the accounts and the last runs
    with assert_max_queries(resources.engine, 3):
        result = await gql.schema.execute(query, context_value=context)
    # then
    assert result.errors is None
    nodes = [edge["node"] for edge in result.data["connections"]["edges"]]  # type: ignore[index]
    assert [(n["name"], len(n["accounts"]), n["lastRun"]) for n in nodes[:2]] == [("B", 0, None), ("C", 0, None)]
    assert nodes[2]["name"] == "Fi Money" and len(nodes[2]["accounts"]) == 10
    assert nodes[2]["lastRun"] == {"state": "SUCCEEDED", "added": 11}


async def test_scheduler_queues_due_connections_once(gql: GraphQLClient, resources: Resources, fi: FiServer) -> None:
    # given: an ACTIVE connection never synced, and one waiting for a login
    user = await gql.register()
    due = await create_connection(gql, user["token"], fi.url, name="due")
    waiting = await create_connection(gql, user["token"], fi.url, name="waiting")
    await sync(gql, resources, user["token"], waiting["id"])
    assert (await connection(gql, user["token"], waiting["id"]))["status"] == "NEEDS_LOGIN"
    # when
    queued, requeued = await schedule_due(resources, interval=dt.timedelta(hours=6))
    # then: only the due one got a run; asking again at once queues nothing more
    assert (queued, requeued) == (1, 0)
    assert [r["state"] for r in await runs_of(gql, user["token"], due["id"])] == ["QUEUED"]
    assert len(await runs_of(gql, user["token"], waiting["id"])) == 1
    assert await schedule_due(resources, interval=dt.timedelta(hours=6)) == (0, 0)
    # a run left QUEUED too long has its job enqueued again (a lost enqueue)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    assert await schedule_due(resources, interval=dt.timedelta(hours=6), now=later) == (0, 1)
    # its sync asks for a login: a connection waiting for one is never scheduled
    await run_jobs(resources, due["id"])
    much_later = later + dt.timedelta(hours=7)
    assert await schedule_due(resources, interval=dt.timedelta(hours=6), now=much_later) == (0, 0)
    # after a login and a good sync, it is due again once the interval has passed
    login_url = (await connection(gql, user["token"], due["id"]))["loginUrl"]
    assert (await asyncio.to_thread(fi.login_at, login_url)).status_code == 200
    assert (await sync(gql, resources, user["token"], due["id"]))["state"] == "SUCCEEDED"
    assert await schedule_due(resources, interval=dt.timedelta(hours=6)) == (0, 0)
    assert await schedule_due(resources, interval=dt.timedelta(hours=6), now=much_later) == (1, 0)


async def test_a_real_worker_runs_syncs_one_after_another(gql: GraphQLClient, resources: Resources,
                                                          fi: FiServer) -> None:
    from worker.main import build_worker

    # given
    user = await gql.register()
    created = await logged_in(gql, resources, fi, user["token"])
    for expected_added in (11, 0):
        await request_sync(gql, user["token"], created["id"])
        # when: an arq worker (burst mode) drains the queue on the test Redis
        worker = build_worker(resources.settings, burst=True)
        try:
            await worker.main()
        finally:
            await worker.close()
        # then: the run ended; the job kept no result, so the next request could enqueue `sync:{id}` again
        latest = (await runs_of(gql, user["token"], created["id"]))[0]
        assert (latest["state"], latest["added"]) == ("SUCCEEDED", expected_added)
        assert worker.jobs_failed == 0
