"""Bank CSV exports, read through a `CsvMapping` that is given (a saved preset) or detected.

Detection (see `csv_detect`) finds the encoding (BOM, UTF-8, else cp1252), the delimiter (, ; tab |),
the header row after any preamble, the role of each column from its header and its values, the date order
from the data and the decimal mark (1.234,56 or 1,234.56). Lines may end in CRLF, LF or CR alone. The
mapping actually used is returned with the statement, so a person can check it and save it as a preset.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from app.errors import DomainError, ErrorCode
from app.money import is_currency, parse_currency
from app.sync.providers.statement import (
    ParsedAccount,
    ParsedStatement,
    ParsedTransaction,
    StatementError,
    StatementFormat,
    amount_checker,
    check_amount,
    finish,
    line_ref,
)
from app.sync.providers.values import (
    DateOrder,
    currency_in,
    detect_date_order,
    detect_decimal,
    is_date,
    normalize_header,
    parse_date,
)
from app.sync.providers.values import parse_number as _parse_number

Column = str | int
"""A column by its header text (case and accents ignored) or by its 0-based position."""

DELIMITERS = (",", ";", "\t", "|")
DEBIT_WORDS = frozenset({"debit", "dr", "d", "db", "s", "soll", "out", "withdrawal", "af", "charge", "debito"})
CREDIT_WORDS = frozenset({"credit", "cr", "c", "h", "haben", "in", "deposit", "bij", "payment", "credito"})
PENDING_WORDS = frozenset({"pending", "pend", "vorgemerkt", "en attente", "pendiente", "in behandeling"})
POSTED_WORDS = frozenset({"posted", "booked", "cleared", "completed", "gebucht", "settled", "comptabilise"})


class SignConvention(str, Enum):
    """How a single amount column is signed."""

    NORMAL = "NORMAL"
    """Positive is money in (most bank exports)."""
    INVERTED = "INVERTED"
    """Positive is money out (many credit-card exports)."""


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """Which column holds what, and how the file is written. Either `amount` or `debit`/`credit` is set."""

    date: Column
    amount: Column | None = None
    debit: Column | None = None
    credit: Column | None = None
    description: tuple[Column, ...] = ()
    """Joined with spaces, empty cells skipped."""
    payee: Column | None = None
    memo: Column | None = None
    currency: Column | None = None
    account: Column | None = None
    category: tuple[Column, ...] = ()
    """Joined with ':' (a category and its subcategory)."""
    check_number: Column | None = None
    reference: Column | None = None
    """The bank's unique id of each row, used to deduplicate."""
    status: Column | None = None
    """Pending/posted."""
    direction: Column | None = None
    """A debit/credit indicator next to an unsigned amount."""
    value_date: Column | None = None
    date_format: str | None = None
    """DMY, MDY, YMD or a strptime pattern such as %d.%m.%Y."""
    decimal_separator: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    skip_rows: int = 0
    """Rows (blank lines not counted) before the header, or before the data when there is no header."""
    has_header: bool = True
    sign: SignConvention = SignConvention.NORMAL
    currency_code: str | None = None
    """The currency of every row when no column names one."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for presets)."""
        data = asdict(self)
        data["description"], data["category"] = list(self.description), list(self.category)
        data["sign"] = self.sign.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CsvMapping:
        """A mapping from `to_dict`'s shape; DomainError INVALID on field `csvMapping.<name>`."""
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise DomainError(ErrorCode.INVALID, f"Unknown CSV mapping field {key!r}.", f"csvMapping.{key}")
        values = dict(data)
        for key in ("description", "category"):
            item = values.get(key) or ()
            values[key] = tuple([item] if isinstance(item, (str, int)) else item)
        if "date" not in values or values["date"] in (None, ""):
            raise DomainError(ErrorCode.REQUIRED, "The mapping needs the date column.", "csvMapping.date")
        try:
            values["sign"] = SignConvention(values.get("sign") or SignConvention.NORMAL)
        except ValueError:
            raise DomainError(ErrorCode.INVALID, "sign is NORMAL or INVERTED.", "csvMapping.sign") from None
        mapping = cls(**values)
        mapping.validate()
        return mapping

    def validate(self) -> None:
        """DomainError INVALID when the mapping cannot work."""
        if self.amount is None and self.debit is None and self.credit is None:
            raise DomainError(ErrorCode.REQUIRED, "Map the amount column, or the debit and credit columns.",
                              "csvMapping.amount")
        if self.amount is not None and (self.debit is not None or self.credit is not None):
            raise DomainError(ErrorCode.INVALID, "Map either one amount column or debit/credit columns.",
                              "csvMapping.amount")
        if self.decimal_separator not in (None, ".", ","):
            raise DomainError(ErrorCode.INVALID, "The decimal separator is '.' or ','.", "csvMapping.decimalSeparator")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise DomainError(ErrorCode.INVALID, "The delimiter is one character.", "csvMapping.delimiter")
        if self.date_format and "%" not in self.date_format and self.date_format not in DateOrder.__members__:
            raise DomainError(ErrorCode.INVALID, "The date format is DMY, MDY, YMD or a pattern like %d.%m.%Y.",
                              "csvMapping.dateFormat")
        if self.skip_rows < 0:
            raise DomainError(ErrorCode.INVALID, "skip rows cannot be negative.", "csvMapping.skipRows")
        if self.encoding:
            try:
                "".encode(self.encoding)
            except LookupError:
                raise DomainError(ErrorCode.INVALID, f"Unknown encoding {self.encoding!r}.",
                                  "csvMapping.encoding") from None
        if self.currency_code is not None:
            parse_currency(self.currency_code, "csvMapping.currencyCode")


