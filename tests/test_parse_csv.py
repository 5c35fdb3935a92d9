"""Bank CSV parsing: the sample exports, detection of every layout choice, explicit mappings, clean errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import DomainError, ErrorCode
from app.sync.providers import csv_format
from app.sync.providers.csv_format import CsvMapping, SignConvention
from app.sync.providers.statement import StatementFormat

FIXTURES = Path(__file__).parent / "fixtures" / "statements" / "csv"
D = Decimal


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def data_lines(data: bytes) -> int:
    """Independent count: non-blank physical lines less the header (none of the samples has quoted newlines)."""
    text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    return sum(1 for line in text.split("\n") if line.strip()) - 1


def rows(statement, account: int = 0):
    return [(t.booked_on, t.amount, t.currency, t.description) for t in statement.accounts[account].transactions]


def error_of(data: bytes | str, mapping: CsvMapping | None = None, **options) -> DomainError:
    with pytest.raises(DomainError) as info:
        csv_format.parse(data.encode() if isinstance(data, str) else data, mapping, **options)
    return info.value


# --- the sample exports -------------------------------------------------------------------------------


def test_ing_spain_day_first_signed_amounts_crlf_and_accents():
    data = read("csv2ofx_ingesp.csv")
    statement = csv_format.parse(data)
    assert statement.format is StatementFormat.CSV
    (account,) = statement.accounts
    assert data_lines(data) == len(account.transactions) == 10
    first, *_, last = account.transactions
    assert (first.booked_on, first.amount, first.description, first.category) == (
        dt.date(2022, 3, 24), D("2.83"), "Abono por campaña Abono Shopping NARANJA:GALP",
        "Ventajas ING:Otras Ventajas ING")
    assert (last.booked_on, last.amount, last.description) == (
        dt.date(2022, 11, 13), D("500.00"), "Traspaso recibido Cuenta Nómina")
    assert (account.transactions[6].booked_on, account.transactions[6].amount) == (dt.date(2022, 7, 29), D("-1000.00"))
    assert last.ref == "line 11"
    mapping = statement.csv_mapping
    assert mapping is not None
    assert (mapping.date_format, mapping.decimal_separator, mapping.delimiter, mapping.amount) == ("DMY", ".", ",", "amount")
    assert statement.warnings == []


def test_ubs_semicolons_debit_credit_columns_apostrophe_thousands_and_chf():
    data = read("csv2ofx_ubs-ch-fr_trimmed.csv")
    statement = csv_format.parse(data)
    (account,) = statement.accounts
    assert data_lines(data) == len(account.transactions) == 3
    assert (account.number, account.currency) == ("0123 45678901.23A", "CHF")
    assert rows(statement) == [
        (dt.date(2019, 3, 31), D("-10.00"), "CHF", "Solde prix prestations"),
        (dt.date(2019, 2, 28), D("240.00"), "CHF",
         "Virement postal ASSOCIATION FOO-BAR BVD DE QUELQUE-PART 1, 1201 GENEVE, CH"),
        (dt.date(2019, 4, 27), D("-200.00"), "CHF",
         "Ordre e-banking REMB-CASH Quuz-baz SàrL, CH - 1203 GENEVE, E-Banking CHF intérieur"),
    ]
    assert [t.provider_id for t in account.transactions] == ["A01234BC01234567", "3456789ZT1234567", "9979360TI2115087"]
    mapping = statement.csv_mapping
    assert mapping is not None
    assert (mapping.debit, mapping.credit, mapping.delimiter, mapping.date_format) == ("Débit", "Crédit", ";", "DMY")


def test_gls_latin1_semicolons_and_decimal_comma():
    data = read("csv2ofx_gls.csv")
    statement = csv_format.parse(data)
    (account,) = statement.accounts
    assert data_lines(data) == len(account.transactions) == 1
    (t,) = account.transactions
    assert (t.booked_on, t.value_on, t.amount, t.currency) == (dt.date(2017, 10, 10), dt.date(2017, 10, 10), D("-98.76"), "EUR")
    assert t.payee == "Drillisch Online AG"
    assert t.description == "SEPA-Basislastschrift B4658645 U123456789 B123456 987 SIMply Rechnung"
    assert (account.number, account.currency) == ("1234567890", "EUR")
    mapping = statement.csv_mapping
    assert mapping is not None
    assert (mapping.encoding, mapping.decimal_separator, mapping.amount, mapping.payee) == (
        "cp1252", ",", "Betrag", "Auftraggeber/Empfänger")
    assert "VWZ14" in mapping.description  # empty here, kept for rows that fill it


def test_schwab_quoted_dollars_withdrawal_deposit_and_check_numbers():
    data = read("csv2ofx_schwab-checking.csv")
    statement = csv_format.parse(data, currency="USD")
    (account,) = statement.accounts
    assert data_lines(data) == len(account.transactions) == 4
    assert rows(statement) == [
        (dt.date(2022, 8, 17), D("20.00"), "USD", "Deposit Mobile Banking"),
        (dt.date(2022, 8, 14), D("-103.00"), "USD", "BMO HARRIS BANK"),
        (dt.date(2022, 8, 9), D("-75.00"), "USD", "Check Paid #558"),
        (dt.date(2022, 8, 4), D("-57.27"), "USD", "PAYPAL INST XFER 220803~ Tran: ACHDW"),
    ]
    assert [t.check_number for t in account.transactions] == [None, None, "558", None]
    assert {t.pending for t in account.transactions} == {False}  # Status "Posted"


def test_mint_cr_only_lines_unsigned_amounts_and_a_debit_credit_column():
    data = read("csv2ofx_mint.csv")
    assert b"\n" not in data and data.count(b"\r") == 5
    statement = csv_format.parse(data)
    savings, checking = statement.accounts
    assert data_lines(data) == len(savings.transactions) + len(checking.transactions) == 4
    assert (savings.name, checking.name) == ("Savings", "Checking")
    assert rows(statement, 0) == [(dt.date(2015, 6, 12), D("-1000.00"), None, "Account Transfer")]
    assert rows(statement, 1) == [
        (dt.date(2015, 6, 12), D("-1500.00"), None, "Account Transfer"),
        (dt.date(2015, 6, 13), D("2000.00"), None, "Account Transfer"),
        (dt.date(2015, 6, 14), D("-2500.00"), None, "Account Transfer"),
    ]
    assert [t.payee for t in checking.transactions] == ["Transfer from Savings", "Transfer to Savings",
                                                         "Transfer from Savings"]
    assert checking.transactions[2].ref == "line 5"
    assert statement.csv_mapping is not None and statement.csv_mapping.direction == "Transaction Type"


def test_bunq_quoted_decimal_commas_with_comma_delimiter():
    data = read("bank2ynab_bunq-statement.csv")
    statement = csv_format.parse(data, currency="EUR")
    (account,) = statement.accounts
    assert data_lines(data) == len(account.transactions) == 7
    assert account.iban == "NL26BUNQ2025126409"
    assert [t.amount for t in account.transactions] == [D(x) for x in
                                                        ("-8.78", "-7.08", "8.78", "-8.76", "7.08", "-7.07", "-7.99")]
    assert account.transactions[0].booked_on == dt.date(2018, 12, 6)
    assert account.transactions[6].booked_on == dt.date(2018, 12, 17)
    assert account.transactions[6].payee == "NETFLIX.COM"
    assert account.transactions[0].description == "CLOUDFLARE 650-3198939, US 9.95 USD, 1 USD = 0.88241 EUR"
    assert statement.csv_mapping is not None and statement.csv_mapping.decimal_separator == ","


# --- encodings and line endings -----------------------------------------------------------------------

SIMPLE = "Date;Description;Amount\n02.01.2026;Café au lait;-3,50\n05.01.2026;Gehalt;2.500,00\n"


def test_utf8_with_bom():
    statement = csv_format.parse(b"\xef\xbb\xbf" + SIMPLE.encode("utf-8"))
    assert rows(statement) == [(dt.date(2026, 1, 2), D("-3.50"), None, "Café au lait"),
                               (dt.date(2026, 1, 5), D("2500.00"), None, "Gehalt")]
    assert statement.csv_mapping is not None and statement.csv_mapping.encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_latin1_and_cp1252(codec):
    text = SIMPLE.replace("Gehalt", "Gehalt für Jänner €" if codec == "cp1252" else "Gehalt für Jänner")
    statement = csv_format.parse(text.encode(codec))
    assert statement.accounts[0].transactions[0].description == "Café au lait"
    assert statement.accounts[0].transactions[1].description.startswith("Gehalt für Jänner")


def test_utf16_with_bom():
    statement = csv_format.parse(SIMPLE.encode("utf-16"))
    assert [t.amount for t in statement.accounts[0].transactions] == [D("-3.50"), D("2500.00")]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_and_line_numbers(newline):
    text = (SIMPLE + "\n06.01.2026;bad;x\n07.01.2026;Miete;-800,00\n").replace("\n", newline)
    error = error_of(text)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert getattr(error, "location", None) == "line 5"  # the blank line 4 still counts


def test_a_quoted_field_spanning_lines_keeps_later_line_numbers_right():
    text = 'Date,Description,Amount\n2026-01-02,"two\nlines",-1.00\n2026-01-03,ok,x\n' + "2026-01-04,ok,1.00\n" * 4
    error = error_of(text)
    assert getattr(error, "location", None) == "line 4"
    assert "'x' is not a number" in error.message


# --- delimiters, headers and preambles ----------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(delimiter):
    text = delimiter.join(["Date", "Payee", "Memo", "Amount"]) + "\n"
    text += delimiter.join(["2026-01-02", "Shop", "card", "-1.25"]) + "\n"
    text += delimiter.join(["2026-01-03", "Work", "pay", "10.00"]) + "\n"
    statement = csv_format.parse(text.encode())
    assert statement.csv_mapping is not None and statement.csv_mapping.delimiter == delimiter
    assert [(t.payee, t.memo, t.amount) for t in statement.accounts[0].transactions] == [
        ("Shop", "card", D("-1.25")), ("Work", "pay", D("10.00"))]


def test_a_preamble_before_the_header_is_skipped():
    text = ("Kontoauszug;;;\nKonto;DE89370400440532013000;;\nZeitraum;01.01.2026 - 31.01.2026;;\n;;;\n"
            "Buchungstag;Verwendungszweck;Betrag;Saldo\n"
            "02.01.2026;Miete;-850,00;1.150,00\n15.01.2026;Lohn;2.000,00;3.150,00\n")
    statement = csv_format.parse(text.encode())
    assert rows(statement) == [(dt.date(2026, 1, 2), D("-850.00"), None, "Miete"),
                               (dt.date(2026, 1, 15), D("2000.00"), None, "Lohn")]
    mapping = statement.csv_mapping
    assert mapping is not None and (mapping.skip_rows, mapping.has_header) == (3, True)  # the blank ';;;' is no row


def test_a_file_without_header_is_read_by_content():
    text = "2026-01-02,COFFEE SHOP LONDON,-3.20\n2026-01-03,SALARY ACME LTD,1500.00\n"
    statement = csv_format.parse(text.encode())
    assert rows(statement) == [(dt.date(2026, 1, 2), D("-3.20"), None, "COFFEE SHOP LONDON"),
                               (dt.date(2026, 1, 3), D("1500.00"), None, "SALARY ACME LTD")]
    assert statement.csv_mapping is not None and statement.csv_mapping.has_header is False


def test_footer_rows_without_a_date_are_skipped_with_a_warning():
    text = "Date;Text;Amount\n13.01.2026;A;-1,00\n14.01.2026;B;-2,00\n;Summe;-3,00\nEnd of statement\n"
    statement = csv_format.parse(text.encode())
    assert [t.amount for t in statement.accounts[0].transactions] == [D("-1.00"), D("-2.00")]
    assert statement.warnings == ["Lines without a date at the end of the file were skipped (line 4, 5)."]


def test_a_row_without_a_date_in_the_middle_is_an_error():
    text = "Date;Text;Amount\n02.01.2026;A;-1,00\n;B;-2,00\n04.01.2026;C;-3,00\n"
    error = error_of(text)
    assert getattr(error, "location", None) == "line 3"


# --- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "delimiter", "amount"),
    [
        ('"1,234.56"', ",", D("1234.56")), ('"-1,234,567.89"', ",", D("-1234567.89")),
        ("1.234,56", ";", D("1234.56")), ("-1.234.567,89", ";", D("-1234567.89")),
        ("1 234,56", ";", D("1234.56")), ("11'373.94", ";", D("11373.94")), ('"(12.50)"', ",", D("-12.50")),
        ("12.50-", ",", D("-12.50")), ('"$1,000.00"', ",", D("1000.00")), ("€ -7,5", ";", D("-7.50")),
        ("+3", ",", D("3.00")),
    ],
)  # fmt: skip
def test_thousands_marks_and_signs(written, delimiter, amount):
    text = f"Date{delimiter}Description{delimiter}Amount\n2026-01-02{delimiter}x{delimiter}{written}\n"
    text += f"2026-01-03{delimiter}y{delimiter}-1\n"
    statement = csv_format.parse(text.encode(), currency="EUR")
    assert statement.accounts[0].transactions[0].amount == amount


def test_an_amount_too_fine_for_its_currency_names_the_line():
    text = "Date,Description,Amount,Currency\n2026-01-02,a,18.150,EUR\n2026-01-03,b,1.234,EUR\n"
    error = error_of(text)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert getattr(error, "location", None) == "line 3"
    assert "EUR amounts have 2 decimal places" in error.message


def test_a_currency_written_next_to_the_amount():
    text = "Date,Description,Amount\n2026-01-02,a,12.00 GBP\n2026-01-03,b,-3.10 GBP\n"
    statement = csv_format.parse(text.encode())
    assert {t.currency for t in statement.accounts[0].transactions} == {"GBP"}
    assert statement.accounts[0].currency == "GBP"


def test_mixed_decimal_marks_are_refused():
    text = "Date,Description,Amount\n2026-01-02,a,\"1,50\"\n2026-01-03,b,2.50\n"
    error = error_of(text)
    assert error.code is ErrorCode.MALFORMED_FILE and "mix decimal marks" in error.message


def test_debit_and_credit_columns_with_zeros_and_signs():
    text = ("Date,Details,Paid out,Paid in,Balance\n2026-01-02,Rent,850.00,0.00,150.00\n"
            "2026-01-03,Refund,,12.00,162.00\n2026-01-04,Fee,-1.50,,160.50\n")
    statement = csv_format.parse(text.encode())
    assert [t.amount for t in statement.accounts[0].transactions] == [D("-850.00"), D("12.00"), D("-1.50")]
    error = error_of(text + "2026-01-05,Nothing,,,160.50\n")
    assert getattr(error, "location", None) == "line 5"


# --- dates --------------------------------------------------------------------------------------------


def test_date_order_from_a_day_above_12():
    dmy = "Date,Description,Amount\n01/02/2026,a,1.00\n13/02/2026,b,1.00\n"
    mdy = "Date,Description,Amount\n01/02/2026,a,1.00\n02/13/2026,b,1.00\n"
    assert [t.booked_on for t in csv_format.parse(dmy.encode()).accounts[0].transactions] == [
        dt.date(2026, 2, 1), dt.date(2026, 2, 13)]
    assert [t.booked_on for t in csv_format.parse(mdy.encode()).accounts[0].transactions] == [
        dt.date(2026, 1, 2), dt.date(2026, 2, 13)]


def test_ambiguous_dates_are_read_in_the_order_that_sorts_the_rows_and_warned_about():
    # given rows in date order when read day-first (1 Feb .. 3 Mar), not month-first (2 Jan, 2 Mar, 2 May, 3 Jan ..)
    days = ["01/02/2026", "03/02/2026", "05/02/2026", "01/03/2026", "03/03/2026"]
    text = "Date,Description,Amount\n" + "".join(f"{d},x,1.00\n" for d in days)
    # when
    statement = csv_format.parse(text.encode())
    # then
    assert [t.booked_on for t in statement.accounts[0].transactions] == [
        dt.date(2026, 2, 1), dt.date(2026, 2, 3), dt.date(2026, 2, 5), dt.date(2026, 3, 1), dt.date(2026, 3, 3)]
    assert len(statement.warnings) == 1 and "read as DMY" in statement.warnings[0]


def test_ambiguous_dates_that_cannot_be_told_apart_default_to_month_first_and_a_mapping_decides():
    text = "Date,Description,Amount\n01/02/2026,a,1.00\n"
    statement = csv_format.parse(text.encode())
    assert statement.accounts[0].transactions[0].booked_on == dt.date(2026, 1, 2)
    assert "read as MDY" in statement.warnings[0]
    mapping = CsvMapping(date="Date", amount="Amount", description=("Description",), date_format="DMY")
    given = csv_format.parse(text.encode(), mapping)
    assert given.accounts[0].transactions[0].booked_on == dt.date(2026, 2, 1)
    assert given.warnings == []


def test_dates_that_fit_no_single_order_are_refused():
    text = "Date,Description,Amount\n13/01/2026,a,1.00\n01/13/2026,b,1.00\n"
    error = error_of(text)
    assert error.code is ErrorCode.MALFORMED_FILE and "mix day-first and month-first" in error.message


@pytest.mark.parametrize(
    ("written", "day"),
    [("2026-01-02", dt.date(2026, 1, 2)), ("20260102", dt.date(2026, 1, 2)), ("02-Jan-2026", dt.date(2026, 1, 2)),
     ("Jan 2 2026", dt.date(2026, 1, 2)), ("2026-01-02 14:30:00", dt.date(2026, 1, 2)),
     ("2026-01-02T23:59:59+01:00", dt.date(2026, 1, 2)), ("02.01.26", dt.date(2026, 1, 2))],
)  # fmt: skip
def test_date_forms(written, day):
    text = f"Date;Description;Amount\n{written};a;1,00\n{written};b;2,00\n"
    assert csv_format.parse(text.encode()).accounts[0].transactions[0].booked_on == day


# --- explicit mappings --------------------------------------------------------------------------------


def test_an_explicit_mapping_by_position_without_header_with_inverted_sign():
    text = "skip me\n2026-01-02|CARD PURCHASE|25.00|Coffee\n2026-01-05|PAYMENT|-100.00|\n"
    mapping = CsvMapping(date=0, amount=2, description=(1,), payee=3, delimiter="|", skip_rows=1, has_header=False,
                         sign=SignConvention.INVERTED, currency_code="USD")
    statement = csv_format.parse(text.encode(), mapping)
    assert [(t.amount, t.currency, t.payee) for t in statement.accounts[0].transactions] == [
        (D("-25.00"), "USD", "Coffee"), (D("100.00"), "USD", None)]


def test_a_mapping_round_trips_through_a_dict_and_validates():
    statement = csv_format.parse(read("csv2ofx_ubs-ch-fr_trimmed.csv"))
    assert statement.csv_mapping is not None
    again = CsvMapping.from_dict(statement.csv_mapping.to_dict())
    assert again == statement.csv_mapping
    assert rows(csv_format.parse(read("csv2ofx_ubs-ch-fr_trimmed.csv"), again)) == rows(statement)
    with pytest.raises(DomainError) as info:
        CsvMapping.from_dict({"date": "Date"})
    assert (info.value.code, info.value.field) == (ErrorCode.REQUIRED, "csvMapping.amount")
    with pytest.raises(DomainError) as info:
        CsvMapping.from_dict({"date": "Date", "amount": "A", "debit": "B"})
    assert info.value.code is ErrorCode.INVALID
    with pytest.raises(DomainError) as info:
        CsvMapping.from_dict({"date": "Date", "amount": "A", "colour": "red"})
    assert info.value.field == "csvMapping.colour"


def test_a_mapping_naming_a_missing_column():
    error = error_of(SIMPLE, CsvMapping(date="Datum", amount="Amount"))
    assert (error.code, error.field) == (ErrorCode.INVALID, "csvMapping.date")


def test_a_layout_that_cannot_be_detected_asks_for_a_mapping():
    text = "2026-01-02,a,1.00,2.00\n2026-01-03,b,3.00,4.00\n"
    error = error_of(text)
    assert (error.code, error.field) == (ErrorCode.UNSUPPORTED_FORMAT, "csvMapping")
    assert "which column holds the amount" in error.message


def test_binary_and_empty_files():
    assert error_of(b"\x00\x01\x02garbage").code is ErrorCode.UNSUPPORTED_FORMAT
    assert error_of(b"  \n").code is ErrorCode.MALFORMED_FILE
    assert error_of(b"just one line of text\n").code is ErrorCode.UNSUPPORTED_FORMAT


# --- a CSV written from any rows reads back as the same rows --------------------------------------------

words = st.text(alphabet=st.sampled_from("abcdefghij KLMNOP,;\"'|é"), min_size=1, max_size=20).map(
    lambda s: "x" + s.strip())
cents = st.integers(min_value=-10**9, max_value=10**9)
days = st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2068, 12, 31))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(st.tuples(days, cents, words), min_size=1, max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    decimal=st.sampled_from([".", ","]),
    grouped=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_written_rows_parse_back(entries, delimiter, decimal, grouped, newline, codec):
    # given
    group = "," if decimal == "." else "."

    def money(value: int) -> str:
        sign, whole, frac = "-" if value < 0 else "", abs(value) // 100, abs(value) % 100
        body = f"{whole:,}".replace(",", group) if grouped else str(whole)
        return f"{sign}{body}{decimal}{frac:02d}"

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["Booking date", "Description", "Amount"])
    for day, value, text in entries:
        writer.writerow([day.isoformat(), text, money(value)])
    # when
    statement = csv_format.parse(out.getvalue().encode(codec), currency="EUR")
    # then
    (account,) = statement.accounts
    assert [(t.booked_on, t.amount, t.description) for t in account.transactions] == [
        (day, D(value).scaleb(-2), text) for day, value, text in entries]
    assert statement.warnings == []


@settings(max_examples=40, deadline=None)
@given(entries=st.lists(st.tuples(days, cents), min_size=1, max_size=10), order=st.sampled_from(["DMY", "MDY"]))
def test_ambiguous_day_month_rows_parse_back_with_the_given_order(entries, order):
    pattern = "%d/%m/%Y" if order == "DMY" else "%m/%d/%Y"
    text = "Date,Amount\n" + "".join(f"{d.strftime(pattern)},{D(c).scaleb(-2)}\n" for d, c in entries)
    mapping = CsvMapping(date="Date", amount="Amount", date_format=order)
    statement = csv_format.parse(text.encode(), mapping)
    assert [(t.booked_on, t.amount) for t in statement.accounts[0].transactions] == [
        (d, D(c).scaleb(-2)) for d, c in entries]
