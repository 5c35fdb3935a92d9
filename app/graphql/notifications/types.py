"""GraphQL types of the notification feed."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON

from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.notifications.models import Notification as NotificationRow
from app.notifications.models import NotificationKind as DomainNotificationKind

NotificationKind = strawberry.enum(
    DomainNotificationKind, name="NotificationKind",
    description="What a notification is about: BUDGET_ALERT, GOAL_MILESTONE, SYNC_FAILED, INSIGHT or "
                "DATA_EXPORT_READY.")


@strawberry.type(description="One entry of the caller's notification feed: a budget alert, a goal milestone, a "
                             "failed sync or an insight.")
class Notification(Node):
    kind: NotificationKind = strawberry.field(description="What the notification is about.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="A short headline, at most 200 characters.")
    body: str = strawberry.field(description="The longer text; empty when none.")
    data: JSON = strawberry.field(  # type: ignore[valid-type]
        description="Details for the client as a JSON object (e.g. the global ids of the budget or goal, "
                    "amounts as strings); its keys depend on `kind`.")
    created_at: dt.datetime = strawberry.field(description="When the notification was created.")
    read_at: dt.datetime | None = strawberry.field(description="When it was marked read; null while unread.")
    read: bool = strawberry.field(description="Whether it was marked read.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: NotificationRow) -> Notification:
        return cls(id=to_global_id("Notification", row.id), kind=DomainNotificationKind(row.kind), title=row.title,
                   body=row.body, data=dict(row.data or {}),  # type: ignore[arg-type]
                   created_at=row.created_at, read_at=row.read_at, read=row.read_at is not None, db_id=row.id)


@strawberry.input(description="Mark some or all of the caller's notifications read (or unread again).")
class NotificationsMarkReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="At most 100 Notifications; absent or null: every notification of the caller. "
                                  "An id that is not the caller's Notification is NOT_FOUND on `ids.N`, and then "
                                  "nothing changes.")
    read: bool = strawberry.field(default=True, description="true: mark read; false: mark unread again.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `notificationsMarkRead`.")
class NotificationsMarkReadPayload:
    notifications: list[Notification] = strawberry.field(
        description="The notifications whose read state changed, newest first, as they are now; empty when "
                    "`ids` was absent (see `count`) or when refused.")
    count: int = strawberry.field(description="How many notifications changed; those already in the asked state "
                                              "do not count.")
    errors: list[UserError] = strawberry.field(description=ERRORS)

    @strawberry.field(description="How many of the caller's notifications are unread now.")
    async def unread_count(self, info: Info) -> int:
        from app.notifications import service

        principal = info.context.viewer()
        async with info.context.resources.sessionmaker() as session:
            return await service.unread_count(session, principal.user_id)
