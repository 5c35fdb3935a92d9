"""Florin while Postgres or Redis restarts under it, and while it is stopped itself.

The API runs under uvicorn as a real subprocess. The outage tests use their own embedded Postgres and Redis
(in a temporary directory), which they stop and start again; the session's servers are never touched.

- A dependency that is down makes requests fail at once with a clean, typed error (never a hang, never a
  crash page), `/readyz` answers 503 naming it, and Florin recovers by itself when it returns.
- After Redis returns, the event hub listens again: an existing subscription and a new one both receive
  events published after the return.
- SIGTERM drains: a request in flight completes, open subscriptions are closed with 1012 (service restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from app.embedded import EmbeddedPostgres, EmbeddedRedis
from app.graphql.node import from_global_id
from tests.conftest import _libpq
from tests.servers import ApiServer, api_process, port_is_open
from tests.test_processes import close_code_after, graphql_http, init, receive, register, send, socket

pytestmark = pytest.mark.slow

REQUEST_TIMEOUT = 15.0  # no request may take longer than this, outage or not
RECOVERY_TIMEOUT = 30.0

ACCOUNT = """mutation($i: AccountCreateInput!) { accountCreate(input: $i) { account { id name } errors { code } } }"""
ACCOUNTS = "{ accounts(first: 10) { totalCount edges { node { name } } } }"
CREATE = """mutation($i: TransactionCreateInput!) { transactionCreate(input: $i) {
  transaction { id } errors { code } } }"""
EVENTS = "subscription { transactionEvents { kind transactionId } }"


# --- servers of our own, to stop and start ----------------------------------------------------------------------


class Dependencies:
    """An embedded Postgres (migrated) and Redis that a test may stop and start; their URLs never change."""

    def __init__(self, base: Path):
        self.pg = EmbeddedPostgres(base / "pg")
        self.redis = EmbeddedRedis(base / "redis")
        self.admin_url = self.pg.start()
        self.database_url = self.admin_url.replace("/postgres?", "/florin?", 1)
        self.redis_url = self.redis.start()

    def ensure_running(self) -> None:
        assert self.pg.start() == self.admin_url
        assert self.redis.start() == self.redis_url

    def stop(self) -> None:
        self.redis.stop()
        self.pg.stop()


@pytest.fixture(scope="module")
async def deps() -> AsyncIterator[Dependencies]:
    from app.migrate import upgrade_async

    base = Path(tempfile.mkdtemp(prefix="florin-reliability-"))
    started = await asyncio.to_thread(Dependencies, base)
    try:
        admin = await asyncpg.connect(_libpq(started.admin_url))
        try:
            await admin.execute("CREATE DATABASE florin")
        finally:
            await admin.close()
        await upgrade_async(started.database_url)
        yield started
    finally:
        await asyncio.to_thread(started.stop)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def api(deps: Dependencies, tmp_path: Path) -> AsyncIterator[ApiServer]:
    """An API on the stoppable servers, both running when the test starts."""
    await asyncio.to_thread(deps.ensure_running)
    async with api_process(deps.database_url, deps.redis_url, log_dir=tmp_path) as server:
        yield server


# --- helpers ----------------------------------------------------------------------------------------------------


async def post(api: ApiServer, query: str, variables: dict[str, Any] | None = None, *,
               token: str | None = None) -> tuple[int, Any]:
    """(status, JSON body or text) of one GraphQL POST; the request may not take longer than REQUEST_TIMEOUT."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False) as http:
        response = await http.post(api.graphql_url, json={"query": query, "variables": variables or {}},
                                   headers=headers)
    try:
        return response.status_code, response.json()
    except json.JSONDecodeError:
        return response.status_code, response.text


async def readyz(api: ApiServer) -> tuple[int, Any]:
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False) as http:
        response = await http.get(f"{api.base_url}/readyz")
    return response.status_code, response.json()


async def until_ready(api: ApiServer) -> dict[str, Any]:
    """Poll /readyz until it answers 200 (at most RECOVERY_TIMEOUT); its body."""
    for _ in range(int(RECOVERY_TIMEOUT / 0.2)):
        status, body = await readyz(api)
        if status == 200:
            return dict(body)
        await asyncio.sleep(0.2)
    raise AssertionError(f"/readyz still says {status} {body} after {RECOVERY_TIMEOUT} s:\n{api.output()}")


