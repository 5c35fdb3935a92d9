"""All SQL of the import and sync pipeline: the stored rows a batch may match, bulk inserts and updates.

Rows travel as a handful of arrays (`unnest`), or by COPY, so thousands of rows cost one statement and one
round trip.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from asyncpg.exceptions import UniqueViolationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import new_id
from app.sync.dedupe import Existing, Update

_EXISTING = """
SELECT id, booked_on, amount, status, external_id, fingerprint, description
FROM transactions
WHERE user_id = $1 AND account_id = $2
  AND (booked_on BETWEEN $3 AND $4 OR external_id = ANY($5::text[]) OR fingerprint = ANY($6::text[]))
"""


async def existing_rows(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, *, low: dt.date,
                        high: dt.date, external_ids: Sequence[str], fingerprints: Sequence[str]) -> list[Existing]:
    """The account's rows booked in [low, high], or holding one of these provider ids or fingerprints (one
    statement; the values come from the driver as they are, without per-row processing by SQLAlchemy)."""
    connection = await session.connection()
    result = await connection.exec_driver_sql(_EXISTING, (user_id, account_id, low, high, list(external_ids),
                                                          list(fingerprints)))
    rows: list[Any] = list(result)  # (id, day, amount, status, external_id, fingerprint, description)
    return [Existing(*row) for row in rows]


@dataclass
class NewRows:
    """Columns of rows to insert into one account, index by index."""

    ids: list[uuid.UUID]
    days: list[dt.date]
    amounts: list[Decimal]
    descriptions: list[str]
    merchants: list[str]
    notes: list[str]
    statuses: list[str]
    external_ids: list[str | None]
    fingerprints: list[str]
    category_ids: list[uuid.UUID | None]
    category_sources: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)


_INSERT = """
INSERT INTO transactions (id, user_id, account_id, booked_on, amount, currency, description, merchant, notes,
                          status, external_id, fingerprint, sync_run_id, category_id, category_source)
SELECT u.id, $1, $2, u.booked_on, u.amount, $3, u.description, u.merchant, u.notes,
       u.status, u.external_id, u.fingerprint, $4, u.category_id, u.category_source
