"""Connections: `connections`, `connection(id)`, the Connection node, and `connectionCreate`, `connectionDelete`,
`connectionSync`."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from app.accounts.models import Account as AccountRow
from app.auth.principal import Principal
from app.db import UnitOfWork
from app.graphql.accounts.types import Account
from app.graphql.context import Context, Info
from app.graphql.loaders import in_key_order
from app.graphql.mutation import client_id, run_mutation
from app.graphql.node import decode_id, from_global_id, register_node, to_global_id
from app.graphql.pagination import Connection, build_connection, page_request
from app.graphql.sync.connection_types import (
    ConnectionCreateInput,
    ConnectionCreatePayload,
    ConnectionDeleteInput,
    ConnectionDeletePayload,
    ConnectionSyncInput,
    ConnectionSyncPayload,
    ProviderConnection,
)
from app.graphql.sync.runs import load_runs
from app.graphql.sync.types import SyncRun
from app.paging import SortKey, count, fetch_page
from app.sync import connection_repository as repo
from app.sync import connections as service
from app.sync.models import Connection as ConnectionRow
from app.sync.models import Provider

CONNECTION_SORT = [SortKey(ConnectionRow.name, False, str), SortKey(ConnectionRow.id, False, uuid.UUID)]


async def load_connections(ctx: Context, ids: list[uuid.UUID]) -> list[ProviderConnection | None]:
    """The caller's connections for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await repo.connections_by_ids(session, principal.user_id, ids)
    return [ProviderConnection.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("Connection")(load_connections)


def connection_loader(ctx: Context) -> DataLoader[uuid.UUID, ProviderConnection | None]:
    async def batch(keys: list[Hashable]) -> list[ProviderConnection | None]:
        return await load_connections(ctx, [uuid.UUID(str(key)) for key in keys])

    return ctx.loaders.get("connection_by_id", batch)


def connection_accounts_loader(ctx: Context) -> DataLoader[uuid.UUID, list[Account]]:
    """The accounts of each connection, by name: one statement per batch."""

    async def batch(keys: list[Hashable]) -> list[list[Account]]:
        principal = ctx.viewer()
        ids = [uuid.UUID(str(key)) for key in keys]
        async with ctx.resources.sessionmaker() as session:
            rows = await repo.accounts_of_connections(session, principal.user_id, ids)
        grouped: dict[uuid.UUID, list[AccountRow]] = {}
        for row in rows:
            if row.connection_id is not None:
                grouped.setdefault(row.connection_id, []).append(row)
        return [[Account.from_row(row) for row in grouped.get(key, [])] for key in ids]

    return ctx.loaders.get("accounts_by_connection", batch)


def connection_run_loader(ctx: Context) -> DataLoader[uuid.UUID, SyncRun | None]:
    """The newest run of each connection: one statement per batch."""

    async def batch(keys: list[Hashable]) -> list[SyncRun | None]:
        principal = ctx.viewer()
        ids = [uuid.UUID(str(key)) for key in keys]
        async with ctx.resources.sessionmaker() as session:
            latest = await repo.latest_runs(session, principal.user_id, ids)
        return [SyncRun.from_row(latest[key]) if key in latest else None for key in ids]

    return ctx.loaders.get("run_by_connection", batch)


def _connection_id(value: str) -> uuid.UUID | None:
    decoded = from_global_id(value)
    return decoded[1] if decoded is not None and decoded[0] == "Connection" else None


@strawberry.type
class ConnectionQuery:
    @strawberry.field(description="The caller's connections to providers, by name.")
    async def connections(self, info: Info, first: int | None = None, after: str | None = None,
                          last: int | None = None, before: str | None = None) -> Connection[ProviderConnection]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("connections", CONNECTION_SORT, first=first, after=after, last=last, before=before)
        stmt = repo.connections_query(principal.user_id)
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, CONNECTION_SORT, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        def key_of(row: Any) -> tuple[str, uuid.UUID]:
            return row.name, row.id

        return build_connection(page, tag="connections", key_of=key_of, to_node=ProviderConnection.from_row,
                                count_fn=total)

    @strawberry.field(description="One of the caller's connections; null when missing, foreign or of another type.")
    async def connection(self, info: Info, id: strawberry.ID) -> ProviderConnection | None:
        info.context.viewer()
        connection_id = _connection_id(id)
        if connection_id is None:
            return None
        return await connection_loader(info.context).load(connection_id)


async def _connection(ctx: Context, value: str | None) -> ProviderConnection | None:
    return None if value is None else (await load_connections(ctx, [uuid.UUID(value)]))[0]


@strawberry.type
class ConnectionMutation:
    @strawberry.mutation(description="Connect a provider. Nothing is fetched yet: sync it with `connectionSync` "
                                     "(for Fi Money the first sync asks the user to log in at `loginUrl`).")
    async def connection_create(self, info: Info, input: ConnectionCreateInput) -> ConnectionCreatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            row = await service.create_connection(uow.session, user_id=principal.user_id,
                                                  provider=Provider(input.provider), url=input.url, name=input.name,
                                                  connection_id=client_id(input.id, "Connection"),
                                                  allow_private=ctx.resources.settings.private_provider_urls_allowed)
            return {"connection": str(row.id)}

        data = {"provider": input.provider, "url": input.url, "name": input.name}
        result, errors = await run_mutation(ctx, "connectionCreate", action, key=input.id, data=data)
        if errors or result is None:
            return ConnectionCreatePayload(connection=None, errors=errors)
        return ConnectionCreatePayload(connection=await _connection(ctx, result["connection"]), errors=[])

    @strawberry.mutation(description="Delete a connection; its accounts and transactions stay.")
    async def connection_delete(self, info: Info, input: ConnectionDeleteInput) -> ConnectionDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            deleted = await service.delete_connection(uow.session, user_id=principal.user_id,
                                                      connection_id=decode_id(input.id, "Connection"))
            return {"connection": str(deleted)}

        result, errors = await run_mutation(ctx, "connectionDelete", action, key=input.idempotency_key,
                                            data={"id": input.id})
        if errors or result is None:
            return ConnectionDeletePayload(deleted_id=None, errors=errors)
        return ConnectionDeletePayload(deleted_id=to_global_id("Connection", uuid.UUID(result["connection"])),
                                       errors=[])

    @strawberry.mutation(description="Sync a connection now: returns the queued run (the one already queued, "
                                     "with its window widened, when a sync of it is waiting). The run fails with a "
                                     "message and the connection turns NEEDS_LOGIN when the provider wants a login.")
    async def connection_sync(self, info: Info, input: ConnectionSyncInput) -> ConnectionSyncPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            connection_id = decode_id(input.connection_id, "Connection", "connectionId")
            run = await service.request_sync(uow, user_id=principal.user_id, connection_id=connection_id,
                                              start=input.from_, end=input.to)
            return {"run": str(run.id), "connection": str(connection_id)}

        data = {"connectionId": input.connection_id, "from": input.from_, "to": input.to}
        result, errors = await run_mutation(ctx, "connectionSync", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return ConnectionSyncPayload(run=None, connection=None, errors=errors)
        run = (await load_runs(ctx, [uuid.UUID(result["run"])]))[0]
        return ConnectionSyncPayload(run=run, connection=await _connection(ctx, result["connection"]), errors=[])
