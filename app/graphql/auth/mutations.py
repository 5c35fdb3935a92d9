"""Mutations of sessions, the profile and API tokens."""

from __future__ import annotations

from typing import Any, NoReturn

import strawberry
from starlette.responses import Response

from app.auth import repository as repo
from app.auth import service
from app.auth.models import Scope
from app.db import UnitOfWork, unit_of_work
from app.errors import DomainError, DomainErrors, ErrorCode
from app.graphql.auth.queries import load_api_tokens
from app.graphql.auth.types import (
    ApiToken,
    ApiTokenCreateInput,
    ApiTokenCreatePayload,
    ApiTokenRevokeInput,
    ApiTokenRevokePayload,
    AuthLoginInput,
    AuthLogoutInput,
    AuthLogoutPayload,
    AuthPasswordChangeInput,
    AuthPayload,
    AuthRefreshInput,
    AuthRegisterInput,
    MeUpdateInput,
    MeUpdatePayload,
    User,
)
from app.graphql.context import Context, Info
from app.graphql.errors import RateLimited, Unauthenticated, user_errors
from app.graphql.mutation import client_id, given, run_mutation
from app.graphql.node import decode_id
from app.ratelimit import Decision, RateLimiter


def _session_payload(issued: service.IssuedSession) -> AuthPayload:
    return AuthPayload(access_token=issued.access_token, refresh_token=issued.refresh_token,
                       expires_at=issued.expires_at, user=User.from_row(issued.user), errors=[])


def _failed(exc: DomainError | DomainErrors) -> AuthPayload:
    return AuthPayload(access_token=None, refresh_token=None, expires_at=None, user=None, errors=user_errors(exc))


def _refuse(ctx: Context, decision: Decision) -> NoReturn:
    """A top-level RATE_LIMITED error with `retryAfter`, and over HTTP a 429 with `Retry-After`."""
    if isinstance(ctx.response, Response):
        ctx.response.status_code = 429
        ctx.response.headers["Retry-After"] = str(decision.retry_after)
    raise RateLimited(f"Too many attempts; retry in {decision.retry_after} s", retryAfter=decision.retry_after)


