"""Child processes of the bench: Florin API servers (real uvicorn, `python -m app.cli serve`) and helpers.

Every child runs in its own session with its output in a log file, and is stopped with SIGTERM, then
SIGKILL of its group; the bench stops only the processes it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local servers: never via a proxy


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def spawn(cls, command: list[str], *, env: dict[str, str], log: Path, cwd: Path) -> Proc:
        with open(log, "wb") as out:
            process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        return cls(process, log)

    def output(self, last: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-last:])
        except OSError:
            return "(no output)"

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def wait_http(proc: Proc, url: str, *, timeout: float = 60, method: str = "GET", body: bytes | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = proc.process.poll()
        if code is not None:
            raise RuntimeError(f"{proc.log.name}: exited with {code} during start-up:\n{proc.output()}")
        try:
            request = urllib.request.Request(url, data=body, method=method,
                                             headers={"Content-Type": "application/json"})
            with _NO_PROXY.open(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f}s:\n{proc.output()}")
        time.sleep(0.2)


def florin_env(settings: dict[str, Any], root: Path = ROOT) -> dict[str, str]:
    """This environment without any FLORIN_* variable, plus the given settings as FLORIN_<NAME>; `root` (the
    checkout whose `app` runs) first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLORIN_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in settings.items():
        env[f"FLORIN_{name.upper()}"] = str(value)
    return env


@dataclass
class Florin:
    procs: list[Proc] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p.port}/graphql" for p in self.procs]

    @property
    def ws_urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{p.port}/graphql" for p in self.procs]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


def start_florin(database_url: str, redis_url: str, secret: str, processes: int, log_dir: Path,
                 extra: dict[str, Any] | None = None, argv: list[str] | None = None,
                 root: Path = ROOT) -> Florin:
    """`processes` independent API servers (`python -m app.cli serve`, uvicorn) in production mode.

    They share nothing but Postgres and Redis, like replicas behind a load balancer; the load generator
    spreads requests over them round-robin.
    """
    florin = Florin()
    try:
        for _ in range(processes):
            port = free_port()
            env = florin_env({"env": "production", "secret_key": secret, "database_url": database_url,
                              "redis_url": redis_url, "host": "127.0.0.1", "port": port, **(extra or {})},
                             root)
            proc = Proc.spawn(argv or [sys.executable, "-m", "app.cli", "serve"], env=env,
                              log=log_dir / f"florin-{port}.log", cwd=log_dir)
            proc.port = port
            florin.procs.append(proc)
            wait_http(proc, f"http://127.0.0.1:{port}/healthz")
        return florin
    except BaseException:
        florin.stop()
        raise
