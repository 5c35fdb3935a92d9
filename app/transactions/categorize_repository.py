"""SQL of the user's categorizations (`transactionCategorize`, `transactionsCategorizeBulk`): one statement for
the rows, one for the merchant memory, whatever their number. Scoped to one user."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.transactions.models import Transaction

_tx: sa.Table = Transaction.__table__  # type: ignore[attr-defined]


def _uuids(name: str, values: Sequence[uuid.UUID]) -> sa.BindParameter[Any]:
    """One array parameter, so the statement is the same for 1 id or 500."""
    return sa.bindparam(name, list(values), type_=ARRAY(sa.Uuid))


async def set_category(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID],
                       category_id: uuid.UUID | None, source: str | None) -> None:
    """Give these transactions `category_id` chosen by `source` (no confidence) and drop their suggestions."""
    await session.execute(
        sa.update(_tx)
        .where(_tx.c.user_id == user_id, _tx.c.id == sa.any_(_uuids("ids", ids)))
        .values(category_id=category_id, category_source=source, category_confidence=None,
                suggested_category_id=None, suggested_source=None, suggested_confidence=None,
                updated_at=sa.func.now()))


_REMEMBER = sa.text("""
    INSERT INTO merchant_memory (user_id, merchant, category_id, count, updated_at)
    SELECT :user, chosen.merchant, :category, chosen.times, now()
    FROM unnest(CAST(:merchants AS varchar[]), CAST(:times AS integer[])) AS chosen(merchant, times)
    ON CONFLICT (user_id, merchant) DO UPDATE SET
        count = CASE WHEN merchant_memory.category_id = excluded.category_id
                     THEN merchant_memory.count + excluded.count ELSE excluded.count END,
        category_id = excluded.category_id,
        updated_at = now()
""")


async def remember_many(session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID,
                        times: Mapping[str, int]) -> None:
    """Upsert (user, merchant key) -> category for many merchants at once, `times[key]` choices each: the same
    category counts up by that many, another one starts over at that many (as that many single choices
    would). One statement; none when `times` is empty. The keys must be distinct memory keys."""
    if not times:
        return
    merchants = list(times)
    await session.execute(_REMEMBER, {"user": user_id, "category": category_id, "merchants": merchants,
                                      "times": [times[key] for key in merchants]})
