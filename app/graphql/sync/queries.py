"""Query fields of sync: one mixin per file (runs, imports, and connections once they land)."""

from __future__ import annotations

import strawberry

from app.graphql.sync.connections import ConnectionQuery
from app.graphql.sync.imports import ImportQuery
from app.graphql.sync.runs import RunQuery


@strawberry.type
class SyncQuery(RunQuery, ImportQuery, ConnectionQuery):
    pass
