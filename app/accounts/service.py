"""Rules of accounts: validation, creation, partial updates, archiving. Never commits."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.accounts import repository as repo
from app.accounts.models import Account, AccountKind, classify
from app.db import new_id
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound
from app.money import parse_amount, parse_currency

MAX_NAME = 120
MAX_INSTITUTION = 120
# "**** 1234", "•••1234", "x1234" and "1234" all mean the last digits 1234.
_MASK_DECORATION = re.compile(r"^[\s*•·.xX#-]+")
_MASK = re.compile(r"^[0-9]{2,4}$")


class _Keep(Enum):
    KEEP = "KEEP"


KEEP = _Keep.KEEP
"""Default of partial-update arguments: leave the value as it is (None means clear)."""


def check_name(value: str | None, errors: Collector, field: str = "name") -> str:
    name = (value or "").strip()
    if not name:
        errors.add(ErrorCode.REQUIRED, "Name is required.", field)
    elif len(name) > MAX_NAME:
        errors.add(ErrorCode.TOO_LONG, f"Name must have at most {MAX_NAME} characters.", field)
    return name


def check_institution(value: str | None, errors: Collector, field: str = "institution") -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_INSTITUTION:
        errors.add(ErrorCode.TOO_LONG, f"Institution must have at most {MAX_INSTITUTION} characters.", field)
    return text or None


def check_mask(value: str | None, errors: Collector, field: str = "mask") -> str | None:
    """The last 2–4 digits of the account number; decorations like `****` are dropped; blank clears."""
    text = _MASK_DECORATION.sub("", (value or "").strip()).strip()
    if not text:
        return None
    if not _MASK.fullmatch(text):
        errors.add(ErrorCode.INVALID, "Mask must be the last 2 to 4 digits of the account number.", field)
    return text


def check_amount(value: str | Decimal | None, currency: str | None, errors: Collector,
                 field: str = "openingBalance") -> Decimal:
    """A valid amount of `currency` (skipped when the currency itself is bad: it is reported already)."""
    if currency is None:
        return Decimal(0)
    try:
        return parse_amount("0" if value is None else value, currency, field)
    except DomainError as exc:
        errors.extend(exc)
        return Decimal(0)


async def create_account(session: AsyncSession, *, user_id: uuid.UUID, name: str | None, kind: AccountKind,
                         currency: str | None, institution: str | None = None, mask: str | None = None,
                         opening_balance: str | Decimal | None = None, opening_date: dt.date | None = None,
                         account_id: uuid.UUID | None = None) -> Account:
    """A new account whose current balance starts at its opening balance.

    Every bad field is reported at once and nothing is written. An `account_id` already used by any
    account (the user's own or anyone else's) is CONFLICT on `id`, without saying whose it is.
    """
    await effects.lock_ledger(session, user_id)
    errors = Collector()
    clean_name = check_name(name, errors)
    code: str | None = None
    try:
        code = parse_currency(currency or "", "currency")
    except DomainError as exc:
        errors.extend(exc)
    amount = check_amount(opening_balance, code, errors)
    clean_institution = check_institution(institution, errors)
    clean_mask = check_mask(mask, errors)
    errors.raise_if_any()
    assert code is not None
    kind = AccountKind(kind)
    account = await repo.insert_account(session, {
        "id": account_id or new_id(), "user_id": user_id, "name": clean_name, "kind": kind.value,
        "classification": classify(kind).value, "currency": code, "institution": clean_institution,
        "mask": clean_mask, "opening_balance": amount, "opening_date": opening_date, "current_balance": amount,
    })
    if account is None:
        raise Conflict(message="This id cannot be used for a new account; choose another.", field="id")
    effects.touch(session, user_id, account.id, opening_date or account.created_at.date())
    return account


async def update_account(session: AsyncSession, *, user_id: uuid.UUID, account_id: uuid.UUID,
                         name: str | _Keep = KEEP, institution: str | None | _Keep = KEEP,
                         mask: str | None | _Keep = KEEP, kind: AccountKind | _Keep = KEEP,
                         opening_balance: str | Decimal | _Keep = KEEP,
                         opening_date: dt.date | None | _Keep = KEEP) -> Account:
    """Change only the arguments given (KEEP leaves a value; None clears a nullable one).

    A new kind recomputes the classification; a new opening balance moves the current balance by the
    exact difference. The currency never changes.
    """
    if opening_balance is not KEEP or opening_date is not KEEP:
        await effects.lock_ledger(session, user_id)
    account = await repo.account_by_id(session, user_id, account_id)
    if account is None:
        raise NotFound(message="No Account with this id", field="id")
    errors = Collector()
    values: dict[str, Any] = {}
    if name is not KEEP:
        values["name"] = check_name(name, errors)
    if institution is not KEEP:
        values["institution"] = check_institution(institution, errors)
    if mask is not KEEP:
        values["mask"] = check_mask(mask, errors)
    if kind is not KEEP:
        values["kind"] = AccountKind(kind).value
        values["classification"] = classify(AccountKind(kind)).value
    if opening_date is not KEEP:
        values["opening_date"] = opening_date
    new_opening: Decimal | None = None
    if opening_balance is not KEEP:
        new_opening = check_amount(opening_balance, account.currency.strip(), errors)
    errors.raise_if_any()
    if not values and new_opening is None:
        return account
    old_start = account.opening_date or account.created_at.date()
    updated = await repo.update_account(session, user_id, account_id, values, opening_balance=new_opening)
    if updated is None:  # pragma: no cover - deleted between the two statements
        raise NotFound(message="No Account with this id", field="id")
    if new_opening is not None or "opening_date" in values:
        new_start = updated.opening_date or updated.created_at.date()
        effects.touch(session, user_id, account_id, min(old_start, new_start))
    return updated


async def archive_account(session: AsyncSession, *, user_id: uuid.UUID, account_id: uuid.UUID,
                          archived: bool = True) -> Account:
    """Hide an account from `accounts` (or show it again); its transactions and balance stay."""
    updated = await repo.update_account(session, user_id, account_id, {"archived": archived})
    if updated is None:
        raise NotFound(message="No Account with this id", field="id")
    return updated
