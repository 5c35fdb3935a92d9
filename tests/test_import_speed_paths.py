"""The short paths a 100k-row import takes give exactly what the long ones give.

- merchant names and dedupe keys cached per description with its digits masked equal the direct result,
  also where a pattern names a digit literally (IFSC codes, "2CO *", "P2M", "7-Eleven");
- a plainly written CSV amount read by the per-file row reader equals `_transaction`'s reading of it;
- a COPY that collides with a stored row (a concurrent writer) falls back to skipping that row: the rest
  are stored, the unit of work still commits, and nothing is stored twice.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from app.db import unit_of_work
from app.resources import Resources
from app.sync import bulk, pipeline
from app.sync.providers import csv_format
from app.sync.providers.csv_format import CsvMapping, SignConvention
from app.sync.providers.statement import StatementError
from app.transactions import normalize
from tests import ledger
from tests.importing import db_id, imported, ledger_rows
from tests.support import GraphQLClient

TRICKY = ["UPI/P2M/SWIGGY/YESB", "UPI-P2A-ZOMATO-ORDER 8841", "UPI/ABCD0123456/SWIGGY", "UPI/ABCD0XYZABC/SWIGGY",
          "UPI/ABCD7XYZABC/SWIGGY", "2CO.COM*SOFTWARE 1234", "2CO *GAMES", "7 ELEVEN 23456 DALLAS TX",
          "7ELEVEN 0042", "7-ELEVEN", "5TH AVE DELI 0042", "CARD 1234 REWE SAGT DANKE", "STORE #0042 ALDI SUED",
          "12/03 NETFLIX.COM 866-579-7172 CA", "A1 TAXI 2026-01-02", "76 GAS STATION", "P2P TRANSFER 2",
          "IMPS/P2A/ABCD0001234/RAHUL", "X9 SHOP", "KARTENZAHLUNG 02.11. ROSSMANN 1234", "½ PRICE 2 GO"]
WORDS = ["UPI", "/", "-", "*", " *", "P2M", "P2P", "P2A", "ABCD0123456", "ABCD0XYZABC", "ABCD1XYZABC", "2CO",
         "2CO.COM", "7 ELEVEN", "7ELEVEN", "REWE", "CARD", "1234", "0042", "#12", "No.5", "12/03", "2026-01-02",
         "12:30", "SQ", "PAYPAL", "GMBH", "BERLIN", "DE", "NETFLIX.COM", "2K4LL1AB2", "5TH", "JOE'S", "&", "76",
         "0", "2", "7", "9", "DR", "NEFT", "@ybl", "SBIN0001234", "STORE", "T-1234", "AMZN", "Mktp", "US", " "]


@pytest.mark.parametrize("text", TRICKY)
def test_cached_merchant_and_key_equal_the_direct_ones(text: str) -> None:
    assert normalize.merchant_of(text) == normalize.normalize_merchant(text)
    assert normalize.description_key_of(text) == normalize.normalize_description_key(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=7), st.sampled_from([" ", "", "/", "-", "*"]))
def test_cached_merchant_equals_direct_for_generated_descriptions(words: list[str], separator: str) -> None:
    text = separator.join(words)
    assert normalize.merchant_of(text) == normalize.normalize_merchant(text)
    assert normalize.description_key_of(text) == normalize.normalize_description_key(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEOPUabc /-*.#&':@", max_size=24))
def test_cached_merchant_equals_direct_for_any_text(text: str) -> None:
    assert normalize.merchant_of(text) == normalize.normalize_merchant(text)


def test_no_pattern_or_word_list_names_the_mask_digit() -> None:
    """The cache is exact only while "1" is never matched literally (see `normalize.merchant_of`)."""
    patterns = [value.pattern for value in vars(normalize).values() if isinstance(value, re.Pattern)]
    literals = [re.sub(r"\{\d+(,\d*)?\}", "", pattern) for pattern in patterns]  # quantifiers are not literals
    words = [*normalize._ALIASES, *normalize._UPI_SKIP, *normalize._MARKERS, *normalize._LEGAL_FORMS,
             *normalize._CITIES, *normalize._REGIONS3, *normalize._CONNECTORS, *normalize._GENERIC_LABELS]
    assert not [text for text in literals + words if "1" in text]


ROWS = [["2026-01-02", "REWE 1234", "-12.50"], ["2026-01-02", "REWE", "+7"], ["02.01.2026", "x", "-0.00"],
        ["2026-01-03", "", "12"], ["2026-01-03", "EUR amount", "12,50 EUR"], ["2026-01-03", "sym", "$-1.00"],
        ["2026-01-04", "group", "1,234.56"], ["2026-01-04", "paren", "(5.00)"], ["2026-01-04", "big", "9" * 16],
        ["2026-01-05", "many", "1.234"], ["", "no date", "1.00"], ["2026-02-30", "bad day", "1.00"],
        ["2026-01-05", "empty amount", ""], ["2026-01-06", "lead zeros", "0012.5"], ["2026-01-06", "dr", "5.00 DR"]]


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("currency", ["EUR", "JPY", None])
@pytest.mark.parametrize("row", ROWS)
def test_the_row_reader_reads_as_transaction_does(row: list[str], currency: str | None, inverted: bool) -> None:
    mapping = CsvMapping(date=0, description=(1,), amount=2, date_format="YMD" if "-" in row[0] else "DMY",
                         decimal_separator=".", sign=SignConvention.INVERTED if inverted else SignConvention.NORMAL)
    columns = csv_format._Columns(["date", "text", "amount"], mapping)

    def read(how: str) -> object:
        try:
            if how == "reader":
                return csv_format._RowReader(columns, mapping, currency).read(7, row)
            return csv_format._transaction(7, row, columns, mapping, currency)
        except StatementError as error:
            return ("error", error.code, error.message)

    fast, slow = read("reader"), read("transaction")
    assert fast == slow
    if isinstance(fast, tuple) and fast[0] != "error":
        assert str(fast[1].amount) == str(slow[1].amount)  # type: ignore[index]


async def test_a_collision_during_copy_skips_the_stored_row_and_keeps_the_rest(gql: GraphQLClient,
                                                                               resources: Resources) -> None:
    # given: a stored row, and a batch where one row carries its fingerprint (as a concurrent writer would)
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR", opening="0")
    await imported(gql, resources, user["token"], b"Date,Description,Amount\n2026-01-03,COFFEE,-3.50\n", "a.csv",
                   accountId=giro["id"])
    before = await ledger_rows(resources, user["user_id"])
    stored = before[0]["fingerprint"]
    user_id, account_id, run_id = db_id(user["user_id"]), db_id(giro["id"]), before[0]["sync_run_id"]
    ids = pipeline.uuid7s(3)
    rows = bulk.NewRows(ids, [dt.date(2026, 1, 3), dt.date(2026, 1, 4), dt.date(2026, 1, 5)],
                        [Decimal("-3.50"), Decimal("-4.00"), Decimal("-5.00")], ["COFFEE", "TEA", "CAKE"],
                        ["Coffee", "Tea", "Cake"], ["", "", ""], ["POSTED"] * 3, [None, None, None],
                        [stored, f"{uuid.uuid4().hex}:1", f"{uuid.uuid4().hex}:1"], [None] * 3, [None] * 3)

    # when
    async with unit_of_work(resources) as uow:
        inserted = await bulk.insert_rows(uow.session, user_id, account_id, "EUR", run_id, rows)
        still = (await uow.session.execute(sa.text("SELECT count(*) FROM transactions WHERE user_id = :u"),
                                           {"u": user_id})).scalar_one()

    # then: the colliding row is skipped, the others are stored, and the transaction went on
    assert inserted == [(ids[1], dt.date(2026, 1, 4), Decimal("-4.00")), (ids[2], dt.date(2026, 1, 5), Decimal("-5.00"))]
    assert still == 3
    after = await ledger_rows(resources, user["user_id"])
    assert [(r["description"], r["amount"], r["merchant"]) for r in after] == [
        ("COFFEE", Decimal("-3.5000"), "Coffee"), ("TEA", Decimal("-4.0000"), "Tea"), ("CAKE", Decimal("-5.0000"), "Cake")]
    assert [r["fingerprint"] for r in after].count(stored) == 1
    assert after[0]["id"] == before[0]["id"]


async def test_a_batch_without_collisions_goes_in_whole(gql: GraphQLClient, resources: Resources) -> None:
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR", opening="0")
    user_id, account_id = db_id(user["user_id"]), db_id(giro["id"])
    ids = pipeline.uuid7s(2)
    rows = bulk.NewRows(ids, [dt.date(2026, 1, 3)] * 2, [Decimal("-1.00"), Decimal("2.00")], ["A", "B"], ["A", "B"],
                        ["", "note"], ["POSTED", "PENDING"], ["ext-1", None], ["k1:1", "k2:1"], [None, None],
                        [None, None])
    async with unit_of_work(resources) as uow:
        inserted = await bulk.insert_rows(uow.session, user_id, account_id, "EUR", None, rows)  # type: ignore[arg-type]
    assert [row[0] for row in inserted] == ids
    stored = await ledger_rows(resources, user["user_id"])
    assert [(r["description"], r["status"], r["external_id"], r["fingerprint"], r["currency"].strip(), r["sync_run_id"])
            for r in stored] == [("A", "POSTED", "ext-1", "k1:1", "EUR", None), ("B", "PENDING", None, "k2:1", "EUR", None)]
