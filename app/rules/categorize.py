"""Categorization of new transactions: rules, then the merchant memory.

Called by the import and sync pipeline before its commit, for the transactions it added or updated, with
all of their ids at once. A category the user chose (source USER) is never overwritten. Statements: the
ledger lock (when not held yet), the rules, the rows, the memory (when a row may still use it) and one bulk
update — the same number for 10 rows or 100k.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.db import UnitOfWork
from app.rules import repository as repo
from app.rules.engine import CompiledRule, Outcome, Row, apply_rules
from app.rules.memory import memory_key


async def compiled_rules(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None
                         ) -> list[CompiledRule]:
    """The rules to apply, in order, ready to match."""
    return [CompiledRule(rule.id, rule.name, rule.conditions, rule.actions, category)
            for rule, category in await repo.rules_to_apply(session, user_id, ids)]


async def write(session: AsyncSession, user_id: uuid.UUID, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Store the outcomes that change something (one statement) and tell the budgets about category moves;
    returns those outcomes. The caller holds the ledger lock."""
    changes = [o for o in outcomes if o.changed]
    await repo.write_outcomes(session, user_id, changes)
    moved = tuple({c for o in changes if o.category_changed for c in (o.row.category_id, o.category_id)})
    if moved:
        effects.touch_categories(session, user_id, moved)
    return changes


async def categorize_rows(session: AsyncSession, user_id: uuid.UUID, rows: Sequence[Row],
                          rules: Sequence[CompiledRule], *, use_memory: bool) -> list[Outcome]:
    """Decide and store: the rules, then (with `use_memory`) the merchant memory; returns what changed."""
    for rule in rules:
        rule.allow(len(rows))
    outcomes = [apply_rules(row, rules) for row in rows]
    if use_memory:
        waiting = [o for o in outcomes if o.wants_memory]
        known = await repo.memory_for(session, user_id, sorted({memory_key(o.row.merchant) for o in waiting}))
        for outcome in waiting:
            found = known.get(memory_key(outcome.row.merchant))
            if found is not None:
                outcome.remember(*found)
    return await write(session, user_id, outcomes)


async def categorize_new(uow: UnitOfWork, user_id: uuid.UUID, transaction_ids: Sequence[uuid.UUID]) -> int:
    """Apply the user's rules, then the merchant memory, to these transactions; returns how many changed."""
    ids = list(dict.fromkeys(transaction_ids))
    if not ids:
        return 0
    session = uow.session
    await effects.lock_ledger(session, user_id)
    rules = await compiled_rules(session, user_id)
    rows = [Row.of(values) for values in await repo.rows_by_ids(session, user_id, ids)]
    return len(await categorize_rows(session, user_id, rows, rules, use_memory=True))
