"""OFX/QFX parsing: the sample files, SGML 1.x and XML 2.x, dates, amounts, several accounts, clean errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from app.errors import ErrorCode
from app.sync.providers import ofx
from app.sync.providers.statement import KindHint, StatementError, StatementFormat

FIXTURES = Path(__file__).parent / "fixtures" / "statements" / "ofx"
D = Decimal


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def error_of(data: bytes | str) -> StatementError:
    with pytest.raises(StatementError) as info:
        ofx.parse(data)
    return info.value


# --- the sample files ---------------------------------------------------------------------------------


def test_multiple_accounts_file_has_two_accounts_with_balances_and_no_transactions():
    # given
    data = read("ofxparse_multiple_accounts.ofx")
    # when
    statement = ofx.parse(data)
    # then
    assert statement.format is StatementFormat.OFX
    assert data.count(b"<STMTTRN>") == 0 == statement.transaction_count
    assert [(a.number, a.kind_hint, a.currency, a.balance, a.balance_on) for a in statement.accounts] == [
        ("9100", KindHint.CHECKING, "USD", D("111.00"), dt.date(2012, 6, 3)),
        ("9200", KindHint.SAVINGS, "USD", D("222.00"), dt.date(2012, 6, 3)),
    ]
    assert {a.institution for a in statement.accounts} == {"blah"}
    assert {a.bank_id for a in statement.accounts} == {"123"}
    assert statement.warnings == []


def test_suncorp_file_reads_cdata_and_keeps_the_full_memo():
    # given
    data = read("ofxparse_suncorp.ofx")
    # when
    statement = ofx.parse(data)
    # then
    (account,) = statement.accounts
    assert data.count(b"<STMTTRN>") == len(account.transactions) == 1
    assert (account.number, account.currency, account.kind_hint, account.institution) == (
        "123456789", "AUD", KindHint.CHECKING, "SUNCORP")
    assert (account.balance, account.balance_on) == (D("1234.12"), dt.date(2013, 12, 15))
    assert (account.period_start, account.period_end) == (dt.date(2013, 6, 18), dt.date(2013, 12, 15))
    (t,) = account.transactions
    assert t.booked_on == dt.date(2013, 12, 15)
    assert t.amount == D("-16.85") and t.currency == "AUD"
    assert t.provider_id == "1"
    assert t.payee == "EFTPOS WDL HANDYWAY ALDI STORE"  # CDATA, trailing blanks dropped
    assert t.memo == "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU"
    assert t.description == t.memo  # the NAME is cut short; the MEMO repeats it in full
    assert t.check_number is None  # CHECKNUM 0 is no cheque
    assert t.ref == "line 35"


def test_malformed_sample_fails_on_its_impossible_date_naming_the_line():
    error = error_of(read("ofxparse_fail_nice_decimal_error.ofx"))
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 36"
    assert error.message == "Line 36: DTPOSTED '201120000000' is not a valid OFX date."
    assert error.field == "file"


def test_malformed_sample_with_a_valid_date_fails_on_its_dollar_amount():
    data = read("ofxparse_fail_nice_decimal_error.ofx").replace(b"201120000000", b"20110520")
    error = error_of(data)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 37"
    assert "TRNAMT '$120' is not a number" in error.message


# --- SGML 1.x ---------------------------------------------------------------------------------------

SGML = """OFXHEADER:100\r
DATA:OFXSGML\r
VERSION:102\r
SECURITY:NONE\r
ENCODING:USASCII\r
CHARSET:1252\r
COMPRESSION:NONE\r
OLDFILEUID:NONE\r
NEWFILEUID:NONE\r
\r
<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20261102120000.000[-5:EST]
<LANGUAGE>ENG<FI><ORG>Banque Exemple<FID>1234</FI><INTU.BID>3000</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>EUR
<BANKACCTFROM><BANKID>30003<BRANCHID>01234<ACCTID>00012345678<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261101<DTEND>20261130
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261102120000.000[-5:EST]<TRNAMT>-1234,56<FITID>A1<NAME>Caf\xe9 Fran\xe7ais &amp; Fils<MEMO>CB 02/11
</STMTTRN>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261103235959[+5.30:IST]<TRNAMT>+250,5<FITID>A2<NAME>Salaire</STMTTRN>
<STMTTRN><TRNTYPE>CHECK<DTPOSTED>20261104<TRNAMT>-80.00<FITID>A3<CHECKNUM>1042<NAME>Cheque 1042
<CURRENCY><CURRATE>1.1<CURSYM>USD</CURRENCY></STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>1.000,25<DTASOF>20261130</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>2<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<CCSTMTRS><CURDEF>EUR<CCACCTFROM><ACCTID>XXXXXXXXXXXX4321</CCACCTFROM>
<BANKTRANLIST><DTSTART>20261101<DTEND>20261130
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261105<TRNAMT>-19.99<FITID>C1<NAME>Streaming</STMTTRN>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261120<TRNAMT>500.00<FITID>C2<NAME>Payment thank you</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>-588.61<DTASOF>20261130</LEDGERBAL></CCSTMTRS></CCSTMTTRNRS>
</CREDITCARDMSGSRSV1>
<INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>3<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<INVSTMTRS><DTASOF>20261130<CURDEF>USD<INVACCTFROM><BROKERID>broker.example<ACCTID>INV-77</INVACCTFROM>
<INVTRANLIST><DTSTART>20261101<DTEND>20261130
<INVBANKTRAN><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261106<TRNAMT>1000.00<FITID>I1<NAME>Deposit</STMTTRN>
<SUBACCTFUND>CASH</INVBANKTRAN>
<BUYSTOCK><INVBUY><INVTRAN><FITID>I2<DTTRADE>20261107<MEMO>Buy ACME</INVTRAN>
<SECID><UNIQUEID>123456789<UNIQUEIDTYPE>CUSIP</SECID><UNITS>10<UNITPRICE>45.123456<COMMISSION>4.95
<TOTAL>-456.18<SUBACCTSEC>CASH<SUBACCTFUND>CASH</INVBUY><BUYTYPE>BUY</BUYSTOCK>
<TRANSFER><INVTRAN><FITID>I3<DTTRADE>20261108</INVTRAN><SECID><UNIQUEID>1<UNIQUEIDTYPE>CUSIP</SECID>
<SUBACCTSEC>CASH<UNITS>5<TFERACTION>IN<POSTYPE>LONG</TRANSFER>
</INVTRANLIST>
<INVBAL><AVAILCASH>543.82<MARGINBALANCE>0<SHORTBALANCE>0</INVBAL>
</INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1>
</OFX>
"""


def sgml_bytes() -> bytes:
    return SGML.encode("cp1252")


def test_sgml_without_closing_tags_with_bank_card_and_investment_accounts():
    # when
    statement = ofx.parse(sgml_bytes())
    # then
    assert statement.format is StatementFormat.QFX  # INTU.BID
    assert sgml_bytes().count(b"<STMTTRN>") == 6
    assert statement.transaction_count == 7  # the six STMTTRN and the BUYSTOCK
    bank, card, invest = statement.accounts
    assert (bank.number, bank.kind_hint, bank.currency, bank.bank_id, bank.institution) == (
        "00012345678", KindHint.CHECKING, "EUR", "30003", "Banque Exemple")
    assert (bank.balance, bank.balance_on) == (D("1000.25"), dt.date(2026, 11, 30))
    first, second, third = bank.transactions
    assert (first.booked_on, first.amount, first.currency) == (dt.date(2026, 11, 2), D("-1234.56"), "EUR")
    assert first.payee == "Café Français & Fils"  # CHARSET:1252 and an entity
    assert first.memo == "CB 02/11"
    assert first.ref == "line 18"
    assert (second.booked_on, second.amount) == (dt.date(2026, 11, 3), D("250.50"))  # the day as written
    assert (third.amount, third.currency, third.check_number) == (D("-80.00"), "USD", "1042")
    assert (card.number, card.mask, card.kind_hint, card.balance) == (
        "XXXXXXXXXXXX4321", "4321", KindHint.CREDIT_CARD, D("-588.61"))
    assert [(t.amount, t.provider_id) for t in card.transactions] == [(D("-19.99"), "C1"), (D("500.00"), "C2")]
    assert (invest.number, invest.kind_hint, invest.bank_id, invest.currency, invest.balance) == (
        "INV-77", KindHint.INVESTMENT, "broker.example", "USD", D("543.82"))
    deposit, buy = invest.transactions
    assert (deposit.amount, deposit.provider_id, deposit.booked_on) == (D("1000.00"), "I1", dt.date(2026, 11, 6))
    assert (buy.amount, buy.description, buy.booked_on) == (D("-456.18"), "Buy ACME", dt.date(2026, 11, 7))
    assert buy.investment is not None
    assert (buy.investment.action, buy.investment.security, buy.investment.quantity, buy.investment.price) == (
        "BUYSTOCK", "123456789", D("10"), D("45.123456"))
    assert statement.warnings == [
        "1 investment activities without a cash amount (transfers, splits, reinvestments, ...) were not imported."
    ]


XML_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
  <BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>
    <STMTRS><CURDEF>{currency}</CURDEF>
      <BANKACCTFROM><BANKID>1</BANKID><ACCTID>555</ACCTID><ACCTTYPE>SAVINGS</ACCTTYPE></BANKACCTFROM>
      <BANKTRANLIST>
{rows}
      </BANKTRANLIST>
    </STMTRS>
  </STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def xml(rows: str, currency: str = "USD") -> str:
    return XML_TEMPLATE.format(rows=rows, currency=currency)


def row(amount: str = "-1.00", posted: str = "20260102", fitid: str = "F1", name: str = "Shop") -> str:
    return (f"<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>{posted}</DTPOSTED><TRNAMT>{amount}</TRNAMT>"
            f"<FITID>{fitid}</FITID><NAME>{name}</NAME></STMTTRN>")


@pytest.mark.parametrize(
    ("posted", "day"),
    [
        ("20261102120000.000[-5:EST]", dt.date(2026, 11, 2)),
        ("20261102235959.999[-5:EST]", dt.date(2026, 11, 2)),  # the bank's day, not the UTC one
        ("20261102", dt.date(2026, 11, 2)),
        ("202611021200", dt.date(2026, 11, 2)),
        ("20261102120000", dt.date(2026, 11, 2)),
        ("20261102120000[0:GMT]", dt.date(2026, 11, 2)),
        ("20261102120000[+5.30:IST]", dt.date(2026, 11, 2)),
        ("20261102120000.123[-3]", dt.date(2026, 11, 2)),
        ("20240229", dt.date(2024, 2, 29)),
    ],
)
def test_dates_with_times_and_zone_suffixes(posted, day):
    (account,) = ofx.parse(xml(row(posted=posted))).accounts
    assert account.transactions[0].booked_on == day


@pytest.mark.parametrize(
    "posted", ["20261302", "2026110", "20261102250000", "20261102[-25:XXX]", "20250229", "2026-11-02", ""]
)
def test_impossible_dates_are_refused_with_their_line(posted):
    error = error_of(xml(row(posted=posted)))
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 8"
    assert "DTPOSTED" in error.message


@pytest.mark.parametrize(
    ("written", "amount"),
    [("-1234.56", D("-1234.56")), ("-1234,56", D("-1234.56")), ("1.234,56", D("1234.56")),
     ("1,234.56", D("1234.56")), ("+.5", D("0.50")), ("18.150", D("18.15")), ("0", D("0.00"))],
)  # fmt: skip
def test_amounts_with_a_decimal_comma_or_point(written, amount):
    (account,) = ofx.parse(xml(row(amount=written))).accounts
    assert account.transactions[0].amount == amount


def test_an_amount_finer_than_the_currency_is_refused():
    error = error_of(xml(row(amount="1.234"), currency="EUR"))
    assert error.location == "line 8"
    assert "EUR amounts have 2 decimal places" in error.message
    error = error_of(xml(row(amount="100.5"), currency="JPY"))
    assert "JPY amounts have no decimals" in error.message


def test_an_unknown_currency_is_refused_with_its_line():
    error = error_of(xml(row(), currency="EURO"))
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 5"


def test_a_fitid_shared_by_different_transactions_is_dropped_with_a_warning():
    statement = ofx.parse(xml(row(fitid="X") + "\n" + row(amount="-2.00", fitid="X") + "\n" + row(fitid="Y")))
    assert [t.provider_id for t in statement.accounts[0].transactions] == [None, None, "Y"]
    assert statement.warnings == [
        "1 transaction id(s) are shared by different transactions (X); those are matched by day, amount and "
        "description instead."
    ]


def test_a_transaction_listed_twice_with_its_fitid_is_read_once():
    statement = ofx.parse(xml(row(fitid="X") + "\n" + row(fitid="Y") + "\n" + row(fitid="X")))
    assert [t.provider_id for t in statement.accounts[0].transactions] == ["X", "Y"]
    assert statement.warnings == ["1 transaction(s) listed twice with the same id were read once."]


def test_a_file_cut_short_is_refused():
    text = xml(row())
    cut = text[: text.index("</BANKTRANLIST>")]
    error = error_of(cut)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert "ends before </OFX>" in error.message
    assert error.location == f"line {cut.count(chr(10)) + 1}"


def test_a_closing_tag_that_closes_nothing_names_its_line():
    text = xml(row()).replace("</BANKTRANLIST>", "</BANKTRANLIST></NOTOPEN>")
    error = error_of(text)
    assert error.message == "Line 9: </NOTOPEN> closes no open element."


def test_doctype_and_entities_are_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE OFX [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'
            + xml(row(name="&b;")).split("\n", 1)[1])
    error = error_of(bomb)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 1"
    assert "DTD" in error.message


def test_a_file_without_ofx_element_or_statement():
    assert error_of("just some text").message == "This is not an OFX file: there is no <OFX> element."
    empty = "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</STATUS></SONRS></SIGNONMSGSRSV1></OFX>"
    assert error_of(empty).message == "The OFX file holds no account statement."


def test_missing_amount_names_the_transaction_line():
    text = xml("<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20260102</DTPOSTED><FITID>1</FITID></STMTTRN>")
    assert error_of(text).message == "Line 8: The transaction has no TRNAMT."


def test_utf8_xml_and_a_bom():
    data = b"\xef\xbb\xbf" + xml(row(name="Zürich Café")).encode("utf-8")
    (account,) = ofx.parse(data).accounts
    assert account.transactions[0].payee == "Zürich Café"
    assert account.kind_hint is KindHint.SAVINGS


def test_absurd_nesting_is_refused():
    error = error_of("<OFX>" + "<A>" * 5000 + "</A>" * 5000 + "</OFX>")
    assert error.code is ErrorCode.MALFORMED_FILE
    assert "nested more than 40 deep" in error.message


def test_an_sgml_leaf_without_a_value_does_not_swallow_its_siblings():
    text = ("OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD"
            "<BANKACCTFROM><BANKID>1<ACCTID>2<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>\n"
            "<STMTTRN><TRNTYPE>DEBIT<MEMO>\n<DTPOSTED>20260102<TRNAMT>-5.00<FITID>1<NAME>Kiosk\n</STMTTRN>\n"
            "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    (t,) = ofx.parse(text).accounts[0].transactions
    assert (t.booked_on, t.amount, t.payee, t.memo) == (dt.date(2026, 1, 2), D("-5.00"), "Kiosk", None)
