"""All SQL of sync runs, statement imports and CSV mapping presets. Every read is scoped to one user."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import col

from app.sync.models import CsvMappingPreset, RunState, StatementImport, SyncRun

_ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)

# --- runs -------------------------------------------------------------------------------------------------


async def insert_run(session: AsyncSession, run: SyncRun) -> SyncRun:
    session.add(run)
    await session.flush()
    return run


def _update_run(run_id: uuid.UUID, *where: sa.ColumnElement[bool]) -> sa.Update:
    return (sa.update(SyncRun).where(col(SyncRun.id) == run_id, *where)
            .returning(SyncRun).execution_options(synchronize_session=False, populate_existing=True))


async def start_run(session: AsyncSession, run_id: uuid.UUID, *, phase: str) -> SyncRun | None:
    """QUEUED or RUNNING (a retried attempt) -> RUNNING with one more attempt; None when it already ended."""
    stmt = _update_run(run_id, col(SyncRun.state).in_(_ACTIVE)).values(
        state=RunState.RUNNING.value, attempts=SyncRun.attempts + 1, started_at=sa.func.now(), error=None,
        phase=phase, done=0, finished_at=None)
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_progress(session: AsyncSession, run_id: uuid.UUID, attempt: int, *, phase: str, done: int,
                          total: int | None) -> None:
    """Progress of the attempt still in charge (a superseded attempt writes nothing)."""
    await session.execute(
        sa.update(SyncRun).where(col(SyncRun.id) == run_id, col(SyncRun.attempts) == attempt,
                                 col(SyncRun.state) == RunState.RUNNING.value)
        .values(phase=phase, done=done, total=total).execution_options(synchronize_session=False))


async def finish_run(session: AsyncSession, run_id: uuid.UUID, attempt: int | None,
                     values: dict[str, Any]) -> SyncRun | None:
    """RUNNING -> SUCCEEDED with `values` (counts) when `attempt` is still the run's latest; else None."""
    where: list[sa.ColumnElement[bool]] = [col(SyncRun.state) == RunState.RUNNING.value]
    if attempt is not None:
        where.append(col(SyncRun.attempts) == attempt)
    stmt = _update_run(run_id, *where).values(state=RunState.SUCCEEDED.value, finished_at=sa.func.now(), **values)
    return (await session.execute(stmt)).scalar_one_or_none()


async def fail_run(session: AsyncSession, run_id: uuid.UUID, attempt: int | None, error: str) -> SyncRun | None:
    """QUEUED/RUNNING -> FAILED with the error text; None when it already ended (or a newer attempt runs)."""
    where: list[sa.ColumnElement[bool]] = [col(SyncRun.state).in_(_ACTIVE)]
    if attempt is not None:
        where.append(col(SyncRun.attempts) == attempt)
    stmt = _update_run(run_id, *where).values(state=RunState.FAILED.value, finished_at=sa.func.now(), error=error,
                                              phase="failed")
    return (await session.execute(stmt)).scalar_one_or_none()


async def run_by_id(session: AsyncSession, run_id: uuid.UUID, user_id: uuid.UUID | None = None) -> SyncRun | None:
    stmt = sa.select(SyncRun).where(col(SyncRun.id) == run_id)
    if user_id is not None:
        stmt = stmt.where(col(SyncRun.user_id) == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def runs_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[SyncRun]:
    if not ids:
        return []
    stmt = sa.select(SyncRun).where(col(SyncRun.user_id) == user_id, col(SyncRun.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


def runs_query(user_id: uuid.UUID, *, kind: str | None = None, state: str | None = None,
               connection_id: uuid.UUID | None = None, import_id: uuid.UUID | None = None) -> sa.Select[Any]:
    stmt = sa.select(SyncRun).where(col(SyncRun.user_id) == user_id)
    if kind is not None:
        stmt = stmt.where(col(SyncRun.kind) == kind)
    if state is not None:
        stmt = stmt.where(col(SyncRun.state) == state)
    if connection_id is not None:
        stmt = stmt.where(col(SyncRun.connection_id) == connection_id)
    if import_id is not None:
        stmt = stmt.where(col(SyncRun.import_id) == import_id)
    return stmt


async def latest_runs_of_imports(session: AsyncSession, user_id: uuid.UUID,
                                 import_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SyncRun]:
    """The newest run of each import: one statement."""
    if not import_ids:
        return {}
    stmt = (sa.select(SyncRun).ext(distinct_on(col(SyncRun.import_id)))
            .where(col(SyncRun.user_id) == user_id, col(SyncRun.import_id).in_(list(import_ids)))
            .order_by(col(SyncRun.import_id), col(SyncRun.created_at).desc(), col(SyncRun.id).desc()))
    return {run.import_id: run for run in (await session.execute(stmt)).scalars() if run.import_id}


# --- imports ----------------------------------------------------------------------------------------------


async def insert_import(session: AsyncSession, row: StatementImport) -> StatementImport:
    session.add(row)
    await session.flush()
    return row


async def import_by_id(session: AsyncSession, import_id: uuid.UUID, user_id: uuid.UUID | None = None
                       ) -> StatementImport | None:
    """The import with its stored bytes (for the job that applies it)."""
    stmt = sa.select(StatementImport).where(col(StatementImport.id) == import_id)
    if user_id is not None:
        stmt = stmt.where(col(StatementImport.user_id) == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def imports_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                         ) -> list[StatementImport]:
    """The user's imports among `ids`, without their bytes: one statement."""
    if not ids:
        return []
    stmt = (sa.select(StatementImport).options(defer(StatementImport.content))  # type: ignore[arg-type]
            .where(col(StatementImport.user_id) == user_id, col(StatementImport.id).in_(list(ids))))
    return list((await session.execute(stmt)).scalars())


async def update_import_preview(session: AsyncSession, import_id: uuid.UUID, preview: dict[str, Any]) -> None:
    await session.execute(sa.update(StatementImport).where(col(StatementImport.id) == import_id)
                          .values(preview=preview).execution_options(synchronize_session=False))


# --- CSV mapping presets ------------------------------------------------------------------------------------


async def insert_preset(session: AsyncSession, values: dict[str, Any]) -> CsvMappingPreset | None:
    """Insert a preset; None when the user already has one of this name (any case) or the id is taken."""
    stmt = insert(CsvMappingPreset).values(**values).on_conflict_do_nothing().returning(CsvMappingPreset)
    return (await session.execute(stmt)).scalar_one_or_none()


async def preset_id_taken(session: AsyncSession, preset_id: uuid.UUID) -> bool:
    stmt = sa.select(sa.exists().where(col(CsvMappingPreset.id) == preset_id))
    return bool((await session.execute(stmt)).scalar_one())


async def presets_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                         ) -> list[CsvMappingPreset]:
    if not ids:
        return []
    stmt = sa.select(CsvMappingPreset).where(col(CsvMappingPreset.user_id) == user_id,
                                             col(CsvMappingPreset.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


async def presets_of(session: AsyncSession, user_id: uuid.UUID) -> list[CsvMappingPreset]:
    """The user's presets by name."""
    stmt = (sa.select(CsvMappingPreset).where(col(CsvMappingPreset.user_id) == user_id)
            .order_by(sa.func.lower(col(CsvMappingPreset.name)), col(CsvMappingPreset.id)))
    return list((await session.execute(stmt)).scalars())
