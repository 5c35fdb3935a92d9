"""CSV mapping presets, and the reads of runs and imports (always scoped to one user)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork, new_id
from app.errors import Collector, Conflict, ErrorCode
from app.sync import repository as repo
from app.sync.models import CsvMappingPreset, StatementImport, SyncRun
from app.sync.providers.csv_format import CsvMapping

MAX_PRESET_NAME = 120
MAX_PRESETS = 200


async def create_preset(uow: UnitOfWork, user_id: uuid.UUID, *, name: str | None, mapping: CsvMapping,
                        preset_id: uuid.UUID | None = None) -> CsvMappingPreset:
    """Save a CSV mapping under a name unique (case ignored) among the user's presets."""
    errors = Collector()
    clean = (name or "").strip()
    if not clean:
        errors.add(ErrorCode.REQUIRED, "A name is required.", "name")
    elif len(clean) > MAX_PRESET_NAME:
        errors.add(ErrorCode.TOO_LONG, f"At most {MAX_PRESET_NAME} characters.", "name")
    errors.raise_if_any()
    if len(await repo.presets_of(uow.session, user_id)) >= MAX_PRESETS:
        raise Conflict(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_PRESETS} presets; delete one first.", None)
    if preset_id is not None and await repo.preset_id_taken(uow.session, preset_id):
        raise Conflict(message="This id is already taken", field="id")
    row = await repo.insert_preset(uow.session, {"id": preset_id or new_id(), "user_id": user_id, "name": clean,
                                                 "mapping": mapping.to_dict()})
    if row is None:
        raise Conflict(message=f"You already have a preset named {clean!r}.", field="name")
    return row


async def presets_of(session: AsyncSession, user_id: uuid.UUID) -> list[CsvMappingPreset]:
    return await repo.presets_of(session, user_id)


async def presets_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                         ) -> list[CsvMappingPreset]:
    return await repo.presets_by_ids(session, user_id, ids)


async def imports_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                         ) -> list[StatementImport]:
    return await repo.imports_by_ids(session, user_id, ids)


async def runs_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[SyncRun]:
    return await repo.runs_by_ids(session, user_id, ids)


async def latest_runs_of_imports(session: AsyncSession, user_id: uuid.UUID, import_ids: Sequence[uuid.UUID]
                                 ) -> dict[uuid.UUID, SyncRun]:
    return await repo.latest_runs_of_imports(session, user_id, import_ids)


def runs_query(user_id: uuid.UUID, *, kind: str | None = None, state: str | None = None,
               connection_id: uuid.UUID | None = None, import_id: uuid.UUID | None = None) -> sa.Select[Any]:
    """The user's runs with these filters (unordered), for a keyset page and its count."""
    return repo.runs_query(user_id, kind=kind, state=state, connection_id=connection_id, import_id=import_id)
