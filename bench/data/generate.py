"""Deterministic households: a user, their built-in categories, accounts and years of transactions.

Everything comes from `random.Random(f"{seed}:{index}")` and a fixed last day, so the same `DataSpec`
always produces the same rows (ids included). Rows are plain tuples in the column order of `COLUMNS`,
ready for `asyncpg.Connection.copy_records_to_table`; transactions are produced month by month so a user
with a million of them never sits in memory at once.

Signs follow DESIGN §4: money in positive, money out negative; card spending makes the card balance
negative and a monthly transfer from checking pays it off; loans and the mortgage start negative and
monthly transfers pay them down. `current_balance` is set by the loader in SQL as opening balance plus the
sum of the account's transactions, so it is exact by construction.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.accounts.models import AccountKind, classify
from app.categories.builtin import BUILTIN_CATEGORIES
from app.money import minor_units
from bench.data.catalog import (
    BASE_CURRENCIES,
    BILLS,
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    MERCHANTS,
    RATES,
    RENT,
    TIME_ZONES,
    Category,
    Merchant,
)

DEFAULT_END = dt.date(2026, 11, 20)
PASSWORD = "bench-password-florin-0001"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "password_hash", "name", "base_currency", "time_zone", "token_version",
              "created_at", "updated_at"),
    "refresh_tokens": ("id", "user_id", "family_id", "token_hash", "created_at", "expires_at"),
    "categories": ("id", "user_id", "parent_id", "name", "kind", "icon", "color", "position", "created_at",
                   "updated_at"),
    "accounts": ("id", "user_id", "name", "kind", "classification", "currency", "institution", "mask",
                 "opening_balance", "opening_date", "current_balance", "archived", "created_at", "updated_at"),
    "transactions": ("id", "user_id", "account_id", "booked_on", "amount", "currency", "description", "merchant",
                     "category_id", "category_source", "category_confidence", "notes", "tags", "status",
                     "transfer_id", "has_splits", "created_at", "updated_at"),
    "transaction_splits": ("id", "transaction_id", "user_id", "category_id", "amount", "notes", "position"),
}

# Kinds beyond the four every household has; three per user, rotating, so every kind appears every 3 users.
EXTRA_KINDS = (AccountKind.INVESTMENT, AccountKind.MORTGAGE, AccountKind.RETIREMENT, AccountKind.LOAN,
               AccountKind.CRYPTO, AccountKind.PROPERTY, AccountKind.VEHICLE, AccountKind.OTHER_LIABILITY,
               AccountKind.OTHER_ASSET)
EXTRA_CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY", "INR", "SEK")
INSTITUTIONS = ("N26", "ING", "DKB", "Commerzbank", "Revolut", "HSBC", "Chase", "UBS", "SBI", "Nordea")
TAGS = ("vacation", "business", "gift", "reimbursable", "kids")
SOURCES = ("RULE", "MEMORY", "MODEL", "USER")
# Monthly standing orders from checking into these accounts (EUR).
PAYMENTS = {"mortgage": 1300.0, "loan": 320.0, "other_liability": 90.0, "investment": 300.0, "retirement": 200.0,
            "crypto": 50.0}


@dataclass(frozen=True)
class DataSpec:
    """How much to generate: `users` x `transactions` (the main tier), `small_users` x `small_transactions`
    (to show statement counts do not grow with data), then `big_users` x `big_transactions`, then
    `history_users` x `history_transactions` (ten years of history over 20 accounts each, for net worth over
    time: `planning.history_accounts` adds their 13 extra accounts)."""

    users: int = 120
    transactions: int = 10_000
    big_users: int = 0
    big_transactions: int = 1_000_000
    seed: int = 20261121
    end: dt.date = DEFAULT_END
    small_users: int = 2
    small_transactions: int = 1_000
    history_users: int = 4
    history_transactions: int = 30_000  # >= 29,200 spreads them over the full 3,650 days

    def tiers(self) -> list[tuple[int, int]]:
        """(user index, transactions) for every user."""
        out = [(i, self.transactions) for i in range(self.users)]
        out += [(self.users + i, self.small_transactions) for i in range(self.small_users)]
        first_big = self.users + self.small_users
        out += [(first_big + i, self.big_transactions) for i in range(self.big_users)]
        first_history = first_big + self.big_users
        out += [(first_history + i, self.history_transactions) for i in range(self.history_users)]
        return out

    def history_indexes(self) -> range:
        first = self.users + self.small_users + self.big_users
        return range(first, first + self.history_users)


@dataclass
class AccountPlan:
    id: uuid.UUID
    key: str
    kind: AccountKind
    currency: str
    opening: Decimal
    row: tuple[Any, ...] = ()


@dataclass
class UserPlan:
    """One user's fixed rows and what the transaction stream needs. `month_rows()` yields the rest."""

    index: int
    transactions: int
    id: uuid.UUID
    email: str
    family_id: uuid.UUID
    base_currency: str
    start: dt.date
    end: dt.date
    user_row: tuple[Any, ...]
    refresh_row: tuple[Any, ...]
    category_rows: list[tuple[Any, ...]]
    categories: dict[Category, uuid.UUID]
    accounts: dict[str, AccountPlan]
    rng: random.Random = field(repr=False)
    history: bool = False  # a user of the ten-year, 20-account tier (extra accounts come from a hook)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)  # rows of the hooks a scenario names ("budget:Monthly")

    def account_rows(self) -> list[tuple[Any, ...]]:
        return [a.row for a in self.accounts.values()]


