"""Querys of categories."""

from __future__ import annotations

import strawberry


@strawberry.type
class CategoryQuery:
    pass
