"""Mutations: `notificationsMarkRead`."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.graphql.context import Info
from app.graphql.mutation import run_mutation
from app.graphql.node import from_global_id
from app.graphql.notifications.queries import load_notifications
from app.graphql.notifications.types import NotificationsMarkReadInput, NotificationsMarkReadPayload
from app.notifications import service


def _decoded(ids: list[strawberry.ID]) -> list[uuid.UUID | None]:
    """Each id's uuid, or None for a malformed id or one of another type (NOT_FOUND at its position)."""
    out: list[uuid.UUID | None] = []
    for value in ids:
        decoded = from_global_id(value)
        out.append(decoded[1] if decoded is not None and decoded[0] == "Notification" else None)
    return out


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mark some or all of the caller's notifications read, or unread again.")
    async def notifications_mark_read(self, info: Info, input: NotificationsMarkReadInput
                                      ) -> NotificationsMarkReadPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            ids = None if input.ids is None else _decoded(input.ids)
            result = await service.mark_read(uow, principal.user_id, ids=ids, read=input.read)
            return {"changed": [str(i) for i in result.changed], "count": result.count}

        data = {"ids": None if input.ids is None else list(input.ids), "read": input.read}
        result, errors = await run_mutation(ctx, "notificationsMarkRead", action, key=input.idempotency_key,
                                            data=data)
        if errors or result is None:
            return NotificationsMarkReadPayload(notifications=[], count=0, errors=errors)
        found = await load_notifications(ctx, [uuid.UUID(i) for i in result["changed"]])
        changed = sorted((n for n in found if n is not None), key=lambda n: (n.created_at, n.db_id), reverse=True)
        return NotificationsMarkReadPayload(notifications=changed, count=result["count"], errors=[])
