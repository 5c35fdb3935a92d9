"""Alembic migrations on an empty database: up to head, down to base, up again, and no drift from the models.

Each test creates its own empty database (not the migrated template), so it checks the migrations
themselves rather than what the suite's template already holds.
"""

from __future__ import annotations

import asyncio
import pprint
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.migrate import alembic_config, downgrade, upgrade
from app.models import metadata

# Every object the migrations may leave in `public`, found through the catalog rather than through Alembic.
OBJECTS_SQL = """
select 'relation:' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
union all
select 'type:' || t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where n.nspname = 'public' and t.typtype in ('e', 'd', 'c')
    and not exists (select 1 from pg_class c where c.reltype = t.oid)
union all
select 'function:' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'public'
"""


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def empty_database_url(servers: dict[str, str]) -> AsyncIterator[str]:
    """A brand-new database with nothing of Florin in it."""
    name = f"florin_mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_admin_dsn(servers["database"]))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    yield make_url(servers["database"]).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_admin_dsn(servers["database"]))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def _objects(url: str) -> set[str]:
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        return {row[0] for row in await conn.fetch(OBJECTS_SQL)}
    finally:
        await conn.close()


async def _versions(url: str) -> list[str]:
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        exists = await conn.fetchval("select to_regclass('public.alembic_version') is not null")
        if not exists:
            return []
        return [row[0] for row in await conn.fetch("select version_num from alembic_version")]
    finally:
        await conn.close()


def _heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_heads())


def _model_tables() -> set[str]:
    return {f"relation:{name}" for name in metadata.tables}


async def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url: str) -> None:
    # given: a database with nothing in `public`
    url = empty_database_url
    assert await _objects(url) == set()
    heads = _heads()
    assert len(heads) == 1, f"the migrations have several heads, merge them: {heads}"

    # when: upgrade to head (Alembic's env calls asyncio.run, so it runs in a thread)
    await asyncio.to_thread(upgrade, url, "head")
    # then: every table of the models exists and the database is stamped at head
    after_upgrade = await _objects(url)
    missing = _model_tables() - after_upgrade
    assert not missing, f"tables of the models that the migrations do not create: {sorted(missing)}"
    assert "relation:alembic_version" in after_upgrade
    assert await _versions(url) == heads

    # when: downgrade to base
    await asyncio.to_thread(downgrade, url, "base")
    # then: nothing of Florin is left, at most Alembic's own (empty) version table
    leftovers = await _objects(url) - {"relation:alembic_version"}
    assert leftovers == set(), f"downgrade to base leaves objects behind: {sorted(leftovers)}"
    assert await _versions(url) == []

    # when: upgrade again
    await asyncio.to_thread(upgrade, url, "head")
    # then: the same schema as the first time
    assert await _objects(url) == after_upgrade
    assert await _versions(url) == heads


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


async def test_models_and_migrated_schema_do_not_differ(empty_database_url: str) -> None:
    # given
    await asyncio.to_thread(upgrade, empty_database_url, "head")
    engine = create_async_engine(empty_database_url)
    try:
        # when
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            tables = set((await conn.execute(sa.text(
                "select tablename from pg_tables where schemaname = 'public'"))).scalars())
    finally:
        await engine.dispose()
    # then: the comparison saw the real tables (an empty diff against an empty database would prove nothing)
    assert set(metadata.tables) <= tables
    assert diff == [], "models and migrations differ; add a migration (alembic revision --autogenerate):\n" + \
        pprint.pformat(diff)
