"""Detects the layout of a bank CSV: its delimiter, its header row, and the role of every column.

A column's role comes from its header (keywords in English, German, French, Spanish, Dutch and Italian)
checked against its values (a date column holds dates, an amount column numbers, a currency column ISO
codes); without a header the values alone decide where they can. When the amount cannot be told
apart from other numbers the file needs a mapping: UNSUPPORTED_FORMAT on field `csvMapping`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import ErrorCode
from app.sync.providers.csv_format import (
    CREDIT_WORDS,
    DEBIT_WORDS,
    DELIMITERS,
    PENDING_WORDS,
    POSTED_WORDS,
    Column,
    CsvMapping,
    Row,
    is_currency_code,
)
from app.sync.providers.statement import StatementError
from app.sync.providers.values import is_date, is_number, normalize_header

SAMPLE_ROWS = 500

DATE = ("date", "datum", "fecha", "data", "day", "posted", "dato")
BOOKING_DATE = ("booking date", "buchungstag", "buchungsdatum", "transaction date", "posted date", "posting date",
                "date operation", "fecha operacion", "trans date", "boekdatum", "transactiedatum", "data operazione")
VALUE_DATE = ("value date", "valuta", "wertstellung", "valutadatum", "date de valeur", "fecha valor", "rentedatum",
              "data valuta")
AMOUNT = ("amount", "betrag", "importe", "montant", "bedrag", "importo", "amt", "umsatz", "sum", "summe", "belopp",
          "kwota", "valor", "transaction amount")
DEBIT = ("debit", "debits", "withdrawal", "withdrawals", "paid out", "money out", "out", "soll", "ausgang",
         "ausgaben", "cargo", "cargos", "af", "debe", "uscite", "outflow", "spent", "charges")
CREDIT = ("credit", "credits", "deposit", "deposits", "paid in", "money in", "in", "haben", "eingang", "einnahmen",
          "abono", "abonos", "bij", "haber", "entrate", "inflow", "received")
BALANCE = ("balance", "saldo", "solde", "kontostand", "stand", "disponible", "available")
IDS = ("account", "konto", "kontonummer", "iban", "check", "cheque", "number", "no", "nr", "id", "reference", "ref",
       "blz", "bic", "routing", "card", "n", "numero", "code")
DESCRIPTION = ("description", "desc", "details", "detail", "narrative", "buchungstext", "verwendungszweck", "vwz",
               "concepto", "omschrijving", "libelle", "text", "particulars", "purpose", "mitteilung", "descripcion",
               "descrizione", "causale", "mededelingen", "memo description")
PAYEE = ("payee", "name", "counterparty", "counter party", "merchant", "beneficiary", "auftraggeber", "empfanger",
         "empfaenger", "begunstigter", "beguenstigter", "naam", "tegenpartij", "beneficiario", "ordenante", "payer",
         "recipient", "zahlungsbeteiligter", "partner name")
MEMO = ("memo", "notes", "note", "notiz", "remarks", "comment", "comments", "observaciones", "notitie")
CATEGORY = ("category", "categoria", "kategorie", "class", "subcategory", "categorie", "sub category")
ACCOUNT = ("account", "account number", "account name", "konto", "kontonummer", "iban", "produit", "rekening",
           "cuenta", "compte", "account no", "auftragskonto")
OTHER_SIDE = ("counter", "counterparty", "gegen", "tegen", "opposing", "beneficiary", "empfanger", "payee", "other")
CHECK = ("check number", "check", "cheque", "cheque number", "check no", "checknum", "scheck")
REFERENCE = ("transaction id", "id", "reference", "referenz", "ref", "n de transaction", "numero de transaction",
             "transaction number", "fitid", "unique id", "transaction reference", "bank reference")
STATUS = ("status", "state")


def _has(name: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {name} "
    return any(f" {phrase} " in padded for phrase in phrases)


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (at least two) of fields most often."""
    lines = [line for line in re.split(r"\r\n|\r|\n", text[:65536]) if line.strip()][:50]
    sample = "\n".join(lines)
    best: tuple[int, int] = (0, 0)
    chosen = None
    for delimiter in DELIMITERS:
        try:
            counts = Counter(len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r)
        except csv.Error:
            continue
        wide = [(n, count) for count, n in sorted(((c, n) for n, c in counts.items() if n >= 2), reverse=True)]
        if not wide:
            continue
        width, agreeing = wide[0]
        if (agreeing, width) > best:
            best, chosen = (agreeing, width), delimiter
    if chosen is None:
        raise StatementError("This is not a CSV export: no delimiter (, ; tab |) splits its lines into columns.",
                             code=ErrorCode.UNSUPPORTED_FORMAT)
    return chosen


