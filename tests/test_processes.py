"""Florin as real processes: the API under uvicorn with GraphQL subscriptions over a real WebSocket, and the
`make dev` path (`python -m app.cli dev`) from start to Ctrl-C, leaving nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis
import websockets
from gql import Client
from gql import gql as parse_graphql
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import clone_database, drop_database
from tests.servers import ApiServer, api_process, clean_env, free_port, port_is_open
from tests.support import PASSWORD

pytestmark = pytest.mark.slow  # every test here starts processes; they still run in `make test`

PROTOCOL = "graphql-transport-ws"
REGISTER = """mutation($input: AuthRegisterInput!) { authRegister(input: $input) {
  accessToken expiresAt user { id email } errors { field code } } }"""
LOGIN = """mutation($email: String!, $password: String!) { authLogin(input: {email: $email, password: $password}) {
  accessToken errors { code } } }"""
ME = "{ me { id email name } }"


# --- HTTP and WebSocket helpers -----------------------------------------------------------------------------


async def graphql_http(api: ApiServer, query: str, variables: dict[str, Any] | None = None, *,
                       token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        response = await http.post(api.graphql_url, json={"query": query, "variables": variables or {}},
                                   headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


async def register(api: ApiServer) -> dict[str, Any]:
    email = f"ws-{uuid.uuid4().hex[:10]}@example.com"
    payload = (await graphql_http(api, REGISTER, {"input": {"email": email, "password": PASSWORD}}))["authRegister"]
    assert payload["errors"] == [] and payload["accessToken"], payload
    return {"email": email, "token": payload["accessToken"],
            "expires_at": dt.datetime.fromisoformat(payload["expiresAt"])}


@contextlib.asynccontextmanager
async def socket(api: ApiServer, *, origin: str | None = None) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(api.ws_url, subprotocols=[PROTOCOL], origin=origin, proxy=None,  # type: ignore[arg-type]
                                  open_timeout=5, close_timeout=2) as ws:
        assert ws.subprotocol == PROTOCOL
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection, within: float = 5) -> dict[str, Any]:
    """The next protocol message, answering the server's keep-alive pings on the way."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), within))
        if message["type"] == "ping":
            await send(ws, {"type": "pong"})
            continue
        return message


async def init(ws: ClientConnection, token: str) -> None:
    await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert await receive(ws) == {"type": "connection_ack"}


async def close_code_after(ws: ClientConnection, within: float) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes the socket; (its close code, the messages received before)."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        try:
            while True:
                messages.append(await receive(ws, within))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, f"closed without a close frame from the server: {closed!r}"
            return closed.rcvd.code, messages


# --- the API as a uvicorn subprocess --------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def api(servers: dict[str, str], template_url: str,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiServer]:
    """One API process (FLORIN_ENV=test) on its own cloned database, shared by the tests of this module that
    need nothing special; each of them registers its own user."""
    url = await clone_database(servers)
    try:
        async with api_process(url, servers["redis"], log_dir=tmp_path_factory.mktemp("api")) as server:
            yield server
    finally:
        await drop_database(servers, url)


async def test_heartbeat_subscription_over_a_real_websocket(api: ApiServer) -> None:
    # given
    user = await register(api)
    transport = WebsocketsTransport(url=api.ws_url, init_payload={"authorization": f"Bearer {user['token']}"},
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL], connect_timeout=5,
                                    ack_timeout=5, close_timeout=5, connect_args={"proxy": None})
    # when
    started = time.monotonic()
    async with asyncio.timeout(15), Client(transport=transport, fetch_schema_from_transport=False) as session:
        assert transport.subprotocol == PROTOCOL
        results = [result async for result in
                   session.subscribe(parse_graphql("subscription { heartbeat(count: 3, interval: 0.2) }"))]
    # then: three pongs, spaced by the interval, then the server completed the subscription
    assert results == [{"heartbeat": "pong"}] * 3, api.output()
    assert time.monotonic() - started >= 0.4


async def test_heartbeat_by_hand_and_unauthenticated_subscribe(api: ApiServer) -> None:
    user = await register(api)
    async with socket(api) as ws:
        await init(ws, user["token"])
        await send(ws, {"id": "a", "type": "subscribe",
                        "payload": {"query": "subscription { heartbeat(count: 2, interval: 0.1) }"}})
        assert [await receive(ws) for _ in range(3)] == [
            {"id": "a", "type": "next", "payload": {"data": {"heartbeat": "pong"}}},
            {"id": "a", "type": "next", "payload": {"data": {"heartbeat": "pong"}}},
            {"id": "a", "type": "complete"},
        ]
        # the socket stays usable after a subscription completes
        await send(ws, {"id": "b", "type": "subscribe", "payload": {"query": "subscription { heartbeat }"}})
        assert await receive(ws) == {"id": "b", "type": "next", "payload": {"data": {"heartbeat": "pong"}}}
        assert await receive(ws) == {"id": "b", "type": "complete"}
    async with socket(api) as ws:  # subscribe before connection_init: refused by the protocol
        await send(ws, {"id": "a", "type": "subscribe", "payload": {"query": "subscription { heartbeat }"}})
        code, messages = await close_code_after(ws, 5)
        assert (code, messages) == (4401, [])


