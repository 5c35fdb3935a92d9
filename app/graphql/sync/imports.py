"""Statement imports and CSV mapping presets: `statementImport`, `csvMappingPresetCreate`, `csvMappingPresets`,
the StatementImport and CsvMappingPreset nodes and their loaders."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Hashable
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from app.auth.principal import Principal
from app.db import UnitOfWork, read_session
from app.errors import DomainError, DomainErrors, ErrorCode
from app.graphql.context import Context, Info
from app.graphql.errors import user_errors
from app.graphql.loaders import in_key_order
from app.graphql.mutation import client_id, run_mutation
from app.graphql.node import decode_optional_id, register_node
from app.graphql.sync.import_types import (
    CsvMappingPreset,
    CsvMappingPresetCreateInput,
    CsvMappingPresetCreatePayload,
    StatementImport,
    StatementImportInput,
    StatementImportPayload,
)
from app.graphql.sync.types import SyncRun
from app.sync import imports
from app.sync import service as sync_service
from app.sync.providers.values import DateOrder as DomainDateOrder


async def load_imports(ctx: Context, ids: list[uuid.UUID]) -> list[StatementImport | None]:
    """The caller's imports for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await sync_service.imports_by_ids(session, principal.user_id, ids)
    return [StatementImport.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


async def load_presets(ctx: Context, ids: list[uuid.UUID]) -> list[CsvMappingPreset | None]:
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await sync_service.presets_by_ids(session, principal.user_id, ids)
    return [CsvMappingPreset.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("StatementImport")(load_imports)
register_node("CsvMappingPreset")(load_presets)


def import_run_loader(ctx: Context) -> DataLoader[uuid.UUID, SyncRun | None]:
    """The latest run of each import, batched into one statement per request."""

    async def batch(keys: list[Hashable]) -> list[SyncRun | None]:
        principal = ctx.viewer()
        ids = [uuid.UUID(str(key)) for key in keys]
        async with ctx.resources.sessionmaker() as session:
            runs = await sync_service.latest_runs_of_imports(session, principal.user_id, ids)
        return [SyncRun.from_row(runs[i]) if i in runs else None for i in ids]

    return ctx.loaders.get("run_by_import", batch)


async def read_upload(file: Any, limit: int) -> bytes:
    """At most `limit` + 1 bytes of an uploaded file (one more tells that it is too large)."""
    if file is None or not hasattr(file, "read"):
        raise DomainError(ErrorCode.REQUIRED, "Attach the statement file.", "file")
    data = file.read(limit + 1)
    if inspect.isawaitable(data):
        data = await data
    if isinstance(data, str):
        data = data.encode()
    return bytes(data)


def _options(input: StatementImportInput) -> imports.ImportOptions:
    return imports.ImportOptions(
        format=input.format.name, csv_mapping=input.csv_mapping.to_domain() if input.csv_mapping else None,
        csv_preset_id=decode_optional_id(input.csv_preset_id, "CsvMappingPreset", "csvPresetId"),
        date_order=DomainDateOrder(input.date_order).value if input.date_order else None,
        currency=input.currency, account_id=decode_optional_id(input.account_id, "Account", "accountId"),
        create_missing_accounts=input.create_missing_accounts)


@strawberry.type
class ImportQuery:
    @strawberry.field(description="The caller's saved CSV mappings, by name.")
    async def csv_mapping_presets(self, info: Info) -> list[CsvMappingPreset]:
        principal = info.context.viewer()
        async with info.context.resources.sessionmaker() as session:
            rows = await sync_service.presets_of(session, principal.user_id)
        return [CsvMappingPreset.from_row(row) for row in rows]


@strawberry.type
class ImportMutation:
    @strawberry.mutation(description="Upload a statement (GraphQL multipart request; OFX, QFX, QIF, CAMT.053 or CSV). "
                                     "It is parsed and checked at once: a malformed file is MALFORMED_FILE (naming the "
                                     "line or element), UNSUPPORTED_FORMAT or FILE_TOO_LARGE, and nothing is stored. "
                                     "A valid file is stored and applied by a queued run, in one transaction; rows "
                                     "already there are skipped as duplicates.")
    async def statement_import(self, info: Info, input: StatementImportInput) -> StatementImportPayload:
        ctx = info.context
        principal = ctx.writer()
        limit = ctx.settings.max_import_bytes
        try:
            data = await read_upload(input.file, limit)
            filename = str(getattr(input.file, "filename", None) or "statement")
            options = _options(input)
            async with read_session(ctx.resources) as session:
                prepared = await imports.prepare(session, principal.user_id, data=data, filename=filename,
                                                 options=options, max_bytes=limit)
        except (DomainError, DomainErrors) as exc:
            return StatementImportPayload(import_=None, errors=user_errors(exc))

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            stored = await imports.store(uow, principal.user_id, prepared)
            return {"import": str(stored.import_id)}

        result, errors = await run_mutation(ctx, "statementImport", action, key=input.idempotency_key,
                                            data=imports.fingerprint_data(data, prepared.filename, options))
        if errors or result is None:
            return StatementImportPayload(import_=None, errors=errors)
        return StatementImportPayload(import_=(await load_imports(ctx, [uuid.UUID(result["import"])]))[0], errors=[])

    @strawberry.mutation(description="Save a CSV mapping for a bank's export under a name, to import its files with "
                                     "`csvPresetId`.")
    async def csv_mapping_preset_create(self, info: Info, input: CsvMappingPresetCreateInput
                                        ) -> CsvMappingPresetCreatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            mapping = input.mapping.to_domain()
            row = await sync_service.create_preset(uow, principal.user_id, name=input.name, mapping=mapping,
                                                   preset_id=client_id(input.id, "CsvMappingPreset"))
            return {"preset": str(row.id)}

        try:
            data = {"name": input.name, "mapping": input.mapping.to_domain().to_dict()}
        except DomainError as exc:
            return CsvMappingPresetCreatePayload(preset=None, errors=user_errors(exc))
        result, errors = await run_mutation(ctx, "csvMappingPresetCreate", action, key=input.id, data=data)
        if errors or result is None:
            return CsvMappingPresetCreatePayload(preset=None, errors=errors)
        preset = (await load_presets(ctx, [uuid.UUID(result["preset"])]))[0]
        return CsvMappingPresetCreatePayload(preset=preset, errors=[])
