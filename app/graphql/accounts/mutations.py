"""Mutations of accounts."""

from __future__ import annotations

import strawberry


@strawberry.type
class AccountMutation:
    pass
