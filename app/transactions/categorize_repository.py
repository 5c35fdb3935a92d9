"""SQL of the user's categorizations (`transactionCategorize`, `transactionsCategorizeBulk`): one statement for
the rows whatever their number (the merchant memory is `app.rules.memory.learn_many`). Scoped to one user."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