FROM unnest($5::uuid[], $6::date[], $7::numeric[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::text[], $14::uuid[], $15::text[])
     AS u(id, booked_on, amount, description, merchant, notes, status, external_id, fingerprint, category_id,
          category_source)
ON CONFLICT DO NOTHING
"""
_INSERTED = """
SELECT id FROM transactions WHERE user_id = $1 AND account_id = $2 AND id = ANY($3::uuid[])
"""


_COLUMNS = ("id", "user_id", "account_id", "booked_on", "amount", "currency", "description", "merchant", "notes",
            "status", "external_id", "fingerprint", "sync_run_id", "category_id", "category_source")


async def insert_rows(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, currency: str,
                      run_id: uuid.UUID, rows: NewRows) -> list[tuple[uuid.UUID, dt.date, Decimal]]:
    """Insert the rows; a row colliding with a stored one (same provider id or fingerprint in the account,
    e.g. written by a concurrent writer) is skipped. Returns (id, day, amount) of those inserted.

    The rows go in by COPY (binary, through the driver) inside a savepoint: the plan already left out every
    stored row, so a collision is rare, and then the savepoint is rolled back and the rows go in again by
    `INSERT ... ON CONFLICT DO NOTHING` (`insert_rows_skipping`).
    """
    records = list(zip(rows.ids, repeat(user_id), repeat(account_id), rows.days, rows.amounts, repeat(currency),
                       rows.descriptions, rows.merchants, rows.notes, rows.statuses, rows.external_ids,
                       rows.fingerprints, repeat(run_id), rows.category_ids, rows.category_sources))
    try:
        async with session.begin_nested():
            connection = await session.connection()
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.copy_records_to_table("transactions", records=records, columns=_COLUMNS)
    except UniqueViolationError:
        return await insert_rows_skipping(session, user_id, account_id, currency, run_id, rows)
    return list(zip(rows.ids, rows.days, rows.amounts, strict=True))


async def insert_rows_skipping(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, currency: str,
                               run_id: uuid.UUID, rows: NewRows) -> list[tuple[uuid.UUID, dt.date, Decimal]]:
    """`insert_rows` in one statement that skips colliding rows. The arrays go to the driver as they are
    (no per-item processing by SQLAlchemy), and only the count comes back: when it falls short, a second
    statement asks which of the new ids are stored."""
    connection = await session.connection()
    result = await connection.exec_driver_sql(_INSERT, (
        user_id, account_id, currency, run_id, rows.ids, rows.days, rows.amounts, rows.descriptions, rows.merchants,
        rows.notes, rows.statuses, rows.external_ids, rows.fingerprints, rows.category_ids, rows.category_sources))
    if result.rowcount == len(rows):
        return list(zip(rows.ids, rows.days, rows.amounts, strict=True))
    found = await connection.exec_driver_sql(_INSERTED, (user_id, account_id, rows.ids))
    stored = {row[0] for row in found}
    return [(id_, day, amount) for id_, day, amount in zip(rows.ids, rows.days, rows.amounts, strict=True)
            if id_ in stored]


_SPLITS = sa.text("""
WITH lines AS (
    INSERT INTO transaction_splits (id, transaction_id, user_id, category_id, amount, notes, position)
    SELECT u.id, u.transaction_id, :user, u.category_id, u.amount, u.notes, u.position
    FROM unnest(CAST(:ids AS uuid[]), CAST(:transactions AS uuid[]), CAST(:categories AS uuid[]),
                CAST(:amounts AS numeric[]), CAST(:notes AS text[]), CAST(:positions AS int[]))
         AS u(id, transaction_id, category_id, amount, notes, position)
    RETURNING transaction_id
)
UPDATE transactions SET has_splits = true
WHERE user_id = :user AND id IN (SELECT transaction_id FROM lines)
""")


async def insert_splits(session: AsyncSession, user_id: uuid.UUID,
                        lines: Sequence[tuple[uuid.UUID, uuid.UUID | None, Decimal, str, int]]) -> None:
    """Write split lines (transaction, category, amount, notes, position) and mark their transactions split:
    one statement."""
    await session.execute(_SPLITS, {
        "user": user_id, "ids": [new_id() for _ in lines], "transactions": [line[0] for line in lines],
        "categories": [line[1] for line in lines], "amounts": [line[2] for line in lines],
        "notes": [line[3] for line in lines], "positions": [line[4] for line in lines]})


_RELEASE = sa.text("""
UPDATE transactions SET fingerprint = NULL
WHERE user_id = :user AND account_id = :account AND id = ANY(CAST(:ids AS uuid[]))
""")
_UPDATE = sa.text("""
UPDATE transactions AS t
SET booked_on = u.booked_on, status = u.status, external_id = u.external_id,
    sync_run_id = CASE WHEN u.posted THEN :run ELSE t.sync_run_id END,
    fingerprint = CASE WHEN EXISTS (SELECT 1 FROM transactions x WHERE x.account_id = t.account_id
                                    AND x.fingerprint = u.fingerprint AND x.id <> t.id)
                       THEN NULL ELSE u.fingerprint END,
    updated_at = now()
FROM unnest(CAST(:ids AS uuid[]), CAST(:days AS date[]), CAST(:statuses AS text[]), CAST(:external_ids AS text[]),
            CAST(:fingerprints AS text[]), CAST(:posted AS boolean[]))
     AS u(id, booked_on, status, external_id, fingerprint, posted)
WHERE t.id = u.id AND t.user_id = :user AND t.account_id = :account
""")


async def update_rows(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, run_id: uuid.UUID,
                      updates: Sequence[Update]) -> None:
    """Apply the plan's in-place updates: two statements (fingerprints are released first, so rows may swap
    them; one already taken by a row outside the plan is left empty rather than failing the run)."""
    ids = [u.id for u in updates]
    await session.execute(_RELEASE, {"user": user_id, "account": account_id, "ids": ids})
    await session.execute(_UPDATE, {
        "user": user_id, "account": account_id, "run": run_id, "ids": ids, "days": [u.day for u in updates],
        "statuses": [u.status for u in updates], "external_ids": [u.external_id for u in updates],
        "fingerprints": [u.fingerprint for u in updates], "posted": [u.posted for u in updates]})