@dataclass(slots=True)
class _Profile:
    index: int
    name: str
    values: list[str]
    dates: bool
    numbers: bool
    currencies: bool
    directions: bool

    @property
    def empty(self) -> bool:
        return not self.values

    @property
    def constant(self) -> bool:
        return len(set(self.values)) <= 1

    @property
    def unique(self) -> bool:
        return len(set(self.values)) == len(self.values)


def _looks_like_data(row: list[str]) -> bool:
    cells = [c.strip() for c in row]
    dates = [i for i, c in enumerate(cells) if c and is_date(c)]
    return bool(dates) and any(c and is_number(c) and i not in dates for i, c in enumerate(cells))


def _mostly(values: list[str], test: Callable[[str], bool]) -> bool:
    """All values pass, or all but a fifth of them (at least one outlier among three or more)."""
    failed = sum(1 for v in values if not test(v))
    allowed = max(1, len(values) // 5) if len(values) >= 3 else 0
    return bool(values) and failed <= allowed


def _profiles(header: list[str] | None, sample: list[list[str]]) -> list[_Profile]:
    width = max([len(header or [])] + [len(row) for row in sample])
    profiles = []
    for i in range(width):
        values = [row[i].strip() for row in sample if i < len(row) and row[i].strip()]
        # most values decide, so that one bad cell is reported on its line rather than spoiling detection
        dates = _mostly(values, is_date)
        numbers = not dates and _mostly(values, is_number)
        currencies = bool(values) and all(is_currency_code(v) for v in values)
        directions = bool(values) and not numbers and all(v.lower() in DEBIT_WORDS | CREDIT_WORDS for v in values)
        name = normalize_header(header[i]) if header and i < len(header) else ""
        profiles.append(_Profile(i, name, values, dates, numbers, currencies, directions))
    return profiles


def _need_mapping(what: str) -> StatementError:
    return StatementError(f"Could not tell {what}; give a CSV mapping.", code=ErrorCode.UNSUPPORTED_FORMAT,
                          field="csvMapping")


def detect_mapping(rows: list[Row], delimiter: str) -> CsvMapping:
    """A mapping for `rows`: the header is the row before the first data row (a date and a number) of the
    file's usual width; rows before it are a preamble."""
    widths = Counter(len(row) for _, row in rows if len(row) >= 2)
    if not widths:
        raise _need_mapping("where the columns are")
    usual = widths.most_common(1)[0][0]
    start = next((i for i, (_, row) in enumerate(rows) if len(row) == usual and _looks_like_data(row)), None)
    if start is None:
        start = next((i for i, (_, row) in enumerate(rows) if _looks_like_data(row)), None)
    if start is None:
        raise _need_mapping("which rows hold transactions (none has a date and an amount)")
    previous = rows[start - 1][1] if start > 0 else None
    has_header = previous is not None and len(previous) >= 2 and not any(is_date(c) for c in previous if c.strip())
    header = previous if has_header else None
    sample = [row for _, row in rows[start : start + SAMPLE_ROWS] if len(row) == usual] or [rows[start][1]]
    profiles = _profiles(header, sample)
    names = [p.name for p in profiles]

    def ref(p: _Profile) -> Column:
        raw = header[p.index].strip() if header and p.index < len(header) else ""
        return raw if raw and names.count(p.name) == 1 else p.index

    taken: set[int] = set()
    date = _pick_date(profiles)
    taken.add(date.index)
    value_date = next((p for p in profiles if p.dates and p.index not in taken and _has(p.name, VALUE_DATE)), None)
    if value_date:
        taken.add(value_date.index)
    amount, debit, credit = _pick_amounts(profiles, taken)
    taken |= {p.index for p in (amount, debit, credit) if p}
    currency = next((p for p in profiles if p.currencies and p.index not in taken), None)
    direction = None
    if amount is not None and not any(v.lstrip().startswith(("-", "(", "\u2212")) for v in amount.values):
        direction = next((p for p in profiles if p.directions and p.index not in taken), None)
    for p in (currency, direction):
        if p:
            taken.add(p.index)
    text = [p for p in profiles if p.index not in taken and not p.empty and not p.numbers and not p.dates]
    roles = _pick_text(text, profiles, taken)
    return CsvMapping(
        date=ref(date),
        amount=ref(amount) if amount else None,
        debit=ref(debit) if debit else None,
        credit=ref(credit) if credit else None,
        description=tuple(ref(p) for p in roles["description"]),
        payee=ref(roles["payee"][0]) if roles["payee"] else None,
        memo=ref(roles["memo"][0]) if roles["memo"] else None,
        currency=ref(currency) if currency else None,
        account=ref(roles["account"][0]) if roles["account"] else None,
        category=tuple(ref(p) for p in roles["category"]),
        check_number=ref(roles["check"][0]) if roles["check"] else None,
        reference=ref(roles["reference"][0]) if roles["reference"] else None,
        status=ref(roles["status"][0]) if roles["status"] else None,
        direction=ref(direction) if direction else None,
        value_date=ref(value_date) if value_date else None,
        delimiter=delimiter,
        skip_rows=start - 1 if has_header else start,
        has_header=has_header,
    )


def _pick_date(profiles: list[_Profile]) -> _Profile:
    dates = [p for p in profiles if p.dates]
    if not dates:
        raise _need_mapping("which column holds the date")

    def score(p: _Profile) -> int:
        if _has(p.name, BOOKING_DATE):
            return 3
        if _has(p.name, VALUE_DATE):
            return 1
        return 2 if _has(p.name, DATE) else 0

    return max(dates, key=lambda p: (score(p), -p.index))


def _pick_amounts(
    profiles: list[_Profile], taken: set[int]
) -> tuple[_Profile | None, _Profile | None, _Profile | None]:
    free = [p for p in profiles if p.index not in taken and not p.dates]
    numeric = [p for p in free if p.numbers or (p.empty and p.name)]
    named = [p for p in numeric if p.numbers and _has(p.name, AMOUNT) and not _has(p.name, BALANCE)]
    if named:
        return named[0], None, None
    debits = [p for p in numeric if _has(p.name, DEBIT) and not _has(p.name, CREDIT)]
    credits = [p for p in numeric if _has(p.name, CREDIT) and not _has(p.name, DEBIT)]
    if debits and credits and not (debits[0].empty and credits[0].empty):
        return None, debits[0], credits[0]
    plain = [p for p in numeric if p.numbers and not _has(p.name, BALANCE) and not _has(p.name, IDS)
             and not (debits and p is debits[0]) and not (credits and p is credits[0])]
    if len(plain) == 1 and not (debits or credits):
        return plain[0], None, None
    raise _need_mapping("which column holds the amount")


def _pick_text(text: list[_Profile], profiles: list[_Profile], taken: set[int]) -> dict[str, list[_Profile]]:
    roles: dict[str, list[_Profile]] = {k: [] for k in
                                        ("account", "reference", "check", "status", "category", "memo", "payee",
                                         "description")}

    def claim(role: str, p: _Profile) -> None:
        roles[role].append(p)
        taken.add(p.index)

    for p in profiles:  # ids may be numeric: look at every column not yet taken
        if p.index in taken or p.empty:
            continue
        if _has(p.name, ACCOUNT) and not _has(p.name, OTHER_SIDE) and not roles["account"]:
            claim("account", p)
        elif _has(p.name, CHECK) and not roles["check"]:
            claim("check", p)
        elif _has(p.name, REFERENCE) and p.unique and not roles["reference"] and not _has(p.name, DESCRIPTION):
            claim("reference", p)
    for p in text:
        if p.index in taken:
            continue
        lowered = {v.lower() for v in p.values}
        if _has(p.name, STATUS) and lowered <= PENDING_WORDS | POSTED_WORDS:
            claim("status", p)
        elif _has(p.name, CATEGORY):
            claim("category", p)
        elif _has(p.name, MEMO) and not _has(p.name, DESCRIPTION):
            claim("memo", p)
    described = [p for p in profiles if p.index not in taken and _has(p.name, DESCRIPTION)
                 and not p.numbers and not p.dates and (p in text or p.empty)]
    original = [p for p in described if "original" in p.name.split()]
    if original:  # Mint: "Description" is the cleaned-up name, "Original Description" the bank's text
        described = original
    payees = [p for p in text if p.index not in taken and p not in described
              and (_has(p.name, PAYEE) or (original and _has(p.name, DESCRIPTION)))]
    if payees:
        claim("payee", max(payees, key=lambda p: (len(p.values), -p.index)))
    described = [p for p in described if p.index not in taken]
    if any(not p.empty and not p.constant for p in described):
        # "Compte personnel UBS" on every row says nothing; empty columns (VWZ3..VWZ14) may fill in later rows
        described = [p for p in described if p.empty or not p.constant]
    if not any(not p.empty for p in described):
        described = []
    if not described:
        rest = [p for p in text if p.index not in taken and not p.currencies and not p.directions]
        if rest and not any(p.name for p in profiles):  # no header: the longest text is the description
            described = [max(rest, key=lambda p: sum(len(v) for v in p.values))]
    for p in described:
        claim("description", p)
    return roles