async def until_listening(redis_url: str, user_id: str, within: float = RECOVERY_TIMEOUT) -> None:
    """Until Redis has a subscriber on the user's event channel (an API's event hub listening for them)."""
    decoded = from_global_id(user_id)
    assert decoded is not None
    channel = f"florin:user:{decoded[1]}"
    redis = Redis.from_url(redis_url)
    try:
        for _ in range(int(within / 0.1)):
            with contextlib.suppress(OSError, ConnectionError):
                if dict(await redis.pubsub_numsub(channel))[channel.encode()] >= 1:
                    return
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()
    raise AssertionError(f"nobody listens on {channel} after {within} s")


async def user_with_account(api: ApiServer) -> dict[str, Any]:
    user = await register(api)
    me = await graphql_http(api, "{ me { id } }", token=user["token"])
    made = await graphql_http(api, ACCOUNT, {"i": {"name": "Main", "kind": "CHECKING", "currency": "EUR"}},
                              token=user["token"])
    return {**user, "id": me["me"]["id"], "account": made["accountCreate"]["account"]["id"]}


def transaction(user: dict[str, Any], description: str) -> dict[str, Any]:
    return {"i": {"accountId": user["account"], "amount": "-1.00", "bookedOn": "2026-11-02",
                  "description": description}}


async def create_transaction(api: ApiServer, user: dict[str, Any], description: str) -> str:
    made = (await graphql_http(api, CREATE, transaction(user, description), token=user["token"]))
    assert made["transactionCreate"]["errors"] == [], made
    return str(made["transactionCreate"]["transaction"]["id"])


async def subscribe(ws: ClientConnection, token: str, ident: str = "events") -> None:
    await init(ws, token)
    await send(ws, {"id": ident, "type": "subscribe", "payload": {"query": EVENTS}})


async def next_event(ws: ClientConnection, within: float = 10) -> dict[str, Any]:
    message = await receive(ws, within)
    assert message["type"] == "next", message
    return dict(message["payload"]["data"]["transactionEvents"])


def error_codes(body: Any) -> list[str]:
    assert isinstance(body, dict), body
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


@contextlib.asynccontextmanager
async def stopped(server: EmbeddedPostgres | EmbeddedRedis) -> AsyncIterator[None]:
    """The server is down inside the block, and started again (same URL) when it ends."""
    await asyncio.to_thread(server.stop)
    try:
        yield
    finally:
        await asyncio.to_thread(server.start)


# --- Postgres restarts ------------------------------------------------------------------------------------------


async def test_postgres_outage_fails_cleanly_and_florin_recovers(deps: Dependencies, api: ApiServer) -> None:
    # given: a user with one account
    user = await user_with_account(api)
    assert (await readyz(api)) == (200, {"ready": True, "checks": {"postgres": "ok", "redis": "ok"}})

    async with stopped(deps.pg):
        # when: Postgres is down
        ready_status, ready = await readyz(api)
        read_status, read = await post(api, ACCOUNTS, token=user["token"])
        write_status, write = await post(api, ACCOUNT, {"i": {"name": "Lost", "kind": "CASH", "currency": "EUR"}},
                                         token=user["token"])
        anonymous_status, anonymous = await post(api, """mutation { authLogin(input: {email: "x@example.com",
            password: "wrong password"}) { accessToken errors { code } } }""")

        # then: /readyz names Postgres
        assert ready_status == 503
        assert ready["ready"] is False and ready["checks"]["redis"] == "ok"
        assert ready["checks"]["postgres"].startswith("error: "), ready
        # then: each request got a typed error at once, UNAVAILABLE with retryAfter: a 503 when the token could
        # not be checked, and an error of the operation when it ran without a token and its resolver failed
        unavailable = {"message": "Service temporarily unavailable; retry in 2 s",
                       "extensions": {"code": "UNAVAILABLE", "retryAfter": 2}}
        assert (read_status, read) == (503, {"errors": [unavailable]}), api.output()
        assert (write_status, write) == (503, {"errors": [unavailable]})
        assert anonymous_status == 200 and anonymous["data"] is None, anonymous
        assert [{k: e[k] for k in ("message", "extensions")} for e in anonymous["errors"]] == [unavailable]

        # when: a client opens a socket
        async with socket(api) as ws:
            await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {user['token']}"}})
            ws_code, ws_messages = await close_code_after(ws, REQUEST_TIMEOUT)
        # then: as its token cannot be checked now, it is closed with 1013 (try again later)
        assert (ws_code, ws_messages) == (1013, [])

    # when: Postgres is back, and the API was left alone
    assert await until_ready(api) == {"ready": True, "checks": {"postgres": "ok", "redis": "ok"}}
    # then: reads and writes work again, and nothing of the refused write was stored
    after = await graphql_http(api, ACCOUNTS, token=user["token"])
    assert after["accounts"] == {"totalCount": 1, "edges": [{"node": {"name": "Main"}}]}
    made = await graphql_http(api, ACCOUNT, {"i": {"name": "Savings", "kind": "SAVINGS", "currency": "EUR"}},
                              token=user["token"])
    assert made["accountCreate"]["errors"] == []
    assert (await graphql_http(api, ACCOUNTS, token=user["token"]))["accounts"]["totalCount"] == 2
    assert api.process.poll() is None
    assert "Traceback" not in api.output(last=100_000), api.output()


