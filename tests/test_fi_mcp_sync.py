"""Fi Money MCP sync end to end: GraphQL -> run -> the `sync_connection` job -> a Fi-compatible MCP server on
localhost (tests/fi_server.py, the same SDK) -> accounts, transactions, valuations.

Expected values are worked by hand from tests/fixtures/fi_mcp/ (see its README): amounts are the fixture's
unsigned strings with the documented signs, balances are the fixture's running-balance column.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from app.graphql.node import from_global_id
from app.resources import Resources
from tests.fi_server import FiServer, connection, create_connection, load_fixture, request_sync, sync
from tests.support import GraphQLClient

TXNS = """query($ids: [ID!]) { transactions(filter: {accountIds: $ids}, first: 100, orderBy: BOOKED_ON_ASC) {
  totalCount edges { node { bookedOn amount { amount currency } description status account { name } } } } }"""
HISTORY = """query($id: ID!, $from: Date!, $to: Date!) { account(id: $id) {
  balanceHistory(from: $from, to: $to) { day balance { amount } } } }"""
NOTIFICATIONS = "{ notifications(first: 20) { edges { node { kind title body data } } } }"

TODAY_IN_INDIA = dt.datetime.now(ZoneInfo("Asia/Kolkata")).date()

# name -> (kind, balance, currency, mask, opening balance, opening date); worked by hand from the fixtures
EXPECTED_ACCOUNTS = {
    "HDFC Bank savings ••4821": ("SAVINGS", "84210.75", "4821", "42887.64", "2026-10-31"),
    "HDFC Bank current account ••7310": ("CHECKING", "15000.00", "7310", "15000.00", "2026-11-20"),
    "State Bank of India savings ••0097": ("SAVINGS", "12000.50", "0097", "12700.00", "2026-11-03"),
    "ICICI Bank credit card ••5512": ("CREDIT_CARD", "-12400.00", "5512", "-12400.00", "2026-11-20"),
    "State Bank of India home loan ••3301": ("MORTGAGE", "-2450000.00", "3301", "-2450000.00", None),
    "CAMS RTA mutual funds ••9021": ("INVESTMENT", "312456.78", "9021", "312456.78", None),
    "NSDL equities ••4410": ("INVESTMENT", "98765.40", "4410", "98765.40", None),
    "EPFO EPF ••7788": ("RETIREMENT", "215000.00", "7788", "215000.00", "2026-11-15"),
    "Vehicle loan (Fi)": ("LOAN", "-320000.00", None, "-320000.00", None),
    "Kotak Mahindra Bank (bank transactions)": ("SAVINGS", "5001.00", None, "6000.00", "2026-11-01"),
}
LIABILITIES = {"CREDIT_CARD", "MORTGAGE", "LOAN"}

# (day, signed amount, description, account) of every bank row, from fetch_bank_transactions.json by hand
HDFC, SBI, KOTAK = "HDFC Bank savings ••4821", "State Bank of India savings ••0097", \
    "Kotak Mahindra Bank (bank transactions)"
EXPECTED_ROWS = [
    ("2026-10-31", "65000.00", "SALARY CREDIT - EXAMPLE SOFTWARE - OCT 2026", HDFC),
    ("2026-11-01", "-999.00", "CARD-NETFLIX.COM", KOTAK),
    ("2026-11-02", "-349.00", "UPI-SWIGGY-ORDER-SWIGGY8841@YBL", HDFC),
    ("2026-11-02", "-349.00", "UPI-SWIGGY-ORDER-SWIGGY8841@YBL", HDFC),
    ("2026-11-03", "-1200.00", "UPI-BESCOM-ELECTRICITY-BILL", SBI),
    ("2026-11-05", "412.35", "INTEREST PAID TILL 05-NOV-2026", HDFC),
    ("2026-11-08", "-41.24", "TDS ON INTEREST", HDFC),
    ("2026-11-10", "-2000.00", "ATM WDL MG ROAD BANGALORE", HDFC),
    ("2026-11-12", "150.00", "REVERSAL UPI-SWIGGY-ORDER", HDFC),
    ("2026-11-15", "-21500.00", "EMI HOME LOAN 0042 NOV", HDFC),
    ("2026-11-18", "500.50", "UPI-REFUND-AMAZON", SBI),
]


@pytest.fixture
def fi() -> Iterator[FiServer]:
    with FiServer() as server:
        yield server


async def logged_in_connection(gql: GraphQLClient, resources: Resources, fi: FiServer, token: str
                               ) -> dict[str, Any]:
    """A connection whose first sync asked for a login, after the user logged in at the URL."""
    created = await create_connection(gql, token, fi.url, name="My Fi")
    await sync(gql, resources, token, created["id"])
    login_url = (await connection(gql, token, created["id"]))["loginUrl"]
    assert (await asyncio.to_thread(fi.login_at, login_url)).status_code == 200
    return created


async def rows(gql: GraphQLClient, token: str) -> list[tuple[str, str, str, str]]:
    data = (await gql(TXNS, {"ids": None}, token=token)).ok()["transactions"]
    found = [(e["node"]["bookedOn"], e["node"]["amount"]["amount"], e["node"]["description"],
              e["node"]["account"]["name"]) for e in data["edges"]]
    assert data["totalCount"] == len(found)
    return sorted(found)


async def test_first_sync_needs_login_and_shows_the_login_url(gql: GraphQLClient, resources: Resources,
                                                              fi: FiServer) -> None:
    # given
    user = await gql.register()
    created = await create_connection(gql, user["token"], fi.url)
    assert created["status"] == "ACTIVE" and created["loginUrl"] is None and created["name"] == "Fi Money"
    # when
    run = await sync(gql, resources, user["token"], created["id"])
    # then: the run failed with a message to log in, the connection waits for it, with the provider's URL
    assert run["state"] == "FAILED" and run["added"] == 0
    assert run["error"].startswith("Log in to Fi Money")
    shown = await connection(gql, user["token"], created["id"])
    assert shown["status"] == "NEEDS_LOGIN"
    session_id = fi.calls[-1][1]
    assert session_id and shown["loginUrl"] == f"{fi.base_url}/mockWebPage?sessionId={session_id}"
    assert shown["lastError"] == run["error"] and shown["lastSyncedAt"] is None and shown["accounts"] == []
    assert shown["lastRun"]["id"] == run["id"] and shown["lastRun"]["state"] == "FAILED"
    # a SYNC_FAILED notification says so
    notes = [e["node"] for e in (await gql(NOTIFICATIONS, token=user["token"])).ok()["notifications"]["edges"]]
    assert [(n["kind"], n["title"]) for n in notes] == [("SYNC_FAILED", "Sync failed")]
    assert notes[0]["data"]["connectionId"] == str(from_global_id(created["id"])[1])  # type: ignore[index]
    # and nothing was imported
    assert await rows(gql, user["token"]) == []


async def test_after_login_the_sync_imports_accounts_transactions_and_valuations(
        gql: GraphQLClient, resources: Resources, fi: FiServer) -> None:
    # given: the user logged in at the URL of the first sync
    user = await gql.register()
    created = await logged_in_connection(gql, resources, fi, user["token"])
    login_session = fi.calls[-1][1]
    # when
    run = await sync(gql, resources, user["token"], created["id"])
    # then: the run succeeded on the logged-in session (no new provider session was opened)
    assert run["state"] == "SUCCEEDED", run
    assert (run["added"], run["updated"], run["duplicates"], run["errors"]) == (11, 0, 0, 0)
    assert {session for _, session in fi.calls} == {login_session}
    shown = await connection(gql, user["token"], created["id"])
    assert shown["status"] == "ACTIVE" and shown["loginUrl"] is None and shown["lastError"] is None
    assert shown["lastSyncedAt"] is not None
    # accounts of the right kinds, balances (owed money negative) and currencies
    accounts = {a["name"]: a for a in shown["accounts"]}
    assert set(accounts) == set(EXPECTED_ACCOUNTS)
    for name, (kind, balance, mask, opening, opening_day) in EXPECTED_ACCOUNTS.items():
        account = accounts[name]
        assert (account["kind"], account["balance"], account["currency"], account["mask"]) == \
            (kind, {"amount": balance, "currency": "INR"}, "INR", mask), name
        assert account["classification"] == ("LIABILITY" if kind in LIABILITIES else "ASSET"), name
        assert account["openingBalance"]["amount"] == opening, name
        assert account["openingDate"] == (opening_day or TODAY_IN_INDIA.isoformat()), name
    # transactions: exact amounts, days and signs (DEBIT, TDS, INSTALLMENT out; CREDIT, INTEREST in; OTHERS by
    # the running balance); the OPENING marker is not a transaction; both identical Swiggy payments stay
    assert await rows(gql, user["token"]) == sorted(EXPECTED_ROWS)
    # the day-by-day balance of the savings account follows the bank's running balance
    history = (await gql(HISTORY, {"id": accounts[HDFC]["id"], "from": "2026-10-31", "to": "2026-11-20"},
                         token=user["token"])).ok()["account"]["balanceHistory"]
    by_day = {point["day"]: point["balance"]["amount"] for point in history}
    running = {row[2]: row[5] for row in load_fixture("fetch_bank_transactions")["bankTransactions"][0]["txns"]}
    assert by_day["2026-10-31"] == f"{Decimal(running['2026-10-31']):.2f}" == "107887.64"
    assert by_day["2026-11-02"] == f"{Decimal(running['2026-11-02']):.2f}" == "107189.64"
    assert by_day["2026-11-12"] == "105710.75" and by_day["2026-11-15"] == by_day["2026-11-20"] == "84210.75"
    # valuations: the provider's balance of each account on its balance date (IST), exactly
    async with resources.sessionmaker() as session:
        stored = (await session.execute(sa.text(
            "SELECT a.name, v.day, v.value FROM valuations v JOIN accounts a ON a.id = v.account_id "
            "WHERE v.user_id = :u"), {"u": uuid.UUID(str(from_global_id(user["user_id"])[1]))})).all()  # type: ignore[index]
    valued = {name: (day, value) for name, day, value in stored}
    assert valued["CAMS RTA mutual funds ••9021"] == (TODAY_IN_INDIA, Decimal("312456.78"))
    assert valued["NSDL equities ••4410"] == (TODAY_IN_INDIA, Decimal("98765.40"))
    assert valued["EPFO EPF ••7788"] == (dt.date(2026, 11, 15), Decimal("215000.00"))
    assert valued[SBI] == (dt.date(2026, 11, 20), Decimal("12000.50"))  # 2026-11-19T18:30Z is 20 Nov in India
    assert valued["ICICI Bank credit card ••5512"] == (dt.date(2026, 11, 20), Decimal("-12400.00"))
    assert len(valued) == len(EXPECTED_ACCOUNTS)


async def test_a_resync_and_a_moved_window_add_nothing_twice(gql: GraphQLClient, resources: Resources,
                                                            fi: FiServer) -> None:
    # given: one full sync
    user = await gql.register()
    created = await logged_in_connection(gql, resources, fi, user["token"])
    assert (await sync(gql, resources, user["token"], created["id"]))["added"] == 11
    before = await rows(gql, user["token"])
    # when: the same data again
    again = await sync(gql, resources, user["token"], created["id"])
    # then: every row is found again
    assert (again["state"], again["added"], again["updated"], again["duplicates"], again["errors"]) == \
        ("SUCCEEDED", 0, 0, 11, 0)
    assert await rows(gql, user["token"]) == before
    # when: days later the provider's window moved (older rows gone, two new ones)
    fi.data["fetch_bank_transactions"] = load_fixture("fetch_bank_transactions_later")
    later = await sync(gql, resources, user["token"], created["id"])
    # then: only the two new rows are added, to the same savings account (kept from the first sync although
    # its balance no longer matches the list's running balance), and it ends at the bank's running balance
    assert (later["added"], later["duplicates"], later["errors"]) == (2, 10, 0)
    new = sorted(set(await rows(gql, user["token"])) - set(before))
    assert new == [("2026-11-21", "-349.00", "UPI-SWIGGY-ORDER-SWIGGY8841@YBL", HDFC),
                   ("2026-11-22", "-1250.25", "UPI-ZEPTO-GROCERIES", HDFC)]
    accounts = {a["name"]: a for a in (await connection(gql, user["token"], created["id"]))["accounts"]}
    assert accounts[HDFC]["balance"]["amount"] == "82611.50"  # 84210.75 - 349.00 - 1250.25
    assert len(accounts) == len(EXPECTED_ACCOUNTS)


async def test_an_overlapping_window_adds_only_what_is_new(gql: GraphQLClient, resources: Resources,
                                                           fi: FiServer) -> None:
    # given: a first sync limited to 2 to 10 November
    user = await gql.register()
    created = await logged_in_connection(gql, resources, fi, user["token"])
    first = await sync(gql, resources, user["token"], created["id"], **{"from": "2026-11-02", "to": "2026-11-10"})
    assert (first["windowStart"], first["windowEnd"]) == ("2026-11-02", "2026-11-10")
    inside = [row for row in EXPECTED_ROWS if "2026-11-02" <= row[0] <= "2026-11-10"]
    assert first["added"] == len(inside) == 6
    assert await rows(gql, user["token"]) == sorted(inside)
    # when: everything, overlapping the first window
    full = await sync(gql, resources, user["token"], created["id"])
    # then: the rows of the first window are recognised, the rest added once
    assert (full["added"], full["duplicates"], full["errors"]) == (11 - 6, 6, 0)
    assert await rows(gql, user["token"]) == sorted(EXPECTED_ROWS)


async def test_stored_session_is_encrypted_and_reused(gql: GraphQLClient, resources: Resources,
                                                      fi: FiServer) -> None:
    # given
    user = await gql.register()
    created = await logged_in_connection(gql, resources, fi, user["token"])
    session_id = fi.calls[-1][1]
    assert session_id
    # when
    await sync(gql, resources, user["token"], created["id"])
    # then: the stored bytes do not hold the session id (nor its hex/JSON forms) in clear
    connection_id = from_global_id(created["id"])[1]  # type: ignore[index]
    async with resources.sessionmaker() as session:
        blob = (await session.execute(sa.text("SELECT credentials FROM connections WHERE id = :id"),
                                      {"id": connection_id})).scalar_one()
    assert blob and session_id.encode() not in bytes(blob) and b"session" not in bytes(blob)
    # and the provider saw one session only: the first sync's, logged in, then reused
    assert len({session for _, session in fi.calls}) == 1


async def test_a_provider_restart_asks_for_a_new_login(gql: GraphQLClient, resources: Resources,
                                                       fi: FiServer) -> None:
    # given: a synced connection
    user = await gql.register()
    created = await logged_in_connection(gql, resources, fi, user["token"])
    assert (await sync(gql, resources, user["token"], created["id"]))["state"] == "SUCCEEDED"
    old_session = fi.calls[-1][1]
    # when: the provider restarts (sessions live in its memory) and the next sync runs
    fi.restart()
    run = await sync(gql, resources, user["token"], created["id"])
    # then: a new provider session was opened, and the user is asked to log in to it
    shown = await connection(gql, user["token"], created["id"])
    new_session = fi.calls[-1][1]
    assert run["state"] == "FAILED" and shown["status"] == "NEEDS_LOGIN" and new_session != old_session
    assert shown["loginUrl"] == f"{fi.base_url}/mockWebPage?sessionId={new_session}"
    # when: the user logs in again; then the next sync adds nothing new
    assert (await asyncio.to_thread(fi.login_at, shown["loginUrl"])).status_code == 200
    after = await sync(gql, resources, user["token"], created["id"])
    assert (after["state"], after["added"], after["duplicates"]) == ("SUCCEEDED", 0, 11)


async def test_provider_failures_fail_the_run_and_mark_the_connection(gql: GraphQLClient, resources: Resources,
                                                                      fi: FiServer) -> None:
    # given: a logged-in connection whose bank tool fails, and then answers something else than documented
    user = await gql.register()
    created = await logged_in_connection(gql, resources, fi, user["token"])
    fi.fail["fetch_bank_transactions"] = "backend down"
    # when
    run = await sync(gql, resources, user["token"], created["id"])
    # then: FAILED with the error, connection ERROR, nothing imported
    assert run["state"] == "FAILED" and "fetch_bank_transactions failed" in run["error"]
    shown = await connection(gql, user["token"], created["id"])
    assert (shown["status"], shown["lastError"], shown["accounts"]) == ("ERROR", run["error"], [])
    # when: malformed money (more decimals than INR has)
    fi.fail.clear()
    broken = json.loads(json.dumps(fi.data["fetch_net_worth"]))
    entry = broken["accountDetailsBulkResponse"]["accountDetailsMap"]["fl-mf-cams-06"]
    entry["mutualFundSummary"]["currentValue"]["nanos"] = 123456789
    fi.data["fetch_net_worth"] = broken
    run = await sync(gql, resources, user["token"], created["id"])
    # then: the run says where, and nothing landed (one transaction)
    assert run["state"] == "FAILED"
    assert "fl-mf-cams-06" in run["error"] and "mutualFundSummary.currentValue" in run["error"], run["error"]
    assert await rows(gql, user["token"]) == []
    # when: the provider is fixed; then the connection is ACTIVE again
    fi.data["fetch_net_worth"] = load_fixture("fetch_net_worth")
    assert (await sync(gql, resources, user["token"], created["id"]))["added"] == 11
    assert (await connection(gql, user["token"], created["id"]))["status"] == "ACTIVE"


async def test_an_unreachable_provider_is_retried_then_fails(gql: GraphQLClient, resources: Resources,
                                                             fi: FiServer) -> None:
    # given: a connection to a port nobody listens on
    from arq import Retry

    from worker.sync_jobs import sync_connection
    user = await gql.register()
    fi.stop()
    created = await create_connection(gql, user["token"], fi.url)
    run = await request_sync(gql, user["token"], created["id"])
    connection_id = str(from_global_id(created["id"])[1])  # type: ignore[index]
    # when: the first try
    with pytest.raises(Retry):
        await sync_connection({"resources": resources, "job_try": 1}, connection_id)
    # then: the run waits for its retry, the connection is unchanged
    state = (await gql("query($id: ID!) { node(id: $id) { ... on SyncRun { state attempts } } }",
                       {"id": run["id"]}, token=user["token"])).ok()["node"]
    assert state == {"state": "RUNNING", "attempts": 1}
    assert (await connection(gql, user["token"], created["id"]))["status"] == "ACTIVE"
    # when: the last try
    await sync_connection({"resources": resources, "job_try": 4}, connection_id)
    # then: FAILED, and the connection says why
    shown = await connection(gql, user["token"], created["id"])
    assert shown["status"] == "ERROR" and "could not be reached" in shown["lastError"]
    assert shown["lastRun"]["state"] == "FAILED" and shown["lastRun"]["error"] == shown["lastError"]


def test_login_page_posts_session_and_phone(fi: FiServer) -> None:
    # the test server's own login flow, as the fact sheet describes it
    page = httpx.get(f"{fi.base_url}/mockWebPage?sessionId=abc")
    assert 'name="sessionId" value="abc"' in page.text and 'name="phoneNumber"' in page.text
    assert fi.login("abc", "12").status_code == 400 and "abc" not in fi.logged_in
    assert fi.login("abc").status_code == 200 and fi.logged_in["abc"] == "9990001234"
