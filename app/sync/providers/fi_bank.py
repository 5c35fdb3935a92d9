"""Fi Money bank transactions (`fetch_bank_transactions`) as Florin transactions with stable ids. Pure.

Rows `[amount, narration, date, type, mode, balance]` with
unsigned amounts. Type 1 CREDIT, 4 INTEREST are money in; 2 DEBIT, 5 TDS, 6 INSTALLMENT money out; 3
OPENING and 7 CLOSING are balance markers, not transactions; 8 OTHERS takes its sign from the running
balance when the previous row's balance explains it, else it is skipped with a warning. The provider gives
no ids, so each row gets `fi1:` + sha256 of (connection, bank, day, amount, type, narration, occurrence
number of that key within the bank's list): a re-sync or an overlapping window yields the same ids, and
two identical payments on one day get occurrences 0 and 1 and both stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.errors import DomainError
from app.money import parse_amount
from app.sync.providers.fi_mapping import ProviderDataError, normalize, provider_day
from app.sync.providers.statement import ParsedTransaction

ID_PREFIX = "fi1:"
_SIGNS = {1: 1, 2: -1, 4: 1, 5: -1, 6: -1}
_MARKERS = {3, 7}
OTHERS = 8


@dataclass
class BankStatement:
    """One entry of `bankTransactions`: a bank's rows, mapped, in the provider's order."""

    bank: str
    transactions: list[ParsedTransaction] = field(default_factory=list)
    last_balance: Decimal | None = None
    """The running balance after the last row, when the provider gives it."""
    first_balance_before: Decimal | None = None
    """The balance before the first row (its running balance less its amount), when known."""
    last_day: dt.date | None = None

    @property
    def key(self) -> str:
        return normalize(self.bank)


def transaction_id(connection_id: uuid.UUID, bank: str, day: dt.date, amount: Decimal, kind: int,
                   narration: str, occurrence: int) -> str:
    """The stable id Florin gives a bank row (the provider has none)."""
    parts = (str(connection_id), normalize(bank), day.isoformat(), format(amount.normalize(), "f"), str(kind),
             normalize(narration), str(occurrence))
    text = "\x1f".join(parts)
    return ID_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def bank_statements(data: Mapping[str, Any], connection_id: uuid.UUID, currency: str = "INR"
                    ) -> tuple[list[BankStatement], list[str]]:
    """The bank rows of a `fetch_bank_transactions` answer as transactions with stable ids, and warnings."""
    entries = data.get("bankTransactions") or []
    if not isinstance(entries, list):
        raise ProviderDataError("bankTransactions", "a list is expected")
    warnings: list[str] = []
    statements: list[BankStatement] = []
    for index, entry in enumerate(entries):
        where = f"bankTransactions[{index}]"
        if not isinstance(entry, Mapping) or not str(entry.get("bank") or "").strip():
            raise ProviderDataError(where, "an object with `bank` and `txns` is expected")
        rows = entry.get("txns") or []
        if not isinstance(rows, list):
            raise ProviderDataError(f"{where}.txns", "a list is expected")
        statements.append(_statement(str(entry["bank"]).strip(), rows, where, connection_id, currency, warnings))
    return statements, warnings


def _statement(bank: str, rows: list[Any], where: str, connection_id: uuid.UUID, currency: str,
               warnings: list[str]) -> BankStatement:
    statement = BankStatement(bank=bank)
    seen: Counter[tuple[Any, ...]] = Counter()
    previous: Decimal | None = None
    for position, row in enumerate(rows):
        ref = f"{where}.txns[{position}]"
        if not isinstance(row, list | tuple) or len(row) < 4:
            raise ProviderDataError(ref, "[amount, narration, date, type, mode, balance] is expected")
        amount = _unsigned(row[0], f"{ref}[0]", currency)
        narration = str(row[1] or "").strip()
        day = provider_day(row[2], f"{ref}[2]")
        kind = _type(row[3], f"{ref}[3]")
        mode = str(row[4]).strip() if len(row) > 4 and row[4] is not None else ""
        balance = _unsigned_or_none(row[5], f"{ref}[5]", currency) if len(row) > 5 else None
        if kind in _MARKERS:
            previous = balance if balance is not None else previous
            continue
        sign = _SIGNS.get(kind)
        if sign is None and previous is not None and balance is not None and abs(balance - previous) == amount:
            sign = 1 if balance >= previous else -1
        if sign is None:
            warnings.append(f"{ref}: type {kind} does not say whether money came in or went out; left out")
            previous = balance if balance is not None else previous
            continue
        occurrence = seen[(day, amount, kind, normalize(narration))]
        seen[(day, amount, kind, normalize(narration))] += 1
        signed = sign * amount if amount else amount
        if not statement.transactions and balance is not None:
            statement.first_balance_before = balance - signed
        statement.transactions.append(ParsedTransaction(
            booked_on=day, amount=signed, currency=currency, description=narration,
            memo=mode or None, pending=False, ref=ref,
            provider_id=transaction_id(connection_id, bank, day, amount, kind, narration, occurrence)))
        if balance is not None:
            statement.last_balance = balance
        statement.last_day = day if statement.last_day is None else max(statement.last_day, day)
        previous = balance if balance is not None else previous
    return statement


def _unsigned(value: Any, where: str, currency: str) -> Decimal:
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"\d+(?:\.\d+)?", text, re.ASCII):
        raise ProviderDataError(where, f"{text[:32]!r} is not an unsigned amount")
    try:
        return parse_amount(text, currency, None)
    except DomainError as exc:
        raise ProviderDataError(where, f"{text} {currency}: {exc.message}") from exc


def _unsigned_or_none(value: Any, where: str, currency: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    negative = text.startswith("-")  # an overdrawn account's running balance
    amount = _unsigned(text.removeprefix("-"), where, currency)
    return -amount if negative else amount


def _type(value: Any, where: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 99:
        raise ProviderDataError(where, f"{text[:16]!r} is not a transaction type (1 CREDIT, 2 DEBIT, …)")
    return int(text)
