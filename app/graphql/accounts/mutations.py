"""Mutations of accounts: create (client id), partial update, archive."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.accounts import service
from app.auth.principal import Principal
from app.db import UnitOfWork
from app.errors import DomainError, ErrorCode
from app.graphql.accounts.queries import load_accounts
from app.graphql.accounts.types import (
    Account,
    AccountArchiveInput,
    AccountArchivePayload,
    AccountCreateInput,
    AccountCreatePayload,
    AccountUpdateInput,
    AccountUpdatePayload,
)
from app.graphql.context import Context, Info
from app.graphql.mutation import run_mutation
from app.graphql.node import decode_id, from_global_id

ABSENT = "<absent>"


def client_id(value: str | None, type_name: str) -> uuid.UUID | None:
    """The uuid of a client-chosen global id for a create; INVALID on `id` when malformed or of another type."""
    if value is None:
        return None
    decoded = from_global_id(value)
    if decoded is None or decoded[0] != type_name:
        raise DomainError(ErrorCode.INVALID, f"`id` must be a global id of type {type_name}.", "id")
    return decoded[1]




def maybe(value: Any) -> Any:
    """A `strawberry.Maybe` as plain data for an idempotency fingerprint: absent differs from null."""
    return ABSENT if value is None else value.value


def keep(value: Any) -> Any:
    """A `strawberry.Maybe` as a service argument: absent is KEEP, otherwise the value (maybe None)."""
    return service.KEEP if value is None else value.value


async def _account(ctx: Context, result: dict[str, Any] | None) -> Account | None:
    if result is None:
        return None
    return (await load_accounts(ctx, [uuid.UUID(result["account"])]))[0]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create an account; its balance starts at the opening balance.")
    async def account_create(self, info: Info, input: AccountCreateInput) -> AccountCreatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            account = await service.create_account(
                uow.session, user_id=principal.user_id, name=input.name, kind=input.kind, currency=input.currency,
                institution=input.institution, mask=input.mask, opening_balance=input.opening_balance,
                opening_date=input.opening_date, account_id=client_id(input.id, "Account"))
            return {"account": str(account.id)}

        data = {"name": input.name, "kind": input.kind, "currency": input.currency, "institution": input.institution,
                "mask": input.mask, "openingBalance": input.opening_balance, "openingDate": input.opening_date}
        result, errors = await run_mutation(ctx, "accountCreate", action, key=input.id, data=data)
        if errors:
            return AccountCreatePayload(account=None, errors=errors)
        return AccountCreatePayload(account=await _account(ctx, result), errors=[])

    @strawberry.mutation(description="Change some fields of an account; absent fields stay as they are.")
    async def account_update(self, info: Info, input: AccountUpdateInput) -> AccountUpdatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            account = await service.update_account(
                uow.session, user_id=principal.user_id, account_id=decode_id(input.id, "Account"),
                name=keep(input.name), institution=keep(input.institution), mask=keep(input.mask),
                kind=keep(input.kind), opening_balance=keep(input.opening_balance),
                opening_date=keep(input.opening_date))
            return {"account": str(account.id)}

        data = {"id": input.id, "name": maybe(input.name), "institution": maybe(input.institution),
                "mask": maybe(input.mask), "kind": maybe(input.kind), "openingBalance": maybe(input.opening_balance),
                "openingDate": maybe(input.opening_date)}
        result, errors = await run_mutation(ctx, "accountUpdate", action, key=input.idempotency_key, data=data)
        if errors:
            return AccountUpdatePayload(account=None, errors=errors)
        return AccountUpdatePayload(account=await _account(ctx, result), errors=[])

    @strawberry.mutation(description="Archive an account (or unarchive it with `archived: false`).")
    async def account_archive(self, info: Info, input: AccountArchiveInput) -> AccountArchivePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            account = await service.archive_account(uow.session, user_id=principal.user_id,
                                                    account_id=decode_id(input.id, "Account"),
                                                    archived=input.archived)
            return {"account": str(account.id)}

        data = {"id": input.id, "archived": input.archived}
        result, errors = await run_mutation(ctx, "accountArchive", action, key=input.idempotency_key, data=data)
        if errors:
            return AccountArchivePayload(account=None, errors=errors)
        return AccountArchivePayload(account=await _account(ctx, result), errors=[])
