"""The one way a mutation runs: writer check, unit of work, idempotency, domain errors to payload errors."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from app import idempotency
from app.auth.principal import Principal
from app.db import UnitOfWork, unit_of_work
from app.errors import Conflict, DomainError, DomainErrors, ErrorCode
from app.graphql.context import Context
from app.graphql.errors import UserError, user_errors
from app.graphql.node import from_global_id

Action = Callable[[UnitOfWork, Principal], Awaitable[dict[str, Any]]]


async def run_mutation(ctx: Context, operation: str, action: Action, *, key: str | None = None,
                       data: Any = None, key_field: str | None = None) -> tuple[dict[str, Any] | None, list[UserError]]:
    """Run `action` in one unit of work; returns (result, []) or (None, errors).

    `key` is the client id (creates) or idempotency key; with it the same input replays the stored
    result and writes nothing, and another input is CONFLICT. `action` returns plain values (ids) that
    the resolver turns into objects after the commit. `key_field` names the input field of the key in
    errors: `id` for creates (`…Create`), else `idempotencyKey`. A client id already taken by another
    row (another user's, say) is CONFLICT too, never a masked bug.
    """
    principal = ctx.writer()
    key_field = key_field or ("id" if operation.endswith("Create") else "idempotencyKey")
    try:
        async with unit_of_work(ctx.resources) as uow:
            if key is not None:
                full_key = f"{operation}:{key}"
                replay = await idempotency.claim(uow.session, user_id=principal.user_id, key=full_key,
                                                 request_hash=idempotency.fingerprint(operation, data),
                                                 field=key_field)
                if replay is not None:
                    return replay.result, []
            result = await action(uow, principal)
            if key is not None:
                await idempotency.store(uow.session, user_id=principal.user_id, key=full_key, result=result)
        return result, []
    except (DomainError, DomainErrors) as exc:
        return None, user_errors(exc)
    except IntegrityError as exc:
        if key is None or key_field != "id" or not _primary_key_violation(exc):
            raise
        return None, user_errors(Conflict(message="This id is already taken", field=key_field))


def _primary_key_violation(exc: IntegrityError) -> bool:
    """A unique violation of a primary key (named `pk_<table>` by the naming convention)."""
    driver = getattr(exc, "driver_exception", None) or exc.orig
    return (getattr(driver, "sqlstate", None) == "23505"
            and str(getattr(driver, "constraint_name", "") or "").startswith("pk_"))


ABSENT = "<absent>"


def client_id(value: str | None, type_name: str) -> uuid.UUID | None:
    """The uuid of a client-chosen global id for a create; INVALID on `id` when malformed or of another type."""
    if value is None:
        return None
    decoded = from_global_id(value)
    if decoded is None or decoded[0] != type_name:
        raise DomainError(ErrorCode.INVALID, f"`id` must be a global id of type {type_name}.", "id")
    return decoded[1]


def given(value: Any, absent: Any = None) -> Any:
    """A `strawberry.Maybe` as a service argument: `absent` when not given, else its value (maybe None)."""
    return absent if value is None else value.value


def fingerprint_value(value: Any) -> Any:
    """A `strawberry.Maybe` as plain data for an idempotency fingerprint: absent differs from null."""
    return ABSENT if value is None else value.value
