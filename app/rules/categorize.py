"""Categorization of new transactions: rules, then the merchant memory (being built).

Called by the import and sync pipeline before its commit, for the transactions it added or updated. A
category the user chose (source USER) is never overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.db import UnitOfWork


async def categorize_new(uow: UnitOfWork, user_id: uuid.UUID, transaction_ids: Sequence[uuid.UUID]) -> int:
    """Apply the user's rules, then the merchant memory, to these transactions; returns how many changed."""
    return 0
