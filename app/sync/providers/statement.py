"""What every statement parser returns, and the one error type they raise.

A parser turns the bytes of one file into a `ParsedStatement`: the accounts the file names, each with its
transactions. Amounts are `Decimal`s signed from the owner's point of view (money in positive, money out
negative), already checked against their currency's minor units when the currency is known. Nothing here
touches the database: the import pipeline matches the accounts, deduplicates and stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from app.errors import DomainError, ErrorCode
from app.money import MAX_INTEGER_DIGITS, is_currency, minor_units, parse_amount

if TYPE_CHECKING:
    from app.sync.providers.csv_format import CsvMapping

STORED_PLACES = 4
"""Amounts are NUMERIC(19,4): without a known currency an amount may have at most 4 decimals."""


class StatementFormat(str, Enum):
    """The file formats Florin reads (the GraphQL `format` input less AUTO)."""

    OFX = "OFX"
    QFX = "QFX"
    QIF = "QIF"
    CAMT053 = "CAMT053"
    CSV = "CSV"


class KindHint(str, Enum):
    """What the file says an account is; the values are `app.accounts.models.AccountKind` names."""

    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"
    CREDIT_CARD = "CREDIT_CARD"
    INVESTMENT = "INVESTMENT"
    CASH = "CASH"
    LOAN = "LOAN"
    OTHER_ASSET = "OTHER_ASSET"
    OTHER_LIABILITY = "OTHER_LIABILITY"


class StatementError(DomainError):
    """A file that cannot be read (MALFORMED_FILE unless told otherwise).

    `location` is where the problem is: ``"line 37"`` for line formats (CSV, QIF, OFX) or an element path
    such as ``"Document/BkToCstmrStmt/Stmt[2]/Ntry[1]/Amt"`` for XML. The message starts with it.
    """

    code = ErrorCode.MALFORMED_FILE

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        code: ErrorCode | None = None,
        field: str | None = "file",
    ):
        self.location = location
        text = f"{location[:1].upper()}{location[1:]}: {message}" if location else message
        super().__init__(code, text, field)


def line_ref(line: int) -> str:
    """The location of a 1-based line number."""
    return f"line {line}"


@dataclass(frozen=True, slots=True)
class ParsedSplit:
    """One category line of a split transaction (QIF `S`/`E`/`$`); the splits add up to the total."""

    amount: Decimal
    category: str | None = None
    memo: str | None = None
    transfer_account: str | None = None
    """Set when the split moves money to another account (QIF `S[Savings]`)."""


@dataclass(frozen=True, slots=True)
class ParsedInvestment:
    """The security side of an investment transaction (QIF `!Type:Invst`, OFX BUY*/SELL*/INCOME)."""

    action: str
    security: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    commission: Decimal | None = None
    total: Decimal | None = None


@dataclass(slots=True)
class ParsedTransaction:
    """One booked (or pending) movement of money on one account."""

    booked_on: dt.date
    amount: Decimal
    """Signed from the owner's view: money in positive, money out negative."""
    currency: str | None
    """ISO 4217 code, or None when the file does not say (the target account's currency then applies)."""
    description: str
    """The text the bank wrote, stripped of surrounding blanks but otherwise untouched."""
    payee: str | None = None
    memo: str | None = None
    provider_id: str | None = None
    """The file's own id (OFX FITID, CAMT AcctSvcrRef/NtryRef/TxDtls refs, a unique CSV id column)."""
    check_number: str | None = None
    pending: bool | None = None
    """True/False when the file says; None when it cannot tell."""
    category: str | None = None
    """The file's category text (QIF `L`, a CSV category column), a hint for categorization."""
    transfer_account: str | None = None
    """The other account of a transfer when the file names it (QIF `L[Savings]`)."""
    value_on: dt.date | None = None
    splits: tuple[ParsedSplit, ...] = ()
    investment: ParsedInvestment | None = None
    ref: str = ""
    """Where the transaction is in the file ("line 12", "Document/BkToCstmrStmt/Stmt[1]/Ntry[3]")."""


@dataclass(slots=True)
class ParsedAccount:
    """An account as the file names it, with its transactions in file order."""

    number: str | None = None
    """Account number, IBAN or masked number exactly as given (OFX ACCTID, CAMT IBAN/Othr/Id, CSV column)."""
    iban: str | None = None
    name: str | None = None
    """A name given by the file (QIF `!Account` N, a CSV account-name column)."""
    currency: str | None = None
    kind_hint: KindHint | None = None
    institution: str | None = None
    bank_id: str | None = None
    """Routing number, BIC or broker id when given."""
    balance: Decimal | None = None
    """The statement's closing (ledger) balance, signed like amounts."""
    balance_on: dt.date | None = None
    opening_balance: Decimal | None = None
    opening_balance_on: dt.date | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    transactions: list[ParsedTransaction] = field(default_factory=list)
    ref: str = ""

    @property
    def mask(self) -> str | None:
        """The last four letters or digits of the number, for display and matching."""
        if not self.number:
            return None
        chars = [c for c in self.number if c.isalnum()]
        return "".join(chars[-4:]) or None

    def key(self) -> tuple[str, str | None]:
        """What identifies the account within one file: number (or name) and currency."""
        ident = (self.iban or self.number or self.name or "").replace(" ", "").upper()
        return ident, self.currency


