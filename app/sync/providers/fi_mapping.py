"""Fi Money MCP data (shared/FI_MCP.md) as Florin accounts, balances and transactions. Pure: no I/O.

Accounts (`fetch_net_worth`): every entry of `accountDetailsBulkResponse.accountDetailsMap` is one account,
identified by the provider's account id (the only stable id Fi gives). Its summary decides the kind:
deposits are SAVINGS (CHECKING for current accounts), recurring and term deposits SAVINGS, credit cards
CREDIT_CARD, loans LOAN (MORTGAGE for a home loan), mutual funds, equities, ETFs, REITs, InvITs and gold
bonds INVESTMENT, EPF and NPS RETIREMENT. Balances are signed from the owner's view: a credit card's
outstanding amount or a loan's outstanding principal is negative. A total of `netWorthResponse` that no
account of the map explains (Fi lists EPF or a vehicle loan there without details) becomes one account
per attribute (`networth:<attribute>`), so Florin's net worth matches the provider's.

Bank transactions are mapped in app/sync/providers/fi_bank.py.

Money `{currencyCode, units, nanos}` is `units + nanos / 10**9` exactly; a value with more decimals than
its currency has is refused (`ProviderDataError`), never rounded. Balance dates are RFC 3339 timestamps
read as days in India (Asia/Kolkata, the provider's zone); a summary without one is dated `today`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.accounts.models import AccountKind
from app.errors import DomainError
from app.money import parse_amount, parse_currency

PROVIDER_ZONE = ZoneInfo("Asia/Kolkata")
NANOS = Decimal(10) ** 9
MAX_NAME = 120

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d")


class ProviderDataError(Exception):
    """Provider data that does not have the documented shape; the message names where it is."""

    def __init__(self, location: str, message: str):
        self.location = location
        super().__init__(f"{location}: {message}")


def _obj(value: Any) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one (missing data is `{}` in Fi's answers)."""
    return value if isinstance(value, Mapping) else {}


def normalize(text: str) -> str:
    """Case- and blank-insensitive form of a name or narration."""
    return _SPACES.sub(" ", text).strip().casefold()


