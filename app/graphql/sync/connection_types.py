"""GraphQL types of connections to providers (Fi Money over MCP)."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.graphql.accounts.types import Account
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.graphql.sync.types import SyncRun
from app.sync.models import Connection as ConnectionRow
from app.sync.models import ConnectionStatus as DomainConnectionStatus
from app.sync.models import Provider as DomainProvider

ConnectionProvider = strawberry.enum(DomainProvider, name="ConnectionProvider",
                                     description="Who a connection pulls from. FI_MCP: Fi Money's MCP server.")
ConnectionStatus = strawberry.enum(
    DomainConnectionStatus, name="ConnectionStatus",
    description="ACTIVE: syncs run (every few hours and on request). NEEDS_LOGIN: the provider wants the user to "
                "log in at `loginUrl`, then sync again. ERROR: the last sync failed (see `lastError`); syncs "
                "still run. DISABLED: no sync runs.")


@strawberry.type(name="Connection", description="A link to a provider that feeds accounts, balances and transactions "
                                                "(Fi Money over MCP). Credentials and provider sessions are stored "
                                                "encrypted and never shown.")
class ProviderConnection(Node):
    provider: ConnectionProvider = strawberry.field(description="Who the connection pulls from.")  # type: ignore[valid-type]
    name: str = strawberry.field(description="The user's name for the connection.")
    url: str = strawberry.field(description="The provider's endpoint (for Fi: its MCP URL, ending in /mcp/stream).")
    status: ConnectionStatus = strawberry.field(description="Whether syncs run, or what they wait for.")  # type: ignore[valid-type]
    login_url: str | None = strawberry.field(description="Where the user logs in while the status is NEEDS_LOGIN "
                                                         "(open it, log in, then sync again); null otherwise.")
    last_synced_at: dt.datetime | None = strawberry.field(description="When a sync last succeeded; null before.")
    last_error: str | None = strawberry.field(description="Why the last sync failed; null after a success.")
    created_at: dt.datetime = strawberry.field(description="When the connection was created.")
    updated_at: dt.datetime = strawberry.field(description="When its state last changed.")
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The accounts this connection feeds, by name (created by its first sync).")
    async def accounts(self, info: Info) -> list[Account]:
        from app.graphql.sync.connections import connection_accounts_loader

        return await connection_accounts_loader(info.context).load(self.db_id)  # type: ignore[no-any-return]

    @strawberry.field(description="The connection's newest sync run (queued, running or ended); null before any.")
    async def last_run(self, info: Info) -> SyncRun | None:
        from app.graphql.sync.connections import connection_run_loader

        return await connection_run_loader(info.context).load(self.db_id)  # type: ignore[no-any-return]

    @classmethod
    def from_row(cls, row: ConnectionRow) -> ProviderConnection:
        needs_login = row.status == DomainConnectionStatus.NEEDS_LOGIN.value
        return cls(
            id=to_global_id("Connection", row.id), provider=DomainProvider(row.provider), name=row.name, url=row.url,
            status=DomainConnectionStatus(row.status), login_url=row.login_url if needs_login else None,
            last_synced_at=row.last_synced_at, last_error=row.last_error, created_at=row.created_at,
            updated_at=row.updated_at, db_id=row.id,
        )


@strawberry.input(description="A new connection. `id` is an optional client-chosen global id for safe retries. "
                              "Nothing is fetched until a sync (`connectionSync`, or the scheduler).")
class ConnectionCreateInput:
    provider: ConnectionProvider = strawberry.field(description="Who to pull from.")  # type: ignore[valid-type]
    url: str = strawberry.field(description="The provider's endpoint: an http(s) URL of at most 500 characters "
                                            "(Fi: the MCP server's /mcp/stream URL).")
    name: str | None = strawberry.field(default=None, description="Up to 120 characters; the provider's name when "
                                                                  "absent.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen Connection id: the same id "
                                                "with the same input replays, with another input is CONFLICT.")


@strawberry.type(description="The result of `connectionCreate`.")
class ConnectionCreatePayload:
    connection: ProviderConnection | None = strawberry.field(description="The new connection; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Delete a connection: its stored session and its runs go; its accounts and "
                              "transactions stay, no longer fed by it.")
class ConnectionDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Connection to delete.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `connectionDelete`.")
class ConnectionDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The deleted Connection's id; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Ask for a sync of a connection, optionally limited to the transactions booked in "
                              "[from, to]. While a sync of it is still queued, asking again widens that sync's "
                              "window and returns the same run.")
class ConnectionSyncInput:
    connection_id: strawberry.ID = strawberry.field(description="The Connection to sync.")
    from_: dt.date | None = strawberry.field(default=None, name="from",
                                             description="First booking day to import; absent: no lower bound.")
    to: dt.date | None = strawberry.field(default=None, description="Last booking day to import; absent: no upper "
                                                                    "bound.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `connectionSync`.")
class ConnectionSyncPayload:
    run: SyncRun | None = strawberry.field(description="The queued run (follow it with `syncProgress`); null when "
                                                       "refused.")
    connection: ProviderConnection | None = strawberry.field(description="The connection; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
