"""QIF parsing: the sample files, splits, the date forms Quicken writes, accounts, clean errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from app.errors import ErrorCode
from app.sync.providers import qif
from app.sync.providers.statement import KindHint, ParsedSplit, StatementError, StatementFormat

FIXTURES = Path(__file__).parent / "fixtures" / "statements" / "qif"
D = Decimal


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def error_of(data: str, **options) -> StatementError:
    with pytest.raises(StatementError) as info:
        qif.parse(data, **options)
    return info.value


def records_in(text: str, section: str) -> int:
    """Independent count: '^' lines inside the given !Type: sections."""
    count, inside = 0, False
    for line in text.splitlines():
        if line.startswith("!"):
            inside = line.strip().lower() == f"!type:{section}"
        elif inside and line.strip() == "^":
            count += 1
    return count


# --- the sample files ---------------------------------------------------------------------------------


def test_quiffen_sample_reads_bank_with_splits_and_an_investment():
    # given
    data = read("quiffen_test.qif")
    # when
    statement = qif.parse(data)
    # then
    assert statement.format is StatementFormat.QIF
    bank, invest = statement.accounts
    # six Bank records, the first being Quicken's "Opening Balance" of account [TestExport]
    assert records_in(data.decode(), "bank") == 6 == len(bank.transactions) + 1
    assert (bank.name, bank.kind_hint, bank.currency) == ("TestExport", KindHint.CHECKING, None)
    assert (bank.opening_balance, bank.opening_balance_on) == (D("0.00"), dt.date(2020, 2, 10))
    assert [(t.booked_on, t.amount, t.payee) for t in bank.transactions] == [
        (dt.date(2020, 2, 14), D("67.50"), "T-Mobile"),
        (dt.date(2020, 2, 14), D("32.00"), "US Post Office"),
        (dt.date(2020, 2, 12), D("-10.00"), "Target"),
        (dt.date(2020, 2, 11), D("-25.00"), "Walmart"),
        (dt.date(2020, 2, 10), D("-100.00"), "Amazon.com"),
    ]
    mobile, post, target, walmart, amazon = bank.transactions
    assert mobile.category == "Bills:Cell Phone"  # the /class is dropped
    assert mobile.splits == (
        ParsedSplit(D("-15.00"), "Bills:Cell Phone", "sign up credit"),
        ParsedSplit(D("82.50"), "Bills:Cell Phone", "new account"),
    )
    assert (post.memo, post.category, post.splits) == ("money back for damaged parcel", "Miscellaneous", ())
    assert [s.memo for s in target.splits] == ["50%", "50% 2"]
    assert (walmart.check_number, walmart.memo, walmart.ref) == ("123", "non split transaction", "line 64")
    assert [(s.category, s.amount) for s in amazon.splits] == [
        ("Food:Groceries", D("-50.00")),
        ("Transportation:Automobile", D("-25.00")),
        ("Personal Care:Haircare", D("-10.00")),
        ("Healthcare:Prescriptions", D("-15.00")),
    ]
    assert sum(s.amount for s in amazon.splits) == amazon.amount
    assert records_in(data.decode(), "invst") == 1 == len(invest.transactions)
    (buy,) = invest.transactions
    assert invest.kind_hint is KindHint.INVESTMENT
    assert buy.booked_on == dt.date(2020, 2, 14)
    assert buy.investment is not None
    assert (buy.investment.action, buy.investment.security) == ("Buy", "$AAPL")
    assert (buy.investment.quantity, buy.investment.price, buy.investment.commission) == (D("376"), D("32.00"), D("10"))
    assert buy.amount == -(376 * D("32.00") + 10)  # no T line: quantity x price + commission, paid out
    assert statement.warnings == []


def test_category_override_sample_reads_uk_day_first_dates():
    data = read("quiffen_test_category_override.qif")
    statement = qif.parse(data)
    (account,) = statement.accounts
    assert records_in(data.decode(), "bank") == 4 == len(account.transactions)
    assert [(t.booked_on, t.amount, t.payee, t.category) for t in account.transactions] == [
        (dt.date(2017, 12, 22), D("1000.00"), "Income For January", "Income:Available next month"),
        (dt.date(2018, 1, 1), D("1100.00"), "Starting Balance", "Income:Available this month"),
        (dt.date(2018, 1, 2), D("-12.57"), "FOOD C LONDON VIS", "Everyday Expenses:Food Budget"),
        (dt.date(2018, 1, 2), D("-9.99"), "GOUSTO.CO.UK - A LONDON  W3 VIS", "Everyday Expenses:Gousto"),
    ]
    assert statement.warnings == []  # 22/12/2017 decides the order for the whole file


def test_split_sample_with_an_apostrophe_year_and_a_transfer_split():
    statement = qif.parse(read("quiffen_test_split.qif"))
    (t,) = statement.accounts[0].transactions
    assert (t.booked_on, t.amount, t.payee, t.category) == (dt.date(2000, 1, 1), D("-10.00"), "A Payee", None)
    assert t.splits == (
        ParsedSplit(D("-9.00"), None, None, "An Account"),
        ParsedSplit(D("-1.00"), "A Category", None, None),
    )


# --- date forms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["1/2'26", "01/02/2026", "1/ 2/26", "1/ 2'26", "2026-01-02", "01/02'2026", "1/2' 26"])
def test_the_date_forms_quicken_writes(written):
    statement = qif.parse(f"!Type:Bank\nD{written}\nT-1.00\nPShop\n^\n")
    assert statement.accounts[0].transactions[0].booked_on == dt.date(2026, 1, 2)


def test_apostrophe_years_are_2000s_and_slash_years_follow_the_window():
    text = "!Type:Bank\nD12/31' 5\nT1\n^\nD12/31/98\nT1\n^\nD12/31/05\nT1\n^\n"
    days = [t.booked_on for t in qif.parse(text).accounts[0].transactions]
    assert days == [dt.date(2005, 12, 31), dt.date(1998, 12, 31), dt.date(2005, 12, 31)]


def test_ambiguous_dates_are_month_first_with_a_warning_unless_an_order_is_given():
    text = "!Type:Bank\nD01/02/2026\nT-1.00\n^\nD03/04/2026\nT-2.00\n^\n"
    statement = qif.parse(text)
    assert [t.booked_on for t in statement.accounts[0].transactions] == [dt.date(2026, 1, 2), dt.date(2026, 3, 4)]
    assert len(statement.warnings) == 1 and "read as MDY" in statement.warnings[0]
    given = qif.parse(text, date_order="DMY")
    assert [t.booked_on for t in given.accounts[0].transactions] == [dt.date(2026, 2, 1), dt.date(2026, 4, 3)]
    assert given.warnings == []


def test_a_decimal_comma_file_prefers_day_first_dates():
    text = "!Type:Bank\nD01.02.2026\nT-1.234,56\n^\nD03.04.2026\nT12,00\n^\n"
    statement = qif.parse(text)
    assert [(t.booked_on, t.amount) for t in statement.accounts[0].transactions] == [
        (dt.date(2026, 2, 1), D("-1234.56")), (dt.date(2026, 4, 3), D("12.00"))]


def test_thousands_separators_and_u_amounts():
    text = "!Type:CCard\nD3/15/2026\nU-1,234.56\nT-1,234.56\nPHotel\n^\n"
    (account,) = qif.parse(text).accounts
    assert account.kind_hint is KindHint.CREDIT_CARD
    assert account.transactions[0].amount == D("-1234.56")


# --- accounts -----------------------------------------------------------------------------------------

SEVERAL = """!Option:AutoSwitch
!Account
NEveryday
TBank
^
NVisa
TCCard
/12/31/2025
$-588.61
^
!Clear:AutoSwitch
!Account
NEveryday
TBank
^
!Type:Bank
D1/5/2026
T2,500.00
PEmployer
LSalary
^
D1/6/2026
T-300.00
PCard payment
L[Visa]
^
!Account
NVisa
TCCard
^
!Type:CCard
D1/3/2026
T-45.10
PGrocer
^
D1/6/2026
T300.00
PPayment
L[Everyday]
^
!Account
NWallet
TCash
^
!Type:Cash
D1/7/2026
T-5.00
PCoffee
^
"""


def test_account_blocks_route_records_to_several_accounts():
    statement = qif.parse(SEVERAL, currency="EUR")
    everyday, visa, wallet = statement.accounts
    assert (everyday.name, everyday.kind_hint, everyday.currency) == ("Everyday", KindHint.CHECKING, "EUR")
    assert [(t.amount, t.category, t.transfer_account) for t in everyday.transactions] == [
        (D("2500.00"), "Salary", None), (D("-300.00"), None, "Visa")]
    assert (visa.name, visa.kind_hint, visa.balance, visa.balance_on) == (
        "Visa", KindHint.CREDIT_CARD, D("-588.61"), dt.date(2025, 12, 31))
    assert [t.amount for t in visa.transactions] == [D("-45.10"), D("300.00")]
    assert (wallet.name, wallet.kind_hint, [t.amount for t in wallet.transactions]) == (
        "Wallet", KindHint.CASH, [D("-5.00")])
    assert {t.currency for a in statement.accounts for t in a.transactions} == {"EUR"}


def test_investment_actions_carry_their_cash_effect():
    text = ("!Type:Invst\nD1/2/2026\nNDiv\nYACME\nT12.50\n^\nD1/3/2026\nNSell\nYACME\nI10\nQ5\nO1\n^\n"
            "D1/4/2026\nNShrsIn\nYACME\nQ3\n^\nD1/5/2026\nNXOut\nT100\nL[Everyday]\n^\n")
    (account,) = qif.parse(text).accounts
    assert [(t.investment.action, t.amount) for t in account.transactions if t.investment] == [
        ("Div", D("12.50")), ("Sell", D("49")), ("ShrsIn", D("0")), ("XOut", D("-100"))]
    assert account.transactions[3].transfer_account == "Everyday"


# --- amounts and errors -------------------------------------------------------------------------------


def test_amounts_are_checked_against_the_currency():
    assert qif.parse("!Type:Bank\nD1/2/2026\nT18.150\n^\n", currency="EUR").accounts[0].transactions[0].amount == D(
        "18.15")
    error = error_of("!Type:Bank\nD1/2/2026\nT1.234\n^\n", currency="EUR")
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 3"
    assert "EUR amounts have 2 decimal places" in error.message


def test_a_bad_date_names_its_line():
    error = error_of("!Type:Bank\nD1/2/2026\nT1\n^\nD13/13/2026\nT2\n^\n")
    assert error.code is ErrorCode.MALFORMED_FILE
    assert error.location == "line 5"
    assert "'13/13/2026' is not a valid date" in error.message


def test_a_bad_amount_names_its_line():
    error = error_of("!Type:Bank\nD1/2/2026\nTabc\n^\n")
    assert error.message == "Line 3: The amount 'abc' is not a number."


def test_a_record_without_date_or_amount():
    assert error_of("!Type:Bank\nT1\n^\n").message == "Line 2: The record has no date (D line)."
    assert error_of("!Type:Bank\nD1/2/2026\nPShop\n^\n").message == "Line 2: The record has no amount (T line)."


def test_splits_that_do_not_add_up_are_dropped_with_a_warning():
    text = "!Type:Bank\nD1/13/2026\nT-10.00\nSFood\n$-6.00\nSHome\n$-3.00\n^\n"
    statement = qif.parse(text)
    (t,) = statement.accounts[0].transactions
    assert (t.amount, t.splits) == (D("-10.00"), ())
    assert statement.warnings == [
        "Line 2: the splits add up to -9.00, not to the total -10.00; the transaction was kept without its splits."
    ]


def test_a_file_without_transactions_or_header():
    assert error_of("!Type:Cat\nNFood\n^\n").code is ErrorCode.MALFORMED_FILE
    assert error_of("D1/2/2026\nT1\n^\n").message == "Line 1: Expected a !Type: header before the first record."


def test_crlf_cr_and_a_missing_last_caret():
    for newline in ("\r\n", "\r"):
        text = newline.join(["!Type:Bank", "D1/2/2026", "T-1.00", "PShop", "^", "D1/3/2026", "T-2.00"])
        transactions = qif.parse(text.encode("cp1252")).accounts[0].transactions
        assert [(t.booked_on, t.amount) for t in transactions] == [
            (dt.date(2026, 1, 2), D("-1.00")), (dt.date(2026, 1, 3), D("-2.00"))]
        assert transactions[1].ref == "line 6"


def test_cp1252_text_is_decoded():
    data = "!Type:Bank\nD1/2/2026\nT-3.00\nPCafé Crème\n^\n".encode("cp1252")
    assert qif.parse(data).accounts[0].transactions[0].payee == "Café Crème"


def test_account_balance_days_follow_the_files_date_order():
    text = "!Account\nNCurrent\nTBank\n/31/12/2025\n$1.500,00\n^\n!Type:Bank\nD02/01/2026\nT-10,00\n^\n"
    (account,) = qif.parse(text).accounts
    assert (account.balance, account.balance_on) == (D("1500.00"), dt.date(2025, 12, 31))
    assert account.transactions[0].booked_on == dt.date(2026, 1, 2)


def test_a_computed_investment_total_is_rounded_to_the_currency():
    text = "!Type:Invst\nD1/2/2026\nNBuy\nYFUND\nI12.3456\nQ3.333\n^\n"
    (t,) = qif.parse(text, currency="EUR").accounts[0].transactions
    assert t.amount == D("-41.15")  # 3.333 x 12.3456 = 41.1478848
    assert t.investment is not None and t.investment.total == D("41.15")
