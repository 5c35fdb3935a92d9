"""Refused imports store nothing: a malformed file (MALFORMED_FILE naming the line), a PDF (UNSUPPORTED_FORMAT), a
file over the configured limit (FILE_TOO_LARGE), another user's account or preset (NOT_FOUND), an account for a
file of several accounts, an account in another currency. Also: CSV mapping presets, idempotency keys, and the
account-matching result (unmatched accounts with their reason, created ones)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.resources import Resources
from tests import ledger
from tests.conftest import make_settings
from tests.importing import IMPORT, count, fixture, imported, ledger_rows, statement_import, upload
from tests.support import GraphQLClient

TABLES = ("imports", "sync_runs", "transactions", "idempotency_keys")
PRESET_CREATE = """mutation($input: CsvMappingPresetCreateInput!) { csvMappingPresetCreate(input: $input) {
  preset { id name mapping { date amount debit credit description delimiter dateFormat sign } }
  errors { field message code } } }"""
PRESETS = "{ csvMappingPresets { id name mapping { date amount description } } }"


async def nothing_stored(resources: Resources, accounts: int) -> None:
    for table in TABLES:
        assert await count(resources, table) == 0, table
    assert await count(resources, "accounts") == accounts
    assert await resources.arq.zcard(resources.settings.arq_queue_name) == 0


async def test_a_malformed_file_is_refused_naming_the_line_and_nothing_is_stored(
        gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    await ledger.account(gql, user["token"], name="Giro", currency="USD")
    # when
    payload = await statement_import(gql, user["token"], fixture("ofx/ofxparse_fail_nice_decimal_error.ofx"),
                                     "decimal_error.ofx", createMissingAccounts=True)
    # then
    assert payload["import"] is None
    assert payload["errors"] == [{"field": "file", "code": "MALFORMED_FILE",
                                  "message": "Line 36: DTPOSTED '201120000000' is not a valid OFX date."}]
    await nothing_stored(resources, accounts=1)


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "statement.pdf", "UNSUPPORTED_FORMAT"),
    (b"PK\x03\x04\x14\x00\x06\x00", "statement.xlsx", "UNSUPPORTED_FORMAT"),
    (b"   \n\n", "empty.csv", "MALFORMED_FILE"),
    (b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'><BkToCstmrStmt>"
     b"<Stmt><Acct><Id><IBAN>NL26VAYB8060476890</IBAN></Id><Ccy>EUR</Ccy></Acct><Ntry><Amt Ccy='EUR'>1.2.3</Amt>"
     b"</Ntry></Stmt></BkToCstmrStmt></Document>", "broken.xml", "MALFORMED_FILE"),
])
async def test_unreadable_files_are_refused(gql: GraphQLClient, resources: Resources, data: bytes, name: str,
                                            code: str) -> None:
    user = await gql.register()
    payload = await statement_import(gql, user["token"], data, name, createMissingAccounts=True, currency="EUR")
    assert payload["import"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", code)]
    await nothing_stored(resources, accounts=0)


async def test_a_file_over_the_configured_limit_is_file_too_large(resources: Resources) -> None:
    # given: a 1 KB limit
    settings = make_settings(resources.settings.database_url or "", resources.settings.redis_url or "",
                             max_import_bytes=1024)
    gql = GraphQLClient(dataclasses.replace(resources, settings=settings))
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    big = b"Date,Description,Amount\n" + b"2026-01-03,COFFEE HOUSE,-3.50\n" * 40  # 1264 bytes
    # when
    payload = await statement_import(gql, user["token"], big, "big.csv", accountId=giro["id"])
    small = await statement_import(gql, user["token"], big[:1000].rsplit(b"\n", 1)[0] + b"\n", "small.csv",
                                   accountId=giro["id"])
    # then
    assert payload["import"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", "FILE_TOO_LARGE")]
    assert payload["errors"][0]["message"] == "The file is larger than 1 KB, the most a statement may be."
    assert small["errors"] == [] and small["import"]["transactionCount"] == 32


async def test_another_users_account_or_preset_is_not_found_and_nothing_is_stored(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: bob's account and bob's preset
    alice, bob = await gql.register(), await gql.register()
    bobs_account = await ledger.account(gql, bob["token"], name="Bob", currency="EUR")
    preset = (await gql(PRESET_CREATE, {"input": {"name": "Bob's bank", "mapping": {
        "date": "Date", "amount": "Amount", "description": ["Description"]}}}, token=bob["token"])).ok()
    preset_id = preset["csvMappingPresetCreate"]["preset"]["id"]
    data = b"Date,Description,Amount\n2026-01-03,COFFEE HOUSE,-3.50\n"
    # when
    with_account = await statement_import(gql, alice["token"], data, "a.csv", accountId=bobs_account["id"])
    with_preset = await statement_import(gql, alice["token"], data, "a.csv", csvPresetId=preset_id,
                                         createMissingAccounts=True, currency="EUR")
    wrong_type = await statement_import(gql, alice["token"], data, "a.csv", accountId=preset_id)
    # then
    assert [(e["field"], e["code"]) for e in with_account["errors"]] == [("accountId", "NOT_FOUND")]
    assert [(e["field"], e["code"]) for e in with_preset["errors"]] == [("csvPresetId", "NOT_FOUND")]
    assert [(e["field"], e["code"]) for e in wrong_type["errors"]] == [("accountId", "NOT_FOUND")]
    assert with_account["import"] is with_preset["import"] is wrong_type["import"] is None
    for table in ("imports", "sync_runs", "transactions"):
        assert await count(resources, table) == 0, table
    assert await count(resources, "accounts") == 1
    assert (await gql(PRESETS, token=alice["token"])).ok()["csvMappingPresets"] == []


async def test_account_id_needs_a_file_of_one_account_in_its_currency(gql: GraphQLClient, resources: Resources) -> None:
    user = await gql.register()
    usd = await ledger.account(gql, user["token"], name="Giro", currency="USD")
    gbp = await ledger.account(gql, user["token"], name="Pounds", currency="GBP")
    several = await statement_import(gql, user["token"], fixture("ofx/ofxparse_multiple_accounts.ofx"),
                                     "multiple_accounts.ofx", accountId=usd["id"])
    other_currency = await statement_import(gql, user["token"], fixture("ofx/ofxparse_suncorp.ofx"), "suncorp.ofx",
                                            accountId=gbp["id"])
    assert [(e["field"], e["code"]) for e in several["errors"]] == [("accountId", "INVALID")]
    assert "holds 2 accounts" in several["errors"][0]["message"]
    assert [(e["field"], e["code"]) for e in other_currency["errors"]] == [("accountId", "CURRENCY_MISMATCH")]
    await nothing_stored(resources, accounts=2)


async def test_unmatched_accounts_are_listed_with_their_reason_and_their_rows_skipped(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: an account whose mask fits the file's checking account only
    user = await gql.register()
    checking = (await gql(ledger.ACCOUNT_CREATE, {"input": {"name": "My checking", "kind": "CHECKING",
                                                            "currency": "USD", "mask": "9100"}},
                          token=user["token"])).ok()["accountCreate"]["account"]
    # when
    result = await imported(gql, resources, user["token"], fixture("ofx/ofxparse_multiple_accounts.ofx"),
                            "multiple_accounts.ofx")
    # then
    found = result["import"]
    assert [(a["number"], a["matchedBy"], a["account"]["id"]) for a in found["accounts"]] == \
        [("9100", "MASK", checking["id"])]
    assert [(a["number"], a["mask"], a["account"], a["reason"]) for a in found["unmatchedAccounts"]] == \
        [("9200", "9200", None, "No account has the number 9200 (or its last digits as mask).")]
    assert result["run"]["state"] == "SUCCEEDED"
    assert await count(resources, "accounts") == 1


async def test_a_csv_mapping_preset_is_saved_listed_and_used(gql: GraphQLClient, resources: Resources) -> None:
    # given: a bank whose CSV has no header: day;text;debit;credit, with day-first dates
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    mapping: dict[str, Any] = {"date": "0", "description": ["1"], "debit": "2", "credit": "3", "hasHeader": False,
                               "delimiter": ";", "dateFormat": "DMY", "decimalSeparator": ","}
    data = b"03.01.2026;COFFEE HOUSE;3,50;\n04.01.2026;REFUND SHOP;;12,00\n"
    # when
    created = (await gql(PRESET_CREATE, {"input": {"name": "Sparkasse", "mapping": mapping}},
                         token=user["token"])).ok()["csvMappingPresetCreate"]
    duplicate = (await gql(PRESET_CREATE, {"input": {"name": "SPARKASSE", "mapping": mapping}},
                           token=user["token"])).ok()["csvMappingPresetCreate"]
    broken = (await gql(PRESET_CREATE, {"input": {"name": "Broken", "mapping": {"date": "0", "description": ["1"]}}},
                        token=user["token"])).ok()["csvMappingPresetCreate"]
    listed = (await gql(PRESETS, token=user["token"])).ok()["csvMappingPresets"]
    result = await imported(gql, resources, user["token"], data, "sparkasse.csv", accountId=giro["id"],
                            csvPresetId=created["preset"]["id"])
    # then
    assert created["errors"] == []
    assert created["preset"]["mapping"] == {"date": "0", "amount": None, "debit": "2", "credit": "3",
                                            "description": ["1"], "delimiter": ";", "dateFormat": "DMY",
                                            "sign": "NORMAL"}
    assert [(e["field"], e["code"]) for e in duplicate["errors"]] == [("name", "CONFLICT")]
    assert [(e["field"], e["code"]) for e in broken["errors"]] == [("csvMapping.amount", "REQUIRED")]
    assert [p["name"] for p in listed] == ["Sparkasse"]
    assert result["run"]["added"] == 2
    assert [(r["booked_on"].isoformat(), str(r["amount"])) for r in await ledger_rows(resources, user["user_id"])] \
        == [("2026-01-03", "-3.5000"), ("2026-01-04", "12.0000")]


async def test_an_idempotency_key_replays_the_first_import(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    data = b"Date,Description,Amount\n2026-01-03,COFFEE HOUSE,-3.50\n"

    async def send(body: bytes) -> dict[str, Any]:
        result = await gql(IMPORT, {"input": {"file": upload(body, "a.csv"), "accountId": giro["id"],
                                              "idempotencyKey": "upload-1"}}, token=user["token"])
        return result.ok()["statementImport"]  # type: ignore[no-any-return]

    # when
    first = await send(data)
    replay = await send(data)
    other = await send(data + b"2026-01-04,BAKERY,-2.00\n")
    # then
    assert first["errors"] == replay["errors"] == []
    assert replay["import"]["id"] == first["import"]["id"]
    assert [(e["field"], e["code"]) for e in other["errors"]] == [("idempotencyKey", "CONFLICT")]
    assert await count(resources, "imports") == 1
    assert await count(resources, "sync_runs") == 1


async def test_rows_that_cannot_be_applied_are_counted_as_errors_with_their_reason(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: a file with one row in another currency than the account's
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    data = b"Date,Description,Amount,Currency\n2026-01-03,COFFEE,-3.50,EUR\n2026-01-04,NYC DELI,-9.99,USD\n"
    # when
    result = await imported(gql, resources, user["token"], data, "mixed.csv", accountId=giro["id"])
    # then
    run = result["run"]
    assert (run["state"], run["added"], run["errors"]) == ("SUCCEEDED", 1, 1)
    assert run["error"] == "line 3: the amount is in USD, the account in EUR"
    assert [r["description"] for r in await ledger_rows(resources, user["user_id"])] == ["COFFEE"]
