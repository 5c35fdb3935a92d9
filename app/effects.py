"""What follows a change to the ledger, inside the same unit of work.

Every service that writes transactions, opening balances or valuations first calls `lock_ledger` (a
per-user advisory lock, so a user's ledger writers run one after another and each sees what the previous
one committed), then `touch` for each account and day it changed. Just before the commit, once per unit
of work, the consequences run: end-of-day balances are recomputed from the earliest changed day of each
touched account, budgets are evaluated for alerts, goals linked to touched accounts are checked for
milestones, and a net-worth update is published. An import of 100k rows pays for this once, not per row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork

_KEY = "ledger_changes"
_LOCKS = "ledger_locks"


@dataclass
class LedgerChanges:
    """What one unit of work changed in one user's ledger."""

    user_id: uuid.UUID
    accounts: dict[uuid.UUID, dt.date] = field(default_factory=dict)
    """The earliest changed day per account."""
    days: set[dt.date] = field(default_factory=set)
    """Booking days of changed transactions (old and new), for budget periods."""
    categories: set[uuid.UUID | None] = field(default_factory=set)
    """Categories of changed transactions and split lines (old and new); None for uncategorized."""

    @property
    def earliest(self) -> dt.date | None:
        return min(self.accounts.values(), default=None)


async def lock_ledger(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialize the user's ledger writers until this transaction ends (taken once per unit of work).

    Call it before any other statement that locks rows of the ledger, so two writers never wait on each
    other in opposite orders.
    """
    uow = UnitOfWork.of(session)
    held: set[uuid.UUID] = uow.state.setdefault(_LOCKS, set())
    if user_id in held:
        return
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                          {"key": f"ledger:{user_id}"})
    held.add(user_id)


def touch(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, day: dt.date, *,
          categories: tuple[uuid.UUID | None, ...] = ()) -> None:
    """Record that `account_id` changed from `day` on; its consequences run once, before the commit."""
    entry = _entry(session, user_id)
    earliest = entry.accounts.get(account_id)
    entry.accounts[account_id] = day if earliest is None else min(earliest, day)
    entry.days.add(day)
    entry.categories.update(categories)


def touch_categories(session: AsyncSession, user_id: uuid.UUID, categories: tuple[uuid.UUID | None, ...]) -> None:
    """Record that transactions moved between categories (balances unchanged; budgets may cross)."""
    _entry(session, user_id).categories.update(categories)


def _entry(session: AsyncSession, user_id: uuid.UUID) -> LedgerChanges:
    uow = UnitOfWork.of(session)
    if user_id not in uow.state.get(_LOCKS, ()):
        raise RuntimeError("lock_ledger() must come before touch()")
    changes: dict[uuid.UUID, LedgerChanges] = uow.state.setdefault(_KEY, {})
    entry = changes.get(user_id)
    if entry is None:
        entry = changes[user_id] = LedgerChanges(user_id)
        uow.before_commit.append(lambda: _apply(uow, entry))
    return entry


async def _apply(uow: UnitOfWork, changes: LedgerChanges) -> None:
    # imported here: these domains build on the ledger, and the ledger only calls them through this module
    from app.budgets import alerts
    from app.goals import milestones
    from app.networth import balances
    from app.networth.events import NetWorthChanged

    await balances.recompute(uow.session, changes.user_id, changes.accounts)
    await alerts.evaluate(uow, changes)
    if changes.accounts:
        await milestones.check_accounts(uow, changes.user_id, set(changes.accounts))
    earliest = changes.earliest
    if earliest is not None:
        uow.publish(changes.user_id, NetWorthChanged(since=earliest, account_ids=tuple(sorted(changes.accounts))))
