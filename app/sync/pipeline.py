"""The one pipeline every import and every sync applies rows through (being built).

Given the rows a statement or a provider produced for some of the user's accounts, it deduplicates them
(provider id when present, else a fingerprint of account, day, amount, normalized description and the
occurrence number within that key), updates a pending row that later posts in place, inserts the rest in
bulk, categorizes the new rows (app.rules.categorize), touches the ledger effects (balances from the
earliest changed day, budget alerts, goals), and publishes one BULK_CHANGED TransactionEvent. All inside
the caller's unit of work: it lands whole or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.db import UnitOfWork
from app.sync.providers.statement import ParsedTransaction


@dataclass
class RunCounts:
    added: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: int = 0


async def apply_rows(uow: UnitOfWork, user_id: uuid.UUID, *, run_id: uuid.UUID,
                     batches: Sequence[tuple[uuid.UUID, Sequence[ParsedTransaction]]]) -> RunCounts:
    """Apply `batches` of (account id, rows) for the user within `uow`; returns the counts."""
    raise NotImplementedError
