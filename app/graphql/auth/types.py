"""GraphQL types of users, sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.auth.models import ApiToken as ApiTokenRow
from app.auth.models import Scope as DomainScope
from app.auth.models import User as UserRow
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id

TokenScope = strawberry.enum(DomainScope, name="TokenScope",
                             description="READ tokens may only query; READ_WRITE tokens may also mutate.")


@strawberry.type(description="The signed-in user.")
class User(Node):
    email: str = strawberry.field(description="The sign-in email, in lower case.")
    name: str = strawberry.field(description="The display name; empty when not set.")
    base_currency: str = strawberry.field(description="Currency that totals and net worth are shown in.")
    time_zone: str = strawberry.field(description="IANA time zone; 'today' and periods follow it.")
    created_at: dt.datetime = strawberry.field(description="When the user registered.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(id=to_global_id("User", row.id), email=row.email, name=row.name,
                   base_currency=row.base_currency.strip(), time_zone=row.time_zone, created_at=row.created_at,
                   db_id=row.id)


@strawberry.type(description="A long-lived token for scripts and agents; its secret is shown once.")
class ApiToken(Node):
    name: str = strawberry.field(description="The user's label for the token.")
    prefix: str = strawberry.field(description="The first characters of the secret, to recognise it.")
    scope: TokenScope = strawberry.field(  # type: ignore[valid-type]
        description="What the token may do: READ or READ_WRITE.")
    created_at: dt.datetime = strawberry.field(description="When the token was created.")
    expires_at: dt.datetime | None = strawberry.field(description="When the token stops working; null: never.")
    revoked_at: dt.datetime | None = strawberry.field(description="When the token was revoked; null while usable.")

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
    user: User | None = strawberry.field(description="The signed-in user; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A new user: email, password and an optional profile.")
class AuthRegisterInput:
    email: str = strawberry.field(description="The sign-in email, at most 254 characters; unique, case is ignored.")
    password: str = strawberry.field(
        description="At least the server's minimum length (10 characters by default), at most 1024.")
    name: str | None = strawberry.field(default=None, description="Display name, at most 120 characters; "
                                                                 "default empty.")
    base_currency: str | None = strawberry.field(default=None, description="ISO 4217, default EUR.")
    time_zone: str | None = strawberry.field(default=None, description="IANA name, default UTC.")


@strawberry.input(description="The credentials of an existing user.")
class AuthLoginInput:
    email: str = strawberry.field(description="The sign-in email; case is ignored.")
    password: str = strawberry.field(description="The user's password.")


@strawberry.input(description="The refresh token of the session to renew.")
class AuthRefreshInput:
    refresh_token: str = strawberry.field(
        description="The latest refresh token of the session, from the last AuthPayload; it works once.")


@strawberry.input(description="Options of `authLogout`.")
class AuthLogoutInput:
    reason: str | None = strawberry.field(default=None, description="Optional note kept in the audit log.")


@strawberry.type(description="The result of `authLogout`.")
class AuthLogoutPayload:
    ok: bool = strawberry.field(description="True when the session is signed out.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The current password and the new one.")
class AuthPasswordChangeInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(
        description="At least the server's minimum length (10 characters by default), at most 1024.")


@strawberry.input(description="Change some profile fields: an absent field is unchanged.")
class MeUpdateInput:
    name: strawberry.Maybe[str | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    base_currency: strawberry.Maybe[str] = strawberry.field(description="ISO 4217 code; absent: unchanged.")
    time_zone: strawberry.Maybe[str] = strawberry.field(description="IANA name; absent: unchanged.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `meUpdate`.")
class MeUpdatePayload:
    user: User | None = strawberry.field(description="The user as changed; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A new API token; its secret is returned once, in the payload's `token`.")
class ApiTokenCreateInput:
    name: str = strawberry.field(description="A label for the token, 1 to 120 characters.")
    scope: TokenScope = strawberry.field(  # type: ignore[valid-type]
        default=DomainScope.READ, description="What the token may do; default READ.")
    expires_in_days: int | None = strawberry.field(default=None, description="Lifetime in days, 1 to 3650; "
                                                                              "null: it never expires.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id for safe retries.")


@strawberry.type(description="The result of `apiTokenCreate`.")
class ApiTokenCreatePayload:
    api_token: ApiToken | None = strawberry.field(description="The new token, without its secret; null when refused.")
    token: str | None = strawberry.field(description="The secret, shown only in the first response.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Revoke one of the caller's API tokens.")
class ApiTokenRevokeInput:
    id: strawberry.ID = strawberry.field(description="The ApiToken to revoke; an already revoked one stays as it is.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `apiTokenRevoke`.")
class ApiTokenRevokePayload:
    api_token: ApiToken | None = strawberry.field(description="The token with its `revokedAt`; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
