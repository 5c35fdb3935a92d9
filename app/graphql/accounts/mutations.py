"""Mutations of accounts: create (client id), partial update, archive."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.accounts import service
from app.auth.principal import Principal
from app.db import UnitOfWork
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
from app.graphql.mutation import client_id, fingerprint_value, given, run_mutation
from app.graphql.node import decode_id


async def _account(ctx: Context, result: dict[str, Any] | None) -> Account | None:
    if result is None:
        return None
    return (await load_accounts(ctx, [uuid.UUID(result["account"])]))[0]

UPDATABLE = ("name", "institution", "mask", "kind", "opening_balance", "opening_date")


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
                **{name: given(getattr(input, name), service.KEEP) for name in UPDATABLE})
            return {"account": str(account.id)}

        data = {"id": input.id, **{name: fingerprint_value(getattr(input, name)) for name in UPDATABLE}}
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
