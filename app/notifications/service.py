"""The notification feed: every alert, milestone, sync failure and insight lands here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork, new_id
from app.errors import Collector, ErrorCode
from app.notifications import repository as repo
from app.notifications.events import NotificationCreated
from app.notifications.models import Notification, NotificationKind

MAX_TITLE = 200
MAX_MARK = 100
"""At most this many ids in one `mark_read` call (marking all takes no ids)."""


async def notify(uow: UnitOfWork, user_id: uuid.UUID, *, kind: NotificationKind, title: str, body: str = "",
                 data: dict[str, Any] | None = None, subject_id: uuid.UUID | None = None) -> Notification:
    """Store a notification and announce it to `notificationsLive` after the commit."""
    row = Notification(id=new_id(), user_id=user_id, kind=kind.value, title=title[:MAX_TITLE], body=body,
                       data=data or {}, subject_id=subject_id)
    await repo.insert(uow.session, row)
    uow.publish(user_id, NotificationCreated(notification_id=row.id, kind=kind.value))
    return row


@dataclass(frozen=True)
class MarkResult:
    changed: list[uuid.UUID]
    """The notifications whose read state changed, newest first."""
    count: int


async def mark_read(uow: UnitOfWork, user_id: uuid.UUID, *, ids: Sequence[uuid.UUID | None] | None,
                    read: bool = True) -> MarkResult:
    """Mark the given notifications (all of the user's when `ids` is None) read or unread.

    Every id must be one of the user's notifications: an unknown or foreign one (None stands for an id that
    could not be decoded) is NOT_FOUND on `ids.N`, and then nothing changes. Already-read (or unread) ones
    are left as they are and are not counted as changed.
    """
    if ids is None:
        changed = await repo.set_read(uow.session, user_id, None, read)
        return MarkResult(changed=[], count=len(changed))
    errors = Collector()
    if len(ids) > MAX_MARK:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_MARK} ids at once; omit `ids` to mark all.", "ids")
        errors.raise_if_any()
    wanted = [i for i in ids if i is not None]
    owned = set(await repo.owned_ids(uow.session, user_id, wanted))
    for position, value in enumerate(ids):
        if value is None or value not in owned:
            errors.add(ErrorCode.NOT_FOUND, "No Notification with this id", f"ids.{position}")
    errors.raise_if_any()
    changed = await repo.set_read(uow.session, user_id, wanted, read) if wanted else []
    return MarkResult(changed=changed, count=len(changed))


async def notifications_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                               ) -> list[Notification]:
    """The user's notifications among `ids` (foreign and missing ones left out): one statement."""
    return await repo.notifications_by_ids(session, user_id, ids)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await repo.unread_count(session, user_id)
