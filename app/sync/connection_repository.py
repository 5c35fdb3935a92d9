"""All SQL of connections and of the accounts a connection feeds. Reads of the API are scoped to one user;
the worker's reads (by connection id) are marked as such."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import Account
from app.sync.models import Connection, ConnectionStatus, RunKind, RunState, SyncRun

_ACTIVE_RUN = (RunState.QUEUED.value, RunState.RUNNING.value)


def _returning(stmt: Any) -> Any:
    return stmt.returning(Connection).execution_options(synchronize_session=False, populate_existing=True)


async def insert_connection(session: AsyncSession, values: dict[str, Any]) -> Connection | None:
    """The new row; None when the id is taken (by anyone)."""
    stmt = _returning(insert(Connection).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    return (await session.execute(stmt)).scalar_one_or_none()


async def connection_by_id(session: AsyncSession, user_id: uuid.UUID, connection_id: uuid.UUID) -> Connection | None:
    stmt = sa.select(Connection).where(col(Connection.id) == connection_id, col(Connection.user_id) == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def connection_for_update(session: AsyncSession, user_id: uuid.UUID, connection_id: uuid.UUID
                                ) -> Connection | None:
    """The user's connection, row-locked until the transaction ends (serializes sync requests)."""
    stmt = (sa.select(Connection).where(col(Connection.id) == connection_id, col(Connection.user_id) == user_id)
            .with_for_update().execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def connection_of_worker(session: AsyncSession, connection_id: uuid.UUID, *, lock: bool = False
                               ) -> Connection | None:
    """The worker's read by id alone (a job receives only the id)."""
    stmt = sa.select(Connection).where(col(Connection.id) == connection_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def connections_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Connection]:
    if not ids:
        return []
    stmt = sa.select(Connection).where(col(Connection.user_id) == user_id, col(Connection.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


def connections_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(Connection).where(col(Connection.user_id) == user_id)


async def update_connection(session: AsyncSession, connection_id: uuid.UUID, values: dict[str, Any]
                            ) -> Connection | None:
    stmt = _returning(sa.update(Connection).where(col(Connection.id) == connection_id)
                      .values(**values, updated_at=sa.func.now()))
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_connection(session: AsyncSession, user_id: uuid.UUID, connection_id: uuid.UUID) -> bool:
    """Delete the connection (its runs go with it); its accounts stay, no longer linked to it."""
    await session.execute(sa.update(Account).where(col(Account.user_id) == user_id,
                                                   col(Account.connection_id) == connection_id)
                          .values(connection_id=None, updated_at=sa.func.now())
                          .execution_options(synchronize_session=False))
    result = await session.execute(sa.delete(Connection).where(col(Connection.id) == connection_id,
                                                               col(Connection.user_id) == user_id)
                                   .returning(col(Connection.id)))
    return result.scalar_one_or_none() is not None


# --- runs of a connection --------------------------------------------------------------------------------

async def queued_run(session: AsyncSession, connection_id: uuid.UUID) -> SyncRun | None:
    """The connection's QUEUED run, if any (the oldest), row-locked."""
    stmt = (sa.select(SyncRun).where(col(SyncRun.connection_id) == connection_id,
                                     col(SyncRun.state) == RunState.QUEUED.value)
            .order_by(col(SyncRun.created_at), col(SyncRun.id)).limit(1).with_for_update()
            .execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_runs(session: AsyncSession, user_id: uuid.UUID, connection_ids: Sequence[uuid.UUID]
                      ) -> dict[uuid.UUID, SyncRun]:
    """The newest run of each of the user's connections among `connection_ids` (one statement)."""
    if not connection_ids:
        return {}
    stmt = (sa.select(SyncRun).where(col(SyncRun.user_id) == user_id,
                                     col(SyncRun.connection_id).in_(list(connection_ids)))
            .ext(distinct_on(col(SyncRun.connection_id)))
            .order_by(col(SyncRun.connection_id), col(SyncRun.created_at).desc(), col(SyncRun.id).desc()))
    return {row.connection_id: row for row in (await session.execute(stmt)).scalars() if row.connection_id}


async def widen_run(session: AsyncSession, run_id: uuid.UUID, start: dt.date | None, end: dt.date | None
                    ) -> SyncRun:
    stmt = (sa.update(SyncRun).where(col(SyncRun.id) == run_id).values(window_start=start, window_end=end)
            .returning(SyncRun).execution_options(synchronize_session=False, populate_existing=True))
    return (await session.execute(stmt)).scalar_one()


async def next_run_id(session: AsyncSession, connection_id: uuid.UUID) -> uuid.UUID | None:
    """The oldest run of the connection still to do: RUNNING (a retried or interrupted one) before QUEUED."""
    stmt = (sa.select(col(SyncRun.id)).where(col(SyncRun.connection_id) == connection_id,
                                             col(SyncRun.state).in_(_ACTIVE_RUN))
            .order_by(sa.case((col(SyncRun.state) == RunState.RUNNING.value, 0), else_=1), col(SyncRun.created_at),
                      col(SyncRun.id)).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()


async def due_connections(session: AsyncSession, *, before: dt.datetime, stale_before: dt.datetime
                          ) -> tuple[list[tuple[uuid.UUID, uuid.UUID]], list[uuid.UUID]]:
    """(user, connection) of ACTIVE or ERROR connections without a run since `before` and none under way; and
    connections whose QUEUED run has waited since `stale_before` (its job may have been lost)."""
    recent = (sa.select(col(SyncRun.id)).where(col(SyncRun.connection_id) == col(Connection.id),
                                          sa.or_(col(SyncRun.created_at) >= before,
                                                 col(SyncRun.state).in_(_ACTIVE_RUN)))
              .correlate(Connection).exists())
    due = (sa.select(col(Connection.user_id), col(Connection.id))
           .where(col(Connection.status).in_([ConnectionStatus.ACTIVE.value, ConnectionStatus.ERROR.value]), ~recent)
           .order_by(col(Connection.id)))
    stale = (sa.select(col(SyncRun.connection_id)).distinct()
             .where(col(SyncRun.kind) == RunKind.SYNC.value, col(SyncRun.state) == RunState.QUEUED.value,
                    col(SyncRun.created_at) < stale_before, col(SyncRun.connection_id).is_not(None)))
    due_rows = [(row[0], row[1]) for row in (await session.execute(due)).all()]
    stale_ids = [row[0] for row in (await session.execute(stale)).all() if row[0] is not None]
    return due_rows, stale_ids


# --- accounts of a connection ---------------------------------------------------------------------------

async def linked_accounts(session: AsyncSession, user_id: uuid.UUID, connection_id: uuid.UUID) -> list[Account]:
    """The user's accounts fed by the connection, by external id."""
    stmt = (sa.select(Account).where(col(Account.user_id) == user_id, col(Account.connection_id) == connection_id)
            .order_by(col(Account.external_id), col(Account.id)).execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def accounts_of_connections(session: AsyncSession, user_id: uuid.UUID, connection_ids: Sequence[uuid.UUID]
                                  ) -> list[Account]:
    """The user's accounts fed by any of the connections, by name (one statement)."""
    if not connection_ids:
        return []
    stmt = (sa.select(Account).where(col(Account.user_id) == user_id,
                                     col(Account.connection_id).in_(list(connection_ids)))
            .order_by(col(Account.name), col(Account.id)))
    return list((await session.execute(stmt)).scalars())


async def link_account(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, connection_id: uuid.UUID,
                       external_id: str) -> None:
    await session.execute(sa.update(Account).where(col(Account.id) == account_id, col(Account.user_id) == user_id)
                          .values(connection_id=connection_id, external_id=external_id)
                          .execution_options(synchronize_session=False))
