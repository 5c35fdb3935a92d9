"""Mutation fields of sync: one mixin per file (imports, and connections once they land)."""

from __future__ import annotations

import strawberry

from app.graphql.sync.connections import ConnectionMutation
from app.graphql.sync.imports import ImportMutation


@strawberry.type
class SyncMutation(ImportMutation, ConnectionMutation):
    pass