# --- Redis restarts ---------------------------------------------------------------------------------------------


async def test_redis_outage_and_subscriptions_resume(deps: Dependencies, api: ApiServer) -> None:
    # given: a user subscribed to transactionEvents, heard by the API's event hub
    user, late, other = await user_with_account(api), await user_with_account(api), await user_with_account(api)
    async with socket(api) as existing, socket(api) as during:
        await subscribe(existing, user["token"])
        await until_listening(deps.redis_url, user["id"])

        async with stopped(deps.redis):
            # when: Redis is down, and another user subscribes meanwhile
            await subscribe(during, late["token"])
            ready_status, ready = await readyz(api)
            read_status, read = await post(api, ACCOUNTS, token=user["token"])
            write_status, write = await post(api, CREATE, transaction(user, "DURING THE OUTAGE"),
                                             token=user["token"])
            # then: /readyz names Redis; Postgres work goes on (rate limits fail open; the event of a committed
            # write is lost, like any pub/sub message nobody hears, but the write succeeded)
            assert ready_status == 503
            assert ready["ready"] is False and ready["checks"]["postgres"] == "ok"
            assert ready["checks"]["redis"].startswith("error: "), ready
            assert read_status == 200 and read == {"data": {"accounts": {
                "totalCount": 1, "edges": [{"node": {"name": "Main"}}]}}}, read
            assert write_status == 200 and not write.get("errors"), write
            assert write["data"]["transactionCreate"]["errors"] == []
            # then: both subscriptions stay open (the one made during the outage was accepted)
            for ws in (existing, during):
                with pytest.raises(TimeoutError):
                    await receive(ws, within=0.5)

        # when: Redis is back
        assert await until_ready(api) == {"ready": True, "checks": {"postgres": "ok", "redis": "ok"}}
        # then: the hub subscribed by itself the channels of the subscriptions made before and during the outage
        await until_listening(deps.redis_url, user["id"])
        await until_listening(deps.redis_url, late["id"])
        async with socket(api) as new:
            # when: a client subscribes anew, and each user gets a transaction
            await subscribe(new, other["token"])
            await until_listening(deps.redis_url, other["id"])
            mine = await create_transaction(api, user, "AFTER THE OUTAGE")
            latest = await create_transaction(api, late, "AFTER THE OUTAGE TOO")
            theirs = await create_transaction(api, other, "AFTER THE OUTAGE AS WELL")
            # then: each subscription, old, made during the outage, or new, receives its user's event
            assert await next_event(existing) == {"kind": "CREATED", "transactionId": mine}
            assert await next_event(during) == {"kind": "CREATED", "transactionId": latest}
            assert await next_event(new) == {"kind": "CREATED", "transactionId": theirs}
            for ws in (existing, during, new):
                with pytest.raises(TimeoutError):
                    await receive(ws, within=0.3)
    # then: the write made during the outage is there
    listed = await graphql_http(api, "{ transactions(first: 10) { totalCount } }", token=user["token"])
    assert listed["transactions"]["totalCount"] == 2
    assert api.process.poll() is None
    assert "Traceback" not in api.output(last=100_000), api.output()


