"""Money: ISO 4217 currencies, exact Decimal amounts, parsing and formatting.

Rules (DESIGN): an amount is a `Decimal` with its currency, never a float; amounts of different
currencies are never added without an explicit rate; an amount is valid when its value fits the
currency's minor units ("18.150" EUR is 18.15, "1.234" EUR is not); stored amounts are
NUMERIC(19,4), so at most 15 integer digits; output is written at the currency's minor units and
rounding is half-even.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache
from zoneinfo import available_timezones

from app.errors import CurrencyMismatch, DomainError, ErrorCode

# ISO 4217 List One, active currency and fund codes with their minor units (checked against the
# 2026 list). Codes whose minor unit is "N.A." (XAU, XAG, XPD, XPT, XDR, XSU, XUA, XAD, XB*, XTS,
# XXX) are left out: they are not money a person holds in an account. Recently withdrawn codes
# (ANG -> XCG 2025, BGN -> EUR 2026, HRK -> EUR 2023, SLL -> SLE, ZWL -> ZWG, CUC) are kept in
# _HISTORIC below, so older statements and stored rows in them still load.
# fmt: off
_MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
    "BAM": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2,
    "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2,
    "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "COU": 2, "CRC": 2, "CUP": 2,
    "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2,
    "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0,
    "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2,
    "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2,
    "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2,
    "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2,
    "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2,
    "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2,
    "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2,
    "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2,
    "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
    "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2, "VED": 2, "VES": 2, "VND": 0,
    "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2,
    "ZMW": 2, "ZWG": 2,
}
_HISTORIC: dict[str, int] = {"ANG": 2, "BGN": 2, "HRK": 2, "SLL": 2, "ZWL": 2, "CUC": 2}
_MINOR_UNITS.update(_HISTORIC)
# fmt: on

CURRENCIES: frozenset[str] = frozenset(_MINOR_UNITS)

MAX_INTEGER_DIGITS = 15
"""NUMERIC(19,4) keeps 15 digits before the point: every stored |amount| is below 10**15."""
MAX_AMOUNT_LENGTH = 64
"""Longest amount string accepted, so a hostile input cannot make us parse megabytes."""

_AMOUNT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_EXPONENT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+", re.ASCII)


def is_currency(code: object) -> bool:
    """True for an active ISO 4217 code written exactly (upper case, no spaces)."""
    return isinstance(code, str) and code in _MINOR_UNITS


def minor_units(code: str) -> int:
    """Digits after the point for `code` (EUR 2, JPY 0, BHD 3, CLF 4); KeyError when unknown."""
    return _MINOR_UNITS[code]


def parse_currency(code: str, field: str | None = "currency") -> str:
    """`code` stripped, upper-cased; DomainError REQUIRED if blank, INVALID_CURRENCY if unknown."""
    if code is None or (isinstance(code, str) and not code.strip()):
        raise DomainError(ErrorCode.REQUIRED, "Currency is required.", field)
    cleaned = code.strip().upper() if isinstance(code, str) else ""
    if cleaned not in _MINOR_UNITS:
        shown = repr(code.strip()[:16]) if isinstance(code, str) else "that value"
        raise DomainError(
            ErrorCode.INVALID_CURRENCY,
            f"{shown} is not an ISO 4217 currency code (such as EUR or USD).",
            field,
        )
    return cleaned


def _context(digits: int) -> Context:
    """A half-even context with room for `digits` digits, independent of the thread's context."""
    return Context(prec=max(28, digits), rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _quantize(d: Decimal, places: int) -> Decimal:
    """`d` rounded half-even to `places` decimals, exactly (no context precision can bite)."""
    return d.quantize(Decimal(1).scaleb(-places), context=_context(d.adjusted() + places + 3))


def _fraction_digits(d: Decimal) -> int:
    """Digits after the point once trailing zeros are dropped: 18.150 -> 2, 100 -> 0, 1E+2 -> 0."""
    _, digits, exponent = d.as_tuple()
    if not isinstance(exponent, int) or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def parse_amount(value: str | Decimal | int, currency: str, field: str | None = "amount") -> Decimal:
    """Validate an amount of `currency` and return it quantized to the currency's minor units.

    Accepts a plain decimal string ("12.5", "-12.50", "+3", ".5"), a finite Decimal or an int.
    DomainError codes: REQUIRED (None or blank), INVALID (a float, NaN/Infinity, exponent forms
    like "1e2", thousands separators or any other non-number), TOO_LONG (over 64 characters),
    TOO_MANY_DECIMALS (more decimals than the currency has once trailing zeros are dropped),
    LIMIT_EXCEEDED (|value| >= 10**15, beyond NUMERIC(19,4)). Negative zero comes back as 0.
    `currency` is checked like `parse_currency` (INVALID_CURRENCY on field "currency").
    """
    currency = parse_currency(currency)
    places = _MINOR_UNITS[currency]
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, "Amount is required.", field)
    if isinstance(value, float):
        message = "Amount must be a decimal string, not a floating-point number."
        raise DomainError(ErrorCode.INVALID, message, field)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise DomainError(ErrorCode.REQUIRED, "Amount is required.", field)
        if len(text) > MAX_AMOUNT_LENGTH:
            message = f"Amount is longer than {MAX_AMOUNT_LENGTH} characters."
            raise DomainError(ErrorCode.TOO_LONG, message, field)
        if _AMOUNT_RE.fullmatch(text) is None:
            if _EXPONENT_RE.fullmatch(text):
                message = f"Write the amount without an exponent, like 100.00, not {text!r}."
            else:
                message = f"{text[:32]!r} is not a number; write it like 1234.56."
            raise DomainError(ErrorCode.INVALID, message, field)
        number = Decimal(text)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise DomainError(ErrorCode.INVALID, "Amount must be a decimal string.", field)
    if not number.is_finite():
        raise DomainError(ErrorCode.INVALID, "Amount must be a finite number.", field)
    if _fraction_digits(number) > places:
        allowed = f"{places} decimal place{'s' if places != 1 else ''}" if places else "no decimals"
        raise DomainError(ErrorCode.TOO_MANY_DECIMALS, f"{currency} amounts have {allowed}.", field)
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        message = f"Amount must have at most {MAX_INTEGER_DIGITS} digits before the point."
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, message, field)
    quantized = _quantize(number, places)
    return quantized if quantized else quantized.copy_abs()  # never -0


