"""Test setup: real Postgres and Redis (embedded unless FLORIN_TEST_DATABASE_URL / FLORIN_TEST_REDIS_URL).

The suite migrates once with Alembic into a template database; each test that needs the database gets its
own copy (`CREATE DATABASE … TEMPLATE …`), so tests that commit, run jobs or use several processes are as
real as the rest.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

os.environ.setdefault("NO_GCE_CHECK", "true")

from app.config import Settings  # noqa: E402
from tests.support import GraphQLClient  # noqa: E402

TEMPLATE = "florin_template"
_counter = itertools.count()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    """URLs of the Postgres server and Redis used by the whole session."""
    from app.embedded import EmbeddedPostgres, EmbeddedRedis

    base = Path(tempfile.mkdtemp(prefix="florin-test-"))
    started: list[Any] = []
    try:
        pg_url = os.environ.get("FLORIN_TEST_DATABASE_URL")
        if not pg_url:
            pg = EmbeddedPostgres(base / "pg")
            pg_url = pg.start()
            started.append(pg)
        redis_url = os.environ.get("FLORIN_TEST_REDIS_URL")
        if not redis_url:
            redis = EmbeddedRedis(base / "redis")
            redis_url = redis.start()
            started.append(redis)
        yield {"database": pg_url, "redis": redis_url, "dir": str(base)}
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_url(servers: dict[str, str]) -> str:
    from app.migrate import upgrade_async

    admin = await asyncpg.connect(_libpq(servers["database"]))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    url = _with_db(servers["database"], TEMPLATE)
    await upgrade_async(url)
    return url


async def clone_database(servers: dict[str, str], template: str = TEMPLATE) -> str:
    name = f"florin_t{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(_libpq(servers["database"]))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    finally:
        await admin.close()
    return _with_db(servers["database"], name)


async def drop_database(servers: dict[str, str], url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(_libpq(servers["database"]))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def database_url(servers: dict[str, str], template_url: str) -> AsyncIterator[str]:
    url = await clone_database(servers)
    yield url
    await drop_database(servers, url)


def make_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "encryption_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 8192,
        "arq_queue_name": f"florin:test:{uuid.uuid4().hex[:8]}",
        "log_json": False,
        "db_pool_size": 5,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, servers: dict[str, str]) -> Settings:
    return make_settings(database_url, servers["redis"])


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Any]:
    from app.resources import build_resources

    res = await build_resources(settings)
    yield res
    await res.close()


@pytest.fixture
def gql(resources: Any) -> GraphQLClient:
    return GraphQLClient(resources)
