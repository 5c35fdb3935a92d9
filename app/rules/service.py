"""Rules: create, update, delete, list, and apply to existing transactions. Never commits.

A rule has a name, a priority (rules run by ascending priority, then by creation), an enabled flag,
conditions that must all hold (description or merchant contains text or matches a regular expression,
amount range, accounts) and actions (set a category, add tags). Rules are applied to new transactions by
`app.rules.categorize.categorize_new` and, on request, to existing ones by `apply_rules`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.accounts import repository as accounts_repo
from app.auth.principal import Principal
from app.db import UnitOfWork, new_id
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound
from app.rules import repository as repo
from app.rules import spec
from app.rules.categorize import categorize_rows, compiled_rules
from app.rules.engine import Row
from app.rules.models import Rule
from app.rules.spec import Actions, Conditions
from app.transactions.events import ChangeKind, TransactionChanged

MAX_RULES = 200
APPLY_BATCH = 2000


class _Keep(Enum):
    KEEP = "KEEP"


KEEP = _Keep.KEEP
"""Default of partial-update arguments: leave the value as it is."""


async def rules(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None) -> list[Rule]:
    """The user's rules (all, or those among `ids`) by priority, then creation: one statement."""
    return await repo.rules(session, user_id, ids)


async def create_rule(uow: UnitOfWork, principal: Principal, *, name: str | None, priority: int | None = 0,
                      enabled: bool | None = True, conditions: Conditions | None, actions: Actions | None,
                      rule_id: uuid.UUID | None = None) -> Rule:
    """A new rule; every bad field is reported at once and nothing is stored then."""
    session, user_id = uow.session, principal.user_id
    errors = Collector()
    clean_name = spec.name(errors, name)
    rank = spec.priority(errors, priority)
    when = await spec.conditions(session, user_id, errors, conditions)
    then = await spec.actions(session, user_id, errors, actions)
    errors.raise_if_any()
    if await repo.count_rules(session, user_id) >= MAX_RULES:
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_RULES} rules; delete some first.", None)
    new = rule_id or new_id()
    if not await repo.insert_rule(session, {"id": new, "user_id": user_id, "name": clean_name, "priority": rank,
                                            "enabled": True if enabled is None else enabled,
                                            "conditions": when, "actions": then}):
        raise Conflict(message="This id cannot be used for a new rule; choose another.", field="id")
    return (await repo.rules(session, user_id, [new]))[0]


async def update_rule(uow: UnitOfWork, principal: Principal, *, rule_id: uuid.UUID, name: str | None | _Keep = KEEP,
                      priority: int | None | _Keep = KEEP, enabled: bool | None | _Keep = KEEP,
                      conditions: Conditions | None | _Keep = KEEP, actions: Actions | None | _Keep = KEEP) -> Rule:
    """Change only the arguments given (KEEP leaves a value); given conditions or actions replace the old ones.
    None is refused where a value is needed (REQUIRED)."""
    session, user_id = uow.session, principal.user_id
    if await repo.rule_for_update(session, user_id, rule_id) is None:
        raise NotFound(message="No Rule with this id", field="id")
    errors = Collector()
    values: dict[str, Any] = {}
    if name is not KEEP:
        values["name"] = spec.name(errors, name)
    if priority is not KEEP:
        if priority is None:
            errors.add(ErrorCode.REQUIRED, "A priority is required.", "priority")
        values["priority"] = spec.priority(errors, priority)
    if enabled is not KEEP:
        if enabled is None:
            errors.add(ErrorCode.REQUIRED, "Say whether the rule is enabled.", "enabled")
        values["enabled"] = bool(enabled)
    if conditions is not KEEP:
        values["conditions"] = await spec.conditions(session, user_id, errors, conditions)
    if actions is not KEEP:
        values["actions"] = await spec.actions(session, user_id, errors, actions)
    errors.raise_if_any()
    if values:
        await repo.update_rule(session, user_id, rule_id, values)
    return (await repo.rules(session, user_id, [rule_id]))[0]


async def delete_rule(uow: UnitOfWork, principal: Principal, *, rule_id: uuid.UUID) -> uuid.UUID:
    """Delete a rule (what it did to transactions stays); a tombstone tells offline clients."""
    if not await repo.delete_rule(uow.session, principal.user_id, rule_id):
        raise NotFound(message="No Rule with this id", field="id")
    return rule_id


async def apply_rules(uow: UnitOfWork, principal: Principal, *, rule_ids: Sequence[uuid.UUID] | None = None,
                      date_from: dt.date | None = None, date_to: dt.date | None = None,
                      account_ids: Sequence[uuid.UUID] | None = None) -> int:
    """Apply rules to the user's existing transactions booked from `date_from` to `date_to` (inclusive, each
    optional) in `account_ids` (None: all accounts); returns how many transactions changed.

    Without `rule_ids` every enabled rule runs; with them exactly those (a disabled one too, since it was
    asked for), still in priority order. Only rules: the merchant memory fills new transactions. A category
    the user chose is never replaced. Rows are read and written in batches of APPLY_BATCH, under the ledger
    lock; budgets see the moves before the commit, and clients get one BULK_CHANGED event.
    """
    session, user_id = uow.session, principal.user_id
    errors = Collector()
    if date_from is not None and date_to is not None and date_to < date_from:
        errors.add(ErrorCode.INVALID, "`to` must not be before `from`.", "to")
    accounts = list(dict.fromkeys(account_ids)) if account_ids is not None else None
    if accounts:
        found = {a.id for a in await accounts_repo.accounts_by_ids(session, user_id, accounts)}
        for i, account_id in enumerate(account_ids or ()):
            if account_id not in found:
                errors.add(ErrorCode.NOT_FOUND, "No Account with this id", f"accountIds.{i}")
    wanted = list(dict.fromkeys(rule_ids)) if rule_ids is not None else None
    if wanted:
        known = {rule.id for rule in await repo.rules(session, user_id, wanted)}
        for i, rule_id in enumerate(rule_ids or ()):
            if rule_id not in known:
                errors.add(ErrorCode.NOT_FOUND, "No Rule with this id", f"ruleIds.{i}")
    errors.raise_if_any()
    if wanted == [] or accounts == []:
        return 0
    await effects.lock_ledger(session, user_id)
    compiled = await compiled_rules(session, user_id, wanted)
    if not compiled:
        return 0
    changed = 0
    touched: set[uuid.UUID] = set()
    after: uuid.UUID | None = None
    while True:
        rows = [Row.of(values) for values in await repo.rows_in_window(
            session, user_id, date_from=date_from, date_to=date_to, account_ids=accounts, after=after,
            limit=APPLY_BATCH)]
        if not rows:
            break
        done = await categorize_rows(session, user_id, rows, compiled, use_memory=False)
        changed += len(done)
        touched.update(o.row.account_id for o in done)
        if len(rows) < APPLY_BATCH:
            break
        after = rows[-1].id
    if changed:
        uow.publish(user_id, TransactionChanged(kind=ChangeKind.BULK_CHANGED.value, transaction_id=None,
                                                account_ids=tuple(sorted(touched)), count=changed))
    return changed
