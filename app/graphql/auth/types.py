"""GraphQL types of users, sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.auth.models import ApiToken as ApiTokenRow
from app.auth.models import Scope as DomainScope
from app.auth.models import User as UserRow
from app.graphql.errors import UserError
from app.graphql.node import Node, to_global_id

TokenScope = strawberry.enum(DomainScope, name="TokenScope",
                             description="READ tokens may only query; READ_WRITE tokens may also mutate.")


@strawberry.type(description="The signed-in user.")
class User(Node):
    email: str
    name: str
    base_currency: str = strawberry.field(description="Currency that totals and net worth are shown in.")
    time_zone: str = strawberry.field(description="IANA time zone; 'today' and periods follow it.")
    created_at: dt.datetime
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(id=to_global_id("User", row.id), email=row.email, name=row.name,
                   base_currency=row.base_currency.strip(), time_zone=row.time_zone, created_at=row.created_at,
                   db_id=row.id)


@strawberry.type(description="A long-lived token for scripts and agents; its secret is shown once.")
class ApiToken(Node):
    name: str
    prefix: str = strawberry.field(description="The first characters of the secret, to recognise it.")
    scope: TokenScope  # type: ignore[valid-type]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> ApiToken:
        return cls(id=to_global_id("ApiToken", row.id), name=row.name, prefix=row.prefix,
                   scope=DomainScope(row.scope), created_at=row.created_at, expires_at=row.expires_at,
                   revoked_at=row.revoked_at)


@strawberry.type(description="A new session: a short-lived access token and a rotating refresh token.")
class AuthPayload:
    access_token: str | None = strawberry.field(description="JWT for `Authorization: Bearer …`.")
    refresh_token: str | None = strawberry.field(description="Opaque; use once with `authRefresh`.")
    expires_at: dt.datetime | None = strawberry.field(description="When the access token expires.")
    user: User | None
    errors: list[UserError]


@strawberry.input
class AuthRegisterInput:
    email: str
    password: str
    name: str | None = None
    base_currency: str | None = strawberry.field(default=None, description="ISO 4217, default EUR.")
    time_zone: str | None = strawberry.field(default=None, description="IANA name, default UTC.")


@strawberry.input
class AuthLoginInput:
    email: str
    password: str


@strawberry.input
class AuthRefreshInput:
    refresh_token: str


@strawberry.input
class AuthLogoutInput:
    reason: str | None = strawberry.field(default=None, description="Optional note kept in the audit log.")


@strawberry.type
class AuthLogoutPayload:
    ok: bool
    errors: list[UserError]


@strawberry.input
class AuthPasswordChangeInput:
    current_password: str
    new_password: str


@strawberry.input
class MeUpdateInput:
    name: strawberry.Maybe[str | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    base_currency: strawberry.Maybe[str] = strawberry.field(description="ISO 4217 code; absent: unchanged.")
    time_zone: strawberry.Maybe[str] = strawberry.field(description="IANA name; absent: unchanged.")
    idempotency_key: str | None = None


@strawberry.type
class MeUpdatePayload:
    user: User | None
    errors: list[UserError]


@strawberry.input
class ApiTokenCreateInput:
    name: str
    scope: TokenScope = DomainScope.READ  # type: ignore[valid-type]
    expires_in_days: int | None = None
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id for safe retries.")


@strawberry.type
class ApiTokenCreatePayload:
    api_token: ApiToken | None
    token: str | None = strawberry.field(description="The secret, shown only in the first response.")
    errors: list[UserError]


@strawberry.input
class ApiTokenRevokeInput:
    id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.type
class ApiTokenRevokePayload:
    api_token: ApiToken | None
    errors: list[UserError]
