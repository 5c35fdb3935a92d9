"""The one pipeline every import and every sync applies rows through.

Given the rows a statement or a provider produced for some of the user's accounts, it deduplicates them
(app/sync/dedupe.py: provider id when present, and always a fingerprint of day, amount, normalized
description and the occurrence number within that key), updates a pending row that later posts in place,
inserts the rest in bulk (COPY in chunks of `CHUNK` rows, not one statement per row), categorizes the new
rows from what was inserted (app.rules.categorize), touches the ledger effects (balances from the earliest
changed day, budget alerts, goals), and publishes one BULK_CHANGED TransactionEvent. All inside the caller's
unit of work: it lands whole or not at all.

Rows that cannot be applied (a currency other than the account's, an amount finer than the currency's
minor unit, a day out of range) are skipped and counted as `errors`, with a short reason each.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.accounts import repository as accounts_repo
from app.categories import repository as categories_repo
from app.categories.models import Category
from app.db import UnitOfWork
from app.errors import DomainError
from app.money import MAX_INTEGER_DIGITS, minor_units, parse_amount
from app.rules.categorize import categorize_rows, compiled_rules
from app.rules.engine import Row
from app.sync import bulk, dedupe
from app.sync.providers.statement import ParsedTransaction
from app.sync.runs import progress_of
from app.transactions.events import ChangeKind, TransactionChanged
from app.transactions.models import CategorySource, TransactionStatus
from app.transactions.service import MAX_DAY, MAX_DESCRIPTION, MAX_MERCHANT, MAX_NOTES, MIN_DAY

CHUNK = 2000
"""Rows per COPY (bench/IMPORT_NOTES.md: 2000 was at least as cheap for Postgres as 500-20000)."""
PROGRESS_ROWS = 5000
"""Rows between two progress reports while rows are inserted."""
MAX_MESSAGES = 20


@dataclass
class RunCounts:
    added: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    """Why rows were skipped (the first few), for the run's `error` text."""

    def skip(self, message: str) -> None:
        self.errors += 1
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)


class _Categories:
    """The user's categories by name, for the category text a file gives ("Groceries", "Bills:Cell Phone")."""

    def __init__(self, rows: Sequence[Category]):
        names: dict[str, set[uuid.UUID]] = {}
        parents = {row.id: row.name for row in rows}
        self.paths: dict[str, uuid.UUID] = {}
        for row in rows:
            name = row.name.casefold()
            names.setdefault(name, set()).add(row.id)
            parent = parents.get(row.parent_id) if row.parent_id else None
            if parent:
                self.paths[f"{parent.casefold()}:{name}"] = row.id
        self.names = {name: next(iter(ids)) for name, ids in names.items() if len(ids) == 1}

    def find(self, text: str | None) -> uuid.UUID | None:
        if not text:
            return None
        parts = [part.strip().casefold() for part in text.split(":") if part.strip()]
        if not parts:
            return None
        if len(parts) >= 2:
            found = self.paths.get(f"{parts[-2]}:{parts[-1]}")
            if found:
                return found
        return self.names.get(parts[-1]) or self.names.get(parts[0])


def _notes(row: ParsedTransaction) -> str:
    parts = []
    if row.memo and row.memo.strip() and row.memo.strip() not in row.description:
        parts.append(row.memo.strip())
    if row.check_number:
        parts.append(f"Check {row.check_number}")
    return " · ".join(parts)[:MAX_NOTES]


