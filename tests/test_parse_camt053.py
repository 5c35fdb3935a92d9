"""CAMT.053 parsing: the sample files, several statements and currencies, references, refused XML attacks."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from app.errors import ErrorCode
from app.sync.providers import camt053
from app.sync.providers.statement import KindHint, StatementError, StatementFormat

FIXTURES = Path(__file__).parent / "fixtures" / "statements" / "camt053"
D = Decimal


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def error_of(data: bytes | str) -> StatementError:
    with pytest.raises(StatementError) as info:
        camt053.parse(data.encode() if isinstance(data, str) else data)
    return info.value


# --- the sample files ---------------------------------------------------------------------------------


def test_multi_statement_sample_merges_the_two_statements_of_one_account():
    # given
    data = read("genkgo_camt053.v2.multi.statement.xml")
    # when
    statement = camt053.parse(data)
    # then
    assert statement.format is StatementFormat.CAMT053
    (account,) = statement.accounts  # both Stmt name NL26VAYB8060476890 in EUR
    assert data.count(b"<Ntry>") == len(account.transactions) == 2
    assert (account.iban, account.number, account.currency, account.kind_hint) == (
        "NL26VAYB8060476890", "NL26VAYB8060476890", "EUR", KindHint.CHECKING)
    assert (account.opening_balance, account.opening_balance_on) == (D("18.15"), dt.date(2014, 12, 30))
    assert (account.balance, account.balance_on) == (D("20.00"), dt.date(2014, 12, 31))  # the later statement's
    credit, debit = account.transactions
    assert (credit.booked_on, credit.value_on, credit.amount, credit.currency) == (
        dt.date(2014, 12, 31), dt.date(2015, 1, 2), D("8.85"), "EUR")
    assert (credit.description, credit.payee, credit.provider_id, credit.pending) == (
        "Transaction Description 1", "Company Name 1", "000000001", False)
    assert credit.ref == "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]"
    assert (debit.amount, debit.description, debit.payee, debit.provider_id) == (
        D("-7.00"), "Transaction Description 2", "Company Name 2", "000000002")
    assert debit.ref == "Document/BkToCstmrStmt/Stmt[2]/Ntry[1]"
    assert statement.warnings == []


def test_three_decimal_sample_amounts_fit_euro_cents():
    data = read("genkgo_camt053.v2.five.decimals.xml")
    (account,) = camt053.parse(data).accounts
    assert data.count(b"<Ntry>") == len(account.transactions) == 1
    assert (account.opening_balance, account.balance) == (D("18.15"), D("27.05"))  # 18.150 and 27.050
    assert account.transactions[0].amount == D("8.85")  # 8.850
    assert str(account.transactions[0].amount) == "8.85"


# --- several statements and currencies ----------------------------------------------------------------

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def entry(amount: str, ccy: str, indicator: str, extra: str = "", status: str = "<Sts><Cd>BOOK</Cd></Sts>",
          booking: str = "<BookgDt><Dt>2026-03-02</Dt></BookgDt>") -> str:
    return (f'<Ntry>{extra}<Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{status}{booking}'
            "<ValDt><Dt>2026-03-03</Dt></ValDt></Ntry>")


def document(*statements: str, ns: str = NS) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrStmt>'
            "<GrpHdr><MsgId>1</MsgId></GrpHdr>" + "".join(statements) + "</BkToCstmrStmt></Document>")


def stmt(acct: str, entries: str, balances: str = "") -> str:
    return f"<Stmt><Id>S</Id><Acct>{acct}</Acct>{balances}{entries}</Stmt>"


EUR_ACCT = ("<Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy><Nm>Girokonto</Nm>"
            "<Svcr><FinInstnId><BICFI>COBADEFFXXX</BICFI><Nm>Example Bank</Nm></FinInstnId></Svcr>")
USD_ACCT = "<Id><Othr><Id>US-0001</Id></Othr></Id><Ccy>USD</Ccy>"

RICH = (
    '<Ntry><NtryRef>NREF-1</NtryRef><Amt Ccy="EUR">1250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
    "<Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-03-01T23:30:00+01:00</DtTm></BookgDt>"
    "<ValDt><Dt>2026-03-02</Dt></ValDt><AcctSvcrRef>BANK-REF-9</AcctSvcrRef>"
    "<NtryDtls><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs>"
    "<RltdPties><Dbtr><Pty><Nm>ACME Payroll GmbH</Nm></Pty></Dbtr><Cdtr><Pty><Nm>Me</Nm></Pty></Cdtr></RltdPties>"
    "<RmtInf><Ustrd>Salary March</Ustrd><Ustrd>2026</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
)


def test_several_statements_in_several_currencies():
    # given
    balances = ('<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">40.50</Amt>'
                "<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>")
    usd_refs = ("<NtryDtls><TxDtls><Refs><AcctSvcrRef>TX-REF</AcctSvcrRef></Refs>"
                "<RltdPties><Cdtr><Nm>Coffee Inc</Nm></Cdtr></RltdPties>"
                "<AddtlTxInf>Card 1234</AddtlTxInf></TxDtls></NtryDtls>")
    usd_entry = ('<Ntry><Amt Ccy="USD">3.75</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>PDNG</Sts>'
                 f"<BookgDt><Dt>2026-03-05</Dt></BookgDt>{usd_refs}</Ntry>")
    data = document(
        stmt(EUR_ACCT, RICH + entry("19.99", "EUR", "DBIT", "<NtryRef>N2</NtryRef>")),
        stmt(USD_ACCT, usd_entry, balances),
    )
    # when
    statement = camt053.parse(data.encode())
    # then
    eur, usd = statement.accounts
    assert data.count("<Ntry>") == statement.transaction_count == 3
    assert (eur.iban, eur.currency, eur.name, eur.bank_id, eur.institution) == (
        "DE89370400440532013000", "EUR", "Girokonto", "COBADEFFXXX", "Example Bank")
    salary, fee = eur.transactions
    assert (salary.booked_on, salary.value_on, salary.amount) == (dt.date(2026, 3, 1), dt.date(2026, 3, 2), D("1250.00"))
    assert salary.provider_id == "BANK-REF-9"  # the bank's own reference first
    assert (salary.description, salary.payee) == ("Salary March 2026", "ACME Payroll GmbH")  # money in: the debtor
    assert (fee.amount, fee.provider_id, fee.description) == (D("-19.99"), "N2", "")
    assert (usd.number, usd.iban, usd.currency, usd.balance, usd.balance_on) == (
        "US-0001", None, "USD", D("-40.50"), dt.date(2026, 3, 31))
    (coffee,) = usd.transactions
    assert (coffee.amount, coffee.currency, coffee.pending) == (D("-3.75"), "USD", True)
    assert (coffee.provider_id, coffee.payee, coffee.description) == ("TX-REF", "Coffee Inc", "Card 1234")


def test_entries_of_another_currency_than_the_account_keep_theirs():
    data = document(stmt("<Id><IBAN>CH9300762011623852957</IBAN></Id>",
                         entry("10.00", "CHF", "CRDT") + entry("1000", "JPY", "DBIT")))
    (account,) = camt053.parse(data.encode()).accounts
    assert account.currency is None
    assert [(t.amount, t.currency) for t in account.transactions] == [(D("10.00"), "CHF"), (D("-1000"), "JPY")]


def test_informational_entries_are_skipped_with_a_warning():
    data = document(stmt(EUR_ACCT, entry("1.00", "EUR", "CRDT", status="<Sts><Cd>INFO</Cd></Sts>")
                         + entry("2.00", "EUR", "CRDT")))
    statement = camt053.parse(data.encode())
    assert [t.amount for t in statement.accounts[0].transactions] == [D("2.00")]
    assert "1 informational entries" in statement.warnings[0]


# --- errors name the element --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "path", "words"),
    [
        (entry("12,50", "EUR", "CRDT"), "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt", "is not an amount"),
        (entry("1.234", "EUR", "CRDT"), "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt", "EUR amounts have 2"),
        (entry("-5.00", "EUR", "CRDT"), "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt", "is not an amount"),
        (entry("5.00", "EURO", "CRDT"), "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt/@Ccy", "ISO 4217"),
        (entry("5.00", "EUR", "BOTH"), "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/CdtDbtInd", "CRDT or DBIT"),
        (entry("5.00", "EUR", "CRDT", booking="<BookgDt><Dt>2026-02-30</Dt></BookgDt>"),
         "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/BookgDt/Dt", "is not a date"),
    ],
)
def test_a_bad_entry_names_its_element_path(bad, path, words):
    data = document(stmt(EUR_ACCT, entry("1.00", "EUR", "CRDT") + bad))
    error = error_of(data)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == path
    assert error.message.startswith(path + ": ")
    assert words in error.message


def test_a_statement_without_account_id():
    error = error_of(document(stmt("<Ccy>EUR</Ccy>", "")))
    assert error.location == "Document/BkToCstmrStmt/Stmt[1]/Acct/Id"


def test_xml_that_is_not_well_formed_names_line_and_column():
    error = error_of(document(stmt(EUR_ACCT, "<Ntry><Amt>1</Ntry>")))
    assert error.code is ErrorCode.MALFORMED_FILE
    assert re.fullmatch(r"line 2, column \d+", error.location or "")
    assert "mismatched tag" in error.message


def test_other_camt_messages_and_other_xml_are_unsupported():
    camt052 = document("", ns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08").replace("BkToCstmrStmt", "BkToCstmrAcctRpt")
    assert error_of(camt052).code is ErrorCode.UNSUPPORTED_FORMAT
    assert "camt.052" in error_of(camt052).message
    assert error_of("<Document><x/></Document>").code is ErrorCode.UNSUPPORTED_FORMAT


# --- XML attacks are refused, never expanded -----------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Acct><Id><Othr>
<Id>&lol9;</Id></Othr></Id></Acct></Stmt></BkToCstmrStmt></Document>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Acct><Id><Othr>
<Id>&secret;</Id></Othr></Id></Acct></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://example.invalid/camt.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>
"""


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["billion-laughs", "xxe", "external-dtd"])
def test_entity_expansion_and_external_references_are_refused(attack):
    error = error_of(attack)
    assert error.code is ErrorCode.MALFORMED_FILE
    assert "DTD" in error.message
    assert "root:" not in error.message and "lollol" not in error.message
