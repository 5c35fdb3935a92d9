"""Events of the notification feed."""

from __future__ import annotations

import dataclasses
import uuid

from app.events import Event


@dataclasses.dataclass(frozen=True)
class NotificationCreated(Event):
    """A notification was stored; `notificationsLive` subscribers load it by id."""

    notification_id: uuid.UUID
    kind: str