@pytest.mark.parametrize("payload", [
    None,
    {},
    {"authorization": ""},
    {"authorization": "Bearer garbage"},
    {"authorization": "Bearer flo_notarealtoken"},
    {"authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer a.b.c"},
], ids=["no-payload", "empty", "blank", "garbage-jwt", "unknown-api-token", "basic", "malformed-jwt"])
async def test_connection_init_without_a_valid_token_closes_4401(api: ApiServer, payload: Any) -> None:
    async with socket(api) as ws:
        await send(ws, {"type": "connection_init", **({"payload": payload} if payload is not None else {})})
        code, messages = await close_code_after(ws, 5)
    assert (code, messages) == (4401, []), api.output()


async def test_socket_closes_4401_when_its_token_expires(database_url: str, servers: dict[str, str],
                                                        tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path, access_token_ttl_seconds=2) as api:
        # given: a token that lives 2 seconds
        user = await register(api)
        async with socket(api) as ws:
            await init(ws, user["token"])
            # when: a long subscription runs past the expiry
            await send(ws, {"id": "hb", "type": "subscribe",
                            "payload": {"query": "subscription { heartbeat(count: 100, interval: 0.5) }"}})
            code, messages = await close_code_after(ws, 5)
            closed_at = dt.datetime.now(dt.UTC)
    # then: closed with 4401 while it was streaming, when the token expired (not before, not much later)
    assert code == 4401, api.output()
    assert messages and all(m == {"id": "hb", "type": "next", "payload": {"data": {"heartbeat": "pong"}}}
                            for m in messages), messages
    exp = dt.datetime.fromtimestamp(jwt.decode(user["token"], options={"verify_signature": False})["exp"], dt.UTC)
    assert exp - dt.timedelta(seconds=0.2) <= closed_at <= exp + dt.timedelta(seconds=1.5), (exp, closed_at)
    assert abs(exp - user["expires_at"]) < dt.timedelta(seconds=1)  # what the client was told


async def test_sigterm_closes_open_subscriptions_with_1012_and_exits(database_url: str, servers: dict[str, str],
                                                                    tmp_path: Path) -> None:
    """A rolling restart: the API stops at once and tells open sockets to reconnect (1012 service restart)."""
    async with api_process(database_url, servers["redis"], log_dir=tmp_path) as api:
        user = await register(api)
        async with socket(api) as ws:
            await init(ws, user["token"])
            await send(ws, {"id": "hb", "type": "subscribe",
                            "payload": {"query": "subscription { heartbeat(count: 100, interval: 0.2) }"}})
            assert (await receive(ws))["type"] == "next"
            # when
            started = time.monotonic()
            api.process.send_signal(signal.SIGTERM)
            code, _ = await close_code_after(ws, 5)
            # then
            assert code == 1012, api.output()
            await asyncio.to_thread(api.process.wait, 10)
            assert time.monotonic() - started < 5
        assert "Application shutdown complete" in api.output()
        assert not port_is_open(api.port)


