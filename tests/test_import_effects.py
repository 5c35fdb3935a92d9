"""What follows an import: one BULK_CHANGED TransactionEvent per run (not one per row) reaching a subscriber,
balances (current and end-of-day) recomputed, budget alerts fired once for a crossing import, and the file's
category names mapped to the user's categories."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from app.resources import Resources
from tests import ledger
from tests.importing import Subscription, db_id, drain, imported, ledger_rows, statement_import
from tests.support import GraphQLClient
from tests.test_budget_alerts import alerts, notifications, setup, spend, today

EVENTS = """subscription { transactionEvents { kind transactionId transaction { id } accountIds count syncRunId } }"""
HISTORY = """query($id: ID!, $from: Date!, $to: Date!) { account(id: $id) {
  balance { amount } balanceHistory(from: $from, to: $to) { day balance { amount } } } }"""


async def test_an_import_publishes_one_bulk_event(gql: GraphQLClient, resources: Resources) -> None:
    # given: a subscriber to transactionEvents, and a stranger subscribed too
    user, stranger = await gql.register(), await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    rows = "".join(f"2026-01-{day:02d},SHOP {day},-{day}.00\n" for day in range(1, 21))
    data = ("Date,Description,Amount\n" + rows).encode()
    async with Subscription(gql, resources, user["token"], EVENTS) as mine, \
            Subscription(gql, resources, stranger["token"], EVENTS) as theirs:
        # when: 20 rows are imported
        payload = await statement_import(gql, user["token"], data, "jan.csv", accountId=giro["id"])
        await drain(resources)
        events = await mine.wait_for(1)
        await asyncio.sleep(1.0)  # anything more would arrive now
        # then: exactly one event, for the run, counting the rows
        assert [e.errors for e in mine.results] == [None]
        assert events[0].data == {"transactionEvents": {
            "kind": "BULK_CHANGED", "transactionId": None, "transaction": None, "accountIds": [giro["id"]],
            "count": 20, "syncRunId": payload["import"]["run"]["id"]}}
        assert theirs.results == []

        # when: the same file again: nothing changes, so nothing is published
        await imported(gql, resources, user["token"], data, "jan.csv", accountId=giro["id"])
        await asyncio.sleep(1.0)
        # then
        assert len(mine.results) == 1


async def test_balances_follow_an_import(gql: GraphQLClient, resources: Resources) -> None:
    # given: an account opened on Jan 1 with 100.00, and a transaction of its own on Jan 10
    user = await gql.register()
    token = user["token"]
    made = (await gql(ledger.ACCOUNT_CREATE, {"input": {"name": "Giro", "kind": "CHECKING", "currency": "EUR",
                                                        "openingBalance": "100.00", "openingDate": "2026-01-01"}},
                      token=token)).ok()["accountCreate"]["account"]
    await ledger.create(gql, token, made["id"], "-10.00", "2026-01-10")
    data = b"Date,Description,Amount\n2026-01-05,SALARY,1000.00\n2026-01-12,RENT,-500.00\n2026-01-12,FOOD,-20.50\n"
    # when: an import books before and after it
    await imported(gql, resources, token, data, "jan.csv", accountId=made["id"])
    found = (await gql(HISTORY, {"id": made["id"], "from": "2026-01-04", "to": "2026-01-13"},
                       token=token)).ok()["account"]
    # then: every day from the earliest imported one, computed by hand
    by_day = {p["day"]: p["balance"]["amount"] for p in found["balanceHistory"]}
    assert by_day == {
        "2026-01-04": "100.00", "2026-01-05": "1100.00", "2026-01-06": "1100.00", "2026-01-07": "1100.00",
        "2026-01-08": "1100.00", "2026-01-09": "1100.00", "2026-01-10": "1090.00", "2026-01-11": "1090.00",
        "2026-01-12": "569.50", "2026-01-13": "569.50"}
    assert found["balance"]["amount"] == "569.50"
    async with resources.sessionmaker() as session:
        stored = (await session.execute(sa.text("SELECT current_balance FROM accounts"))).scalar_one()
    assert f"{stored:.2f}" == "569.50"


async def test_a_crossing_import_fires_one_budget_alert(gql: GraphQLClient, resources: Resources) -> None:
    # given: groceries limited to 100 this year, 30 spent already (below 50 %)
    s = await setup(gql, limit="100")
    await spend(gql, s, "-30.00")
    assert await alerts(resources) == []
    day, long_ago = today().isoformat(), (today() - dt.timedelta(days=400)).isoformat()
    data = (f"Date,Description,Amount,Category\n{long_ago},OLD SHOP,-1.00,Groceries\n"
            f"{day},REWE,-10.00,Groceries\n{day},LIDL,-12.00,Groceries\n"
            f"{day},EDEKA,-3.00,Food & drink:Groceries\n{day},CINEMA,-40.00,Entertainment\n").encode()
    # when: one import brings groceries to 55 this period (three rows), with an old row and something else
    result = await imported(gql, resources, s["token"], data, "today.csv", accountId=s["account"])
    # then: one alert, at 50 %, with 55 spent, and its notification
    assert result["run"]["added"] == 5
    assert await alerts(resources) == [(50, "55.00", s["start"])]
    budget_notes = [n for n in await notifications(resources) if n["kind"] == "BUDGET_ALERT"]
    assert len(budget_notes) == 1
    # the file's category names became the user's categories (source PROVIDER)
    rows = await ledger_rows(resources, s["user_id"])
    imported_rows = {r["description"]: r["category_id"] for r in rows if r["description"] in {"REWE", "LIDL", "EDEKA"}}
    assert {str(c) for c in imported_rows.values()} == {str(db_id(s["groceries"]))}

    # when: the same file again: nothing new, no new alert
    await imported(gql, resources, s["token"], data, "today.csv", accountId=s["account"])
    # then
    assert len(await alerts(resources)) == 1
