"""The user's categorization of existing transactions: `transactionCategorize` (one) and
`transactionsCategorizeBulk` (1 to 500 at once).

The category is the user's choice (source USER, no confidence) and any recorded suggestion is dropped. The
choice teaches the merchant memory (for all merchants of a bulk in one statement, counted once per
transaction, as that many single choices would) and, after the commit, the per-user model: the job
`train_categorizer(user_id)` is enqueued with the job id `train:{user_id}`, so choices made while it is queued
share one run. Budgets see the moves through the ledger effects before the commit, so a line pushed over a
threshold alerts.

Refused, with nothing changed: an id that is not one of the caller's transactions (NOT_FOUND on the id
field; a bulk is all or nothing), a category that is not the caller's (NOT_FOUND on `categoryId`), a split
transaction (INVALID: its lines carry the categories, and budgets and reports read the lines, so a category
on the transaction itself would show but count nowhere; change the lines with `transactionUpdate`) and a leg
of a transfer (INVALID: transfers never count as income or spending, so a category would count nowhere;
unlink it first).

Statements, the same for 1 transaction or 500: the ledger lock, the category, the rows (locked), one update,
one memory upsert, and the budget evaluation before the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app import effects
from app.auth.principal import Principal
from app.categories import repository as categories_repo
from app.db import UnitOfWork
from app.errors import Collector, DomainError, ErrorCode
from app.rules import memory
from app.rules.learned import TRAIN_JOB, train_job_id
from app.transactions import categorize_repository as sql
from app.transactions import repository as repo
from app.transactions.events import ChangeKind, TransactionChanged
from app.transactions.models import CategorySource, Transaction

MAX_BULK = 500


async def categorize(uow: UnitOfWork, principal: Principal, *, transaction_ids: Sequence[uuid.UUID],
                     category_id: uuid.UUID | None, field: str = "ids") -> list[Transaction]:
    """Set `category_id` (None: uncategorized) as the user's choice on all of these transactions or on none.

    `field` names the ids in errors: `id` for one transaction, `ids` for a bulk (a refused row of a bulk is
    named by its position, `ids.3`). Returns the rows as they were before (their old categories)."""
    ids = list(dict.fromkeys(transaction_ids))
    if not 1 <= len(transaction_ids) <= MAX_BULK:
        raise DomainError(ErrorCode.INVALID, f"Give 1 to {MAX_BULK} transactions", field)
    session, user_id = uow.session, principal.user_id
    await effects.lock_ledger(session, user_id)
    errors = Collector()
    if category_id is not None and not await categories_repo.categories_by_ids(session, user_id, [category_id]):
        errors.add(ErrorCode.NOT_FOUND, "No such category", "categoryId")
    rows = {row.id: row for row in await repo.for_update(session, user_id, ids)}
    if len(rows) < len(ids):
        errors.add(ErrorCode.NOT_FOUND, "No such transaction" if field == "id" else
                   "Not all of these are your transactions; nothing was changed", field)
    else:
        first = {transaction_id: position for position, transaction_id in reversed(list(enumerate(transaction_ids)))}
        for transaction_id in ids:
            where = field if field == "id" else f"{field}.{first[transaction_id]}"
            row = rows[transaction_id]
            if row.transfer_id is not None:
                errors.add(ErrorCode.INVALID, "A transfer never counts as spending or income, so it takes no "
                                              "category; unlink it first", where)
            elif row.has_splits:
                errors.add(ErrorCode.INVALID, "A split transaction is categorized by its lines; change them "
                                              "with transactionUpdate", where)
    errors.raise_if_any()
    source = CategorySource.USER.value if category_id is not None else None
    await sql.set_category(session, user_id, ids, category_id, source)
    before = [rows[i] for i in ids]
    if category_id is not None:
        await memory.learn_many(session, user_id, [row.merchant for row in before], category_id)
        uow.enqueue(TRAIN_JOB, str(user_id), job_id=train_job_id(user_id))
    left = {row.category_id for row in before if row.category_id != category_id}
    if left:  # budgets may cross (balances do not move)
        effects.touch_categories(session, user_id, (*left, category_id))
    return before


async def categorize_one(uow: UnitOfWork, principal: Principal, *, transaction_id: uuid.UUID,
                         category_id: uuid.UUID | None) -> uuid.UUID:
    """`transactionCategorize`: one transaction; publishes UPDATED."""
    [row] = await categorize(uow, principal, transaction_ids=[transaction_id], category_id=category_id, field="id")
    uow.publish(principal.user_id, TransactionChanged(kind=ChangeKind.UPDATED.value, transaction_id=row.id,
                                                      account_ids=(row.account_id,)))
    return row.id


async def categorize_bulk(uow: UnitOfWork, principal: Principal, *, transaction_ids: Sequence[uuid.UUID],
                          category_id: uuid.UUID | None) -> list[uuid.UUID]:
    """`transactionsCategorizeBulk`: all or nothing; publishes one BULK_CHANGED with the count. Returns the ids
    in the order given, once each."""
    rows = await categorize(uow, principal, transaction_ids=transaction_ids, category_id=category_id, field="ids")
    uow.publish(principal.user_id, TransactionChanged(
        kind=ChangeKind.BULK_CHANGED.value, transaction_id=None,
        account_ids=tuple(sorted({row.account_id for row in rows})), count=len(rows)))
    return [row.id for row in rows]
