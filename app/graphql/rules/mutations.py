"""Mutation fields of rules (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class RuleMutation:
    pass
