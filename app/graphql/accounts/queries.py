"""Querys of accounts."""

from __future__ import annotations

import strawberry


@strawberry.type
class AccountQuery:
    pass
