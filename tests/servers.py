"""Run Florin's API as a real uvicorn subprocess for tests (and stop it, whatever happens).

    with running_api(database_url, servers["redis"], access_token_ttl_seconds=2) as api:
        httpx.get(f"{api.base_url}/healthz")
        websockets.connect(api.ws_url, subprotocols=["graphql-transport-ws"])

The child gets a clean environment: every inherited `FLORIN_*` variable (including `FLORIN_TEST_*`) is
removed, then the given settings are set as `FLORIN_<NAME>`. It runs `python -m app.cli serve` with both
URLs set, so it starts no embedded server and runs no migration. Its output goes to a log file that
failures quote. It runs in its own session and is stopped with SIGTERM, then SIGKILL of its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
TEST_ENCRYPTION_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"

# What the in-process tests use too (tests/conftest.py:make_settings): fast hashing, readable logs.
TEST_SETTINGS: dict[str, Any] = {
    "env": "test",
    "secret_key": TEST_SECRET_KEY,
    "encryption_key": TEST_ENCRYPTION_KEY,
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 8192,
    "log_json": False,
}


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago (the caller retries on a lost race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def clean_env(**florin: Any) -> dict[str, str]:
    """This process's environment without any `FLORIN_*` variable, plus the given `FLORIN_<NAME>`s.

    `PYTHONPATH` starts with the repository root so `python -m app.cli` works from any directory.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLORIN_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in florin.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list | tuple):
            value = ",".join(value)
        env[f"FLORIN_{name.upper()}"] = str(value)
    return env


def kill_group(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM the process, wait, then SIGKILL its whole process group (it was started in its own)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group, if any
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@dataclass
class ApiServer:
    """A running `python -m app.cli serve` child."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(repr=False)
    host: str = "127.0.0.1"
    own_log_dir: bool = False  # made by start_api: removed by running_api

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/graphql"

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self, last: int = 80) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no output)"
        return "\n".join(lines[-last:])

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM (graceful uvicorn shutdown), SIGKILL after `timeout`; returns the exit code."""
        kill_group(self.process, timeout)
        return self.process.returncode


class ApiStartError(RuntimeError):
    pass


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local server: never via a proxy


def _wait_healthy(server: ApiServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"{server.base_url}/healthz"
    while True:
        code = server.process.poll()
        if code is not None:
            raise ApiStartError(f"the API exited with code {code} during start-up:\n{server.output()}")
        try:
            with _NO_PROXY.open(url, timeout=2) as response:
                if response.status == 200 and response.read() == b"ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ApiStartError(f"the API did not answer {url} within {timeout:.0f}s:\n{server.output()}")
        time.sleep(0.1)


def start_api(database_url: str, redis_url: str, *, timeout: float = 30, log_dir: Path | None = None,
              extra_env: Mapping[str, str] | None = None, **settings: Any) -> ApiServer:
    """Start an API subprocess on a free port and return once `/healthz` answers.

    `settings` become `FLORIN_*` variables over `TEST_SETTINGS` (for example `env="development"`,
    `access_token_ttl_seconds=2`, `allowed_origins=["https://app.example"]`; None removes one).
    The arq queue name is unique unless given, as in the in-process tests.
    """
    own_log_dir = log_dir is None
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="florin-api-"))
    values = {**TEST_SETTINGS, "arq_queue_name": f"florin:test:{uuid.uuid4().hex[:8]}", **settings,
              "database_url": database_url, "redis_url": redis_url, "host": "127.0.0.1"}
    for attempt in range(3):  # the free port can be taken between free_port() and uvicorn's bind
        port = free_port()
        env = clean_env(**{**values, "port": port})
        env.update(extra_env or {})
        log_path = log_dir / f"api-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, cwd=log_dir,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = ApiServer(process=process, port=port, log_path=log_path, env=env, own_log_dir=own_log_dir)
        try:
            _wait_healthy(server, timeout)
            return server
        except ApiStartError:
            server.stop(timeout=5)
            if attempt < 2 and "address already in use" in server.output().lower():
                continue
            if own_log_dir:
                shutil.rmtree(log_dir, ignore_errors=True)
            raise
        except BaseException:
            server.stop(timeout=5)
            if own_log_dir:
                shutil.rmtree(log_dir, ignore_errors=True)
            raise
    raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def api_process(database_url: str, redis_url: str, **kwargs: Any) -> AsyncIterator[ApiServer]:
    """`running_api` for async tests: starts and stops in a thread, so the event loop keeps running."""
    starting = asyncio.ensure_future(asyncio.to_thread(start_api, database_url, redis_url, **kwargs))
    try:
        server = await asyncio.shield(starting)
    except asyncio.CancelledError:  # the test timed out while the thread was starting it: stop it anyway
        with contextlib.suppress(Exception):
            (await starting).stop()
        raise
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        if server.own_log_dir:
            shutil.rmtree(server.log_path.parent, ignore_errors=True)


@contextlib.contextmanager
def running_api(database_url: str, redis_url: str, **kwargs: Any) -> Iterator[ApiServer]:
    """`start_api(...)` as a context manager that always stops the process."""
    server = start_api(database_url, redis_url, **kwargs)
    try:
        yield server
    finally:
        server.stop()
        if server.own_log_dir:
            shutil.rmtree(server.log_path.parent, ignore_errors=True)
