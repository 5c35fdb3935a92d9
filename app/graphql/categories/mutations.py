"""Mutations of categories."""

from __future__ import annotations

import strawberry


@strawberry.type
class CategoryMutation:
    pass
