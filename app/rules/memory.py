"""The merchant memory: per user, a normalized merchant -> the category the user chose for it.

A user's choice teaches it: creating a transaction with a category, or setting one on an existing
transaction (`transactionUpdate`), upserts (user, merchant key) -> category. Choosing the same category
again counts up (the count makes the memory surer: confidence count / (count + 1)); choosing another
category overrides the entry and starts its count over at 1, since the latest choice says most about what
the user wants now. Clearing a category teaches nothing. Later transactions of that merchant get the
category (source MEMORY) through `app.rules.categorize.categorize_new`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.rules import repository as repo


def memory_key(merchant: str | None) -> str:
    """The memory's key for a transaction's (already normalized) merchant: case-folded, single spaces."""
    return " ".join((merchant or "").casefold().split())[:200]


async def learn(session: AsyncSession, user_id: uuid.UUID, merchant: str | None, category_id: uuid.UUID | None) -> None:
    """Remember the user's choice of `category_id` (one of the user's categories) for `merchant`: one
    statement, none when there is no merchant or no category."""
    key = memory_key(merchant)
    if key and category_id is not None:
        await repo.remember(session, user_id, key, category_id)


async def learn_many(session: AsyncSession, user_id: uuid.UUID, merchants: Sequence[str | None],
                     category_id: uuid.UUID) -> None:
    """Remember one choice of `category_id` per merchant given (a merchant given twice counts twice), as
    that many `learn` calls would: one statement, none when no merchant has a key."""
    times = Counter(key for key in map(memory_key, merchants) if key)
    await repo.remember_many(session, user_id, category_id, times)
