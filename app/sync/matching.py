"""Which Florin account each account of a statement file is.

A file names its accounts by IBAN, account number, a masked number or a name; Florin accounts carry a
`mask` (the last 2-4 digits) and an `external_id`. The rules, in order, for each account of the file:

1. `accountId` given: the file must hold one account, and that is it (another currency is refused).
2. IBAN or number: equal to an account's `external_id`, compared on letters and digits only, case-folded.
   An account created from an import stores the file's IBAN (else its number) there, so the next
   statement of that account finds it; a user may set it too.
3. Mask: the number's last digits end with an account's `mask` (at least 2 digits), when exactly one
   account of that currency has such a mask.
4. Name: the name the file gives (QIF `!Account`, a CSV account column), equal to an account's name (case
   ignored), when exactly one account has it. A file that names its account in no way is read as named
   after the file ("schwab-checking" for schwab-checking.csv), so an account created from it is found again.

An account of the file is matched to at most one Florin account and the other way round, and only when
the currencies agree (a file account without a currency fits any). The rest are unmatched, each with the
reason; `createMissingAccounts` creates them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath

from app.accounts.models import Account
from app.errors import DomainError, ErrorCode
from app.sync.providers.statement import ParsedAccount

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
MAX_NAME = 120


class MatchedBy(str, Enum):
    ACCOUNT_ID = "ACCOUNT_ID"
    IBAN = "IBAN"
    NUMBER = "NUMBER"
    MASK = "MASK"
    NAME = "NAME"
    CREATED = "CREATED"


def identity(value: str | None) -> str | None:
    """An IBAN or account number compared on letters and digits only: 'nl26 vayb-8060' -> 'NL26VAYB8060'."""
    cleaned = _NOT_ALNUM.sub("", value or "").upper()
    return cleaned or None


def digits_mask(account: ParsedAccount) -> str | None:
    """The last 4 characters of the number when they are digits (what `Account.mask` may hold)."""
    mask = account.mask
    return mask if mask and mask.isdigit() and len(mask) >= 2 else None


def file_name(filename: str | None) -> str | None:
    """The name an account is given when the file names it in no way: the file's name without extension."""
    stem = PurePath(filename or "").stem.strip()
    return stem[:MAX_NAME] or None


def display_name(account: ParsedAccount, filename: str | None) -> str | None:
    if account.name and account.name.strip():
        return account.name.strip()[:MAX_NAME]
    if account.iban or account.number:
        return None
    return file_name(filename)


@dataclass
class AccountMatch:
    index: int
    parsed: ParsedAccount
    account: Account | None = None
    matched_by: MatchedBy | None = None
    reason: str | None = None
    name: str | None = None
    """The name used for name matching (and for an account created from it)."""


def _fits(parsed: ParsedAccount, account: Account) -> bool:
    return parsed.currency is None or parsed.currency == account.currency.strip()


def match_accounts(parsed: Sequence[ParsedAccount], accounts: Sequence[Account], *, filename: str | None,
                   account: Account | None = None) -> list[AccountMatch]:
    """Match every account of the file (see the module text); DomainError when `account` cannot apply."""
    if account is not None:
        if len(parsed) > 1:
            raise DomainError(ErrorCode.INVALID, f"This file holds {len(parsed)} accounts; leave out accountId so "
                              "each is matched by its IBAN, number or name.", "accountId")
        currency = account.currency.strip()
        if parsed and parsed[0].currency and parsed[0].currency != currency:
            raise DomainError(ErrorCode.CURRENCY_MISMATCH, f"The file's account is in {parsed[0].currency}, "
                              f"this account in {currency}.", "accountId")
        return [AccountMatch(i, item, account, MatchedBy.ACCOUNT_ID, name=display_name(item, filename))
                for i, item in enumerate(parsed)]
    taken: set[uuid.UUID] = set()
    by_identity: dict[str, list[Account]] = {}
    for candidate in accounts:
        key = identity(candidate.external_id)
        if key:
            by_identity.setdefault(key, []).append(candidate)
    out: list[AccountMatch] = []
    for index, item in enumerate(parsed):
        match = AccountMatch(index, item, name=display_name(item, filename))
        _match_one(match, accounts, by_identity, taken)
        if match.account is not None:
            taken.add(match.account.id)
        out.append(match)
    return out


def _match_one(match: AccountMatch, accounts: Sequence[Account], by_identity: dict[str, list[Account]],
               taken: set[uuid.UUID]) -> None:
    item = match.parsed
    free = [a for a in accounts if a.id not in taken and _fits(item, a)]
    for value, how in ((item.iban, MatchedBy.IBAN), (item.number, MatchedBy.NUMBER)):
        key = identity(value)
        found = [a for a in by_identity.get(key or "", []) if a.id not in taken and _fits(item, a)] if key else []
        if len(found) == 1:
            match.account, match.matched_by = found[0], how
            return
    number = identity(item.iban or item.number)
    if number:
        found = [a for a in free if a.mask and len(a.mask) >= 2 and number.endswith(a.mask)]
        if len(found) == 1:
            match.account, match.matched_by = found[0], MatchedBy.MASK
            return
        if len(found) > 1:
            match.reason = f"Several accounts have a mask that fits …{item.mask}; choose with accountId."
            return
    if match.name:
        wanted = match.name.casefold()
        found = [a for a in free if a.name.strip().casefold() == wanted]
        if len(found) == 1:
            match.account, match.matched_by = found[0], MatchedBy.NAME
            return
    if number:
        match.reason = f"No account has the number {item.iban or item.number} (or its last digits as mask)."
    elif item.name:
        match.reason = f"No account is named {item.name!r}."
    else:
        match.reason = "The file does not say which account it is; choose one with accountId."