def format_decimal(d: Decimal, places: int) -> str:
    """`d` rounded half-even to `places` decimals, in plain notation ("1E+2" -> "100.00").

    Never "-0.00": a value that rounds to zero is written without a sign.
    """
    if places < 0:
        raise ValueError("places must be >= 0")
    if not d.is_finite():
        raise ValueError(f"cannot format {d!r}")
    q = _quantize(d, places)
    if not q:
        q = q.copy_abs()
    return format(q, "f")


class CurrencyMismatchError(CurrencyMismatch):
    """Two amounts of different currencies met without an explicit rate (CURRENCY_MISMATCH)."""

    def __init__(self, left: str, right: str, field: str | None = None):
        self.left, self.right = left, right
        message = f"Cannot combine {left} and {right} without an exchange rate."
        super().__init__(None, message, field)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount at its currency's minor units.

    Construct with `Money.of` for user input (validated, DomainError on bad input) or directly
    with a Decimal that already fits (e.g. NUMERIC(19,4) from the database: `Decimal("18.1500")`
    becomes 18.15). Direct construction with a float, an unknown currency or too many decimals is
    a programming error (TypeError / ValueError). Sums may exceed the storage range; only
    `parse_amount` enforces it. Equality is by value and currency; ordering
    (`<`, `<=`, ...) and arithmetic raise CurrencyMismatchError across currencies.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount
        if isinstance(amount, int) and not isinstance(amount, bool):
            amount = Decimal(amount)
        if not isinstance(amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, not {type(self.amount).__name__}")
        if not isinstance(self.currency, str) or self.currency not in _MINOR_UNITS:
            raise ValueError(f"unknown currency {self.currency!r}; use parse_currency first")
        if not amount.is_finite():
            raise ValueError(f"Money amount must be finite, not {amount}")
        places = _MINOR_UNITS[self.currency]
        if _fraction_digits(amount) > places:
            message = f"{amount} has more than {places} decimals for {self.currency}; round first"
            raise ValueError(message)
        quantized = _quantize(amount, places)
        object.__setattr__(self, "amount", quantized if quantized else quantized.copy_abs())

    @classmethod
    def of(cls, value: str | Decimal | int, currency: str, field: str | None = "amount") -> Money:
        """Validated Money from user input; DomainError on a bad currency or amount."""
        code = parse_currency(currency)
        return cls(parse_amount(value, code, field), code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """0 in `currency` (validated like `parse_currency`)."""
        return cls(Decimal(0), parse_currency(currency))

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    @property
    def is_zero(self) -> bool:
        """True when the amount is 0."""
        return not self.amount

    @property
    def is_negative(self) -> bool:
        """True when the amount is below 0."""
        return self.amount < 0

    def format_amount(self) -> str:
        """The amount at minor units in plain notation: "100.00", "-0.50", JPY "100"."""
        return format_decimal(self.amount, _MINOR_UNITS[self.currency])

    def convert(self, rate: Decimal, to: str) -> Money:
        """This amount times `rate` (units of `to` per unit of ours), rounded half-even to `to`.

        `rate` must be a positive finite Decimal (or int); DomainError INVALID (field "rate")
        otherwise. `to` is validated like `parse_currency`.
        """
        target = parse_currency(to)
        if isinstance(rate, bool) or not isinstance(rate, (Decimal, int)):
            message = "The exchange rate must be a Decimal, not a float."
            raise DomainError(ErrorCode.INVALID, message, "rate")
        rate = Decimal(rate)
        if not rate.is_finite() or rate <= 0:
            message = "The exchange rate must be a positive number."
            raise DomainError(ErrorCode.INVALID, message, "rate")
        digits = len(self.amount.as_tuple().digits) + len(rate.as_tuple().digits) + 2
        product = self.amount.fma(rate, Decimal(0), context=_context(digits))
        return Money(_quantize(product, _MINOR_UNITS[target]), target)

    def __str__(self) -> str:
        return f"{self.format_amount()} {self.currency}"


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """Sum of `items`, all in `currency` (0 when empty); CurrencyMismatchError on any other."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total


@lru_cache(maxsize=1)
def _time_zones() -> dict[str, str]:
    """IANA names by their lower-case spelling, without the non-zones tzdata ships."""
    names = available_timezones() - {"localtime", "posixrules", "Factory"}
    return {name.lower(): name for name in names}


def validate_time_zone(name: str, field: str | None = "timeZone") -> str:
    """The canonical IANA name for `name` ("europe/berlin" -> "Europe/Berlin").

    DomainError REQUIRED when blank, INVALID when not a known IANA time zone.
    """
    if not isinstance(name, str) or not name.strip():
        raise DomainError(ErrorCode.REQUIRED, "Time zone is required.", field)
    found = _time_zones().get(name.strip().lower())
    if found is None:
        message = f"{name.strip()[:64]!r} is not an IANA time zone (such as Europe/Berlin)."
        raise DomainError(ErrorCode.INVALID, message, field)
    return found
