"""Events of sync runs, published to `florin:user:{id}` (progress also while a run's transaction is open)."""

from __future__ import annotations

import dataclasses
import uuid

from app.events import Event


@dataclasses.dataclass(frozen=True)
class SyncProgressed(Event):
    """A run moved on: queued, started, a batch applied, finished or failed.

    `phase` is a short word (queued, starting, reading, matching, applying, categorizing, done, failed);
    `done` of `total` counts the rows handled so far in this phase (`total` is None when unknown).
    """

    run_id: uuid.UUID
    state: str
    phase: str | None = None
    done: int = 0
    total: int | None = None