async def cors_allows(api: ApiServer, origin: str) -> bool:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        response = await http.options(api.graphql_url, headers={
            "origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
    return response.headers.get("access-control-allow-origin") == origin


async def assert_origin_accepted(api: ApiServer, origin: str, token: str) -> None:
    async with socket(api, origin=origin) as ws:
        await init(ws, token)
        await send(ws, {"id": "o", "type": "subscribe", "payload": {"query": "subscription { heartbeat }"}})
        assert await receive(ws) == {"id": "o", "type": "next", "payload": {"data": {"heartbeat": "pong"}}}
    assert await cors_allows(api, origin)


async def assert_origin_refused(api: ApiServer, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with socket(api, origin=origin):
            pass
    assert refused.value.response.status_code == 403
    assert not await cors_allows(api, origin)


async def test_websocket_origins_in_development(database_url: str, servers: dict[str, str], tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path, env="development") as api:
        user = await register(api)
        await assert_origin_accepted(api, "http://localhost:5173", user["token"])
        await assert_origin_accepted(api, "http://127.0.0.1:3000", user["token"])
        await assert_origin_refused(api, "https://evil.example")
        await assert_origin_refused(api, "http://localhost.evil.example:5173")


async def test_websocket_origins_in_production(database_url: str, servers: dict[str, str], tmp_path: Path) -> None:
    async with api_process(database_url, servers["redis"], log_dir=tmp_path, env="production",
                           allowed_origins=["https://app.example"]) as api:
        user = await register(api)
        await assert_origin_accepted(api, "https://app.example", user["token"])
        await assert_origin_refused(api, "http://localhost:5173")
        await assert_origin_refused(api, "https://evil.example")


# --- `make dev`: python -m app.cli dev ------------------------------------------------------------------------

READY_LINE = "Florin is running"


class Output:
    """Collects a child's merged stdout/stderr in a thread (so the pipe never fills) and waits for a line."""

    def __init__(self, process: subprocess.Popen[bytes]):
        self.lines: list[str] = []
        self._changed = threading.Condition()
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for raw in stream:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<EOF>")
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        """True once a line contains `text`; False after `timeout` or when the output ends without it."""
        def seen() -> bool:
            return any(text in line for line in self.lines)

        with self._changed:
            self._changed.wait_for(lambda: seen() or "<EOF>" in self.lines, timeout)
            return seen()

    def __str__(self) -> str:
        return "\n".join(self.lines[-150:])


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def children_of(pid: int) -> dict[int, str]:
    kids = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return kids


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_leftovers(pids: list[int]) -> None:
    """Only for a failed test: end the processes this test started (by pid), politely first."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)


def demo_session(base_url: str, email: str, password: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=10, trust_env=False) as http:
        login = http.post("/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password}})
        payload = login.json()["data"]["authLogin"]
        assert payload["errors"] == [] and payload["accessToken"], login.text
        me = http.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {payload['accessToken']}"})
        ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
    return me.json()["data"]["me"]


@pytest.mark.parametrize("ctrl_c", ["to-florin", "to-process-group"])
def test_make_dev_starts_everything_and_ctrl_c_stops_everything(tmp_path: Path, ctrl_c: str) -> None:
    """`florin dev` with nothing configured: embedded Postgres and Redis under FLORIN_DATA_DIR, migrations, demo
    user, API and worker; Ctrl-C (SIGINT to florin alone, or to its whole process group as a terminal does)
    stops all of them."""
    from app.config import Settings
    from worker.jobs import HEARTBEAT_KEY

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    data_dir = tmp_path / "data"
    port = free_port()
    env = clean_env(data_dir=data_dir, port=port)
    assert not [k for k in env if k.startswith("FLORIN_") and k not in ("FLORIN_DATA_DIR", "FLORIN_PORT")]
    # A machine behind an HTTP proxy (nothing listens on port 9): local traffic must not go through it.
    for name in ("no_proxy", "NO_PROXY"):
        env.pop(name, None)
    env.update(http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "dev"], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    output = Output(process)
    try:
        # when: it starts
        started = time.monotonic()
        assert output.wait_for(READY_LINE, 120), f"no {READY_LINE!r} within 120 s:\n{output}"
        startup = time.monotonic() - started
        children = children_of(process.pid)
        api_pids = [pid for pid, cmd in children.items() if "app.cli serve" in cmd]
        worker_pids = [pid for pid, cmd in children.items() if "app.cli worker" in cmd]
        assert len(api_pids) == 1 and len(worker_pids) == 1, children
        servers = processes_mentioning(str(data_dir))
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for pid in servers)
        assert "postgres" in commands and "redis-server" in commands, commands

        # then: the demo user can log in over HTTP and read `me`
        base_url = f"http://127.0.0.1:{port}"
        me = demo_session(base_url, defaults.demo_email, defaults.demo_password.get_secret_value())
        assert me["email"] == "demo@florin.dev" and me["name"] == "Demo User"
        # then: the worker ran its heartbeat job against the embedded Redis
        socket_path = data_dir / "redis" / "redis.sock"
        assert socket_path.is_socket(), sorted(str(p) for p in data_dir.rglob("*sock*"))
        client = redis.Redis.from_url(f"unix://{socket_path}?db=0", socket_timeout=5)
        try:
            deadline = time.monotonic() + 15
            while (beat := client.get(HEARTBEAT_KEY)) is None and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            client.close()
        assert beat is not None, f"no {HEARTBEAT_KEY} in the embedded Redis:\n{output}"
        assert int(beat.decode().split(":")[1]) == worker_pids[0]

        # when: Ctrl-C
        if ctrl_c == "to-process-group":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"florin dev did not exit within 60 s of SIGINT:\n{output}")
        stop = time.monotonic() - stopping

        # then: a graceful exit (not the 15 s kill fallback), and nothing is left running or listening
        assert code == 0, output
        after = str(output).split(READY_LINE, 1)[1]
        for line in ("Application shutdown complete", "worker stopped", "florin: stopped"):
            assert line in after, output
        assert "Traceback" not in str(output), output
        assert stop < 14, output
        assert [pid for pid in [*api_pids, *worker_pids] if alive(pid)] == []
        assert processes_mentioning(str(data_dir)) == []
        assert not socket_path.exists()
        assert not (data_dir / "pg" / "postmaster.pid").exists()
        assert not port_is_open(port)
        print(f"florin dev: ready in {startup:.1f}s, stopped in {stop:.1f}s")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        stop_leftovers([*children_of(process.pid), *processes_mentioning(str(data_dir))])
