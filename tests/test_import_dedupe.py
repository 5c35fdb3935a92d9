"""Zero duplicates: overlapping date windows, the same transactions through a CSV and an OFX file (in both
orders), two honest coffees on one day, and a pending row that later arrives posted (updated in place).
The statements are small files written for these tests."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from app.resources import Resources
from app.sync import imports
from tests import ledger
from tests.importing import db_id, generated_csv, imported, ledger_rows, statement_import, summary
from tests.support import GraphQLClient

D = Decimal

WINDOW_A = b"""Date,Description,Amount
2026-01-03,COFFEE HOUSE,-3.50
2026-01-03,COFFEE HOUSE,-3.50
2026-01-05,REWE SAGT DANKE,-42.10
2026-01-15,SALARY ACME,2500.00
2026-01-18,COFFEE HOUSE,-3.50
"""
# exported later: overlaps A from the 15th, and holds a second coffee of the 18th that A (cut mid-day) missed
WINDOW_B = b"""Date,Description,Amount
2026-01-15,SALARY ACME,2500.00
2026-01-18,COFFEE HOUSE,-3.50
2026-01-18,COFFEE HOUSE,-3.50
2026-01-25,RENT JANUARY,-900.00
"""


async def test_overlapping_windows_add_only_what_is_new(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR", opening="100.00")

    # when
    first = await imported(gql, resources, user["token"], WINDOW_A, "a.csv", accountId=giro["id"])
    second = await imported(gql, resources, user["token"], WINDOW_B, "b.csv", accountId=giro["id"])
    rows = await ledger_rows(resources, user["user_id"])
    again = [await imported(gql, resources, user["token"], data, name, accountId=giro["id"])
             for data, name in ((WINDOW_A, "a.csv"), (WINDOW_B, "b.csv"))]

    # then: the two coffees of the 3rd both stay; the overlap is not added twice; the 18th has two coffees
    assert [(r["run"]["added"], r["run"]["duplicates"]) for r in (first, second, *again)] == \
        [(5, 0), (2, 2), (0, 5), (0, 4)]
    assert summary(rows) == [
        ("Giro", "2026-01-03", D("-3.50"), "EUR", "COFFEE HOUSE"),
        ("Giro", "2026-01-03", D("-3.50"), "EUR", "COFFEE HOUSE"),
        ("Giro", "2026-01-05", D("-42.10"), "EUR", "REWE SAGT DANKE"),
        ("Giro", "2026-01-15", D("2500.00"), "EUR", "SALARY ACME"),
        ("Giro", "2026-01-18", D("-3.50"), "EUR", "COFFEE HOUSE"),
        ("Giro", "2026-01-18", D("-3.50"), "EUR", "COFFEE HOUSE"),
        ("Giro", "2026-01-25", D("-900.00"), "EUR", "RENT JANUARY"),
    ]
    assert await ledger_rows(resources, user["user_id"]) == rows
    # 100 - 3.50 * 4 - 42.10 + 2500 - 900
    assert await ledger.balance(gql, user["token"], giro["id"]) == "1643.90"
    # each row knows the run that added it
    assert {r["sync_run_id"] for r in rows[:5] if r["booked_on"].day < 18} == {_run(first)}
    assert sorted(str(r["sync_run_id"]) for r in rows) == sorted(
        [str(_run(first))] * 5 + [str(_run(second))] * 2)


def _run(result: dict[str, object]) -> object:
    return db_id(result["run"]["id"])  # type: ignore[index]


# The same three transactions of one account, as the bank's CSV export and as its OFX (SGML 1.02) export:
# different text cases, store numbers and card digits, the same days and amounts; OFX has ids, CSV has none.
SAME_CSV = b"""Buchungstag;Verwendungszweck;Betrag
02.02.2026;Coffee House #12;-3,50
02.02.2026;Coffee House #12;-3,50
03.02.2026;Rewe Markt 0042;-42,10
"""
SAME_OFX = b"""OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20260210120000<LANGUAGE>ENG</SONRS>
</SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>EUR
<BANKACCTFROM><BANKID>37040044<ACCTID>DE89370400440532013000<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260201<DTEND>20260210
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260202<TRNAMT>-3.50<FITID>F-1001<NAME>COFFEE HOUSE 12</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260202<TRNAMT>-3.50<FITID>F-1002<NAME>COFFEE HOUSE 12</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260203<TRNAMT>-42.10<FITID>F-1003<NAME>REWE MARKT 42</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>54.40<DTASOF>20260210</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


