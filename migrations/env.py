"""Alembic environment (async). The URL comes from `config.attributes["url"]`, else from Settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import metadata

config = context.config


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    from app.config import get_settings

    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError("No database URL: set FLORIN_DATABASE_URL or run `florin migrate` (embedded default)")
    return settings.database_url


def _configure(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True,
                      compare_server_default=False)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
