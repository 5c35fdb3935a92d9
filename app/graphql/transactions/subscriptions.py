"""Subscriptions of transactions."""

from __future__ import annotations

import strawberry


@strawberry.type
class TransactionSubscription:
    pass
