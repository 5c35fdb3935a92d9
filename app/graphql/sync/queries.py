"""Query fields of sync (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class SyncQuery:
    pass
