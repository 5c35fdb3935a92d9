"""Subscription fields of notifications (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class NotificationSubscription:
    pass
