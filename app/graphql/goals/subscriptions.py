"""Subscription fields of goals: none of their own; milestones arrive as notifications (`notificationsLive`)."""

from __future__ import annotations

import strawberry


@strawberry.type
class GoalSubscription:
    pass
