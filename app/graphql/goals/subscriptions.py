"""Subscription fields of goals (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class GoalSubscription:
    pass
