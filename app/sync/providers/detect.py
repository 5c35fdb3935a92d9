"""Which statement format a file is, and one entry point that checks its size and parses it.

The content decides (an OFX header or `<OFX>`, a QIF `!Type:` line, a camt XML namespace, else delimited
text); the file name only breaks ties. PDFs, spreadsheets and other binaries are UNSUPPORTED_FORMAT.
"""

from __future__ import annotations

import re

from app.errors import DomainError, ErrorCode
from app.sync.providers import camt053, csv_format, ofx, qif
from app.sync.providers.csv_format import CsvMapping
from app.sync.providers.statement import ParsedStatement, StatementError, StatementFormat
from app.sync.providers.values import DateOrder

MAX_BYTES = 10 * 1024 * 1024
"""The default upload limit: 10 MiB."""

_EXTENSIONS = {
    ".ofx": StatementFormat.OFX,
    ".qfx": StatementFormat.QFX,
    ".qif": StatementFormat.QIF,
    ".xml": StatementFormat.CAMT053,
    ".053": StatementFormat.CAMT053,
    ".csv": StatementFormat.CSV,
    ".tsv": StatementFormat.CSV,
    ".txt": StatementFormat.CSV,
}
_BINARY = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook"),
    (b"\xd0\xcf\x11\xe0", "an Excel or Word file"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
)


def _head_text(data: bytes) -> str:
    head = data[:8192]
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="ignore")
    return head.decode("latin-1")


def _extension(filename: str | None) -> StatementFormat | None:
    if not filename:
        return None
    match = re.search(r"(\.[A-Za-z0-9]+)$", filename.strip())
    return _EXTENSIONS.get(match.group(1).lower()) if match else None


def detect_format(data: bytes, filename: str | None = None) -> StatementFormat:
    """The format of `data`; StatementError MALFORMED_FILE when empty, UNSUPPORTED_FORMAT when binary."""
    if not data.strip():
        raise StatementError("The file is empty.")
    for signature, what in _BINARY:
        if data.startswith(signature):
            raise StatementError(
                f"This is {what}, not a statement export. Export OFX, QFX, QIF, CAMT.053 or CSV from your bank.",
                code=ErrorCode.UNSUPPORTED_FORMAT,
            )
    text = _head_text(data)
    upper = text.upper()
    by_name = _extension(filename)
    if upper.lstrip().startswith("OFXHEADER") or "<OFX>" in upper or "<?OFX" in upper:
        is_qfx = by_name is StatementFormat.QFX or "<INTU.BID>" in upper
        return StatementFormat.QFX if is_qfx else StatementFormat.OFX
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lines and re.match(r"!(TYPE|ACCOUNT|OPTION|CLEAR)\b", lines[0], re.IGNORECASE):
        return StatementFormat.QIF
    if text.lstrip().startswith("<"):
        if "BKTOCSTMR" in upper or "URN:ISO:STD:ISO:20022:TECH:XSD:CAMT" in upper:
            return StatementFormat.CAMT053
        if by_name in (StatementFormat.OFX, StatementFormat.QFX):
            return by_name
        raise StatementError("This XML file is neither OFX nor an ISO 20022 camt.053 statement.",
                             code=ErrorCode.UNSUPPORTED_FORMAT)
    if by_name in (StatementFormat.OFX, StatementFormat.QFX, StatementFormat.QIF):
        return by_name  # its parser says what is wrong with it
    if "\x00" in text:
        raise StatementError("This is a binary file, not a statement export.", code=ErrorCode.UNSUPPORTED_FORMAT)
    return StatementFormat.CSV


def parse(
    data: bytes,
    *,
    filename: str | None = None,
    max_bytes: int = MAX_BYTES,
    mapping: CsvMapping | None = None,
    format: StatementFormat | str | None = None,
    date_order: DateOrder | str | None = None,
    currency: str | None = None,
) -> ParsedStatement:
    """Check the size, detect the format (unless `format` is given; "AUTO" means detect) and parse.

    `mapping` applies to CSV, `date_order` to QIF (CSV takes it from the mapping), `currency` is the
    currency of rows whose file names none (QIF, CSV). Raises DomainError FILE_TOO_LARGE, or
    StatementError MALFORMED_FILE / UNSUPPORTED_FORMAT whose message names the line or element.
    """
    if len(data) > max_bytes:
        raise DomainError(
            ErrorCode.FILE_TOO_LARGE,
            f"The file is {len(data) / 1048576:.1f} MB; statements up to {max_bytes / 1048576:.0f} MB can be imported.",
            "file",
        )
    try:
        chosen = None if format in (None, "AUTO") else StatementFormat(format)
    except ValueError:
        raise DomainError(ErrorCode.INVALID, f"Unknown statement format {format!r}.", "format") from None
    if chosen is None:
        chosen = detect_format(data, filename)
    if chosen in (StatementFormat.OFX, StatementFormat.QFX):
        return ofx.parse(data, qfx=chosen is StatementFormat.QFX)
    if chosen is StatementFormat.QIF:
        return qif.parse(data, date_order=date_order, currency=currency)
    if chosen is StatementFormat.CAMT053:
        return camt053.parse(data)
    return csv_format.parse(data, mapping, currency=currency)
