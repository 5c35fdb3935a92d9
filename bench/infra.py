"""Servers the bench runs: Postgres and Redis (embedded unless URLs are given), and the database it fills."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("bench")
DATABASE = "florin_bench"


def libpq(url: str) -> str:
    """An asyncpg/libpq URL from a SQLAlchemy or libpq one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@dataclass
class Servers:
    database_url: str      # SQLAlchemy URL of the server (its default database)
    redis_url: str
    workdir: Path
    postmaster_pid: int | None = None  # known for the embedded server: used to add up Postgres CPU time

    @property
    def bench_url(self) -> str:
        """SQLAlchemy URL of the bench database."""
        return with_database(self.database_url, DATABASE)

    @property
    def bench_dsn(self) -> str:
        return libpq(self.bench_url)


@contextlib.contextmanager
def servers(workdir: Path | None = None) -> Iterator[Servers]:
    """Embedded Postgres and Redis in `workdir` (default: a temp dir, removed at the end), unless
    FLORIN_BENCH_DATABASE_URL / FLORIN_BENCH_REDIS_URL are set."""
    from app.embedded import EmbeddedPostgres, EmbeddedRedis

    base = Path(workdir or tempfile.mkdtemp(prefix="florin-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if workdir is None:  # a temp dir of this run: removed with everything in it (after the servers stop)
            stack.callback(shutil.rmtree, base, ignore_errors=True)
        pid = None
        db_url = os.environ.get("FLORIN_BENCH_DATABASE_URL")
        if not db_url:
            pg = stack.enter_context(EmbeddedPostgres(base / "pg"))
            db_url, pid = pg.url, pg.pid
        redis_url = os.environ.get("FLORIN_BENCH_REDIS_URL")
        if not redis_url:
            redis = stack.enter_context(EmbeddedRedis(base / "redis"))
            assert redis.url
            redis_url = redis.url
        yield Servers(sqlalchemy_url(db_url), redis_url, base, pid)


async def create_database(servers: Servers) -> None:
    """A fresh, migrated bench database (dropped first when it exists)."""
    from app.migrate import upgrade_async

    admin = await asyncpg.connect(libpq(servers.database_url))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    await upgrade_async(servers.bench_url)


async def server_facts(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        facts = {"postgres": await conn.fetchval("select version()")}
        for name in ("shared_buffers", "max_connections", "work_mem", "jit"):
            facts[name] = await conn.fetchval(f"show {name}")
        facts["transactions_table"] = await conn.fetchval(
            "select pg_size_pretty(pg_total_relation_size('transactions'))")
        return facts
    finally:
        await conn.close()
