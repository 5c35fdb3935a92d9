"""The one way a mutation runs: writer check, unit of work, idempotency, domain errors to payload errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app import idempotency
from app.auth.principal import Principal
from app.db import UnitOfWork, unit_of_work
from app.errors import DomainError, DomainErrors
from app.graphql.context import Context
from app.graphql.errors import UserError, user_errors

Action = Callable[[UnitOfWork, Principal], Awaitable[dict[str, Any]]]


async def run_mutation(ctx: Context, operation: str, action: Action, *, key: str | None = None,
                       data: Any = None) -> tuple[dict[str, Any] | None, list[UserError]]:
    """Run `action` in one unit of work; returns (result, []) or (None, errors).

    `key` is the client id (creates) or idempotency key; with it the same input replays the stored
    result and writes nothing, and another input is CONFLICT. `action` returns plain values (ids) that
    the resolver turns into objects after the commit.
    """
    principal = ctx.writer()
    try:
        async with unit_of_work(ctx.resources) as uow:
            if key is not None:
                full_key = f"{operation}:{key}"
                replay = await idempotency.claim(uow.session, user_id=principal.user_id, key=full_key,
                                                 request_hash=idempotency.fingerprint(operation, data))
                if replay is not None:
                    return replay.result, []
            result = await action(uow, principal)
            if key is not None:
                await idempotency.store(uow.session, user_id=principal.user_id, key=full_key, result=result)
        return result, []
    except (DomainError, DomainErrors) as exc:
        return None, user_errors(exc)
