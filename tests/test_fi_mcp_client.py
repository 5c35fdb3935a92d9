"""The Fi Money MCP client against the local Fi-compatible server, and the pure mapping of Fi's shapes.

No database: these tests talk MCP over streamable HTTP to tests/fi_server.py and check the mapping with
hand-worked values.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest

from app.accounts.models import AccountKind
from app.sync.fi_apply import match_banks
from app.sync.providers import fi_mcp
from app.sync.providers.fi_bank import bank_statements, transaction_id
from app.sync.providers.fi_mapping import FiAccount, ProviderDataError, accounts_from_net_worth, money, provider_day
from tests.fi_server import FiServer, load_fixture

CONNECTION = uuid.UUID("00000000-0000-7000-8000-000000000001")


@pytest.fixture
def fi() -> Iterator[FiServer]:
    with FiServer() as server:
        yield server


# --- the client -----------------------------------------------------------------------------------------


async def test_login_required_then_data_on_the_same_session(fi: FiServer) -> None:
    # when: a first call, on a new session
    with pytest.raises(fi_mcp.LoginRequired) as raised:
        await fi_mcp.fetch(fi.url)
    # then: the login URL of that session, and the session to keep
    session = raised.value.session
    assert session.session_id and raised.value.login_url == f"{fi.base_url}/mockWebPage?sessionId={session.session_id}"
    assert session.initialize["serverInfo"]["name"] == "fi-mcp-for-florin-tests"
    # when: the user logs in, and the client resumes the stored session (no new handshake)
    assert (await asyncio.to_thread(fi.login_at, raised.value.login_url)).status_code == 200
    reply = await fi_mcp.fetch(fi.url, session=fi_mcp.FiSession.from_json(session.to_json()))
    # then: each tool's JSON, on the same session
    assert reply.session == session
    assert reply.results == {"fetch_net_worth": load_fixture("fetch_net_worth"),
                             "fetch_bank_transactions": load_fixture("fetch_bank_transactions")}
    assert [s for _, s in fi.calls] == [session.session_id] * 3


async def test_a_lost_session_opens_a_new_one(fi: FiServer) -> None:
    # given: a logged-in session, then the server restarts
    with pytest.raises(fi_mcp.LoginRequired) as raised:
        await fi_mcp.fetch(fi.url)
    await asyncio.to_thread(fi.login_at, raised.value.login_url)
    fi.restart()
    # when
    with pytest.raises(fi_mcp.LoginRequired) as again:
        await fi_mcp.fetch(fi.url, session=raised.value.session)
    # then: a new session, with its own login URL
    assert again.value.session.session_id != raised.value.session.session_id
    assert again.value.login_url.endswith(f"sessionId={again.value.session.session_id}")


async def test_tool_errors_and_unreachable_servers(fi: FiServer) -> None:
    # given: a logged-in session
    with pytest.raises(fi_mcp.LoginRequired) as raised:
        await fi_mcp.fetch(fi.url)
    await asyncio.to_thread(fi.login_at, raised.value.login_url)
    session = raised.value.session
    # a tool error is ProviderFailed, naming the tool
    fi.fail["fetch_net_worth"] = "boom"
    with pytest.raises(fi_mcp.ProviderFailed, match="fetch_net_worth failed"):
        await fi_mcp.fetch(fi.url, session=session)
    # text that is not a JSON object is ProviderFailed
    fi.fail.clear()
    with pytest.raises(fi_mcp.ProviderFailed, match="no_such_tool"):
        await fi_mcp.fetch(fi.url, ["no_such_tool"], session=session)
    # a server that is gone is ProviderUnavailable (worth retrying), and the stored session is kept
    fi.stop()
    with pytest.raises(fi_mcp.ProviderUnavailable, match="could not be reached"):
        await fi_mcp.fetch(fi.url, session=session, call_timeout=5)


# --- money and dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ({"currencyCode": "INR", "units": "169919", "nanos": 500000000}, Decimal("169919.50")),
    ({"currencyCode": "INR", "units": "21", "nanos": 500000000}, Decimal("21.50")),
    ({"currencyCode": "INR", "units": "12400"}, Decimal("12400.00")),
    ({"currencyCode": "INR", "units": "0", "nanos": 10000000}, Decimal("0.01")),
    ({"currencyCode": "INR", "units": "-5", "nanos": -250000000}, Decimal("-5.25")),
    ({"currencyCode": "INR", "nanos": -10000000}, Decimal("-0.01")),
    ({"currencyCode": "JPY", "units": "1500"}, Decimal("1500")),
    ({"currencyCode": "BHD", "units": "1", "nanos": 234000000}, Decimal("1.234")),
])
def test_money_is_exact(value: dict[str, object], expected: Decimal) -> None:
    amount, currency = money(value, "x")
    assert (amount, currency) == (expected, value["currencyCode"])
    assert str(amount) == str(expected)  # the currency's minor units, exactly


@pytest.mark.parametrize(("value", "message"), [
    ({"currencyCode": "INR", "units": "1", "nanos": 5000000}, "1.005 INR: INR amounts have 2 decimal places"),
    ({"currencyCode": "JPY", "units": "1", "nanos": 500000000}, "1.5 JPY"),
    ({"currencyCode": "XYZ", "units": "1"}, "currencyCode"),
    ({"currencyCode": "INR", "units": "1.5"}, "units"),
    ({"currencyCode": "INR", "units": "1", "nanos": 1000000000}, "nanos"),
    ({"currencyCode": "INR", "units": "1", "nanos": -500000000}, "same sign"),
    ({"currencyCode": "INR", "units": "1", "nanos": 0.5}, "nanos"),
    ("12", "money object"),
])
def test_malformed_money_is_refused(value: object, message: str) -> None:
    with pytest.raises(ProviderDataError, match=message):
        money(value, "somewhere")


def test_provider_days() -> None:
    assert provider_day("2026-11-19T18:30:00Z", "x") == dt.date(2026, 11, 20)  # midnight in India
    assert provider_day("2026-11-20T00:00:00Z", "x") == dt.date(2026, 11, 20)
    assert provider_day("2026-11-20", "x") == dt.date(2026, 11, 20)
    assert provider_day("20261120", "x") == dt.date(2026, 11, 20)  # credit report
    assert provider_day("15-11-2026", "x") == dt.date(2026, 11, 15)  # EPF
    with pytest.raises(ProviderDataError, match="not a date"):
        provider_day("31-02-2026", "x")


# --- accounts ---------------------------------------------------------------------------------------------


def test_accounts_of_the_fixture_have_the_documented_kinds_and_signs() -> None:
    accounts, warnings = accounts_from_net_worth(load_fixture("fetch_net_worth"), dt.date(2026, 11, 21))
    found = {a.external_id: (a.kind, a.balance, a.balance_on, a.currency) for a in accounts}
    assert warnings == []
    assert found == {
        "fl-sav-hdfc-01": (AccountKind.SAVINGS, Decimal("84210.75"), dt.date(2026, 11, 20), "INR"),
        "fl-cur-hdfc-02": (AccountKind.CHECKING, Decimal("15000.00"), dt.date(2026, 11, 20), "INR"),
        "fl-sav-sbi-03": (AccountKind.SAVINGS, Decimal("12000.50"), dt.date(2026, 11, 20), "INR"),
        "fl-cc-icici-04": (AccountKind.CREDIT_CARD, Decimal("-12400.00"), dt.date(2026, 11, 20), "INR"),
        "fl-loan-sbi-05": (AccountKind.MORTGAGE, Decimal("-2450000.00"), dt.date(2026, 11, 21), "INR"),
        "fl-mf-cams-06": (AccountKind.INVESTMENT, Decimal("312456.78"), dt.date(2026, 11, 21), "INR"),
        "fl-eq-nsdl-07": (AccountKind.INVESTMENT, Decimal("98765.40"), dt.date(2026, 11, 21), "INR"),
        "fl-epf-08": (AccountKind.RETIREMENT, Decimal("215000.00"), dt.date(2026, 11, 15), "INR"),
        "networth:LIABILITY_TYPE_VEHICLE_LOAN": (AccountKind.LOAN, Decimal("-320000.00"), dt.date(2026, 11, 21),
                                                 "INR"),
    }
    # Florin's net worth of these accounts is the provider's total, to the paisa
    total = load_fixture("fetch_net_worth")["netWorthResponse"]["totalNetWorthValue"]
    assert sum(a.balance for a in accounts) == money(total, "total")[0] == Decimal("-2044966.57")


def test_unknown_and_missing_data() -> None:
    # missing data is {} in Fi's answers: no accounts, no error
    assert accounts_from_net_worth({}, dt.date(2026, 11, 21)) == ([], [])
    assert bank_statements({}, CONNECTION) == ([], [])
    # an account without a known summary is left out with a warning
    data = {"accountDetailsBulkResponse": {"accountDetailsMap": {"x1": {"accountDetails": {}, "fooSummary": {}}}}}
    accounts, warnings = accounts_from_net_worth(data, dt.date(2026, 11, 21))
    assert accounts == [] and warnings == ["accountDetailsMap['x1']: no known summary; left out"]
    with pytest.raises(ProviderDataError, match="accountDetailsMap"):
        accounts_from_net_worth({"accountDetailsBulkResponse": {"accountDetailsMap": []}}, dt.date(2026, 11, 21))


# --- bank transactions -------------------------------------------------------------------------------------


def test_bank_rows_signs_markers_and_stable_ids() -> None:
    statements, warnings = bank_statements(load_fixture("fetch_bank_transactions"), CONNECTION)
    assert warnings == []
    hdfc = statements[0]
    assert (hdfc.bank, hdfc.last_balance, hdfc.last_day) == ("HDFC Bank", Decimal("84210.75"), dt.date(2026, 11, 15))
    assert [(t.booked_on.isoformat(), str(t.amount), t.memo) for t in hdfc.transactions] == [
        ("2026-10-31", "65000.00", "NEFT"),   # 1 CREDIT
        ("2026-11-02", "-349.00", "UPI"),     # 2 DEBIT
        ("2026-11-02", "-349.00", "UPI"),
        ("2026-11-05", "412.35", "OTHERS"),   # 4 INTEREST
        ("2026-11-08", "-41.24", "OTHERS"),   # 5 TDS
        ("2026-11-10", "-2000.00", "ATM"),
        ("2026-11-12", "150.00", "OTHERS"),   # 8 OTHERS: the running balance went up by 150
        ("2026-11-15", "-21500.00", "OTHERS"),  # 6 INSTALLMENT
    ]  # the 3 OPENING row is a marker, not a transaction
    ids = [t.provider_id for t in hdfc.transactions]
    assert len(set(ids)) == len(ids) and all(i and i.startswith("fi1:") and len(i) == 68 for i in ids)
    # the two identical payments differ only by their occurrence number
    assert ids[1] == transaction_id(CONNECTION, "HDFC Bank", dt.date(2026, 11, 2), Decimal("349.00"), 2,
                                    "UPI-SWIGGY-ORDER-SWIGGY8841@YBL", 0)
    assert ids[2] == transaction_id(CONNECTION, "hdfc  bank", dt.date(2026, 11, 2), Decimal("349"), 2,
                                    "upi-swiggy-order-swiggy8841@ybl ", 1)
    # the same rows in a moved window keep their ids; another connection gets other ids
    later, _ = bank_statements(load_fixture("fetch_bank_transactions_later"), CONNECTION)
    assert [t.provider_id for t in later[0].transactions][:7] == ids[1:]
    other, _ = bank_statements(load_fixture("fetch_bank_transactions"), uuid.uuid4())
    assert not {t.provider_id for t in other[0].transactions} & set(ids)


def test_others_rows_without_a_running_balance_are_left_out() -> None:
    data = {"bankTransactions": [{"bank": "B", "txns": [["10", "A", "2026-11-01", 8, "OTHERS", ""],
                                                         ["5", "B", "2026-11-02", "2", "UPI"]]}]}
    statements, warnings = bank_statements(data, CONNECTION)
    assert [(str(t.amount), t.description) for t in statements[0].transactions] == [("-5.00", "B")]
    assert warnings == ["bankTransactions[0].txns[0]: type 8 does not say whether money came in or went out; left out"]
    for bad, where in ((["-5", "x", "2026-11-01", 2], r"txns\[0\]\[0\]"), (["5", "x", "2026-13-01", 2], r"\[2\]"),
                       (["5", "x", "2026-11-01", "DEBIT"], r"\[3\]"), (["5.001", "x", "2026-11-01", 2], r"\[0\]")):
        with pytest.raises(ProviderDataError, match=where):
            bank_statements({"bankTransactions": [{"bank": "B", "txns": [bad]}]}, CONNECTION)


def _deposit(external_id: str, balance: str, kind: AccountKind = AccountKind.SAVINGS) -> FiAccount:
    return FiAccount(external_id=external_id, name=external_id, kind=kind, currency="INR", balance=Decimal(balance),
                     balance_on=dt.date(2026, 11, 20), bank_names=frozenset({"hdfc bank", "hdfc"}))


def test_matching_a_bank_to_one_of_two_lookalike_accounts() -> None:
    statements, _ = bank_statements(load_fixture("fetch_bank_transactions"), CONNECTION)
    hdfc = [statements[0]]
    current = _deposit("a-current", "84210.75", AccountKind.CHECKING)
    savings = _deposit("b-savings", "15000.00")
    # 1. the account whose balance is the list's last running balance, even a current account
    remembered: dict[str, str] = {}
    assert match_banks(hdfc, [savings, current], remembered, dt.date(2026, 11, 21))[0][1] is current
    assert remembered == {"hdfc bank": "a-current"}
    # 2. else the account an earlier sync chose
    moved = [_deposit("a-current", "1.00", AccountKind.CHECKING), _deposit("b-savings", "2.00")]
    assert match_banks(hdfc, moved, remembered, dt.date(2026, 11, 21))[0][1].external_id == "a-current"
    # 3. else the savings account before a current one, then the lowest provider id
    assert match_banks(hdfc, moved, {}, dt.date(2026, 11, 21))[0][1].external_id == "b-savings"
    two_savings = [_deposit("z-sav", "1.00"), _deposit("c-sav", "2.00")]
    assert match_banks(hdfc, two_savings, {}, dt.date(2026, 11, 21))[0][1].external_id == "c-sav"
    # a bank without a deposit account gets its own, valued at the last running balance
    kotak = [s for s in statements if s.bank == "Kotak Mahindra Bank"]
    own = match_banks(kotak, two_savings, {}, dt.date(2026, 11, 21))[0][1]
    assert (own.external_id, own.kind, own.balance, own.balance_on, own.valued) == \
        ("bank:kotak mahindra bank", AccountKind.SAVINGS, Decimal("5001.00"), dt.date(2026, 11, 1), True)
