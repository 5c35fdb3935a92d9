"""Recurring charges of a user, computed on demand from the ledger (no table of their own)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.recurring import repository as repo
from app.recurring.detect import Series, detect

LOOKBACK_DAYS = 800
"""How far back charges are read: two yearly charges and the tolerance fit in."""


async def recurring(session: AsyncSession, user_id: uuid.UUID, *, today: dt.date) -> list[Series]:
    """The user's recurring series as of `today`, by merchant: one statement."""
    charges = await repo.candidate_charges(session, user_id, start=today - dt.timedelta(days=LOOKBACK_DAYS),
                                           end=today)
    return detect(charges, today)