async def test_the_same_transactions_through_a_csv_and_an_ofx_file_land_once(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: one user imports the CSV first, another the OFX first
    csv_first, ofx_first = await gql.register(), await gql.register()
    csv_account = await ledger.account(gql, csv_first["token"], name="Giro", currency="EUR")
    ofx_account = await ledger.account(gql, ofx_first["token"], name="Giro", currency="EUR")

    # when
    runs_a = [await imported(gql, resources, csv_first["token"], data, name, accountId=csv_account["id"])
              for data, name in ((SAME_CSV, "export.csv"), (SAME_OFX, "export.ofx"), (SAME_CSV, "export.csv"))]
    runs_b = [await imported(gql, resources, ofx_first["token"], data, name, accountId=ofx_account["id"])
              for data, name in ((SAME_OFX, "export.ofx"), (SAME_CSV, "export.csv"), (SAME_OFX, "export.ofx"))]

    # then: three rows each, added by the first file only
    assert [(r["run"]["added"], r["run"]["duplicates"]) for r in runs_a] == [(3, 0), (0, 3), (0, 3)]
    assert [(r["run"]["added"], r["run"]["duplicates"]) for r in runs_b] == [(3, 0), (0, 3), (0, 3)]
    rows_a = await ledger_rows(resources, csv_first["user_id"])
    rows_b = await ledger_rows(resources, ofx_first["user_id"])
    assert [(r["booked_on"].isoformat(), r["amount"]) for r in rows_a] == \
        [("2026-02-02", D("-3.50")), ("2026-02-02", D("-3.50")), ("2026-02-03", D("-42.10"))]
    assert [(r["booked_on"].isoformat(), r["amount"]) for r in rows_b] == \
        [("2026-02-02", D("-3.50")), ("2026-02-02", D("-3.50")), ("2026-02-03", D("-42.10"))]
    # the CSV's rows took the OFX ids when the OFX file arrived; the OFX's rows keep theirs
    assert sorted(r["external_id"] for r in rows_a) == ["F-1001", "F-1002", "F-1003"]
    assert sorted(r["external_id"] for r in rows_b) == ["F-1001", "F-1002", "F-1003"]
    assert [r["description"] for r in rows_a] == ["Coffee House #12", "Coffee House #12", "Rewe Markt 0042"]
    assert await ledger.balance(gql, csv_first["token"], csv_account["id"]) == "-49.10"
    assert await ledger.balance(gql, ofx_first["token"], ofx_account["id"]) == "-49.10"


async def test_a_third_identical_coffee_in_a_later_file_is_added(gql: GraphQLClient, resources: Resources) -> None:
    # given: two identical coffees on one day
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    two = b"Date,Description,Amount\n2026-01-03,COFFEE HOUSE,-3.50\n2026-01-03,COFFEE HOUSE,-3.50\n"
    three = two + b"2026-01-03,Coffee-House,-3.50\n"
    await imported(gql, resources, user["token"], two, "two.csv", accountId=giro["id"])
    # when: the day's full export holds three
    result = await imported(gql, resources, user["token"], three, "three.csv", accountId=giro["id"])
    # then
    assert (result["run"]["added"], result["run"]["duplicates"]) == (1, 2)
    rows = await ledger_rows(resources, user["user_id"])
    assert [r["description"] for r in rows] == ["COFFEE HOUSE", "COFFEE HOUSE", "Coffee-House"]
    assert sorted(r["fingerprint"].rsplit(":", 1)[1] for r in rows) == ["1", "2", "3"]
    assert len({r["fingerprint"].rsplit(":", 1)[0] for r in rows}) == 1


PENDING_1 = b"""Date,Description,Amount,Status
2026-03-01,PENDING AMAZON MKTPLACE,-25.00,pending
2026-03-01,BAKERY,-4.20,posted
"""
# three days later: the purchase posted (another day, another text) and a new pending one of the same amount
PENDING_2 = b"""Date,Description,Amount,Status
2026-03-01,BAKERY,-4.20,posted
2026-03-03,AMAZON MARKETPLACE PMTS 4411,-25.00,posted
2026-03-04,AMAZON MARKETPLACE PMTS 9911,-25.00,pending
"""


async def test_a_pending_row_that_arrives_posted_is_updated_in_place(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    card = await ledger.account(gql, user["token"], name="Card", currency="EUR")
    first = await imported(gql, resources, user["token"], PENDING_1, "p1.csv", accountId=card["id"])
    before = {r["description"]: r for r in await ledger_rows(resources, user["user_id"])}
    assert before["PENDING AMAZON MKTPLACE"]["status"] == "PENDING"

    # when
    second = await imported(gql, resources, user["token"], PENDING_2, "p2.csv", accountId=card["id"])
    rows = await ledger_rows(resources, user["user_id"])
    again = [await imported(gql, resources, user["token"], data, name, accountId=card["id"])
             for data, name in ((PENDING_1, "p1.csv"), (PENDING_2, "p2.csv"))]

    # then: the pending row is the posted one now (same id, new day and status); the new pending one stays
    assert (first["run"]["added"], first["run"]["updated"], first["run"]["duplicates"]) == (2, 0, 0)
    assert (second["run"]["added"], second["run"]["updated"], second["run"]["duplicates"]) == (1, 1, 1)
    assert [(r["run"]["added"], r["run"]["updated"], r["run"]["duplicates"]) for r in again] == [(0, 0, 2), (0, 0, 3)]
    assert [(r["booked_on"].isoformat(), r["amount"], r["status"]) for r in rows] == [
        ("2026-03-01", D("-4.20"), "POSTED"),
        ("2026-03-03", D("-25.00"), "POSTED"),
        ("2026-03-04", D("-25.00"), "PENDING"),
    ]
    posted = rows[1]
    assert posted["id"] == before["PENDING AMAZON MKTPLACE"]["id"]
    assert posted["sync_run_id"] == _run(second)
    assert await ledger_rows(resources, user["user_id"]) == rows
    assert await ledger.balance(gql, user["token"], card["id"]) == "-54.20"


async def test_the_same_file_applied_twice_at_once_lands_once(gql: GraphQLClient, resources: Resources) -> None:
    # given: the same statement uploaded twice, both runs queued
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    data = generated_csv(500, seed=3)
    uploads = [await statement_import(gql, user["token"], data, f"{i}.csv", accountId=giro["id"]) for i in (1, 2)]
    ids = [db_id(u["import"]["id"]) for u in uploads]
    # when: two workers apply them at the same moment
    runs = await asyncio.gather(*(imports.apply(resources, import_id) for import_id in ids))
    # then: the ledger lock put one after the other; the second found every row there
    assert sorted((r.added, r.duplicates) for r in runs if r is not None) == [(0, 500), (500, 0)]
    assert len(await ledger_rows(resources, user["user_id"])) == 500


QIF_SPLITS = b"""!Type:Bank
D11/02/2026
T-60.00
PSUPERMARKT
LFood & drink:Groceries
SFood & drink:Groceries
$-45.00
EWeekly shop
SShopping:Household
$-15.00
^
D11/03/2026
T-20.00
PBAKERY
SFood & drink:Groceries
$-12.00
SShopping:Household
$-9.00
^
"""


async def test_qif_split_lines_become_split_rows_in_their_own_categories(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: a QIF with a 60.00 bill split 45 groceries / 15 household, and a 20.00 bill whose lines add to 21
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    # when: imported twice
    first = await imported(gql, resources, user["token"], QIF_SPLITS, "splits.qif", accountId=giro["id"],
                           dateOrder="MDY")
    again = await imported(gql, resources, user["token"], QIF_SPLITS, "splits.qif", accountId=giro["id"],
                           dateOrder="MDY")
    # then: two rows once; the first is split by its lines, the second (lines off by 1.00) stays whole
    assert (first["run"]["added"], again["run"]["added"], again["run"]["duplicates"]) == (2, 0, 2)
    page = (await gql("""{ transactions(first: 10, orderBy: BOOKED_ON_ASC) { edges { node { amount { amount }
      splits { amount { amount } category { name } notes } } } } }""", token=user["token"])).ok()
    nodes = [e["node"] for e in page["transactions"]["edges"]]
    assert [n["amount"]["amount"] for n in nodes] == ["-60.00", "-20.00"]
    assert nodes[0]["splits"] == [
        {"amount": {"amount": "-45.00"}, "category": {"name": "Groceries"}, "notes": "Weekly shop"},
        {"amount": {"amount": "-15.00"}, "category": {"name": "Household"}, "notes": ""}]
    assert nodes[1]["splits"] == []
