"""The notification feed: every alert, milestone, sync failure and insight lands here."""

from __future__ import annotations

import uuid
from typing import Any

from app.db import UnitOfWork, new_id
from app.notifications import repository as repo
from app.notifications.events import NotificationCreated
from app.notifications.models import Notification, NotificationKind

MAX_TITLE = 200


async def notify(uow: UnitOfWork, user_id: uuid.UUID, *, kind: NotificationKind, title: str, body: str = "",
                 data: dict[str, Any] | None = None, subject_id: uuid.UUID | None = None) -> Notification:
    """Store a notification and announce it to `notificationsLive` after the commit."""
    row = Notification(id=new_id(), user_id=user_id, kind=kind.value, title=title[:MAX_TITLE], body=body,
                       data=data or {}, subject_id=subject_id)
    await repo.insert(uow.session, row)
    uow.publish(user_id, NotificationCreated(notification_id=row.id, kind=kind.value))
    return row


async def mark_read(uow: UnitOfWork, user_id: uuid.UUID, *, ids: list[uuid.UUID] | None,
                    read: bool = True) -> list[uuid.UUID]:
    """Mark the given notifications (all of the user's when `ids` is None) read or unread; returns those changed."""
    return await repo.set_read(uow.session, user_id, ids, read)
