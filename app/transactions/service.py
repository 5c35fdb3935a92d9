"""Rules of transactions, transfers and splits. Balances move atomically with every change."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app import effects
from app.accounts import repository as accounts_repo
from app.accounts.models import Account
from app.auth.principal import Principal
from app.categories import repository as categories_repo
from app.db import UnitOfWork, new_id, utcnow
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound
from app.money import parse_amount
from app.rules import memory
from app.rules.learned import TRAIN_JOB, train_job_id
from app.transactions import repository as repo
from app.transactions.events import ChangeKind, TransactionChanged
from app.transactions.models import CategorySource, Transaction, TransactionSplit, TransactionStatus
from app.transactions.normalize import normalize_merchant

MAX_DESCRIPTION = 500
MAX_MERCHANT = 200
MAX_NOTES = 2000
MAX_TAGS = 20
MAX_TAG = 40
MAX_SPLITS = 50
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2200, 12, 31)

UNSET: Any = object()


@dataclass(frozen=True)
class SplitLine:
    amount: Any
    category_id: uuid.UUID | None = None
    notes: str | None = None


def _text(errors: Collector, value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        errors.add(ErrorCode.TOO_LONG, f"At most {limit} characters", field)
    return text


def _tags(errors: Collector, tags: Sequence[str] | None) -> list[str]:
    clean: list[str] = []
    for i, tag in enumerate(tags or []):
        value = tag.strip()
        if not value:
            errors.add(ErrorCode.REQUIRED, "Tags cannot be blank", f"tags.{i}")
        elif len(value) > MAX_TAG:
            errors.add(ErrorCode.TOO_LONG, f"A tag has at most {MAX_TAG} characters", f"tags.{i}")
        elif value not in clean:
            clean.append(value)
    if len(clean) > MAX_TAGS:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_TAGS} tags", "tags")
    return clean


def _day(errors: Collector, value: dt.date | None, field: str = "bookedOn") -> dt.date | None:
    if value is None:
        errors.add(ErrorCode.REQUIRED, "A booking day is required", field)
    elif not MIN_DAY <= value <= MAX_DAY:
        errors.add(ErrorCode.INVALID, "The booking day is out of range", field)
    return value


def _amount(errors: Collector, value: Any, currency: str, field: str) -> Decimal | None:
    try:
        return parse_amount(value, currency, field)
    except DomainError as exc:
        errors.extend(exc)
        return None


async def _account(uow: UnitOfWork, principal: Principal, account_id: uuid.UUID | None, field: str) -> Account:
    found = await accounts_repo.accounts_by_ids(uow.session, principal.user_id, [account_id]) if account_id else []
    if not found:
        raise NotFound(message="No such account", field=field)
    return found[0]


async def _check_categories(uow: UnitOfWork, principal: Principal, errors: Collector,
                            wanted: dict[str, uuid.UUID]) -> None:
    if not wanted:
        return
    rows = await categories_repo.categories_by_ids(uow.session, principal.user_id, list(set(wanted.values())))
    found = {row.id for row in rows}
    for field, category_id in wanted.items():
        if category_id not in found:
            errors.add(ErrorCode.NOT_FOUND, "No such category", field)


def _split_rows(errors: Collector, principal: Principal, transaction_id: uuid.UUID, total: Decimal | None,
                currency: str, lines: Sequence[SplitLine]) -> list[TransactionSplit]:
    if len(lines) < 2:
        errors.add(ErrorCode.INVALID, "A split needs at least two lines", "splits")
        return []
    if len(lines) > MAX_SPLITS:
        errors.add(ErrorCode.LIMIT_EXCEEDED, f"At most {MAX_SPLITS} split lines", "splits")
        return []
    rows: list[TransactionSplit] = []
    for i, line in enumerate(lines):
        amount = _amount(errors, line.amount, currency, f"splits.{i}.amount")
        notes = _text(errors, line.notes, f"splits.{i}.notes", MAX_NOTES)
        if amount is not None:
            rows.append(TransactionSplit(transaction_id=transaction_id, user_id=principal.user_id,
                                         category_id=line.category_id, amount=amount, notes=notes, position=i))
    if total is not None and len(rows) == len(lines) and sum((r.amount for r in rows), Decimal(0)) != total:
        errors.add(ErrorCode.INVALID, f"Split lines must sum exactly to the amount {total}", "splits")
    return rows


async def _move_balances(uow: UnitOfWork, principal: Principal, deltas: dict[uuid.UUID, Decimal]) -> None:
    # a fixed order (by account id) so concurrent writers never deadlock on two accounts
    for account_id in sorted(deltas):
        if deltas[account_id]:
            await accounts_repo.add_to_balance(uow.session, user_id=principal.user_id, account_id=account_id,
                                               delta=deltas[account_id])


def _publish(uow: UnitOfWork, principal: Principal, kind: ChangeKind, tx: Transaction,
             *extra_accounts: uuid.UUID) -> None:
    accounts = tuple(dict.fromkeys([tx.account_id, *extra_accounts]))
    uow.publish(principal.user_id, TransactionChanged(kind=kind.value, transaction_id=tx.id, account_ids=accounts))


async def create_transaction(
    uow: UnitOfWork, principal: Principal, *, account_id: uuid.UUID | None, amount: Any, booked_on: dt.date | None,
    description: str | None = None, merchant: str | None = None, category_id: uuid.UUID | None = None,
    notes: str | None = None, tags: Sequence[str] | None = None, status: str = TransactionStatus.POSTED.value,
    splits: Sequence[SplitLine] | None = None, transaction_id: uuid.UUID | None = None,
) -> Transaction:
    await effects.lock_ledger(uow.session, principal.user_id)
    account = await _account(uow, principal, account_id, "accountId")
    currency = account.currency.strip()
    errors = Collector()
    value = _amount(errors, amount, currency, "amount")
    day = _day(errors, booked_on)
    text = _text(errors, description, "description", MAX_DESCRIPTION)
    shop = _text(errors, merchant, "merchant", MAX_MERCHANT) if merchant is not None else None
    note = _text(errors, notes, "notes", MAX_NOTES)
    labels = _tags(errors, tags)
    new = transaction_id or new_id()
    split_rows = _split_rows(errors, principal, new, value, currency, splits) if splits else []
    wanted = {"categoryId": category_id} if category_id else {}
    wanted.update({f"splits.{i}.categoryId": s.category_id for i, s in enumerate(splits or []) if s.category_id})
    await _check_categories(uow, principal, errors, wanted)
    errors.raise_if_any()
    if transaction_id is not None and await repo.exists_any(uow.session, [transaction_id]):
        raise Conflict(message="This id is already taken", field="id")
    assert value is not None and day is not None
    tx = Transaction(
        id=new, user_id=principal.user_id, account_id=account.id, booked_on=day, amount=value, currency=currency,
        description=text, merchant=shop if shop is not None else (normalize_merchant(text) or text)[:MAX_MERCHANT],
        category_id=category_id, category_source=CategorySource.USER.value if category_id else None,
        notes=note, tags=labels, status=TransactionStatus(status).value, has_splits=bool(split_rows),
    )
    uow.session.add(tx)
    await uow.session.flush()
    if split_rows:
        uow.session.add_all(split_rows)
    await memory.learn(uow.session, principal.user_id, tx.merchant, category_id)
    await _move_balances(uow, principal, {account.id: value})
    effects.touch(uow.session, principal.user_id, account.id, day,
                  categories=(category_id, *(row.category_id for row in split_rows)))
    _publish(uow, principal, ChangeKind.CREATED, tx)
    return tx


async def _locked(uow: UnitOfWork, principal: Principal, ids: Sequence[uuid.UUID], field: str = "id"
                  ) -> dict[uuid.UUID, Transaction]:
    rows = {row.id: row for row in await repo.for_update(uow.session, principal.user_id, ids)}
    if any(i not in rows for i in ids):
        raise NotFound(message="No such transaction", field=field)
    return rows


async def update_transaction(uow: UnitOfWork, principal: Principal, *, transaction_id: uuid.UUID,
                             changes: dict[str, Any]) -> Transaction:
    """`changes` holds only the fields given: amount, booked_on, description, merchant, category_id, notes,
    tags, status, account_id, splits (None removes the split)."""
    await effects.lock_ledger(uow.session, principal.user_id)
    tx = (await _locked(uow, principal, [transaction_id]))[transaction_id]
    errors = Collector()
    account_id = tx.account_id
    currency = tx.currency.strip()
    if "account_id" in changes and changes["account_id"] != tx.account_id:
        target = await _account(uow, principal, changes["account_id"], "accountId")
        if target.currency.strip() != currency:
            errors.add(ErrorCode.CURRENCY_MISMATCH, "The new account has another currency", "accountId")
        account_id = target.id
    amount = _amount(errors, changes["amount"], currency, "amount") if "amount" in changes else tx.amount
    day = _day(errors, changes["booked_on"]) if "booked_on" in changes else tx.booked_on
    updates: dict[str, Any] = {}
    for key, field, limit in (("description", "description", MAX_DESCRIPTION), ("merchant", "merchant", MAX_MERCHANT),
                              ("notes", "notes", MAX_NOTES)):
        if key in changes:
            updates[key] = _text(errors, changes[key], field, limit)
    if "tags" in changes:
        updates["tags"] = _tags(errors, changes["tags"])
    if "status" in changes:
        updates["status"] = TransactionStatus(changes["status"]).value
    wanted: dict[str, uuid.UUID] = {}
    if changes.get("category_id"):
        wanted["categoryId"] = changes["category_id"]
    split_rows: list[TransactionSplit] | None = None
    if "splits" in changes:
        lines = changes["splits"] or []
        split_rows = _split_rows(errors, principal, tx.id, amount, currency, lines) if lines else []
        wanted.update({f"splits.{i}.categoryId": s.category_id for i, s in enumerate(lines) if s.category_id})
    elif tx.has_splits and amount != tx.amount:
        errors.add(ErrorCode.INVALID, "Give new split lines that sum to the new amount", "splits")
    await _check_categories(uow, principal, errors, wanted)
    errors.raise_if_any()
    assert amount is not None and day is not None
    if "description" in changes and "merchant" not in changes:
        updates["merchant"] = (normalize_merchant(updates["description"]) or updates["description"])[:MAX_MERCHANT]
    if "category_id" in changes:
        updates["category_id"] = changes["category_id"]
        updates["category_source"] = CategorySource.USER.value if changes["category_id"] else None
        updates["category_confidence"] = None
        updates["suggested_category_id"] = updates["suggested_source"] = updates["suggested_confidence"] = None
    deltas: dict[uuid.UUID, Decimal] = {}
    deltas[tx.account_id] = deltas.get(tx.account_id, Decimal(0)) - tx.amount
    deltas[account_id] = deltas.get(account_id, Decimal(0)) + amount
    old_account, old_day, old_category = tx.account_id, tx.booked_on, tx.category_id
    for key, value in updates.items():
        setattr(tx, key, value)
    tx.account_id, tx.amount, tx.booked_on, tx.updated_at = account_id, amount, day, utcnow()
    if split_rows is not None:
        tx.has_splits = bool(split_rows)
        await repo.replace_splits(uow.session, principal.user_id, tx.id, split_rows)
    await uow.session.flush()
    if changes.get("category_id"):
        await memory.learn(uow.session, principal.user_id, tx.merchant, tx.category_id)
        uow.enqueue(TRAIN_JOB, str(principal.user_id), job_id=train_job_id(principal.user_id))
    await _move_balances(uow, principal, deltas)
    effects.touch(uow.session, principal.user_id, old_account, old_day, categories=(old_category,))
    effects.touch(uow.session, principal.user_id, account_id, day,
                  categories=(tx.category_id, *(row.category_id for row in split_rows or ())))
    _publish(uow, principal, ChangeKind.UPDATED, tx, old_account)
    return tx


async def delete_transaction(uow: UnitOfWork, principal: Principal, *, transaction_id: uuid.UUID) -> list[uuid.UUID]:
    """Deletes the transaction, and its other leg when it is a transfer. Returns the deleted ids."""
    await effects.lock_ledger(uow.session, principal.user_id)
    first = (await _locked(uow, principal, [transaction_id]))[transaction_id]
    ids = [first.id] + ([first.transfer_id] if first.transfer_id else [])
    rows = await _locked(uow, principal, ids)
    deltas: dict[uuid.UUID, Decimal] = {}
    for row in rows.values():
        deltas[row.account_id] = deltas.get(row.account_id, Decimal(0)) - row.amount
    await repo.delete(uow.session, principal.user_id, ids)
    await _move_balances(uow, principal, deltas)
    for row in rows.values():
        effects.touch(uow.session, principal.user_id, row.account_id, row.booked_on, categories=(row.category_id,))
        _publish(uow, principal, ChangeKind.DELETED, row)
    return ids


async def create_transfer(
    uow: UnitOfWork, principal: Principal, *, from_account_id: uuid.UUID | None, to_account_id: uuid.UUID | None,
    amount: Any, to_amount: Any = None, booked_on: dt.date | None, description: str | None = None,
    transfer_id: uuid.UUID | None = None,
) -> tuple[Transaction, Transaction]:
    """Money out of one own account and into another: two linked rows that never count as spending."""
    await effects.lock_ledger(uow.session, principal.user_id)
    errors = Collector()
    if from_account_id is not None and from_account_id == to_account_id:
        raise DomainError(ErrorCode.INVALID, "A transfer needs two different accounts", "toAccountId")
    source = await _account(uow, principal, from_account_id, "fromAccountId")
    target = await _account(uow, principal, to_account_id, "toAccountId")
    src_cur, dst_cur = source.currency.strip(), target.currency.strip()
    out = _amount(errors, amount, src_cur, "amount")
    if out is not None and out <= 0:
        errors.add(ErrorCode.INVALID, "The amount must be positive (it leaves the source account)", "amount")
    incoming: Decimal | None = out
    if src_cur != dst_cur:
        if to_amount is None or str(to_amount).strip() == "":
            errors.add(ErrorCode.REQUIRED, f"Give the amount that arrives in {dst_cur}", "toAmount")
            incoming = None
        else:
            incoming = _amount(errors, to_amount, dst_cur, "toAmount")
            if incoming is not None and incoming <= 0:
                errors.add(ErrorCode.INVALID, "The arriving amount must be positive", "toAmount")
    elif to_amount is not None and str(to_amount).strip() != "":
        same = _amount(errors, to_amount, dst_cur, "toAmount")
        if same is not None and same != out:
            errors.add(ErrorCode.INVALID, "In one currency the arriving amount equals the amount", "toAmount")
    day = _day(errors, booked_on)
    text = _text(errors, description, "description", MAX_DESCRIPTION) or f"Transfer to {target.name}"
    errors.raise_if_any()
    assert out is not None and incoming is not None and day is not None
    out_id = transfer_id or new_id()
    if transfer_id is not None and await repo.exists_any(uow.session, [out_id]):
        raise Conflict(message="This id is already taken", field="id")
    legs = (
        Transaction(id=out_id, user_id=principal.user_id, account_id=source.id, booked_on=day, amount=-out,
                    currency=src_cur, description=text, merchant=target.name[:MAX_MERCHANT]),
        Transaction(id=new_id(), user_id=principal.user_id, account_id=target.id, booked_on=day, amount=incoming,
                    currency=dst_cur, description=text, merchant=source.name[:MAX_MERCHANT]),
    )
    uow.session.add_all(legs)
    await uow.session.flush()
    legs[0].transfer_id, legs[1].transfer_id = legs[1].id, legs[0].id
    await uow.session.flush()
    await _move_balances(uow, principal, {source.id: -out, target.id: incoming})
    for leg in legs:
        effects.touch(uow.session, principal.user_id, leg.account_id, leg.booked_on)
        _publish(uow, principal, ChangeKind.CREATED, leg)
    return legs


async def link(uow: UnitOfWork, principal: Principal, *, from_id: uuid.UUID, to_id: uuid.UUID
               ) -> tuple[Transaction, Transaction]:
    """Pair two existing rows as one transfer: money out of one account and into another."""
    if from_id == to_id:
        raise DomainError(ErrorCode.INVALID, "A transaction cannot be linked to itself", "toId")
    await effects.lock_ledger(uow.session, principal.user_id)
    rows = await _locked(uow, principal, [from_id], "fromId") | await _locked(uow, principal, [to_id], "toId")
    out, into = rows[from_id], rows[to_id]
    errors = Collector()
    if out.transfer_id or into.transfer_id:
        raise Conflict(message="One of them is already part of a transfer; unlink it first", field=None)
    if out.account_id == into.account_id:
        errors.add(ErrorCode.INVALID, "A transfer moves money between two accounts", "toId")
    if not (out.amount < 0 < into.amount):
        errors.add(ErrorCode.INVALID, "`fromId` must be money out (negative) and `toId` money in (positive)", "fromId")
    elif out.currency == into.currency and -out.amount != into.amount:
        errors.add(ErrorCode.INVALID, "In one currency both legs must have the same size", "toId")
    errors.raise_if_any()
    now = utcnow()
    out.transfer_id, into.transfer_id = into.id, out.id
    out.updated_at = into.updated_at = now
    await uow.session.flush()
    for leg in (out, into):
        effects.touch(uow.session, principal.user_id, leg.account_id, leg.booked_on, categories=(leg.category_id,))
        _publish(uow, principal, ChangeKind.UPDATED, leg)
    return out, into


async def unlink(uow: UnitOfWork, principal: Principal, *, transaction_id: uuid.UUID) -> tuple[Transaction, ...]:
    await effects.lock_ledger(uow.session, principal.user_id)
    first = (await _locked(uow, principal, [transaction_id]))[transaction_id]
    if first.transfer_id is None:
        raise DomainError(ErrorCode.INVALID, "This transaction is not part of a transfer", "id")
    rows = await _locked(uow, principal, [first.id, first.transfer_id])
    now = utcnow()
    for row in rows.values():
        row.transfer_id = None
        row.updated_at = now
    await uow.session.flush()
    for row in rows.values():
        effects.touch(uow.session, principal.user_id, row.account_id, row.booked_on, categories=(row.category_id,))
        _publish(uow, principal, ChangeKind.UPDATED, row)
    return tuple(rows[i] for i in (first.id, *[k for k in rows if k != first.id]))