# --- graceful shutdown ------------------------------------------------------------------------------------------


async def waiting_on_a_lock(database_url: str) -> int:
    """How many of Florin's connections wait for a lock (a request stuck behind our LOCK TABLE)."""
    conn = await asyncpg.connect(_libpq(database_url))
    try:
        return int(await conn.fetchval("""select count(*) from pg_stat_activity
            where application_name = 'florin' and wait_event_type = 'Lock' and datname = current_database()"""))
    finally:
        await conn.close()


async def test_sigterm_drains_the_request_in_flight_and_closes_subscriptions(
        database_url: str, servers: dict[str, str], tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path) as api:
        # given: an open subscription, and a request held in flight by a lock on the accounts table
        user = await user_with_account(api)
        async with socket(api) as ws:
            await subscribe(ws, user["token"])
            await until_listening(servers["redis"], user["id"])
            locker = await asyncpg.connect(_libpq(database_url))
            try:
                lock = locker.transaction()
                await lock.start()
                await locker.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
                in_flight = asyncio.create_task(post(api, ACCOUNTS, token=user["token"]))
                for _ in range(100):
                    if await waiting_on_a_lock(database_url) or in_flight.done():
                        break
                    await asyncio.sleep(0.1)
                assert not in_flight.done() and await waiting_on_a_lock(database_url) == 1

                # when: the API is told to stop
                api.process.send_signal(signal.SIGTERM)

                # then: the subscription is closed with 1012 (service restart: reconnect elsewhere), and no new
                # connection is accepted, while the request is still in flight
                code, messages = await close_code_after(ws, REQUEST_TIMEOUT)
                assert (code, messages) == (1012, []), api.output()
                for _ in range(100):
                    if not port_is_open(api.port):
                        break
                    await asyncio.sleep(0.1)
                assert not port_is_open(api.port)
                assert not in_flight.done() and api.process.poll() is None
            finally:
                # when: the lock goes
                with contextlib.suppress(Exception):
                    await lock.rollback()
                await locker.close()

        # then: the request completes with its data, and the API exits cleanly afterwards
        status, body = await asyncio.wait_for(in_flight, REQUEST_TIMEOUT)
        assert (status, body) == (200, {"data": {"accounts": {"totalCount": 1, "edges": [{"node": {"name": "Main"}}]}}})
        # (uvicorn re-raises the SIGTERM it handled once it is done, so the exit status is that signal's)
        assert await asyncio.to_thread(api.process.wait, REQUEST_TIMEOUT) in (0, -signal.SIGTERM)
        output = api.output(last=100_000)
        assert "Application shutdown complete" in output and "Traceback" not in output, output


# --- what counts as "unavailable" -------------------------------------------------------------------------------


async def test_only_connection_failures_count_as_unavailable(tmp_path: Path) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from sqlalchemy.exc import ProgrammingError

    from app.resources import unavailable

    async def connect(url: str) -> BaseException:
        try:
            await asyncpg.connect(url, timeout=5)
        except Exception as exc:  # noqa: BLE001 - the error itself is what is tested
            return exc
        raise AssertionError("connected to nothing")

    # a Postgres socket that does not exist, as asyncpg reports it (unwrapped), and wrapped by SQLAlchemy
    missing = await connect(f"postgresql://postgres@/postgres?host={tmp_path}&port=5432")
    assert unavailable(missing) == "postgres"
    try:
        raise ProgrammingError("select 1", {}, RuntimeError("wrapper")) from missing
    except ProgrammingError as wrapped:
        assert unavailable(wrapped) == "postgres"
    assert unavailable(RedisConnectionError("Connection refused")) == "redis"
    # the same kinds of error raised by anything else are bugs, not outages
    assert unavailable(FileNotFoundError(2, "No such file or directory")) is None
    assert unavailable(ResponseError("WRONGTYPE")) is None
    assert unavailable(RuntimeError("boom")) is None
    assert unavailable(asyncpg.UniqueViolationError("duplicate key")) is None
