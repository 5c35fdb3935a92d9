"""Deciding, for one account, which incoming rows are new, which are already there, and which update a
pending row in place. Pure: the pipeline loads the existing rows and writes the plan.

Identity of a row:
- the provider's id (OFX FITID, CAMT reference, a CSV id column, the id a sync builds) is stored in
  `external_id`, unique per account;
- every row, with or without an id, also gets a fingerprint `<key>:<n>`, unique per account, where `key`
  hashes (day, amount, normalized description) and `n` is the occurrence number within that key: the
  first such row is 1, a second identical coffee on the same day is 2. So two honest coffees both stay,
  while a re-import of the same rows, or of the same rows through another format (a CSV export and an OFX
  export of one account), finds them all again.

The plan, per account (all matching is one-to-one, each existing row is used at most once):
1. an incoming row whose provider id is stored is that row;
2. otherwise rows are matched by key against the stored rows of the same key (those with a provider id
   first, and they only take stored rows without one, whose id is then filled in; a stored row with
   another provider id is another transaction);
3. a matched stored row that was PENDING while the incoming one is posted becomes POSTED in place (its
   day, and its fingerprint, follow the posted row);
4. an unmatched posted row takes a stored PENDING row of the same amount booked at most `PENDING_DAYS`
   earlier (or a day later) with a similar description: updated in place, not added;
5. an unmatched pending row whose posted version is already stored (same amount, booked the same day or
   up to `PENDING_DAYS` later, similar description) is a duplicate;
6. the rest are inserted, each with the lowest free occurrence number of its key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from app.transactions.models import TransactionStatus
from app.transactions.normalize import description_key_of, normalize_merchant
from app.transactions.normalize import merchant_of as _merchant_of

PENDING_DAYS = 7
MAX_EXTERNAL_ID = 200
_FINGERPRINT = re.compile(r"^([0-9a-f]{32}):([1-9][0-9]{0,8})$")
_QUANTUM = Decimal("0.0001")
_NOISE = frozenset("pending pend pos card purchase debit credit payment authorization authorisation auth preauth "
                   "pre hold visa mastercard maestro transaction the of".split())
PENDING = TransactionStatus.PENDING.value
POSTED = TransactionStatus.POSTED.value


def description_key(description: str) -> str:
    return description_key_of(description)


def key_of(day: dt.date, amount: Decimal, description: str) -> str:
    """The occurrence-free part of a fingerprint: 32 hex digits of sha256(day|amount|description key)."""
    text = f"{day.isoformat()}|{amount.quantize(_QUANTUM)}|{description_key_of(description)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fingerprint(key: str, occurrence: int) -> str:
    return f"{key}:{occurrence}"


def parse_fingerprint(value: str | None) -> tuple[str, int] | None:
    match = _FINGERPRINT.match(value or "")
    return (match.group(1), int(match.group(2))) if match else None


def external_id(provider_id: str | None) -> str | None:
    """The stored form of a provider id: as given, or its hash when longer than the column."""
    if not provider_id:
        return None
    value = provider_id.strip()
    if len(value) > MAX_EXTERNAL_ID:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value or None


@lru_cache(maxsize=65536)
def _words(description: str) -> tuple[str, ...]:
    """The description key's words without the noise of pending texts ("PENDING", "POS", "CARD" ...)."""
    return tuple(w for w in description_key(description).split() if w not in _NOISE)


def merchant_of(description: str) -> str:
    return _merchant_of(description)


@lru_cache(maxsize=65536)
def _merchant_without_noise(description: str) -> str:
    kept = [w for w in description.split() if w.casefold().strip(":*#-") not in _NOISE]
    return normalize_merchant(" ".join(kept))


def similar(a: str, b: str) -> bool:
    """Whether two descriptions plausibly name the same payment (a pending and a posted text): the same
    merchant, the same first word (of 4+ letters), or mostly the same words."""
    merchant = _merchant_without_noise(a)
    if merchant and merchant == _merchant_without_noise(b):
        return True
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return wa == wb
    if wa[0] == wb[0] and len(wa[0]) >= 4:
        return True
    sa, sb = set(wa), set(wb)
    return sa <= sb or sb <= sa or len(sa & sb) * 2 >= len(sa | sb)


@dataclass(slots=True)
class Incoming:
    """A validated incoming row."""

    position: int
    day: dt.date
    amount: Decimal
    description: str
    pending: bool
    external_id: str | None
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = key_of(self.day, self.amount, self.description)


@dataclass(slots=True)
class Existing:
    """A stored row of the account, as the plan needs it."""

    id: uuid.UUID
    day: dt.date
    amount: Decimal
    status: str
    external_id: str | None
    fingerprint: str | None
    description: str
    key: str | None = None
    occurrence: int | None = None

    def __post_init__(self) -> None:
        parsed = parse_fingerprint(self.fingerprint)
        if parsed is not None:
            self.key, self.occurrence = parsed


@dataclass(slots=True)
class Update:
    """A stored row to change in place."""

    id: uuid.UUID
    old_day: dt.date
    day: dt.date
    status: str
    external_id: str | None
    fingerprint: str | None
    posted: bool
    """True when a pending row became posted (counted as updated); False for a filled-in provider id."""


