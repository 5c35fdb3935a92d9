"""Every sample statement in tests/fixtures/statements/, imported three times through `statementImport` and a
real arq worker, adds its rows the first time only: exact counts, days, amounts, currencies and descriptions
(read by hand from the files), and the same rows, untouched, after the second and third import."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from app.resources import Resources
from tests import ledger
from tests.importing import ACCOUNT, count, db_id, fixture, imported, ledger_rows, summary
from tests.support import GraphQLClient

D = Decimal


@dataclass
class Case:
    path: str
    fields: dict[str, Any]
    rows: list[tuple[str, str, Decimal, str, str]]
    """(account name, day, amount, currency, description) of every row, ordered as `ledger_rows` orders."""
    accounts: list[tuple[str, str]] = field(default_factory=list)
    """Accounts to create first: (name, currency); the first is passed as `accountId` when `use_account`."""
    use_account: bool = False
    created: int = 0
    """Accounts the first import creates."""
    balances: dict[str, str] = field(default_factory=dict)
    """Account name -> balance after the import."""
    matched_by: list[str] = field(default_factory=list)
    """How each of the file's accounts is matched on the second import."""


CASES = [
    Case("camt053/genkgo_camt053.v2.multi.statement.xml", {"createMissingAccounts": True}, [
        ("Checking …6890", "2014-12-31", D("-7.00"), "EUR", "Transaction Description 2"),
        ("Checking …6890", "2014-12-31", D("8.85"), "EUR", "Transaction Description 1"),
    ], created=1, balances={"Checking …6890": "20.00"}, matched_by=["IBAN"]),  # opening 18.15 + 8.85 - 7.00
    Case("camt053/genkgo_camt053.v2.five.decimals.xml", {"createMissingAccounts": True}, [
        ("Checking …6890", "2014-12-31", D("8.85"), "EUR", "Transaction Description"),
    ], created=1, balances={"Checking …6890": "27.00"}, matched_by=["IBAN"]),  # opening 18.15 + 8.85
    Case("ofx/ofxparse_suncorp.ofx", {"createMissingAccounts": True}, [
        ("SUNCORP Checking …6789", "2013-12-15", D("-16.85"), "AUD",
         "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU"),
    ], created=1, balances={"SUNCORP Checking …6789": "1234.12"}, matched_by=["NUMBER"]),  # the closing balance
    Case("ofx/ofxparse_multiple_accounts.ofx", {"createMissingAccounts": True}, [], created=2,
         balances={"blah Checking …9100": "111.00", "blah Savings …9200": "222.00"}, matched_by=["NUMBER", "NUMBER"]),
    Case("qif/quiffen_test.qif", {"createMissingAccounts": True, "currency": "USD"}, [
        ("TestExport", "2020-02-10", D("-100.00"), "USD", "Amazon.com"),
        ("TestExport", "2020-02-11", D("-25.00"), "USD", "Walmart"),
        ("TestExport", "2020-02-12", D("-10.00"), "USD", "Target"),
        ("TestExport", "2020-02-14", D("32.00"), "USD", "US Post Office"),
        ("TestExport", "2020-02-14", D("67.50"), "USD", "T-Mobile"),
        ("quiffen_test", "2020-02-14", D("-12042.00"), "USD", "Test investment"),
    ], created=2, balances={"TestExport": "-35.50"}, matched_by=["NAME", "NAME"]),
    Case("qif/quiffen_test_category_override.qif", {}, [
        ("Card", "2017-12-22", D("1000.00"), "GBP", "Income For January"),
        ("Card", "2018-01-01", D("1100.00"), "GBP", "Starting Balance"),
        ("Card", "2018-01-02", D("-12.57"), "GBP", "FOOD C LONDON VIS"),
        ("Card", "2018-01-02", D("-9.99"), "GBP", "GOUSTO.CO.UK - A LONDON  W3 VIS"),
    ], accounts=[("Card", "GBP")], use_account=True, balances={"Card": "2077.44"}, matched_by=["ACCOUNT_ID"]),
    Case("qif/quiffen_test_split.qif", {}, [
        ("Wallet", "2000-01-01", D("-10.00"), "USD", "A Payee"),
    ], accounts=[("Wallet", "USD")], use_account=True, balances={"Wallet": "-10.00"}, matched_by=["ACCOUNT_ID"]),
    Case("csv/bank2ynab_bunq-statement.csv", {"createMissingAccounts": True, "currency": "EUR"}, [
        ("Checking …6409", "2018-12-06", D("-8.78"), "EUR", "CLOUDFLARE 650-3198939, US 9.95 USD, 1 USD = 0.88241 EUR"),
        ("Checking …6409", "2018-12-06", D("-8.76"), "EUR", "CLOUDFLARE 650-3198939, US 9.95 USD, 1 USD = 0.88040 EUR"),
        ("Checking …6409", "2018-12-06", D("8.78"), "EUR",
         "Refund: CLOUDFLARE (650-3198939, US) 1 USD = 1.133257403189066 EUR"),
        ("Checking …6409", "2018-12-07", D("-7.08"), "EUR", "CLOUDFLARE 650-3198939, US 8.03 USD, 1 USD = 0.88169 EUR"),
        ("Checking …6409", "2018-12-07", D("-7.07"), "EUR", "CLOUDFLARE 650-3198939, US 8.03 USD, 1 USD = 0.88045 EUR"),
        ("Checking …6409", "2018-12-07", D("7.08"), "EUR",
         "Refund: CLOUDFLARE (650-3198939, US) 1 USD = 1.134180790960451 EUR"),
        ("Checking …6409", "2018-12-17", D("-7.99"), "EUR", "NETFLIX.COM 14087249160, NL"),
    ], created=1, balances={"Checking …6409": "-23.82"}, matched_by=["IBAN"]),
    Case("csv/csv2ofx_gls.csv", {"createMissingAccounts": True}, [
        ("Checking …7890", "2017-10-10", D("-98.76"), "EUR",
         "SEPA-Basislastschrift B4658645 U123456789 B123456 987 SIMply Rechnung"),
    ], created=1, balances={"Checking …7890": "-98.76"}, matched_by=["NUMBER"]),
    Case("csv/csv2ofx_ingesp.csv", {}, [
        ("ING", "2022-03-24", D("2.83"), "EUR", "Abono por campaña Abono Shopping NARANJA:GALP"),
        ("ING", "2022-04-08", D("2.69"), "EUR", "Abono por campaña Abono Shopping NARANJA:GALP"),
        ("ING", "2022-04-13", D("-276.89"), "EUR", "Recibo MUTUA MADRILENA AUTOMOVILISTA S. DE SEGU"),
        ("ING", "2022-05-14", D("-17.60"), "EUR", "Pago en SPORTS BAR DANI JARQUE S BOI LLOBREGES"),
        ("ING", "2022-05-23", D("-219.30"), "EUR", "Transferencia emitida a Salesians Mataro casal"),
        ("ING", "2022-07-29", D("-1000.00"), "EUR", "Reintegro efectivo tarjeta B.B.V.A. MAT"),
        ("ING", "2022-11-13", D("500.00"), "EUR", "Traspaso recibido Cuenta Nómina"),
        ("ING", "2022-11-26", D("-37.00"), "EUR", "Transferencia Bizum emitida"),
        ("ING", "2022-12-23", D("1394.11"), "EUR", "Nomina recibida G PLCE SL."),
        ("ING", "2022-12-31", D("1.37"), "EUR", "Devolución Tarjeta AMZN Mktp ES"),
    ], accounts=[("ING", "EUR")], use_account=True, balances={"ING": "350.21"}, matched_by=["ACCOUNT_ID"]),
    Case("csv/csv2ofx_mint.csv", {}, [
        ("Checking", "2015-06-12", D("-1500.00"), "USD", "Account Transfer"),
        ("Checking", "2015-06-13", D("2000.00"), "USD", "Account Transfer"),
        ("Checking", "2015-06-14", D("-2500.00"), "USD", "Account Transfer"),
        ("Savings", "2015-06-12", D("-1000.00"), "USD", "Account Transfer"),
    ], accounts=[("Savings", "USD"), ("Checking", "USD")], balances={"Checking": "-2000.00", "Savings": "-1000.00"},
        matched_by=["NAME", "NAME"]),
    Case("csv/csv2ofx_schwab-checking.csv", {}, [
        ("Schwab", "2022-08-04", D("-57.27"), "USD", "PAYPAL INST XFER 220803~ Tran: ACHDW"),
        ("Schwab", "2022-08-09", D("-75.00"), "USD", "Check Paid #558"),
        ("Schwab", "2022-08-14", D("-103.00"), "USD", "BMO HARRIS BANK"),
        ("Schwab", "2022-08-17", D("20.00"), "USD", "Deposit Mobile Banking"),
    ], accounts=[("Schwab", "USD")], use_account=True, balances={"Schwab": "-215.27"}, matched_by=["ACCOUNT_ID"]),
    Case("csv/csv2ofx_ubs-ch-fr_trimmed.csv", {"createMissingAccounts": True}, [
        ("Checking …123A", "2019-02-28", D("240.00"), "CHF",
         "Virement postal ASSOCIATION FOO-BAR BVD DE QUELQUE-PART 1, 1201 GENEVE, CH"),
        ("Checking …123A", "2019-03-31", D("-10.00"), "CHF", "Solde prix prestations"),
        ("Checking …123A", "2019-04-27", D("-200.00"), "CHF",
         "Ordre e-banking REMB-CASH Quuz-baz SàrL, CH - 1203 GENEVE, E-Banking CHF intérieur"),
    ], created=1, balances={"Checking …123A": "30.00"}, matched_by=["NUMBER"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.path.split("/")[1] for c in CASES])
async def test_each_sample_file_imported_three_times_adds_its_rows_once(
        gql: GraphQLClient, resources: Resources, case: Case) -> None:
    # given
    user = await gql.register()
    made = [await ledger.account(gql, user["token"], name=name, currency=currency) for name, currency in case.accounts]
    fields = dict(case.fields)
    if case.use_account:
        fields["accountId"] = made[0]["id"]
    data = fixture(case.path)
    filename = case.path.split("/")[1]
    n = len(case.rows)

    # when: the first import
    first = await imported(gql, resources, user["token"], data, filename, **fields)
    rows = await ledger_rows(resources, user["user_id"])
    accounts_after_first = await count(resources, "accounts")

    # then: every row, exactly, and the counts
    assert first["run"]["state"] == "SUCCEEDED", first["run"]
    assert (first["run"]["added"], first["run"]["duplicates"], first["run"]["updated"], first["run"]["errors"]) == \
        (n, 0, 0, 0)
    assert summary(rows) == case.rows
    assert accounts_after_first == len(case.accounts) + case.created
    assert [a["created"] for a in first["import"]["accounts"]].count(True) == case.created
    assert first["import"]["unmatchedAccounts"] == []
    assert first["import"]["transactionCount"] == n
    for account in first["import"]["accounts"]:
        balance = (await gql(ACCOUNT, {"id": account["account"]["id"]}, token=user["token"])).ok()["account"]
        if balance["name"] in case.balances:
            assert balance["balance"]["amount"] == case.balances[balance["name"]], balance
    assert {r["sync_run_id"] for r in rows} <= {db_id(first["run"]["id"])}

    for attempt in (2, 3):
        # when: the same file again
        again = await imported(gql, resources, user["token"], data, filename, **fields)
        # then: nothing added, everything a duplicate, the rows untouched
        assert again["run"]["state"] == "SUCCEEDED", again["run"]
        assert (again["run"]["added"], again["run"]["duplicates"], again["run"]["updated"],
                again["run"]["errors"]) == (0, n, 0, 0), attempt
        assert [a["matchedBy"] for a in again["import"]["accounts"]] == case.matched_by
        assert all(not a["created"] for a in again["import"]["accounts"])
        assert await ledger_rows(resources, user["user_id"]) == rows
        assert await count(resources, "accounts") == accounts_after_first


def camt_statement(currency: str, opening: str, entries: list[tuple[str, str, str, str]]) -> str:
    """One <Stmt> of an account in `currency`: entries are (amount, CRDT|DBIT, day, reference)."""
    ntry = "".join(
        f"<Ntry><Amt Ccy='{currency}'>{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><RmtInf><Ustrd>Payment {ref}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for amount, sign, day, ref in entries)
    return (f"<Stmt><Id>{currency}-1</Id><Acct><Id><IBAN>NL26VAYB8060476890</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
            f"<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy='{currency}'>{opening}</Amt>"
            f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-02-01</Dt></Dt></Bal>{ntry}</Stmt>")


async def test_one_iban_in_two_currencies_is_two_accounts(gql: GraphQLClient, resources: Resources) -> None:
    # given: a camt.053 document with a EUR and a USD statement of one IBAN
    data = ("<?xml version='1.0' encoding='UTF-8'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'>"
            "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-02-10T10:00:00</CreDtTm></GrpHdr>"
            + camt_statement("EUR", "100.00", [("10.00", "DBIT", "2026-02-02", "E1"), ("2.50", "CRDT", "2026-02-03", "E2")])
            + camt_statement("USD", "50.00", [("7.25", "DBIT", "2026-02-02", "U1")])
            + "</BkToCstmrStmt></Document>").encode()
    user = await gql.register()
    # when
    first = await imported(gql, resources, user["token"], data, "two-currencies.xml", createMissingAccounts=True)
    second = await imported(gql, resources, user["token"], data, "two-currencies.xml")
    # then
    made = [(await gql(ACCOUNT, {"id": a["account"]["id"]}, token=user["token"])).ok()["account"]
            for a in first["import"]["accounts"]]
    assert [(a["name"], a["currency"], a["balance"]["amount"]) for a in made] == \
        [("Checking …6890 EUR", "EUR", "92.50"), ("Checking …6890 USD", "USD", "42.75")]
    assert [a["matchedBy"] for a in first["import"]["accounts"]] == ["CREATED", "CREATED"]
    assert [(a["account"]["name"], a["matchedBy"]) for a in second["import"]["accounts"]] == \
        [("Checking …6890 EUR", "IBAN"), ("Checking …6890 USD", "IBAN")]
    assert (first["run"]["added"], second["run"]["added"], second["run"]["duplicates"]) == (3, 0, 3)
    assert summary(await ledger_rows(resources, user["user_id"])) == [
        ("Checking …6890 EUR", "2026-02-02", D("-10.00"), "EUR", "Payment E1"),
        ("Checking …6890 EUR", "2026-02-03", D("2.50"), "EUR", "Payment E2"),
        ("Checking …6890 USD", "2026-02-02", D("-7.25"), "USD", "Payment U1"),
    ]
