"""Mutation fields of goals (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class GoalMutation:
    pass
