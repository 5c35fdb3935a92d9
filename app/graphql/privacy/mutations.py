"""Mutations: `dataExport` (queue a copy of all the caller's data) and `meDelete` (erase the account)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.errors import ErrorCode
from app.graphql.auth.mutations import count_auth_attempt
from app.graphql.context import Info
from app.graphql.mutation import run_mutation
from app.graphql.node import to_global_id
from app.graphql.privacy.queries import load_data_exports
from app.graphql.privacy.types import DataExportInput, DataExportPayload, MeDeleteInput, MeDeletePayload
from app.privacy import service
from app.privacy.models import ExportFormat


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(description="Queue a copy of all the caller's data (JSON and CSV in a zip); when it is READY "
                                     "a notification arrives and `downloadUrl` works once. While one is being "
                                     "prepared, asking again returns it; at most 5 a day (LIMIT_EXCEEDED).")
    async def data_export(self, info: Info, input: DataExportInput) -> DataExportPayload:
        ctx = info.context
        formats = None if input.formats is None else [ExportFormat(f) for f in input.formats]

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            row = await service.request_export(uow, principal=principal, formats=formats, origin=ctx.origin)
            return {"dataExport": str(row.id)}

        data = {"formats": None if formats is None else [f.value for f in formats]}
        result, errors = await run_mutation(ctx, "dataExport", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return DataExportPayload(data_export=None, errors=errors)
        found = (await load_data_exports(ctx, [uuid.UUID(result["dataExport"])]))[0]
        return DataExportPayload(data_export=found, errors=[])

    @strawberry.mutation(description="Erase the caller's account and every piece of its data, after asking for the "
                                     "password again; every token of the account stops working. Wrong password: "
                                     "INVALID_CREDENTIALS and nothing changes (repeated failures back off like "
                                     "sign-ins). Cannot be undone: export the data first.")
    async def me_delete(self, info: Info, input: MeDeleteInput) -> MeDeletePayload:
        ctx = info.context
        principal = ctx.writer()
        limiter = await count_auth_attempt(ctx, "login", principal.email)

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            user_id = await service.erase_user(uow, config=ctx.auth_config, principal=principal,
                                               password=input.password, origin=ctx.origin)
            return {"user": str(user_id)}

        result, errors = await run_mutation(ctx, "meDelete", action)
        if errors or result is None:
            if any(e.code == ErrorCode.INVALID_CREDENTIALS for e in errors):
                await limiter.login_failed(principal.email)
            return MeDeletePayload(deleted_user_id=None, errors=errors)
        await limiter.login_succeeded(principal.email)
        return MeDeletePayload(deleted_user_id=to_global_id("User", uuid.UUID(result["user"])), errors=[])
