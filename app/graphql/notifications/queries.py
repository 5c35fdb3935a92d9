"""Query fields of notifications (being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class NotificationQuery:
    pass