def uuid7s(count: int) -> list[uuid.UUID]:
    """`count` time-ordered UUIDv7s (the same kind as `app.db.new_id`), made in one go, ascending."""
    stamp = time.time_ns() // 1_000_000
    noise = os.urandom(10 * count)
    out: list[int] = []
    for i in range(count):
        chunk = int.from_bytes(noise[10 * i:10 * i + 10], "big")
        rand_a, rand_b = (chunk >> 62) & 0xFFF, chunk & ((1 << 62) - 1)
        out.append((stamp << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
    return [uuid.UUID(int=value) for value in sorted(out)]


def _amount_checker(currency: str) -> Callable[[Decimal], Decimal]:
    """A fast check of amounts against the currency's minor units (`parse_amount` says what is wrong)."""
    quantum = Decimal(1).scaleb(-minor_units(currency))
    limit = Decimal(10) ** MAX_INTEGER_DIGITS

    def check(amount: Decimal) -> Decimal:
        if isinstance(amount, Decimal) and amount.is_finite() and abs(amount) < limit:
            exact = amount.quantize(quantum)
            if exact == amount:
                return exact if exact else abs(exact)
        return parse_amount(amount, currency)

    return check


def _validate(rows: Sequence[ParsedTransaction], currency: str, counts: RunCounts
              ) -> list[tuple[dedupe.Incoming, ParsedTransaction]]:
    valid: list[tuple[dedupe.Incoming, ParsedTransaction]] = []
    checked = _amount_checker(currency)
    external_id = dedupe.external_id
    for position, row in enumerate(rows):
        if row.currency and row.currency != currency:
            counts.skip(f"{_where(row)}the amount is in {row.currency}, the account in {currency}")
            continue
        if not MIN_DAY <= row.booked_on <= MAX_DAY:
            counts.skip(f"{_where(row)}the day {row.booked_on} is out of range")
            continue
        try:
            amount = checked(row.amount)
        except DomainError as error:
            counts.skip(f"{_where(row)}{error.message}")
            continue
        description = (row.description or row.payee or "").strip()[:MAX_DESCRIPTION]
        valid.append((dedupe.Incoming(position, row.booked_on, amount, description, bool(row.pending),
                                      external_id(row.provider_id) if row.provider_id else None), row))
    return valid


def _where(row: ParsedTransaction) -> str:
    return f"{row.ref}: " if row.ref else ""


_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while bulk work runs (nestable; it is back on when the outermost
    pause ends, if it was on before). A 100k-row import allocates millions of objects that live until it
    ends, and the collector's full passes over them cost a third of its Python time; no cycle is made to
    wait longer than the import (reference counting still frees everything else at once)."""
    global _gc_pauses, _gc_was_enabled
    if _gc_pauses == 0:
        _gc_was_enabled = gc.isenabled()
        gc.disable()
    _gc_pauses += 1
    try:
        yield
    finally:
        _gc_pauses -= 1
        if _gc_pauses == 0 and _gc_was_enabled:
            gc.enable()


async def apply_rows(uow: UnitOfWork, user_id: uuid.UUID, *, run_id: uuid.UUID,
                     batches: Sequence[tuple[uuid.UUID, Sequence[ParsedTransaction]]]) -> RunCounts:
    """Apply `batches` of (account id, rows) for the user within `uow`; returns the counts.

    An account id that is not the user's counts all its rows as errors. Amounts are signed from the
    owner's view; a row without a currency takes the account's.
    """
    with paused_gc():
        return await _apply_rows(uow, user_id, run_id=run_id, batches=batches)


async def _apply_rows(uow: UnitOfWork, user_id: uuid.UUID, *, run_id: uuid.UUID,
                      batches: Sequence[tuple[uuid.UUID, Sequence[ParsedTransaction]]]) -> RunCounts:
    session = uow.session
    await effects.lock_ledger(session, user_id)
    progress = progress_of(uow)
    counts = RunCounts()
    merged: dict[uuid.UUID, list[ParsedTransaction]] = {}
    for account_id, rows in batches:
        merged.setdefault(account_id, []).extend(rows)
    total = sum(len(rows) for rows in merged.values())
    accounts = {a.id: a for a in await accounts_repo.accounts_by_ids(session, user_id, list(merged))}
    hinted = any(row.category or any(split.category for split in row.splits)
                 for rows in merged.values() for row in rows)
    categories = _Categories(await categories_repo.all_categories(session, user_id) if hinted else [])
    added: list[uuid.UUID] = []
    fresh: list[Row] = []
    changed: set[uuid.UUID] = set()
    done = 0
    for account_id in sorted(merged):
        rows = merged[account_id]
        account = accounts.get(account_id)
        if account is None:
            for _ in rows:
                counts.skip(f"no account {account_id}")
            continue
        currency = account.currency.strip()
        valid = _validate(rows, currency, counts)
        if progress is not None:
            await progress("matching", done, total)
        if not valid:
            done += len(rows)
            continue
        incoming = [item for item, _ in valid]
        parsed = {item.position: row for item, row in valid}
        days = [item.day for item in incoming]
        occurrences: dict[str, int] = {}
        for item in incoming:
            occurrences[item.key] = occurrences.get(item.key, 0) + 1
        candidates = [dedupe.fingerprint(key, n) for key, count in occurrences.items() for n in range(1, count + 1)]
        existing = await bulk.existing_rows(
            session, user_id, account_id, low=min(days) - dt.timedelta(days=dedupe.PENDING_DAYS),
            high=max(days) + dt.timedelta(days=dedupe.PENDING_DAYS),
            external_ids=[item.external_id for item in incoming if item.external_id],
            fingerprints=candidates)
        plan = dedupe.plan(incoming, existing)
        counts.duplicates += plan.duplicates
        touched_days: set[dt.date] = set()
        touched_categories: set[uuid.UUID | None] = {None}
        if plan.updates:
            await bulk.update_rows(session, user_id, account_id, run_id, plan.updates)
            counts.updated += plan.updated
            touched_days.update(day for update in plan.updates if update.posted for day in (update.old_day, update.day))
        delta = Decimal(0)
        done += len(rows) - len(plan.inserts)
        reported = done
        for start in range(0, len(plan.inserts), CHUNK):
            chunk = plan.inserts[start:start + CHUNK]
            new = _new_rows(chunk, parsed, categories)
            inserted = await bulk.insert_rows(session, user_id, account_id, currency, run_id, new)
            touched_categories.update(new.category_ids)
            lines = _split_lines(inserted, new, chunk, parsed, categories)
            if lines:
                await bulk.insert_splits(session, user_id, lines)
                touched_categories.update(line[1] for line in lines)
            counts.added += len(inserted)
            counts.duplicates += len(chunk) - len(inserted)
            split = {line[0] for line in lines}
            for transaction_id, day, amount in inserted:
                added.append(transaction_id)
                delta += amount
                touched_days.add(day)
            fresh.extend(_fresh(inserted, new, account_id, split))
            done += len(chunk)
            if progress is not None and (done - reported >= PROGRESS_ROWS or start + CHUNK >= len(plan.inserts)):
                await progress("applying", done, total)
                reported = done
        if delta:
            await accounts_repo.add_to_balance(session, user_id=user_id, account_id=account_id, delta=delta)
        if touched_days:  # every day, so budgets see each period the import reached
            changed.add(account_id)
            for day in sorted(touched_days):
                effects.touch(session, user_id, account_id, day, categories=tuple(touched_categories))
    if added:
        if progress is not None:
            await progress("categorizing", 0, len(added))
        await _categorize(session, user_id, fresh)
    if counts.added or counts.updated:
        uow.publish(user_id, TransactionChanged(kind=ChangeKind.BULK_CHANGED.value, transaction_id=None,
                                                account_ids=tuple(sorted(changed)),
                                                count=counts.added + counts.updated, sync_run_id=run_id))
    return counts


def _fresh(inserted: Sequence[tuple[uuid.UUID, dt.date, Decimal]], new: bulk.NewRows, account_id: uuid.UUID,
           split: set[uuid.UUID]) -> list[Row]:
    """The inserted rows as categorization reads them (what `categorize_new` would load back)."""
    if len(inserted) == len(new):
        positions: Iterable[int] = range(len(new))
    else:
        kept = {row[0] for row in inserted}
        positions = [i for i, transaction_id in enumerate(new.ids) if transaction_id in kept]
    return [Row(id=new.ids[i], account_id=account_id, amount=new.amounts[i], description=new.descriptions[i],
                merchant=new.merchants[i], category_id=new.category_ids[i], category_source=new.category_sources[i],
                category_confidence=None, tags=[], has_splits=new.ids[i] in split) for i in positions]


async def _categorize(session: AsyncSession, user_id: uuid.UUID, rows: list[Row]) -> None:
    """`categorize_new` for rows just inserted, from what was inserted instead of loading it back (the
    caller holds the ledger lock): the rules, then the merchant memory, in id order."""
    rules = await compiled_rules(session, user_id)
    rows.sort(key=lambda row: row.id)
    await categorize_rows(session, user_id, rows, rules, use_memory=True)


def _split_lines(inserted: Sequence[tuple[uuid.UUID, dt.date, Decimal]], new: bulk.NewRows,
                 chunk: Sequence[tuple[dedupe.Incoming, str]], parsed: dict[int, ParsedTransaction],
                 categories: _Categories) -> list[tuple[uuid.UUID, uuid.UUID | None, Decimal, str, int]]:
    """(transaction, category, amount, notes, position) of the split lines of the inserted rows whose lines
    (QIF `S`/`$`) add up exactly to the row; a line moving money to another account stays uncategorized."""
    by_id = {transaction_id: parsed[item.position] for transaction_id, (item, _) in zip(new.ids, chunk, strict=True)}
    lines: list[tuple[uuid.UUID, uuid.UUID | None, Decimal, str, int]] = []
    for transaction_id, _day, amount in inserted:
        splits = by_id[transaction_id].splits
        if len(splits) < 2 or sum((split.amount for split in splits), Decimal(0)) != amount:
            continue
        for position, split in enumerate(splits):
            category = categories.find(split.category) if split.category and not split.transfer_account else None
            lines.append((transaction_id, category, split.amount, (split.memo or "").strip(), position))
    return lines


def _new_rows(chunk: Sequence[tuple[dedupe.Incoming, str]], parsed: dict[int, ParsedTransaction],
              categories: _Categories) -> bulk.NewRows:
    rows = bulk.NewRows(uuid7s(len(chunk)), [], [], [], [], [], [], [], [], [], [])
    for item, fingerprint in chunk:
        row = parsed[item.position]
        category_id = categories.find(row.category) if row.category else None
        merchant_text = (row.payee or item.description).strip()
        rows.days.append(item.day)
        rows.amounts.append(item.amount)
        rows.descriptions.append(item.description)
        rows.merchants.append((dedupe.merchant_of(merchant_text) or merchant_text)[:MAX_MERCHANT])
        rows.notes.append(_notes(row))
        rows.statuses.append(TransactionStatus.PENDING.value if item.pending else TransactionStatus.POSTED.value)
        rows.external_ids.append(item.external_id)
        rows.fingerprints.append(fingerprint)
        rows.category_ids.append(category_id)
        rows.category_sources.append(CategorySource.PROVIDER.value if category_id else None)
    return rows
