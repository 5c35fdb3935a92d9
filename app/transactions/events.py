"""Events of the ledger, published after commit to `florin:user:{id}`."""

from __future__ import annotations

import dataclasses
import uuid
from enum import Enum

from app.events import Event


class ChangeKind(str, Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    BULK_CHANGED = "BULK_CHANGED"


@dataclasses.dataclass(frozen=True)
class TransactionChanged(Event):
    """One transaction changed, or many at once (imports and syncs publish one BULK_CHANGED)."""

    kind: str
    transaction_id: uuid.UUID | None
    account_ids: tuple[uuid.UUID, ...]
    count: int = 1
    sync_run_id: uuid.UUID | None = None
