"""A sync asked for through two API processes runs once: two real API processes and one real worker against the
same Postgres and Redis (as compose.yaml runs them), a Fi-compatible MCP server on localhost as the provider.

- Requests that arrive while the connection's run is still QUEUED, at the same time on both processes or one
  after the other, all get that one run: one `sync_runs` row, one arq job, one fetch from the provider, the
  transactions once. To keep the run QUEUED for as long as the requests take (a worker is usually faster than
  two HTTP round trips, but not always), the test pauses the worker with SIGSTOP and lets it go on afterwards.
- Requests that arrive while a run is RUNNING (held at the provider) share ONE next run, which the busy job
  takes when it is done: two runs, two fetches, nothing imported twice.
- A `syncProgress` subscriber on one API process and a `transactionEvents` subscriber on the other see the
  worker's run finish.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from mcp.server.mcpserver import Context
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from websockets.asyncio.client import ClientConnection

from app.graphql.node import from_global_id
from tests.fi_server import CONNECTION, CONNECTION_CREATE, CONNECTION_SYNC, FiServer
from tests.servers import ROOT, TEST_SETTINGS, ApiServer, api_process, clean_env, kill_group
from tests.test_processes import graphql_http, init, receive, register, send, socket

pytestmark = pytest.mark.slow

PROGRESS = """subscription($id: ID!) { syncProgress(runId: $id) { phase
  run { id state added updated duplicates errors } } }"""
EVENTS = "subscription { transactionEvents { kind transactionId count syncRunId } }"
RUN = "query($id: ID!) { node(id: $id) { ... on SyncRun { id state added duplicates errors error } } }"
FI_ROWS = 11
"""Bank rows in tests/fixtures/fi_mcp/fetch_bank_transactions.json (see tests/test_fi_mcp_sync.py)."""


class HeldFi(FiServer):
    """The Fi test server whose `fetch_net_worth` (the first call of a sync) can be held: a run then stays
    RUNNING at the provider until `release()`."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()

    def hold(self) -> None:
        self.entered.clear()
        self.open.clear()

    def release(self) -> None:
        self.open.set()

    def fetches(self, since: int = 0) -> dict[str, int]:
        """How often each tool was called since call number `since`."""
        return dict(collections.Counter(name for name, _ in self.calls[since:]))

    def _tool(self, name: str) -> Any:
        answer = super()._tool(name)
        if name != "fetch_net_worth":
            return answer

        async def tool(ctx: Context) -> str:
            self.entered.set()
            await asyncio.to_thread(self.open.wait, 60)
            return await answer(ctx)  # type: ignore[no-any-return]

        tool.__name__ = name
        return tool


@pytest.fixture
def fi() -> Iterator[HeldFi]:
    server = HeldFi()
    with server:
        yield server
        server.release()


