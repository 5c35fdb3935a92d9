"""Format detection and the one `parse` entry point: every sample file, size limit, refused binaries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.accounts.models import AccountKind
from app.errors import DomainError, ErrorCode
from app.sync.providers import detect
from app.sync.providers.csv_format import CsvMapping
from app.sync.providers.statement import KindHint, StatementFormat

FIXTURES = Path(__file__).parent / "fixtures" / "statements"

SAMPLES = {
    "ofx/ofxparse_multiple_accounts.ofx": (StatementFormat.OFX, 2, 0),
    "ofx/ofxparse_suncorp.ofx": (StatementFormat.OFX, 1, 1),
    "qif/quiffen_test.qif": (StatementFormat.QIF, 2, 6),
    "qif/quiffen_test_category_override.qif": (StatementFormat.QIF, 1, 4),
    "qif/quiffen_test_split.qif": (StatementFormat.QIF, 1, 1),
    "camt053/genkgo_camt053.v2.multi.statement.xml": (StatementFormat.CAMT053, 1, 2),
    "camt053/genkgo_camt053.v2.five.decimals.xml": (StatementFormat.CAMT053, 1, 1),
    "csv/csv2ofx_ingesp.csv": (StatementFormat.CSV, 1, 10),
    "csv/csv2ofx_ubs-ch-fr_trimmed.csv": (StatementFormat.CSV, 1, 3),
    "csv/csv2ofx_gls.csv": (StatementFormat.CSV, 1, 1),
    "csv/csv2ofx_schwab-checking.csv": (StatementFormat.CSV, 1, 4),
    "csv/csv2ofx_mint.csv": (StatementFormat.CSV, 2, 4),
    "csv/bank2ynab_bunq-statement.csv": (StatementFormat.CSV, 1, 7),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_is_detected_and_parsed(name):
    # given
    data = (FIXTURES / name).read_bytes()
    fmt, accounts, transactions = SAMPLES[name]
    # when
    by_content = detect.detect_format(data)
    statement = detect.parse(data, filename=Path(name).name)
    # then
    assert by_content is fmt
    assert statement.format is fmt
    assert (len(statement.accounts), statement.transaction_count) == (accounts, transactions)
    for account in statement.accounts:
        assert account.kind_hint is None or AccountKind(account.kind_hint.value)
        for t in account.transactions:
            assert isinstance(t.amount, Decimal) and t.amount.is_finite()
            assert t.ref


def test_every_kind_hint_is_an_account_kind():
    assert {k.value for k in KindHint} <= {k.value for k in AccountKind}


def test_the_malformed_sample_fails_cleanly_through_parse():
    data = (FIXTURES / "ofx/ofxparse_fail_nice_decimal_error.ofx").read_bytes()
    assert detect.detect_format(data) is StatementFormat.OFX  # no header, but an <OFX> element
    with pytest.raises(DomainError) as info:
        detect.parse(data, filename="decimal_error.ofx")
    assert info.value.code is ErrorCode.MALFORMED_FILE
    assert info.value.message.startswith("Line 36: ")


def test_qfx_by_name_or_by_intu_bid():
    data = (FIXTURES / "ofx/ofxparse_suncorp.ofx").read_bytes()
    assert detect.detect_format(data, "export.QFX") is StatementFormat.QFX
    assert detect.parse(data, filename="export.qfx").format is StatementFormat.QFX
    assert detect.detect_format(data.replace(b"<FID>", b"<INTU.BID>1</INTU.BID><FID>")) is StatementFormat.QFX


def test_a_forced_format_skips_detection():
    data = (FIXTURES / "csv/csv2ofx_gls.csv").read_bytes()
    with pytest.raises(DomainError) as info:
        detect.parse(data, format="OFX")
    assert info.value.code is ErrorCode.MALFORMED_FILE
    assert detect.parse(data, format="AUTO").format is StatementFormat.CSV


def test_options_reach_the_parsers():
    qif = b"!Type:Bank\nD01/02/2026\nT-1.234\n^\n"
    statement = detect.parse(qif, date_order="DMY")
    assert statement.accounts[0].transactions[0].booked_on.month == 2
    with pytest.raises(DomainError) as info:
        detect.parse(qif, currency="EUR")
    assert info.value.code is ErrorCode.MALFORMED_FILE
    csv = b"a|b\n2026-01-02|5\n"
    mapping = CsvMapping(date=0, amount=1, delimiter="|")
    assert detect.parse(csv, mapping=mapping).accounts[0].transactions[0].amount == Decimal("5")


def test_the_size_limit():
    data = (FIXTURES / "csv/csv2ofx_ingesp.csv").read_bytes()
    with pytest.raises(DomainError) as info:
        detect.parse(data, max_bytes=len(data) - 1)
    assert (info.value.code, info.value.field) == (ErrorCode.FILE_TOO_LARGE, "file")
    assert detect.parse(data, max_bytes=len(data)).transaction_count == 10


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n...", b"PK\x03\x04\x14\x00", b"\xd0\xcf\x11\xe0\xa1\xb1", b"<html><body>Hi</body></html>",
     b"\x00\x00\x00\x18ftypmp42"],
)
def test_binaries_and_foreign_xml_are_unsupported(data):
    with pytest.raises(DomainError) as info:
        detect.parse(data, filename="statement.pdf")
    assert info.value.code is ErrorCode.UNSUPPORTED_FORMAT


def test_an_empty_file_is_malformed():
    with pytest.raises(DomainError) as info:
        detect.parse(b" \r\n ", filename="x.csv")
    assert info.value.code is ErrorCode.MALFORMED_FILE


def test_qif_with_leading_comments_and_the_name_as_tie_breaker():
    assert detect.detect_format(b"# exported\n!Type:Bank\nD1/2/26\nT1\n^\n") is StatementFormat.QIF
    assert detect.detect_format(b"hello", "x.qif") is StatementFormat.QIF
    assert detect.detect_format(b"hello", "x.csv") is StatementFormat.CSV


def test_an_unknown_forced_format():
    with pytest.raises(DomainError) as info:
        detect.parse(b"x", format="PDF")
    assert (info.value.code, info.value.field) == (ErrorCode.INVALID, "format")