@dataclass(slots=True)
class ParsedStatement:
    """Everything read from one file."""

    format: StatementFormat
    accounts: list[ParsedAccount]
    warnings: list[str] = field(default_factory=list)
    """Things the parser decided that a person may want to check (an ambiguous date order, dropped ids)."""
    csv_mapping: CsvMapping | None = None
    """For CSV: the `CsvMapping` used (detected or given), so it can be shown and saved as a preset."""

    @property
    def transaction_count(self) -> int:
        return sum(len(account.transactions) for account in self.accounts)


def check_amount(value: Decimal, currency: str | None, location: str, what: str = "amount") -> Decimal:
    """`value` validated against `currency` (minor units, NUMERIC(19,4) range); StatementError if not.

    Without a currency the amount may have at most 4 decimals (what the database keeps); the pipeline
    checks it again against the target account's currency.
    """
    if currency is not None:
        try:
            return parse_amount(value, currency)
        except DomainError as error:
            raise StatementError(f"The {what} {value} is not valid: {error.message}", location=location) from error
    if not value.is_finite():
        raise StatementError(f"The {what} is not a finite number.", location=location)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -STORED_PLACES:
        raise StatementError(f"The {what} {value} has more than {STORED_PLACES} decimals.", location=location)
    if value and value.adjusted() >= MAX_INTEGER_DIGITS:
        raise StatementError(f"The {what} {value} is too large.", location=location)
    return value if value else abs(value)


def amount_checker(currency: str, what: str = "amount") -> Callable[[Decimal, str], Decimal]:
    """`check_amount` for many amounts of one known currency: `check(value, location)`. A finite amount
    that its currency's minor units hold exactly, below the NUMERIC(19,4) limit, is quantized at once (what
    `parse_amount` returns for it); anything else goes through `check_amount` (its result or its error)."""
    quantum = Decimal(1).scaleb(-minor_units(currency)) if is_currency(currency) else None
    limit = Decimal(10) ** MAX_INTEGER_DIGITS

    def check(value: Decimal, location: str) -> Decimal:
        if quantum is not None and type(value) is Decimal and value.is_finite() and -limit < value < limit:
            exact = value.quantize(quantum)
            if exact == value:
                return exact if exact else exact.copy_abs()
        return check_amount(value, currency, location, what)

    return check


def finish(statement: ParsedStatement) -> ParsedStatement:
    """Merge accounts that a file lists twice and make provider ids unique within each account.

    A CAMT document may hold one statement per day for the same account, an OFX file may repeat a
    statement: the pipeline wants one `ParsedAccount` per account. See `_unique_ids` for repeated ids.
    """
    merged: dict[tuple[str, str | None], ParsedAccount] = {}
    accounts: list[ParsedAccount] = []
    for account in statement.accounts:
        key = account.key()
        first = merged.get(key) if key[0] else None
        if first is None:
            if key[0]:
                merged[key] = account
            accounts.append(account)
            continue
        first.transactions.extend(account.transactions)
        _merge_balances(first, account)
    for account in accounts:
        _unique_ids(account, statement.warnings)
    statement.accounts = accounts
    return statement


def _unique_ids(account: ParsedAccount, warnings: list[str]) -> None:
    """A transaction listed twice with the same id, day, amount and text (overlapping statements in one
    file) is kept once; an id shared by transactions that differ cannot tell them apart, so they all lose
    it (deduplication then falls back to the fingerprint). Either way a warning says so."""
    groups: dict[str, list[ParsedTransaction]] = {}
    for transaction in account.transactions:
        if transaction.provider_id:
            groups.setdefault(transaction.provider_id, []).append(transaction)
    repeated = {pid: group for pid, group in groups.items() if len(group) > 1}
    if not repeated:
        return
    listed_twice: set[int] = set()
    ambiguous: list[str] = []
    for pid, group in repeated.items():
        first = group[0]
        same = (first.booked_on, first.amount, first.currency, first.description)
        if all((t.booked_on, t.amount, t.currency, t.description) == same for t in group[1:]):
            listed_twice.update(id(t) for t in group[1:])
        else:
            ambiguous.append(pid)
            for transaction in group:
                transaction.provider_id = None
    if listed_twice:
        account.transactions = [t for t in account.transactions if id(t) not in listed_twice]
        warnings.append(f"{len(listed_twice)} transaction(s) listed twice with the same id were read once.")
    if ambiguous:
        shown = ", ".join(sorted(ambiguous)[:3])
        warnings.append(f"{len(ambiguous)} transaction id(s) are shared by different transactions ({shown}); "
                        "those are matched by day, amount and description instead.")


def _merge_balances(into: ParsedAccount, other: ParsedAccount) -> None:
    for name in ("institution", "bank_id", "name", "kind_hint", "iban", "number"):
        if getattr(into, name) is None:
            setattr(into, name, getattr(other, name))
    if other.balance is not None and (
        into.balance is None or into.balance_on is None or (other.balance_on or dt.date.min) >= into.balance_on
    ):
        into.balance, into.balance_on = other.balance, other.balance_on
    if other.opening_balance is not None and (
        into.opening_balance is None
        or (other.opening_balance_on is not None and into.opening_balance_on is not None
            and other.opening_balance_on < into.opening_balance_on)
    ):
        into.opening_balance, into.opening_balance_on = other.opening_balance, other.opening_balance_on
    if other.period_start and (into.period_start is None or other.period_start < into.period_start):
        into.period_start = other.period_start
    if other.period_end and (into.period_end is None or other.period_end > into.period_end):
        into.period_end = other.period_end