def deterministic_uuid7(rng: random.Random, when: dt.datetime) -> uuid.UUID:
    """A version-7 UUID for `when` whose random bits come from `rng` (so ids repeat run after run)."""
    ms = int((when - EPOCH).total_seconds() * 1000) & ((1 << 48) - 1)
    rand = rng.getrandbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def _at(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def plan_user(spec: DataSpec, index: int, transactions: int, password_hash: str) -> UserPlan:
    rng = random.Random(f"florin-bench:{spec.seed}:{index}")
    days = int(min(3650, max(730, transactions / 8)))
    start = spec.end - dt.timedelta(days=days)
    registered = _at(start - dt.timedelta(days=1), 9 * 3600)
    user_id = deterministic_uuid7(rng, registered)
    email = f"user{index:05d}@bench.florin.dev"
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    base = BASE_CURRENCIES[index % len(BASE_CURRENCIES)]
    user_row = (user_id, email, password_hash, name, base, TIME_ZONES[index % len(TIME_ZONES)], 0, registered,
                registered)
    family_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    token_hash = hashlib.sha256(f"bench-refresh:{spec.seed}:{index}".encode()).hexdigest()
    refresh_row = (deterministic_uuid7(rng, registered), user_id, family_id, token_hash, registered,
                   registered + dt.timedelta(days=3650))

    category_rows: list[tuple[Any, ...]] = []
    categories: dict[Category, uuid.UUID] = {}
    for position, root in enumerate(BUILTIN_CATEGORIES):
        root_id = deterministic_uuid7(rng, registered)
        categories[(root.name, None)] = root_id
        category_rows.append((root_id, user_id, None, root.name, root.kind.value, root.icon, root.color, position,
                              registered, registered))
        for child_position, (child, icon) in enumerate(root.children):
            child_id = deterministic_uuid7(rng, registered)
            categories[(root.name, child)] = child_id
            category_rows.append((child_id, user_id, root_id, child, root.kind.value, icon, root.color,
                                  child_position, registered, registered))

    accounts: dict[str, AccountPlan] = {}

    def add(key: str, name: str, kind: AccountKind, currency: str, opening_eur: float) -> None:
        opening = _money(opening_eur * RATES[currency], currency)
        account_id = deterministic_uuid7(rng, registered)
        mask = f"{rng.randrange(10000):04d}" if kind not in (AccountKind.CASH, AccountKind.PROPERTY) else None
        institution = rng.choice(INSTITUTIONS) if kind != AccountKind.CASH else None
        row = (account_id, user_id, name, kind.value, classify(kind).value, currency, institution, mask, opening,
               start, opening, False, registered, registered)
        accounts[key] = AccountPlan(account_id, key, kind, currency, opening, row)

    add("checking", "Checking", AccountKind.CHECKING, base, rng.uniform(800, 4000))
    add("savings", "Savings", AccountKind.SAVINGS, base, rng.uniform(2000, 25000))
    add("card", "Credit card", AccountKind.CREDIT_CARD, base, 0)
    add("cash", "Wallet", AccountKind.CASH, base, rng.uniform(20, 200))
    for slot in range(3):
        kind = EXTRA_KINDS[(index * 3 + slot) % len(EXTRA_KINDS)]
        currency = EXTRA_CURRENCIES[(index + slot) % len(EXTRA_CURRENCIES)]
        opening = {AccountKind.MORTGAGE: -rng.uniform(150_000, 400_000), AccountKind.LOAN: -rng.uniform(5000, 30000),
                   AccountKind.OTHER_LIABILITY: -rng.uniform(500, 5000),
                   AccountKind.PROPERTY: rng.uniform(250_000, 800_000),
                   AccountKind.VEHICLE: rng.uniform(8000, 40000)}.get(kind, rng.uniform(1000, 30000))
        if kind in (AccountKind.MORTGAGE, AccountKind.LOAN, AccountKind.PROPERTY, AccountKind.OTHER_LIABILITY):
            currency = base  # debts are paid from checking in its currency
        add(kind.value.lower(), kind.value.replace("_", " ").title(), kind, currency, opening)

    return UserPlan(index=index, transactions=transactions, id=user_id, email=email, family_id=family_id,
                    base_currency=base, start=start, end=spec.end, user_row=user_row, refresh_row=refresh_row,
                    category_rows=category_rows, categories=categories, accounts=accounts, rng=rng)


def _money(eur_or_units: float, currency: str) -> Decimal:
    places = minor_units(currency)
    return Decimal(round(eur_or_units * 10**places)).scaleb(-places)


_WEIGHTS = []
_total = 0
for _m in MERCHANTS:
    _total += _m.weight
    _WEIGHTS.append(_total)


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    out = []
    first = start.replace(day=1)
    while first <= end:
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        out.append((max(first, start), min(nxt - dt.timedelta(days=1), end)))
        first = nxt
    return out


class TransactionStream:
    """Transactions and split lines of one user, month by month (`chunks()`)."""

    def __init__(self, plan: UserPlan):
        self.plan = plan
        self.rng = plan.rng
        self.city = CITIES[plan.index % len(CITIES)]
        self.salary_eur = self.rng.uniform(2600, 6500)
        self.card_spent: Decimal = Decimal(0)
        self.months = _months(plan.start, plan.end)
        # recurring rows a month (salary, rent, bills, interest, transfers); the rest is everyday spending
        payments = sum(1 for key in PAYMENTS if key in plan.accounts)
        self.recurring = 1 + ("mortgage" not in plan.accounts) + len(BILLS) + 1 + 2 + 2 + 4 + 2 * payments
        self.emitted = 0

    def chunks(self) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        months = len(self.months)
        for i, (first, last) in enumerate(self.months):
            rows: list[tuple[Any, ...]] = []
            splits: list[tuple[Any, ...]] = []
            left = months - i
            budget = max(0, self.plan.transactions - self.emitted - self.recurring * left) // left
            self._recurring(first, last, rows)
            self._spending(first, last, budget, rows, splits)
            if i == months - 1:  # land exactly on the requested count
                missing = self.plan.transactions - self.emitted - len(rows)
                if missing > 0:
                    self._spending(first, last, missing, rows, splits)
                elif missing < 0:
                    rows = _trim(rows, -missing)
            self.emitted += len(rows)
            yield rows, splits

    # -- rows ---------------------------------------------------------------------------------------------

    def _row(self, account: AccountPlan, day: dt.date, amount: Decimal, description: str, merchant: str,
             category: Category | None, *, transfer_id: uuid.UUID | None = None, tx_id: uuid.UUID | None = None,
             source: str | None = None, has_splits: bool = False) -> tuple[Any, ...]:
        rng = self.rng
        created = _at(day, rng.randrange(6 * 3600, 22 * 3600))
        tx_id = tx_id or deterministic_uuid7(rng, created)
        category_id = self.plan.categories[category] if category is not None else None
        confidence = None
        if category_id is not None:
            source = source or SOURCES[rng.randrange(4)]
            if source == "MODEL":
                confidence = Decimal(rng.randrange(6000, 9990)).scaleb(-4)
        else:
            source = None
        r = rng.random()
        tags = [TAGS[int(r * 1000) % len(TAGS)]] if r < 0.03 else []
        notes = "shared with flatmate" if 0.03 <= r < 0.04 else ""
        status = "PENDING" if (self.plan.end - day).days < 3 and transfer_id is None else "POSTED"
        return (tx_id, self.plan.id, account.id, day, amount, account.currency, description, merchant, category_id,
                source, confidence, notes, tags, status, transfer_id, has_splits, created, created)

    def _transfer(self, rows: list[tuple[Any, ...]], day: dt.date, source: AccountPlan, target: AccountPlan,
                  eur: float, description: str, category: Category) -> None:
        out_amount = -_money(eur * RATES[source.currency], source.currency)
        in_amount = _money(eur * RATES[target.currency], target.currency)
        when = _at(day, 12 * 3600)
        a, b = deterministic_uuid7(self.rng, when), deterministic_uuid7(self.rng, when)
        rows.append(self._row(source, day, out_amount, description, "", category, transfer_id=b, tx_id=a,
                              source="USER"))
        rows.append(self._row(target, day, in_amount, description, "", category, transfer_id=a, tx_id=b,
                              source="USER"))

    def _recurring(self, first: dt.date, last: dt.date, rows: list[tuple[Any, ...]]) -> None:
        rng, acc = self.rng, self.plan.accounts
        checking = acc["checking"]

        def day(n: int) -> dt.date | None:
            try:
                d = first.replace(day=n)
            except ValueError:
                d = last
            return d if first <= d <= last else None

        def n() -> str:
            return f"{rng.randrange(10**6):06d}"

        if (d := day(27)) is not None:
            rows.append(self._row(checking, d, _money(self.salary_eur * RATES[checking.currency], checking.currency),
                                  f"LOHN/GEHALT ACME GMBH {d:%m/%Y} REF {n()}", "ACME GMBH", ("Income", "Salary"),
                                  source="RULE"))
            if d.month == 12:
                rows.append(self._row(checking, d, _money(self.salary_eur * 0.8 * RATES[checking.currency],
                                                          checking.currency),
                                      f"BONUS ACME GMBH {d:%Y}", "ACME GMBH", ("Income", "Bonus"), source="RULE"))
        if "mortgage" not in acc and (d := day(1)) is not None:
            merchant, text, category, eur = RENT
            rows.append(self._row(checking, d, -_money(eur * RATES[checking.currency], checking.currency),
                                  text.format(n=n()), merchant, category, source="MEMORY"))
        for k, (merchant, text, category, eur) in enumerate(BILLS):
            if (d := day(2 + 3 * k)) is not None:
                rows.append(self._row(checking, d, -_money(eur * RATES[checking.currency], checking.currency),
                                      text.format(n=n()), merchant, category, source="MEMORY"))
        if (d := day(28)) is not None:
            rows.append(self._row(acc["savings"], d, _money(rng.uniform(0.5, 12) * RATES[acc["savings"].currency],
                                                            acc["savings"].currency),
                                  "HABENZINSEN", "", ("Income", "Interest & dividends"), source="RULE"))
        if (d := day(5)) is not None and self.card_spent > 0:
            eur = float(self.card_spent) / RATES[acc["card"].currency]
            self._transfer(rows, d, checking, acc["card"], eur, "KREDITKARTENABRECHNUNG", ("Transfers",
                                                                                          "Credit card payment"))
            self.card_spent = Decimal(0)
        if (d := day(28)) is not None:
            self._transfer(rows, d, checking, acc["savings"], self.salary_eur * 0.1, "DAUERAUFTRAG SPARPLAN",
                           ("Transfers", "Savings"))
        for atm_day in (8, 22):
            if (d := day(atm_day)) is not None:
                self._transfer(rows, d, checking, acc["cash"], rng.choice((50, 100, 150, 200)),
                               f"GA NR{n()} BLZ 10070000 {self.city}", ("Transfers", "Transfer"))
        for key, eur in PAYMENTS.items():
            if key in acc and (d := day(15)) is not None:
                self._transfer(rows, d, checking, acc[key], eur, f"DAUERAUFTRAG {key.upper()}",
                               ("Transfers", "Transfer"))

    def _spending(self, first: dt.date, last: dt.date, count: int, rows: list[tuple[Any, ...]],
                  splits: list[tuple[Any, ...]]) -> None:
        rng, acc, plan = self.rng, self.plan.accounts, self.plan
        span = (last - first).days + 1
        total = _WEIGHTS[-1]
        for _ in range(count):
            merchant: Merchant = MERCHANTS[bisect.bisect_right(_WEIGHTS, rng.random() * total)]
            day = first + dt.timedelta(days=rng.randrange(span))
            r = rng.random()
            eur = merchant.low + (merchant.high - merchant.low) * r * r
            if not merchant.card:
                account = acc["checking"]
            elif eur < 15 and r < 0.25:
                account = acc["cash"]
            elif rng.random() < 0.55:
                account = acc["card"]
            else:
                account = acc["checking"]
            amount = -_money(eur * RATES[account.currency], account.currency)
            if amount == 0:
                amount = -_money(1.0, account.currency) if minor_units(account.currency) == 0 else Decimal("-0.01")
            category: Category | None = merchant.category
            if rng.random() < 0.01 and merchant.category == ("Shopping", "Online shopping"):
                amount, category = -amount, ("Income", "Refunds")
            elif rng.random() < 0.04:
                category = None  # uncategorized, waiting for the user
            city = self.city if rng.random() < 0.9 else CITIES[rng.randrange(len(CITIES))]
            description = merchant.description.format(n=f"{rng.randrange(10000):04d}", city=city)
            split = category == ("Food & drink", "Groceries") and rng.random() < 0.01 and amount <= Decimal(-2)
            row = self._row(account, day, amount, description, merchant.name, category, has_splits=split)
            rows.append(row)
            if account.key == "card" and amount < 0:
                self.card_spent -= amount
            if split:
                household = (amount / 3).quantize(Decimal(1).scaleb(-minor_units(account.currency)))
                for position, (part, cat) in enumerate(((amount - household, ("Food & drink", "Groceries")),
                                                        (household, ("Shopping", "Household")))):
                    splits.append((deterministic_uuid7(rng, row[-1]), row[0], plan.id, plan.categories[cat], part,
                                   "", position))


def _trim(rows: list[tuple[Any, ...]], extra: int) -> list[tuple[Any, ...]]:
    """Drop `extra` rows that are neither a transfer leg nor split (only when recurring rows overshoot)."""
    out = list(rows)
    for i in range(len(out) - 1, -1, -1):
        if extra == 0:
            break
        if out[i][14] is None and not out[i][15]:
            del out[i]
            extra -= 1
    return out
