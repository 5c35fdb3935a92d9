"""All SQL of recurring charges: one statement fetching the candidate expenses of one user."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.transactions.models import Transaction

_tx: sa.Table = Transaction.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Charge:
    id: uuid.UUID
    key: str
    """The normalized merchant: lower-cased, spaces collapsed (the description when the merchant is empty)."""
    merchant: str
    booked_on: dt.date
    amount: Decimal
    """The charge as a positive amount."""
    currency: str
    account_id: uuid.UUID
    category_id: uuid.UUID | None


def merchant_key(column: sa.ColumnElement[str], fallback: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    text = sa.func.coalesce(sa.func.nullif(sa.func.btrim(column), ""), sa.func.btrim(fallback))
    return sa.func.lower(sa.func.regexp_replace(text, r"\s+", " ", "g"))


async def candidate_charges(session: AsyncSession, user_id: uuid.UUID, *, start: dt.date, end: dt.date
                            ) -> list[Charge]:
    """The user's expenses (not transfers) booked in [start, end] whose merchant and currency occur at least
    twice in the window, ordered by merchant, currency, day and id: one statement."""
    key = merchant_key(_tx.c.merchant, _tx.c.description).label("key")
    inner = (
        sa.select(_tx.c.id, key, _tx.c.merchant, _tx.c.description, _tx.c.booked_on, _tx.c.amount,
                  _tx.c.currency, _tx.c.account_id, _tx.c.category_id)
        .where(_tx.c.user_id == user_id, _tx.c.amount < 0, _tx.c.transfer_id.is_(None),
               _tx.c.booked_on >= start, _tx.c.booked_on <= end)
        .subquery("charges"))
    counted = sa.select(inner, sa.func.count().over(partition_by=[inner.c.key, inner.c.currency]).label("n")
                        ).where(inner.c.key != "").subquery("counted")
    stmt = (sa.select(counted).where(counted.c.n >= 2)
            .order_by(counted.c.key, counted.c.currency, counted.c.booked_on, counted.c.id))
    return [Charge(id=r.id, key=r.key, merchant=(r.merchant or r.description).strip(), booked_on=r.booked_on,
                   amount=-Decimal(r.amount), currency=r.currency.strip(), account_id=r.account_id,
                   category_id=r.category_id)
            for r in await session.execute(stmt)]