async def count_auth_attempt(ctx: Context, action: str, email: str) -> RateLimiter:
    """Count a sign-in or registration attempt per client IP and per email, refusing when over a limit or
    while the email is locked after failed logins."""
    limiter = RateLimiter.for_resources(ctx.resources)
    decision = await limiter.hit_auth(action, ip=ctx.origin.ip, email=email or None)
    if not decision.allowed:
        _refuse(ctx, decision)
    return limiter


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and sign in.")
    async def auth_register(self, info: Info, input: AuthRegisterInput) -> AuthPayload:
        ctx = info.context
        await count_auth_attempt(ctx, "register", (input.email or "").strip().lower())
        try:
            async with unit_of_work(ctx.resources) as uow:
                issued = await service.register(
                    uow.session, config=ctx.auth_config, email=input.email, password=input.password,
                    name=input.name, base_currency=input.base_currency, time_zone=input.time_zone,
                    origin=ctx.origin)
        except (DomainError, DomainErrors) as exc:
            return _failed(exc)
        return _session_payload(issued)

    @strawberry.mutation(description="Sign in with email and password.")
    async def auth_login(self, info: Info, input: AuthLoginInput) -> AuthPayload:
        ctx = info.context
        email = (input.email or "").strip().lower()
        limiter = await count_auth_attempt(ctx, "login", email)
        try:
            async with unit_of_work(ctx.resources) as uow:
                issued = await service.login(uow.session, config=ctx.auth_config, email=input.email,
                                             password=input.password, origin=ctx.origin)
        except DomainError as exc:
            if exc.code == ErrorCode.INVALID_CREDENTIALS:
                await limiter.login_failed(email)
            return _failed(exc)
        await limiter.login_succeeded(email)
        return _session_payload(issued)

    @strawberry.mutation(description="Trade a refresh token for a new session; each refresh token works once, "
                                     "and reusing one signs out its whole family.")
    async def auth_refresh(self, info: Info, input: AuthRefreshInput) -> AuthPayload:
        ctx = info.context
        async with unit_of_work(ctx.resources) as uow:
            issued = await service.refresh(uow.session, config=ctx.auth_config, refresh_token=input.refresh_token)
        if issued is None:
            raise Unauthenticated("Refresh token is invalid, expired or already used")
        return _session_payload(issued)

    @strawberry.mutation(description="Sign out: revokes this session's refresh tokens and access token.")
    async def auth_logout(self, info: Info, input: AuthLogoutInput | None = None) -> AuthLogoutPayload:
        ctx = info.context
        principal = ctx.viewer()
        async with unit_of_work(ctx.resources) as uow:
            await service.logout(uow.session, principal=principal, origin=ctx.origin)
        return AuthLogoutPayload(ok=True, errors=[])

    @strawberry.mutation(description="Change the password; every other session is signed out.")
    async def auth_password_change(self, info: Info, input: AuthPasswordChangeInput) -> AuthPayload:
        ctx = info.context
        principal = ctx.writer()
        try:
            async with unit_of_work(ctx.resources) as uow:
                issued = await service.change_password(
                    uow.session, config=ctx.auth_config, principal=principal,
                    current_password=input.current_password, new_password=input.new_password, origin=ctx.origin)
        except DomainError as exc:
            return _failed(exc)
        return _session_payload(issued)

    @strawberry.mutation(description="Update the profile: name, base currency, time zone.")
    async def me_update(self, info: Info, input: MeUpdateInput) -> MeUpdatePayload:
        ctx = info.context
        name = given(input.name)
        data = {"name": name if input.name is not None else "<absent>",
                "baseCurrency": given(input.base_currency), "timeZone": given(input.time_zone)}

        async def action(uow: UnitOfWork, principal: Any) -> dict[str, Any]:
            user = await service.update_me(
                uow.session, principal=principal,
                name=("" if name is None else name) if input.name is not None else None,
                base_currency=given(input.base_currency), time_zone=given(input.time_zone))
            return {"user": str(user.id)}

        result, errors = await run_mutation(ctx, "meUpdate", action, key=input.idempotency_key, data=data)
        if errors:
            return MeUpdatePayload(user=None, errors=errors)
        async with ctx.resources.sessionmaker() as session:
            row = await repo.user_by_id(session, ctx.viewer().user_id)
        return MeUpdatePayload(user=User.from_row(row) if row else None, errors=[])

    @strawberry.mutation(description="Create an API token; its secret is in `token`, shown this once.")
    async def api_token_create(self, info: Info, input: ApiTokenCreateInput) -> ApiTokenCreatePayload:
        ctx = info.context
        secret_box: dict[str, str] = {}

        async def action(uow: UnitOfWork, principal: Any) -> dict[str, Any]:
            token_id = client_id(input.id, "ApiToken")
            token, secret = await service.create_api_token(
                uow.session, principal=principal, name=input.name, scope=Scope(input.scope),
                expires_in_days=input.expires_in_days, token_id=token_id, origin=ctx.origin)
            secret_box["token"] = secret
            return {"apiToken": str(token.id)}

        data = {"name": input.name, "scope": input.scope, "expiresInDays": input.expires_in_days}
        result, errors = await run_mutation(ctx, "apiTokenCreate", action, key=input.id, data=data)
        if errors or result is None:
            return ApiTokenCreatePayload(api_token=None, token=None, errors=errors)
        token = (await load_api_tokens(ctx, [_uuid(result["apiToken"])]))[0]
        return ApiTokenCreatePayload(api_token=token, token=secret_box.get("token"), errors=[])

    @strawberry.mutation(description="Revoke an API token at once.")
    async def api_token_revoke(self, info: Info, input: ApiTokenRevokeInput) -> ApiTokenRevokePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Any) -> dict[str, Any]:
            token = await service.revoke_api_token(uow.session, principal=principal,
                                                   token_id=decode_id(input.id, "ApiToken"), origin=ctx.origin)
            return {"apiToken": str(token.id)}

        result, errors = await run_mutation(ctx, "apiTokenRevoke", action, key=input.idempotency_key,
                                            data={"id": input.id})
        if errors or result is None:
            return ApiTokenRevokePayload(api_token=None, errors=errors)
        token = (await load_api_tokens(ctx, [_uuid(result["apiToken"])]))[0]
        return ApiTokenRevokePayload(api_token=token, errors=[])


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


__all__ = ["AuthMutation", "ApiToken"]