@dataclass
class Plan:
    inserts: list[tuple[Incoming, str]] = field(default_factory=list)
    """New rows with their fingerprints, in file order."""
    updates: list[Update] = field(default_factory=list)
    duplicates: int = 0

    @property
    def updated(self) -> int:
        return sum(1 for update in self.updates if update.posted)


class _Occurrences:
    """The occurrence numbers taken per key; hands out the lowest free one."""

    def __init__(self, existing: Iterable[Existing]):
        self.taken: dict[str, set[int]] = {}
        for row in existing:
            if row.key is not None and row.occurrence is not None:
                self.taken.setdefault(row.key, set()).add(row.occurrence)

    def release(self, key: str | None, occurrence: int | None) -> None:
        if key is not None and occurrence is not None:
            self.taken.get(key, set()).discard(occurrence)

    def claim(self, key: str) -> str:
        used = self.taken.get(key)
        if used is None:  # the common case: a key not seen before
            self.taken[key] = {1}
            return f"{key}:1"
        number = 1
        while number in used:
            number += 1
        used.add(number)
        return fingerprint(key, number)


def plan(incoming: Sequence[Incoming], existing: Sequence[Existing]) -> Plan:
    """What to do with `incoming` given the account's `existing` rows (see the module text)."""
    result = Plan()
    occurrences = _Occurrences(existing)
    used: set[uuid.UUID] = set()
    by_external = {row.external_id: row for row in existing if row.external_id}
    pools: dict[str, list[Existing]] = {}
    for stored in sorted(existing, key=lambda r: r.occurrence or 0):
        if stored.key is not None:
            pools.setdefault(stored.key, []).append(stored)

    matched: list[tuple[Incoming, Existing]] = []
    rest: list[Incoming] = []
    for row in incoming:  # 1. provider ids
        found = by_external.get(row.external_id) if row.external_id else None
        if found is not None and found.id not in used:
            used.add(found.id)
            matched.append((row, found))
        elif found is not None:
            result.duplicates += 1
        else:
            rest.append(row)

    unmatched: list[Incoming] = []
    for row in sorted(rest, key=lambda r: r.external_id is None):  # 2. keys; rows with an id first
        same_key = pools.get(row.key)
        if not same_key:
            unmatched.append(row)
            continue
        pool = [candidate for candidate in same_key if candidate.id not in used]
        if row.external_id:
            pool = [candidate for candidate in pool if candidate.external_id is None]
        if not pool:
            unmatched.append(row)
            continue
        found = pool[0]
        used.add(found.id)
        matched.append((row, found))
        if row.external_id and not (found.status == PENDING and not row.pending):
            result.updates.append(Update(found.id, found.day, found.day, found.status, row.external_id,
                                         found.fingerprint, posted=False))
    unmatched.sort(key=lambda r: r.position)

    for row, found in matched:  # 3. pending -> posted
        if found.status == PENDING and not row.pending:
            result.updates.append(_posted(found, row, occurrences))
        else:
            result.duplicates += 1

    pending_pool = _by_amount(r for r in existing if r.status == PENDING and r.id not in used)
    posted_pool = _by_amount(r for r in existing if r.status != PENDING and r.id not in used)
    for row in unmatched:
        if not row.pending:  # 4. a posted row for a stored pending one
            found = _nearest(pending_pool, row, -1, PENDING_DAYS) if pending_pool else None
            if found is not None:
                result.updates.append(_posted(found, row, occurrences))
                continue
        elif posted_pool:  # 5. a pending row whose posted version is stored
            found = _nearest(posted_pool, row, -PENDING_DAYS, 0)
            if found is not None:
                result.duplicates += 1
                continue
        result.inserts.append((row, occurrences.claim(row.key)))  # 6. new
    return result


def _posted(found: Existing, row: Incoming, occurrences: _Occurrences) -> Update:
    """The stored pending row `found` as the posted `row` says: its day, its id, a fingerprint of its key."""
    if found.key == row.key:
        new_fingerprint = found.fingerprint
    else:
        occurrences.release(found.key, found.occurrence)
        new_fingerprint = occurrences.claim(row.key)
    return Update(found.id, found.day, row.day, POSTED, row.external_id or found.external_id, new_fingerprint,
                  posted=True)


def _by_amount(rows: Iterable[Existing]) -> dict[Decimal, list[Existing]]:
    pools: dict[Decimal, list[Existing]] = {}
    for row in rows:
        pools.setdefault(row.amount, []).append(row)
    return pools


def _nearest(pools: dict[Decimal, list[Existing]], row: Incoming, low: int, high: int) -> Existing | None:
    """The stored row of the same amount, booked `low`..`high` days before `row`, with a similar description,
    nearest in days; taken out of `pools`."""
    pool = pools.get(row.amount)
    best: Existing | None = None
    for candidate in pool or ():
        if not low <= (row.day - candidate.day).days <= high or not similar(candidate.description, row.description):
            continue
        if best is None or abs((candidate.day - row.day).days) < abs((best.day - row.day).days):
            best = candidate
    if pool is not None and best is not None:
        pool.remove(best)
    return best
