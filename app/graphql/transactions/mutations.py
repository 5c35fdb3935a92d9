"""Mutations of transactions."""

from __future__ import annotations

import strawberry


@strawberry.type
class TransactionMutation:
    pass
