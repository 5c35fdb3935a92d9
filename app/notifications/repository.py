"""All SQL of notifications; every statement is scoped to one user."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.notifications.models import Notification

_table: sa.Table = Notification.__table__  # type: ignore[attr-defined]


async def insert(session: AsyncSession, row: Notification) -> None:
    await session.execute(sa.insert(_table).values(
        id=row.id, user_id=row.user_id, kind=row.kind, title=row.title, body=row.body, data=row.data,
        subject_id=row.subject_id, created_at=row.created_at))


async def notifications_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                               ) -> list[Notification]:
    if not ids:
        return []
    stmt = sa.select(Notification).where(col(Notification.user_id) == user_id, col(Notification.id).in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


async def owned_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Those of `ids` that are the user's notifications, locked until the transaction ends."""
    if not ids:
        return []
    stmt = (sa.select(_table.c.id).where(_table.c.user_id == user_id, _table.c.id.in_(list(ids)))
            .with_for_update())
    return [row[0] for row in await session.execute(stmt)]


def notifications_query(user_id: uuid.UUID, *, unread: bool | None = None) -> sa.Select[Any]:
    """The user's notifications (unordered) for a keyset page and its count."""
    stmt = sa.select(Notification).where(col(Notification.user_id) == user_id)
    if unread is True:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    elif unread is False:
        stmt = stmt.where(col(Notification.read_at).is_not(None))
    return stmt


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).select_from(_table).where(_table.c.user_id == user_id,
                                                                 _table.c.read_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def set_read(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None,
                   read: bool) -> list[uuid.UUID]:
    """Set the read state; returns the ids whose state changed, newest first."""
    stmt = sa.update(_table).where(_table.c.user_id == user_id)
    if ids is not None:
        stmt = stmt.where(_table.c.id.in_(list(ids)))
    if read:
        stmt = stmt.where(_table.c.read_at.is_(None)).values(read_at=sa.func.now())
    else:
        stmt = stmt.where(_table.c.read_at.is_not(None)).values(read_at=None)
    result = await session.execute(stmt.returning(_table.c.id, _table.c.created_at))
    return [row[0] for row in sorted(result, key=lambda r: (r[1], r[0]), reverse=True)]