Row = tuple[int, list[str]]
"""A record and the line it starts on."""


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding): the given encoding, else a BOM, else UTF-8, else cp1252 (a superset of Latin-1's
    printable range), else Latin-1."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            raise StatementError(f"The file is not valid {encoding} (byte {error.start + 1}).") from None
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                raise StatementError(f"The file starts like {codec} but is not valid {codec}.") from None
    if b"\x00" in data[:4096]:
        raise StatementError("This is a binary file, not a CSV export.", code=ErrorCode.UNSUPPORTED_FORMAT)
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def read_rows(text: str, delimiter: str) -> list[Row]:
    """The non-blank records of `text` with the line each starts on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    last = 0
    try:
        for record in reader:
            start, last = last + 1, reader.line_num
            if "".join(record).strip():  # some cell is not blank
                rows.append((start, record))
    except csv.Error as error:
        raise StatementError(f"The CSV cannot be read ({error}).", location=line_ref(reader.line_num)) from None
    return rows


def parse(data: bytes, mapping: CsvMapping | None = None, *, currency: str | None = None) -> ParsedStatement:
    """Read a bank CSV export with `mapping`, or with one detected from the file.

    `currency` is the currency of rows that name none (the target account's, when the caller knows it).
    """
    # detection builds CsvMappings, so it imports this module: import it here, not at the top
    from app.sync.providers.csv_detect import detect_delimiter, detect_mapping

    text, encoding = decode(data, mapping.encoding if mapping else None)
    if not text.strip():
        raise StatementError("The file is empty.")
    delimiter = (mapping.delimiter if mapping else None) or detect_delimiter(text)
    rows = read_rows(text, delimiter)
    warnings: list[str] = []
    if mapping is None:
        mapping = detect_mapping(rows, delimiter)
    mapping = replace(mapping, encoding=encoding, delimiter=delimiter)
    header, data_rows = _split(rows, mapping)
    columns = _Columns(header, mapping)
    data_rows, footer = _without_footer(data_rows, columns)
    if footer:
        lines = ", ".join(str(line) for line, _ in footer[:3])
        warnings.append(f"Lines without a date at the end of the file were skipped (line {lines}).")
    if not data_rows:
        raise StatementError("The CSV file holds no transactions.")
    mapping = _settle_formats(mapping, columns, data_rows, warnings)
    statement = ParsedStatement(StatementFormat.CSV, [], warnings, csv_mapping=mapping)
    accounts: dict[str, ParsedAccount] = {}
    read = _RowReader(columns, mapping, currency).read
    for line, row in data_rows:
        key, transaction = read(line, row)
        account = accounts.get(key)
        if account is None:
            account = _account(key, line)
            accounts[key] = account
            statement.accounts.append(account)
        account.transactions.append(transaction)
    for account in statement.accounts:
        currencies = {t.currency for t in account.transactions}
        account.currency = currencies.pop() if len(currencies) == 1 else None
    return finish(statement)


def _split(rows: list[Row], mapping: CsvMapping) -> tuple[list[str] | None, list[Row]]:
    if mapping.skip_rows >= len(rows):
        raise StatementError(f"The file has only {len(rows)} rows; the mapping skips {mapping.skip_rows}.")
    if mapping.has_header:
        return rows[mapping.skip_rows][1], rows[mapping.skip_rows + 1 :]
    return None, rows[mapping.skip_rows :]


class _Columns:
    """Column references of a mapping resolved to positions."""

    def __init__(self, header: list[str] | None, mapping: CsvMapping):
        self.header = header
        self._names = [normalize_header(h) for h in header] if header else []
        self.date = self.index("date", mapping.date)
        self.amount = self.optional("amount", mapping.amount)
        self.debit = self.optional("debit", mapping.debit)
        self.credit = self.optional("credit", mapping.credit)
        self.description = [self.index("description", c) for c in mapping.description]
        self.category = [self.index("category", c) for c in mapping.category]
        self.payee = self.optional("payee", mapping.payee)
        self.memo = self.optional("memo", mapping.memo)
        self.currency = self.optional("currency", mapping.currency)
        self.account = self.optional("account", mapping.account)
        self.check_number = self.optional("checkNumber", mapping.check_number)
        self.reference = self.optional("reference", mapping.reference)
        self.status = self.optional("status", mapping.status)
        self.direction = self.optional("direction", mapping.direction)
        self.value_date = self.optional("valueDate", mapping.value_date)
        mapping.validate()

    def index(self, field: str, column: Column) -> int:
        if isinstance(column, int) and not isinstance(column, bool):
            if column < 0:
                raise DomainError(ErrorCode.INVALID, "Column numbers start at 0.", f"csvMapping.{field}")
            return column
        wanted = normalize_header(str(column))
        if wanted in self._names:
            return self._names.index(wanted)
        if str(column).isdigit():
            return int(column)
        raise DomainError(ErrorCode.INVALID, f"The file has no column named {column!r}.", f"csvMapping.{field}")

    def optional(self, field: str, column: Column | None) -> int | None:
        return None if column is None else self.index(field, column)

    def amount_columns(self) -> list[int]:
        return [c for c in (self.amount, self.debit, self.credit) if c is not None]


def cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _without_footer(rows: list[Row], columns: _Columns) -> tuple[list[Row], list[Row]]:
    """Rows up to the last one with a date; the dateless rows after it (totals, notes) apart."""
    end = len(rows)
    while end > 0 and not is_date(cell(rows[end - 1][1], columns.date)):
        end -= 1
    if end == 0:
        return rows, []
    return rows[:end], rows[end:]


def _settle_formats(mapping: CsvMapping, columns: _Columns, rows: list[Row], warnings: list[str]) -> CsvMapping:
    """Fill in the decimal mark and date order from the data when the mapping leaves them open."""
    decimal = mapping.decimal_separator
    if decimal is None:
        samples = [cell(row, c) for _, row in rows for c in columns.amount_columns()]
        try:
            decimal = detect_decimal([s for s in samples if s], "," if mapping.delimiter == ";" else ".")
        except ValueError as error:
            raise StatementError(f"The {error}; give the decimal separator in the mapping.") from None
    date_format = mapping.date_format
    if date_format is None:
        values = [v for _, row in rows if (v := cell(row, columns.date)) and is_date(v)]
        try:
            choice = detect_date_order(values, prefer_dmy=decimal == "," or mapping.delimiter == ";")
        except ValueError as error:
            raise StatementError(f"The date column: {error}; give the date format in the mapping.") from None
        date_format = choice.order.value
        if choice.ambiguous:
            warnings.append(f"The dates read both day-first and month-first; read as {choice.order.value} "
                            f"({choice.reason}). Set the date format in the mapping if that is wrong.")
    return replace(mapping, decimal_separator=decimal, date_format=date_format)


def _number(text: str, line: int, decimal: str, what: str) -> Decimal:
    try:
        return _parse_number(text, decimal)
    except (ValueError, InvalidOperation):
        raise StatementError(f"The {what} {text[:40]!r} is not a number.", location=line_ref(line)) from None


def _transaction(
    line: int, row: list[str], columns: _Columns, mapping: CsvMapping, default_currency: str | None
) -> tuple[str, ParsedTransaction]:
    decimal = mapping.decimal_separator or "."
    raw_date = cell(row, columns.date)
    try:
        booked_on = parse_date(raw_date, mapping.date_format)
        value_text = cell(row, columns.value_date)
        value_on = parse_date(value_text, mapping.date_format) if value_text else None
    except ValueError as error:
        raise StatementError(str(error), location=line_ref(line)) from None
    currency = _row_currency(line, row, columns, mapping, default_currency)
    if columns.amount is not None:
        text = cell(row, columns.amount)
        if not text:
            raise StatementError("The amount is empty.", location=line_ref(line))
        amount = _number(text, line, decimal, "amount")
        if columns.direction is not None:
            amount = abs(amount) * _direction(line, cell(row, columns.direction))
        elif mapping.sign is SignConvention.INVERTED:
            amount = -amount
    else:
        debit, credit = cell(row, columns.debit), cell(row, columns.credit)
        if not debit and not credit:
            raise StatementError("Both the debit and the credit are empty.", location=line_ref(line))
        amount = Decimal(0)
        if credit:
            amount += abs(_number(credit, line, decimal, "credit"))
        if debit:
            amount -= abs(_number(debit, line, decimal, "debit"))
    amount = check_amount(amount, currency, line_ref(line))
    payee = cell(row, columns.payee) or None
    memo = cell(row, columns.memo) or None
    description = " ".join(v for c in columns.description if (v := cell(row, c))) or payee or memo or ""
    status = cell(row, columns.status).lower()
    category = ":".join(v for c in columns.category if (v := cell(row, c))) or None
    transaction = ParsedTransaction(
        booked_on=booked_on,
        amount=amount,
        currency=currency,
        description=description,
        payee=payee,
        memo=memo,
        provider_id=cell(row, columns.reference) or None,
        check_number=cell(row, columns.check_number) or None,
        pending=True if status in PENDING_WORDS else False if status in POSTED_WORDS else None,
        category=category,
        value_on=value_on,
        ref=line_ref(line),
    )
    return cell(row, columns.account), transaction


_SIMPLE_NUMBER = {".": re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?"), ",": re.compile(r"[+-]?[0-9]+(?:,[0-9]+)?")}
"""Amounts written plainly ("-12.50", "7", "1234,56"): no symbol, code, group mark or odd sign, so
`parse_number` would read them as `Decimal` of the text (with "." for ",") and find no currency in them."""


class _RowReader:
    """`_transaction` for every row of one file, with the per-file work done once: the columns each field
    needs, the dates read so far (a statement repeats its days) and the amount check of each currency.
    Plainly written amounts take a short path that gives what `_transaction` gives; anything else, and every
    error, goes through `_transaction` itself."""

    def __init__(self, columns: _Columns, mapping: CsvMapping, default_currency: str | None):
        self.columns, self.mapping, self.default_currency = columns, mapping, default_currency
        decimal = mapping.decimal_separator or "."
        self.decimal = decimal
        self.simple = _SIMPLE_NUMBER[decimal].fullmatch if decimal in _SIMPLE_NUMBER else None
        self.fast = (self.simple is not None and columns.amount is not None and columns.direction is None
                     and columns.currency is None and columns.value_date is None)
        self.currency = mapping.currency_code or default_currency
        self.check = amount_checker(self.currency) if self.currency is not None else None
        self.inverted = mapping.sign is SignConvention.INVERTED
        self.dates: dict[str, dt.date] = {}
        self.date_format = mapping.date_format
        self.description = columns.description
        self.category = columns.category

    def read(self, line: int, row: list[str]) -> tuple[str, ParsedTransaction]:
        columns = self.columns
        if not self.fast:
            return _transaction(line, row, columns, self.mapping, self.default_currency)
        size = len(row)
        amount_at = columns.amount
        assert amount_at is not None
        text = row[amount_at].strip() if amount_at < size else ""
        if not text or self.simple is None or self.simple(text) is None:
            return _transaction(line, row, columns, self.mapping, self.default_currency)
        raw_date = row[columns.date].strip() if columns.date < size else ""
        booked_on = self.dates.get(raw_date)
        if booked_on is None:
            try:
                booked_on = parse_date(raw_date, self.date_format)
            except ValueError:
                return _transaction(line, row, columns, self.mapping, self.default_currency)
            self.dates[raw_date] = booked_on
        amount = Decimal(text if self.decimal == "." else text.replace(",", "."))
        if self.inverted:
            amount = -amount
        ref = f"line {line}"
        amount = self.check(amount, ref) if self.check is not None else check_amount(amount, None, ref)
        payee = cell(row, columns.payee) or None
        memo = cell(row, columns.memo) or None
        if len(self.description) == 1:
            description = cell(row, self.description[0])
        else:
            description = " ".join(v for c in self.description if (v := cell(row, c)))
        description = description or payee or memo or ""
        status = cell(row, columns.status).lower() if columns.status is not None else ""
        category = ":".join(v for c in self.category if (v := cell(row, c))) or None if self.category else None
        transaction = ParsedTransaction(
            booked_on=booked_on,
            amount=amount,
            currency=self.currency,
            description=description,
            payee=payee,
            memo=memo,
            provider_id=cell(row, columns.reference) or None,
            check_number=cell(row, columns.check_number) or None,
            pending=True if status in PENDING_WORDS else False if status in POSTED_WORDS else None,
            category=category,
            value_on=None,
            ref=ref,
        )
        return cell(row, columns.account), transaction


def _row_currency(
    line: int, row: list[str], columns: _Columns, mapping: CsvMapping, default: str | None
) -> str | None:
    code = cell(row, columns.currency)
    if not code:
        for index in columns.amount_columns():
            code = currency_in(cell(row, index)) or ""
            if code:
                break
    if not code:
        return mapping.currency_code or default
    try:
        return parse_currency(code)
    except DomainError as error:
        raise StatementError(error.message, location=line_ref(line)) from None


def _direction(line: int, text: str) -> Decimal:
    word = text.strip().lower()
    if word in DEBIT_WORDS:
        return Decimal(-1)
    if word in CREDIT_WORDS:
        return Decimal(1)
    raise StatementError(f"{text[:20]!r} says neither debit nor credit.", location=line_ref(line))


def _account(key: str, line: int) -> ParsedAccount:
    compact = key.replace(" ", "").upper()
    if not key:
        return ParsedAccount(ref=line_ref(line))
    is_iban = len(compact) >= 15 and compact[:2].isalpha() and compact[2:4].isdigit() and compact.isalnum()
    if is_iban:
        return ParsedAccount(number=key, iban=compact, ref=line_ref(line))
    if sum(c.isdigit() for c in key) >= 4:
        return ParsedAccount(number=key, ref=line_ref(line))
    return ParsedAccount(name=key, ref=line_ref(line))


def is_currency_code(text: str) -> bool:
    return is_currency(text.strip().upper()) and text.strip().isalpha() and len(text.strip()) == 3
