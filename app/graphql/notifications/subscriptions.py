"""Subscriptions: `notificationsLive`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.graphql.context import Info
from app.graphql.notifications.queries import load_notifications
from app.graphql.notifications.types import Notification
from app.notifications.events import NotificationCreated


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(description="The caller's new notifications as they are created, from any API process "
                                         "or worker.")
    async def notifications_live(self, info: Info) -> AsyncGenerator[Notification, None]:
        ctx = info.context
        principal = ctx.viewer()
        async for event in ctx.resources.hub.stream(principal.user_id, NotificationCreated):
            assert isinstance(event, NotificationCreated)
            found = (await load_notifications(ctx, [event.notification_id]))[0]
            if found is not None:  # loaded for this user only
                yield found