@contextlib.contextmanager
def worker_process(database_url: str, redis_url: str, queue: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m app.cli worker` on the API processes' queue, in its own process group."""
    env = clean_env(**TEST_SETTINGS, database_url=database_url, redis_url=redis_url, arq_queue_name=queue)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)  # a paused worker must be able to take its SIGTERM
        kill_group(process)


@contextlib.contextmanager
def paused(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """The worker stopped (SIGSTOP) and continued (SIGCONT) afterwards: jobs wait in Redis meanwhile."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


@contextlib.asynccontextmanager
async def engine_for(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text(sql), params)).scalar()


async def run_states(engine: AsyncEngine, connection_id: uuid.UUID) -> dict[uuid.UUID, str]:
    async with engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT id, state FROM sync_runs WHERE connection_id = :c "
                                           "ORDER BY created_at, id"), {"c": connection_id})
        return {row.id: row.state for row in found}


async def wait_for(what: str, check: Callable[[], Awaitable[Any]], within: float, *logs: Path) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            output = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs
                               if log.exists())
            raise AssertionError(f"timed out waiting for {what}\n{output}")
        await asyncio.sleep(0.05)


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return uuid.UUID(str(decoded[1]))


async def request_sync(api: ApiServer, token: str, connection_id: str) -> dict[str, Any]:
    payload = (await graphql_http(api, CONNECTION_SYNC, {"input": {"connectionId": connection_id}},
                                  token=token))["connectionSync"]
    assert payload["errors"] == [], payload
    return payload["run"]  # type: ignore[no-any-return]


async def events(ws: ClientConnection, *, until: Callable[[dict[str, Any]], bool], within: float
                 ) -> list[dict[str, Any]]:
    """The `transactionEvents` of subscription "e" received until one satisfies `until` (included) or `within`
    seconds have passed."""
    seen: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while True:
                message = await receive(ws, within)
                assert message["type"] == "next" and message["id"] == "e", message
                seen.append(message["payload"]["data"]["transactionEvents"])
                if until(seen[-1]):
                    break
    return seen


async def follow(ws: ClientConnection, within: float) -> list[dict[str, Any]]:
    """Every `syncProgress` step of subscription "p" until the server completes it."""
    steps = []
    async with asyncio.timeout(within):
        while (message := await receive(ws, within))["type"] != "complete":
            assert message["type"] == "next" and message["id"] == "p", message
            steps.append(message["payload"]["data"]["syncProgress"])
    return steps


async def test_a_sync_asked_for_through_two_api_processes_runs_once(
        database_url: str, servers: dict[str, str], fi: HeldFi, tmp_path: Path) -> None:
    queue = f"florin:test:{uuid.uuid4().hex[:8]}"
    worker_log = tmp_path / "worker.log"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    async with api_process(database_url, servers["redis"], log_dir=tmp_path / "a", arq_queue_name=queue) as a, \
            api_process(database_url, servers["redis"], log_dir=tmp_path / "b", arq_queue_name=queue) as b, \
            engine_for(database_url) as db:
        logs = (worker_log, a.log_path, b.log_path)
        arq = aioredis.from_url(servers["redis"])
        with worker_process(database_url, servers["redis"], queue, worker_log) as worker:
            try:
                # given: a user with a Fi connection made through B, logged in at the URL of its first sync
                # (asked for through A, run by the worker)
                user = await register(a)
                token = user["token"]
                created = (await graphql_http(b, CONNECTION_CREATE, {"input": {"provider": "FI_MCP", "url": fi.url}},
                                              token=token))["connectionCreate"]
                assert created["errors"] == [], created
                gid = created["connection"]["id"]
                connection_id = db_id(gid)
                first = await request_sync(a, token, gid)

                async def login_url() -> str | None:
                    shown = (await graphql_http(b, CONNECTION, {"id": gid}, token=token))["connection"]
                    return shown["loginUrl"] if shown["status"] == "NEEDS_LOGIN" else None

                url = await wait_for("the first sync to ask for a login", login_url, 90, *logs)
                assert (await asyncio.to_thread(fi.login_at, url)).status_code == 200
                job_key = f"arq:job:sync:{connection_id}"

                async def job_gone() -> bool:  # the first job has ended in arq too, not only in Postgres
                    return not await arq.exists(job_key)

                await wait_for("the first job to end", job_gone, 30, *logs)
                assert await run_states(db, connection_id) == {db_id(first["id"]): "FAILED"}
                calls = len(fi.calls)

                async with socket(a) as progress_ws, socket(b) as events_ws:
                    await init(progress_ws, token)
                    await init(events_ws, token)
                    await send(events_ws, {"id": "e", "type": "subscribe", "payload": {"query": EVENTS}})
                    await asyncio.sleep(0.5)  # let the subscription reach B's hub

                    # when: while the worker has not taken the job yet, six requests at the same time (three
                    # through A, three through B), then one through A and one through B, one after the other
                    with paused(worker):
                        together = await asyncio.gather(*(request_sync(api, token, gid) for api in (a, b, a, b, a, b)))
                        after = [await request_sync(a, token, gid), await request_sync(b, token, gid)]
                        # then: every request got the same QUEUED run; one row, one job in the queue
                        runs = together + after
                        assert {r["id"] for r in runs} == {runs[0]["id"]}, runs
                        assert {r["state"] for r in runs} == {"QUEUED"}
                        run_id = runs[0]["id"]
                        assert await run_states(db, connection_id) == {db_id(first["id"]): "FAILED",
                                                                        db_id(run_id): "QUEUED"}
                        queued = [job for job in await arq.zrange(queue, 0, -1) if job.startswith(b"sync:")]
                        assert queued == [f"sync:{connection_id}".encode()]
                        # a subscriber on A follows the run (the worker is another process)
                        await send(progress_ws, {"id": "p", "type": "subscribe",
                                                 "payload": {"query": PROGRESS, "variables": {"id": run_id}}})
                        now = await receive(progress_ws, within=10)
                        assert now["payload"]["data"]["syncProgress"]["run"]["state"] == "QUEUED", now

                    # when: the worker goes on
                    steps = await follow(progress_ws, 90)
                    # then: the subscriber on A saw it run and finish, with every bank row added once
                    assert steps[0]["run"]["state"] == "RUNNING" and steps[-1]["phase"] == "done", steps
                    done = steps[-1]["run"]
                    assert (done["id"], done["state"], done["added"], done["updated"], done["duplicates"],
                            done["errors"]) == (run_id, "SUCCEEDED", FI_ROWS, 0, 0, 0), done
                    # and the subscriber on B got the BULK_CHANGED event of that run, with every row (the
                    # categorization of its rows may follow with events of its own)
                    imported = {"kind": "BULK_CHANGED", "transactionId": None, "count": FI_ROWS, "syncRunId": run_id}
                    seen = await events(events_ws, until=lambda e: e == imported, within=10)
                    assert seen[-1] == imported and all(e["kind"] != "CREATED" for e in seen), seen
                    # and the provider was asked once, the rows landed once
                    assert fi.fetches(calls) == {"fetch_net_worth": 1, "fetch_bank_transactions": 1}
                    assert await run_states(db, connection_id) == {db_id(first["id"]): "FAILED",
                                                                    db_id(run_id): "SUCCEEDED"}
                    assert await scalar(db, "SELECT count(*) FROM transactions") == FI_ROWS
                    assert await scalar(db, "SELECT count(DISTINCT fingerprint) FROM transactions") == FI_ROWS
                    await wait_for("the job to end", job_gone, 30, *logs)

                    # when: a run is RUNNING (held at the provider) and requests come through both processes,
                    # one after the other and then at the same time
                    calls = len(fi.calls)
                    fi.hold()
                    running = await request_sync(b, token, gid)
                    assert await asyncio.to_thread(fi.entered.wait, 60), worker_log.read_text()[-3000:]
                    assert (await run_states(db, connection_id))[db_id(running["id"])] == "RUNNING"
                    following = [await request_sync(a, token, gid), await request_sync(b, token, gid),
                                 *await asyncio.gather(*(request_sync(api, token, gid) for api in (a, b, a, b)))]
                    # then: they all share ONE next run, queued behind the running one
                    next_id = following[0]["id"]
                    assert next_id != running["id"]
                    assert [(r["id"], r["state"]) for r in following] == [(next_id, "QUEUED")] * 6, following
                    await send(progress_ws, {"id": "p", "type": "subscribe",
                                             "payload": {"query": PROGRESS, "variables": {"id": next_id}}})
                    assert (await receive(progress_ws, within=10))["payload"]["data"]["syncProgress"]["run"][
                        "state"] == "QUEUED"
                    # when: the provider answers
                    fi.release()
                    # then: the busy job runs the next run too; the subscriber on A sees it finish
                    done = (await follow(progress_ws, 90))[-1]["run"]
                    assert (done["id"], done["state"], done["added"], done["duplicates"]) == \
                        (next_id, "SUCCEEDED", 0, FI_ROWS), done
                    assert (await graphql_http(b, RUN, {"id": running["id"]}, token=token))["node"]["state"] == \
                        "SUCCEEDED"
                    # two runs, each fetched once, nothing imported twice and no run event for B (nothing changed)
                    assert fi.fetches(calls) == {"fetch_net_worth": 2, "fetch_bank_transactions": 2}
                    assert list((await run_states(db, connection_id)).values()) == \
                        ["FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]
                    assert await scalar(db, "SELECT count(*) FROM transactions") == FI_ROWS
                    late = await events(events_ws, until=lambda e: False, within=1.5)
                    assert [e for e in late if e["syncRunId"] in (running["id"], next_id) or e["kind"] == "CREATED"
                            ] == [], late
                assert worker.poll() is None, worker_log.read_text()[-3000:]
            finally:
                fi.release()
                await arq.aclose()