def money(value: Any, where: str) -> tuple[Decimal, str]:
    """(amount, currency) of a Money object, exactly; ProviderDataError when malformed."""
    if not isinstance(value, Mapping):
        raise ProviderDataError(where, "a money object {currencyCode, units, nanos} is expected")
    try:
        currency = parse_currency(str(value.get("currencyCode") or ""), None)
    except DomainError as exc:
        raise ProviderDataError(f"{where}.currencyCode", exc.message) from exc
    units_text = str(value.get("units", "0") or "0").strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", units_text, re.ASCII):
        raise ProviderDataError(f"{where}.units", f"{units_text[:32]!r} is not a whole number")
    nanos_raw = value.get("nanos", 0) or 0
    if isinstance(nanos_raw, bool) or not isinstance(nanos_raw, int | str) or not re.fullmatch(
            r"[+-]?\d{1,9}", str(nanos_raw).strip(), re.ASCII):
        raise ProviderDataError(f"{where}.nanos", "nanos must be a whole number of billionths")
    units, nanos = int(units_text), int(str(nanos_raw).strip())
    if (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
        raise ProviderDataError(f"{where}.nanos", "units and nanos must have the same sign")
    amount = Decimal(units) + Decimal(nanos) / NANOS
    try:
        return parse_amount(amount, currency, None), currency
    except DomainError as exc:
        raise ProviderDataError(where, f"{amount} {currency}: {exc.message}") from exc


def provider_day(value: Any, where: str) -> dt.date:
    """A day from an RFC 3339 timestamp (its date in India), `YYYY-MM-DD`, `YYYYMMDD` or `DD-MM-YYYY`."""
    text = str(value or "").strip()
    try:
        if "T" in text:
            stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if stamp.tzinfo is None:
                return stamp.date()
            return stamp.astimezone(PROVIDER_ZONE).date()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        if re.fullmatch(r"\d{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if re.fullmatch(r"\d{2}-\d{2}-\d{4}", text):
            return dt.date(int(text[6:]), int(text[3:5]), int(text[:2]))
    except ValueError:
        pass
    raise ProviderDataError(where, f"{text[:40]!r} is not a date")


# --- accounts --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FiAccount:
    """One account as the provider reports it, ready to match (by `external_id`) or create."""

    external_id: str
    name: str
    kind: AccountKind
    currency: str
    balance: Decimal
    """Signed from the owner's view (owed money negative), exact."""
    balance_on: dt.date
    institution: str | None = None
    mask: str | None = None
    bank_names: frozenset[str] = frozenset()
    """Normalized names of the bank, to match the bank of `fetch_bank_transactions` (deposits only)."""
    attribute: str | None = None
    """The `netWorthAttribute` the account counts under."""
    valued: bool = True
    """Whether `balance` is the provider's (recorded as a valuation); False when Florin only guessed it."""

    @property
    def is_deposit(self) -> bool:
        return self.kind in (AccountKind.SAVINGS, AccountKind.CHECKING) and bool(self.bank_names)


# summary key -> (net-worth attribute, label, sign of the balance)
_SUMMARIES: dict[str, tuple[str, str, int]] = {
    "depositSummary": ("ASSET_TYPE_SAVINGS_ACCOUNTS", "", 1),
    "recurringDepositSummary": ("ASSET_TYPE_FIXED_DEPOSIT", "recurring deposit", 1),
    "termDepositSummary": ("ASSET_TYPE_FIXED_DEPOSIT", "term deposit", 1),
    "creditCardSummary": ("LIABILITY_TYPE_CREDIT_CARD", "credit card", -1),
    "loanSummary": ("LIABILITY_TYPE_OTHER_LOAN", "loan", -1),
    "mutualFundSummary": ("ASSET_TYPE_MUTUAL_FUND", "mutual funds", 1),
    "equitySummary": ("ASSET_TYPE_INDIAN_SECURITIES", "equities", 1),
    "etfSummary": ("ASSET_TYPE_INDIAN_SECURITIES", "ETFs", 1),
    "reitSummary": ("ASSET_TYPE_REIT", "REITs", 1),
    "invitSummary": ("ASSET_TYPE_INVIT", "InvITs", 1),
    "sgbSummary": ("ASSET_TYPE_SGB", "sovereign gold bonds", 1),
    "npsSummary": ("ASSET_TYPE_NPS", "NPS", 1),
    "epfSummary": ("ASSET_TYPE_EPF", "EPF", 1),
}
_VALUE_FIELDS = ("currentBalance", "currentValue", "currentOutstanding", "currentPrincipalAmount")

_ATTRIBUTE_KINDS: dict[str, AccountKind] = {
    "ASSET_TYPE_SAVINGS_ACCOUNTS": AccountKind.SAVINGS,
    "ASSET_TYPE_FIXED_DEPOSIT": AccountKind.SAVINGS,
    "ASSET_TYPE_FIXED_DEPOSITS": AccountKind.SAVINGS,
    "ASSET_TYPE_MUTUAL_FUND": AccountKind.INVESTMENT,
    "ASSET_TYPE_INDIAN_SECURITIES": AccountKind.INVESTMENT,
    "ASSET_TYPE_US_SECURITIES": AccountKind.INVESTMENT,
    "ASSET_TYPE_REIT": AccountKind.INVESTMENT,
    "ASSET_TYPE_INVIT": AccountKind.INVESTMENT,
    "ASSET_TYPE_SGB": AccountKind.INVESTMENT,
    "ASSET_TYPE_EPF": AccountKind.RETIREMENT,
    "ASSET_TYPE_NPS": AccountKind.RETIREMENT,
    "LIABILITY_TYPE_CREDIT_CARD": AccountKind.CREDIT_CARD,
    "LIABILITY_TYPE_HOME_LOAN": AccountKind.MORTGAGE,
}


def _kind(summary_key: str, summary: Mapping[str, Any], details: Mapping[str, Any]) -> AccountKind:
    types = _obj(details.get("accountType"))
    if summary_key == "depositSummary":
        text = str(summary.get("depositAccountType") or types.get("depositAccountType") or "")
        return AccountKind.CHECKING if "CURRENT" in text.upper() else AccountKind.SAVINGS
    if summary_key == "loanSummary":
        text = str(summary.get("loanType") or types.get("loanAccountType") or "")
        return AccountKind.MORTGAGE if "HOME" in text.upper() or "HOUSING" in text.upper() else AccountKind.LOAN
    attribute = _SUMMARIES[summary_key][0]
    return _ATTRIBUTE_KINDS.get(attribute, AccountKind.OTHER_ASSET)


def _loan_attribute(kind: AccountKind, summary: Mapping[str, Any], details: Mapping[str, Any]) -> str:
    """The net-worth attribute a loan counts under, from its loan type."""
    if kind is AccountKind.MORTGAGE:
        return "LIABILITY_TYPE_HOME_LOAN"
    types = _obj(details.get("accountType"))
    text = str(summary.get("loanType") or types.get("loanAccountType") or "").upper()
    for word, attribute in (("VEHICLE", "VEHICLE_LOAN"), ("AUTO", "VEHICLE_LOAN"), ("PERSONAL", "PERSONAL_LOAN"),
                            ("EDUCATION", "EDUCATION_LOAN")):
        if word in text:
            return f"LIABILITY_TYPE_{attribute}"
    return "LIABILITY_TYPE_OTHER_LOAN"


def _mask(text: str) -> str | None:
    digits = "".join(_DIGITS.findall(text))
    return digits[-4:] if len(digits) >= 2 else None


def _title(text: str) -> str:
    return text.replace("_", " ").strip().lower()


def _attribute_name(attribute: str) -> str:
    words = attribute.removeprefix("ASSET_TYPE_").removeprefix("LIABILITY_TYPE_")
    return _title(words).capitalize()


def _attribute_kind(attribute: str) -> AccountKind:
    if attribute in _ATTRIBUTE_KINDS:
        return _ATTRIBUTE_KINDS[attribute]
    if attribute.startswith("LIABILITY_TYPE_"):
        return AccountKind.LOAN if attribute.endswith("LOAN") else AccountKind.OTHER_LIABILITY
    return AccountKind.OTHER_ASSET


def accounts_from_net_worth(data: Mapping[str, Any], today: dt.date) -> tuple[list[FiAccount], list[str]]:
    """The accounts of a `fetch_net_worth` answer, in provider-id order, and warnings about what was left out."""
    warnings: list[str] = []
    bulk = data.get("accountDetailsBulkResponse") or {}
    entries = bulk.get("accountDetailsMap") if isinstance(bulk, Mapping) else None
    if entries is not None and not isinstance(entries, Mapping):
        raise ProviderDataError("accountDetailsBulkResponse.accountDetailsMap", "an object keyed by account id is "
                                                                               "expected")
    accounts: list[FiAccount] = []
    for account_id in sorted(entries or {}):
        where = f"accountDetailsMap[{account_id!r}]"
        entry = entries[account_id] if entries else None
        if not isinstance(entry, Mapping):
            raise ProviderDataError(where, "an object is expected")
        account = _account(str(account_id), entry, where, today)
        if account is None:
            warnings.append(f"{where}: no known summary; left out")
        else:
            accounts.append(account)
    accounts.extend(_uncovered_totals(data.get("netWorthResponse") or {}, accounts, today))
    return accounts, warnings


def _account(account_id: str, entry: Mapping[str, Any], where: str, today: dt.date) -> FiAccount | None:
    details = _obj(entry.get("accountDetails"))
    summary_key = next((key for key in _SUMMARIES if isinstance(entry.get(key), Mapping)), None)
    if summary_key is None:
        return None
    summary: Mapping[str, Any] = entry[summary_key]
    attribute, label, sign = _SUMMARIES[summary_key]
    value_field = next((name for name in _VALUE_FIELDS if summary.get(name) is not None), None)
    if value_field is None:
        raise ProviderDataError(f"{where}.{summary_key}", "no current balance or value")
    amount, currency = money(summary[value_field], f"{where}.{summary_key}.{value_field}")
    day = today
    if summary.get("balanceDate"):
        day = provider_day(summary["balanceDate"], f"{where}.{summary_key}.balanceDate")
    kind = _kind(summary_key, summary, details)
    if summary_key == "loanSummary":
        attribute = _loan_attribute(kind, summary, details)
        label = "home loan" if kind is AccountKind.MORTGAGE else "loan"
    meta = _obj(details.get("fipMeta"))
    names = [str(meta.get(key) or "").strip() for key in ("name", "displayName", "bank")]
    institution = next((name for name in names if name), None) or str(details.get("fipId") or "").strip() or None
    masked = str(details.get("maskedAccountNumber") or "")
    mask = _mask(masked)
    if summary_key == "depositSummary":
        label = "current account" if kind is AccountKind.CHECKING else _deposit_label(summary, details)
    name = " ".join(part for part in (institution or "Fi", label, f"••{mask}" if mask else "") if part)
    return FiAccount(
        external_id=account_id, name=name[:MAX_NAME], kind=kind, currency=currency, balance=sign * amount,
        balance_on=day, institution=(institution or None) and institution[:MAX_NAME], mask=mask,
        bank_names=frozenset(normalize(n) for n in names if n) if summary_key == "depositSummary" else frozenset(),
        attribute=attribute,
    )


def _deposit_label(summary: Mapping[str, Any], details: Mapping[str, Any]) -> str:
    types = _obj(details.get("accountType"))
    text = str(summary.get("depositAccountType") or types.get("depositAccountType") or "SAVINGS").upper()
    text = text.removeprefix("DEPOSIT_ACCOUNT_TYPE_")
    return {"SAVINGS": "savings", "FIXED": "fixed deposit", "RECURRING": "recurring deposit"}.get(text, _title(text))


def _uncovered_totals(net_worth: Mapping[str, Any], accounts: list[FiAccount], today: dt.date) -> list[FiAccount]:
    covered = {account.attribute for account in accounts}
    extra: list[FiAccount] = []
    for list_name, sign in (("assetValues", 1), ("liabilityValues", -1)):
        values = net_worth.get(list_name) or []
        if not isinstance(values, list):
            raise ProviderDataError(f"netWorthResponse.{list_name}", "a list is expected")
        for index, item in enumerate(values):
            where = f"netWorthResponse.{list_name}[{index}]"
            if not isinstance(item, Mapping) or not item.get("netWorthAttribute"):
                raise ProviderDataError(where, "netWorthAttribute and value are expected")
            attribute = str(item["netWorthAttribute"])
            if attribute in covered:
                continue
            amount, currency = money(item.get("value"), f"{where}.value")
            if not amount:
                continue
            kind = _attribute_kind(attribute)
            extra.append(FiAccount(external_id=f"networth:{attribute}", name=f"{_attribute_name(attribute)} (Fi)",
                                   kind=kind, currency=currency, balance=sign * amount, balance_on=today,
                                   institution="Fi Money", attribute=attribute))
    return extra
