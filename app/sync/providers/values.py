"""Numbers and dates as statement files write them: decimal commas, thousands marks, day/month orders.

Pure functions shared by the QIF and CSV parsers. They raise `ValueError` with a short message; the
parsers add the line number and turn it into a `StatementError`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache

from app.money import CURRENCIES


class DateOrder(str, Enum):
    """The order of day, month and year in a numeric date."""

    DMY = "DMY"
    MDY = "MDY"
    YMD = "YMD"


# --- numbers ------------------------------------------------------------------------------------------

_SYMBOLS = "$€£¥₹₩₽₺₪₫₴₦₱฿"
_GROUP_MARKS = re.compile(r"[\s\u00a0\u202f\u2009'’`]")
_CODE = re.compile(r"^([A-Za-z]{3})\s*(.*)$|^(.*?)\s*([A-Za-z]{3})$", re.DOTALL)
_MINUS = "-\u2212\u2012\u2013"
_PLAIN = re.compile(r"[+-]?\d[\d.,]*", re.ASCII)
_NUMBER = {
    ".": re.compile(r"(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+", re.ASCII),
    ",": re.compile(r"(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d*)?|,\d+", re.ASCII),
}


def _strip_marks(text: str) -> tuple[str, int, str | None]:
    """`text` without signs, parentheses, currency symbols or codes: (digits, sign, currency code).

    The sign is 1 or -1 for one mark (+, -, a trailing minus, parentheses, CR, DR) or none, and 0 for a
    muddle of several, such as "--5", "-(5)" or "+5-".
    """
    s = text.strip()
    if _PLAIN.fullmatch(s):  # the common case: 12.50, -1,234.56, +7
        return (s[1:], -1 if s[0] == "-" else 1, None) if s[0] in "+-" else (s, 1, None)
    marks: list[int] = []
    code: str | None = None
    for _ in range(3):  # signs and symbols may come in either order: "-$1.00", "$-1.00", "(1.00 EUR)"
        if len(s) >= 2 and s[0] == "(" and s[-1] == ")":
            s = s[1:-1].strip()
            marks.append(-1)
        upper = s.upper()
        if upper.endswith((" DR", " CR")) or (upper.endswith(("DR", "CR")) and s[:-2][-1:].isdigit()):
            marks.append(-1 if upper.endswith("DR") else 1)
            s = s[:-2].strip()
        if s[:1] in _MINUS or s[:1] == "+":
            marks.append(-1 if s[:1] in _MINUS else 1)
            s = s[1:].strip()
        if s[-1:] in _MINUS or s[-1:] == "+":
            marks.append(-1 if s[-1:] in _MINUS else 1)
            s = s[:-1].strip()
        if s[:1] and s[:1] in _SYMBOLS:
            s = s[1:].strip()
        if s[-1:] and s[-1:] in _SYMBOLS:
            s = s[:-1].strip()
        match = _CODE.match(s)
        if match:
            found = (match.group(1) or match.group(4) or "").upper()
            if found in CURRENCIES:
                code = found
                s = (match.group(2) if match.group(1) else match.group(3)) or ""
                s = s.strip()
    sign = 0 if len(marks) > 1 else marks[0] if marks else 1
    return _GROUP_MARKS.sub("", s), sign, code




def parse_number(text: str, decimal: str = ".") -> Decimal:
    """The number written in `text`, with `decimal` ("." or ",") as its decimal mark.

    Accepts signs before or after, parentheses for negatives, DR/CR suffixes, currency symbols and codes,
    and thousands marks (the other of "." and ",", spaces, apostrophes as in 11'373.94) in groups of three.
    """
    if decimal not in (".", ","):
        raise ValueError(f"the decimal mark must be '.' or ',', not {decimal!r}")
    digits, sign, _ = _strip_marks(text)
    if not sign:
        raise ValueError(f"{text.strip()[:40]!r} has more than one sign")
    group = "," if decimal == "." else "."
    if not _NUMBER[decimal].fullmatch(digits):
        raise ValueError(f"{text.strip()[:40]!r} is not a number")
    number = Decimal(digits.replace(group, "").replace(decimal, "."))
    return -number if sign < 0 else number


def is_number(text: str) -> bool:
    """True when `text` reads as a number with either decimal mark."""
    for mark in (".", ","):
        try:
            parse_number(text, mark)
        except (ValueError, InvalidOperation):
            continue
        return True
    return False


def currency_in(text: str) -> str | None:
    """The ISO code written next to an amount ("12,00 EUR" -> "EUR"), if any."""
    return _strip_marks(text)[2]


def decimal_evidence(text: str) -> str | None:
    """Which decimal mark `text` must be using, or None when it cannot tell ("1,000" or "12")."""
    digits = _strip_marks(text)[0]
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    for mark, other in ((".", ","), (",", ".")):
        if mark in digits:
            if digits.count(mark) > 1:
                return other  # "1.234.567" groups thousands
            after = len(digits) - digits.index(mark) - 1
            return None if after == 3 else mark
    return None


def detect_decimal(samples: Iterable[str], default: str) -> str:
    """The decimal mark the samples agree on, `default` when none tells; ValueError when they disagree."""
    seen: dict[str, str] = {}
    for sample in samples:
        mark = decimal_evidence(sample)
        if mark is not None and mark not in seen:
            seen[mark] = sample
    if len(seen) > 1:
        raise ValueError(f"the amounts mix decimal marks ({seen['.']!r} and {seen[',']!r})")
    return next(iter(seen), default)


# --- dates --------------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "jan january januar janv janvier ene enero januari gen gennaio",
        "feb february februar fevr fevrier febrero februari febbraio",
        "mar march marz mars marzo maart mrt",
        "apr april avr avril abr abril aprile",
        "may mai mayo mei mag maggio",
        "jun june juni juin junio giu giugno",
        "jul july juli juil juillet julio lug luglio",
        "aug august aout ago agosto augustus",
        "sep sept september septembre septiembre settembre set",
        "oct october oktober okt octobre octubre ott ottobre",
        "nov november novembre noviembre",
        "dec december dezember dez decembre dic diciembre dicembre",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_TIME = re.compile(
    r"^(.*?\d)\s*(?:[T ]\s*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)$"
)
_NUMERIC = re.compile(r"^(\d{1,4})\s*([/.\-])\s*(\d{1,2})\s*([/.\-']|'\s)\s*(\d{1,4})\.?$")


@dataclass(frozen=True, slots=True)
class _DateParts:
    fixed: dt.date | None = None
    """Set when the text allows one reading only (2026-01-02, 02-Jan-2026, 20260102)."""
    first: int = 0
    second: int = 0
    year: int = 0
    separator: str = ""


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_header(text: str) -> str:
    """A column header reduced for matching: "RunningBalance" -> "running balance", "Débit" -> "debit",
    "VWZ1" -> "vwz 1", "N° de transaction" -> "n de transaction"."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text.strip())
    plain = _strip_accents(spaced).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _year(token: str, separator: str) -> int:
    if len(token) == 4:
        return int(token)
    if len(token) > 2:
        raise ValueError("the year has three digits")
    number = int(token)
    if separator.startswith("'"):
        return 2000 + number  # Quicken writes 1/2'26 for 2026 and 1/2/98 for 1998
    return 2000 + number if number <= 68 else 1900 + number  # strptime's %y window


@lru_cache(maxsize=4096)
def _parts(text: str) -> _DateParts:
    """The pieces of a date (cached: a statement repeats its days many times)."""
    s = text.strip()
    timed = _TIME.match(s)
    if timed:
        s = timed.group(1)
    if re.fullmatch(r"\d{8}", s):
        return _DateParts(fixed=dt.date(int(s[:4]), int(s[4:6]), int(s[6:])))
    numeric = _NUMERIC.match(s)
    if numeric:
        a, sep1, b, sep2, c = numeric.groups()
        if len(a) == 4:
            if len(c) > 2 or sep2.startswith("'"):
                raise ValueError("the day has more than two digits")
            return _DateParts(fixed=dt.date(int(a), int(b), int(c)))
        if len(a) > 2:
            raise ValueError("the first number has three digits")
        return _DateParts(first=int(a), second=int(b), year=_year(c, sep2), separator=sep1)
    tokens = [t for t in re.split(r"[\s/.\-,']+", _strip_accents(s).lower()) if t]
    if len(tokens) == 3:
        months = [i for i, t in enumerate(tokens) if t.isalpha()]
        if len(months) == 1 and tokens[months[0]] in _MONTHS and all(
            t.isdigit() for i, t in enumerate(tokens) if i != months[0]
        ):
            month = _MONTHS[tokens[months[0]]]
            rest = [t for i, t in enumerate(tokens) if i != months[0]]
            if len(rest[0]) == 4 and months[0] == 1:  # 2026-Jan-02
                year, day = int(rest[0]), int(rest[1])
            elif len(rest[0]) <= 2:  # 02-Jan-2026, Jan 2, 2026
                day, year = int(rest[0]), _year(rest[1], "")
            else:
                raise ValueError("the year and day are in an unknown order")
            return _DateParts(fixed=dt.date(year, month, day))
    raise ValueError("it is not a date")


def _resolve(parts: _DateParts, order: DateOrder) -> dt.date:
    if parts.fixed is not None:
        return parts.fixed
    if order is DateOrder.YMD:
        raise ValueError("the year does not come first")
    day, month = (parts.first, parts.second) if order is DateOrder.DMY else (parts.second, parts.first)
    return dt.date(parts.year, month, day)


def parse_date(text: str, order: DateOrder | str | None = None) -> dt.date:
    """The date in `text`, reading an ambiguous numeric date in `order` (or a strptime pattern with %).

    Forms: 2026-01-02, 2026/1/2, 20260102, 02.01.2026, 1/2/26, 1/ 2'26 (Quicken: an apostrophe means
    2000 + year; other two-digit years follow strptime's window, 69-99 -> 19xx), 02-Jan-2026, Jan 2, 2026;
    a trailing time of day is ignored.
    """
    if isinstance(order, str) and "%" in order:
        try:
            return dt.datetime.strptime(text.strip(), order).date()
        except ValueError:
            raise ValueError(f"{text.strip()[:40]!r} does not match the date format {order!r}") from None
    try:
        parts = _parts(text)
        return _resolve(parts, DateOrder(order) if order else DateOrder.MDY)
    except ValueError as error:
        raise ValueError(f"{text.strip()[:40]!r} is not a valid date ({error})") from None


def is_date(text: str) -> bool:
    """True when `text` reads as a date in some order."""
    try:
        parts = _parts(text)
    except ValueError:
        return False
    for order in (DateOrder.DMY, DateOrder.MDY):
        try:
            _resolve(parts, order)
        except ValueError:
            continue
        return True
    return False


@dataclass(frozen=True, slots=True)
class DateOrderChoice:
    order: DateOrder
    ambiguous: bool
    """True when the data allowed both DMY and MDY with different days; `reason` says how it was chosen."""
    reason: str = ""


def _disorder(days: Sequence[dt.date]) -> int:
    ups = sum(1 for x, y in zip(days, days[1:], strict=False) if y > x)
    downs = sum(1 for x, y in zip(days, days[1:], strict=False) if y < x)
    return min(ups, downs)


def detect_date_order(samples: Sequence[str], *, prefer_dmy: bool = False) -> DateOrderChoice:
    """The day/month order that reads every sample as a valid date.

    A day above 12 decides. When every sample reads both ways, the order in which the rows come out
    sorted (statements list days in order) decides; failing that, "." as separator or `prefer_dmy` (a
    decimal comma, a European export) pick DMY, otherwise MDY, and the choice is marked ambiguous.
    ValueError when a sample is no date or no single order reads them all.
    """
    parsed = []
    for sample in samples:
        try:
            parsed.append(_parts(sample))
        except ValueError as error:
            raise ValueError(f"{sample.strip()[:40]!r} is not a date ({error})") from None
    open_parts = [p for p in parsed if p.fixed is None]
    if not open_parts:
        return DateOrderChoice(DateOrder.YMD, False)
    readings: dict[DateOrder, list[dt.date]] = {}
    for order in (DateOrder.DMY, DateOrder.MDY):
        try:
            readings[order] = [_resolve(p, order) for p in parsed]
        except ValueError:
            continue
    if not readings:
        raise ValueError("the dates mix day-first and month-first forms")
    if len(readings) == 1:
        return DateOrderChoice(next(iter(readings)), False)
    if all(p.first == p.second for p in open_parts):
        return DateOrderChoice(DateOrder.DMY if prefer_dmy else DateOrder.MDY, False)
    dmy, mdy = _disorder(readings[DateOrder.DMY]), _disorder(readings[DateOrder.MDY])
    if dmy != mdy:
        order = DateOrder.DMY if dmy < mdy else DateOrder.MDY
        return DateOrderChoice(order, True, "the rows are in date order only when read that way")
    if prefer_dmy or any(p.separator == "." for p in open_parts):
        return DateOrderChoice(DateOrder.DMY, True, "no day above 12; day-first is usual for this file's style")
    return DateOrderChoice(DateOrder.MDY, True, "no day above 12; month-first assumed")
