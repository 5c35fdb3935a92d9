"""Subscription fields of sync: one mixin per file (runs)."""

from __future__ import annotations

import strawberry

from app.graphql.sync.runs import RunSubscription


@strawberry.type
class SyncSubscription(RunSubscription):
    pass
