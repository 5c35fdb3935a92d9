"""Data exports: the `export_data` job through a real arq worker on the test Redis, the zip's contents (every JSON
file parses and holds only the caller's rows; the CSV rows equal the caller's ledger with exact amounts), the
audit rows, and the request rules (one in flight, idempotency, formats, daily limit, size cap, a job run twice).
The link itself (once, 404, 410, expiry, logs) is in `test_privacy_download.py`."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid

from app.privacy import service
from app.resources import Resources
from tests.privacy import (
    CSV_TABLES,
    EXPORT,
    LIST,
    NOTIFICATIONS,
    check_transactions_csv,
    csv_rows,
    db_id,
    ledger_of,
    one,
    prepared,
    read_zip,
    request_export,
    sql,
)
from tests.support import GraphQLClient
from tests.test_security import asgi_client
from worker.export_jobs import export_data
from worker.main import build_worker

# --- through the real queue ---------------------------------------------------------------------------------


async def test_export_runs_through_a_real_worker_and_downloads_once(gql: GraphQLClient, resources: Resources) -> None:
    # given: two users with ledgers, both asking for an export
    alice = await ledger_of(gql, "alice")
    bob = await ledger_of(gql, "bob")
    requested = await request_export(gql, alice["token"])
    bobs = await request_export(gql, bob["token"], formats=["CSV"])
    assert requested["state"] == "QUEUED" and requested["downloadUrl"] is None and requested["size"] is None
    assert requested["formats"] == ["JSON", "CSV"] and bobs["formats"] == ["CSV"]

    # when: a real arq worker (burst mode) drains the queue on the test Redis
    worker = build_worker(resources.settings, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()

    # then: both are ready, with a signed link, and alice is told so
    assert worker.jobs_failed == 0 and worker.jobs_complete >= 2
    node = await one(gql, alice["token"], requested["id"])
    assert node is not None and node["state"] == "READY" and node["error"] is None
    export_id = db_id(requested["id"])
    assert node["downloadUrl"].startswith(f"/exports/{export_id}?token=")
    ready_at = dt.datetime.fromisoformat(node["readyAt"])
    assert dt.datetime.fromisoformat(node["expiresAt"]) - ready_at <= dt.timedelta(hours=48)
    assert dt.datetime.fromisoformat(node["expiresAt"]) - ready_at > dt.timedelta(hours=47, minutes=59)
    feed = (await gql(NOTIFICATIONS, token=alice["token"])).ok()["notifications"]["edges"]
    ready = [e["node"] for e in feed if e["node"]["kind"] == "DATA_EXPORT_READY"]
    assert len(ready) == 1 and ready[0]["data"]["dataExportId"] == str(export_id)
    assert ready[0]["data"]["size"] == node["size"]

    # when: the link is followed twice (no Authorization header: the link is the credential)
    async with asgi_client(resources) as http:
        first = await http.get(node["downloadUrl"], headers={"User-Agent": "exporter/1.0"})
        second = await http.get(node["downloadUrl"])
    # then: the zip once, then 410 Gone
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/zip"
    assert first.headers["content-disposition"].startswith('attachment; filename="florin-export-')
    assert first.headers["cache-control"] == "no-store"
    assert hashlib.sha256(first.content).hexdigest() == node["sha256"] and len(first.content) == node["size"]
    assert second.status_code == 410
    after = await one(gql, alice["token"], requested["id"])
    assert after is not None and after["state"] == "DOWNLOADED" and after["downloadUrl"] is None
    assert after["downloadedAt"] is not None
    stored = await sql(resources, "select content is null as gone from data_exports where id = :id", id=export_id)
    assert stored == [{"gone": True}]

    # then: the zip holds alice's data, complete, and nothing of bob's
    files = read_zip(first.content)
    check_transactions_csv(files, alice)
    text = b"\n".join(files.values()).decode("utf-8")
    for secret in (str(db_id(bob["user_id"])), bob["email"], "bob checking", "bob food", "bob trip",
                   *(str(db_id(tx["id"])) for tx in bob["txs"])):
        assert secret not in text
    assert str(db_id(alice["user_id"])) in text and alice["email"] in text

    # then: the audit log has the request and the download, with where it came from
    audit = await sql(resources, "select action, entity, entity_id, ip, user_agent, details from audit_log "
                                 "where user_id = :u and action like 'data_export.%' order by at",
                      u=db_id(alice["user_id"]))
    assert audit == [
        {"action": "data_export.request", "entity": "DataExport", "entity_id": export_id, "ip": None,
         "user_agent": None, "details": {"formats": ["JSON", "CSV"]}},
        {"action": "data_export.download", "entity": "DataExport", "entity_id": export_id, "ip": "127.0.0.1",
         "user_agent": "exporter/1.0", "details": {"size": node["size"], "sha256": node["sha256"]}},
    ]

    # then: bob's CSV-only export is his alone
    bob_node = await one(gql, bob["token"], bobs["id"])
    assert bob_node is not None and bob_node["state"] == "READY"
    async with asgi_client(resources) as http:
        bob_zip = read_zip((await http.get(bob_node["downloadUrl"])).content)
    assert sorted(bob_zip) == sorted(["README.txt", "manifest.json", *(f"csv/{t}.csv" for t in CSV_TABLES)])
    check_transactions_csv(bob_zip, bob)


async def test_json_files_are_every_table_of_the_user_and_only_the_users_rows(
        gql: GraphQLClient, resources: Resources) -> None:
    # given
    from app.models import metadata

    alice = await ledger_of(gql, "alice")
    bob = await ledger_of(gql, "bob")
    node = await prepared(gql, resources, alice)
    # when
    async with asgi_client(resources) as http:
        files = read_zip((await http.get(node["downloadUrl"])).content)
    # then: one JSON file per table holding user rows, bar the documented exclusions
    excluded = {"data_exports", "refresh_tokens", "revoked_access_tokens", "idempotency_keys", "balances"}
    expected = {"users"} | {t.name for t in metadata.tables.values() if "user_id" in t.c and t.name not in excluded}
    assert {name[len("json/"):-len(".json")] for name in files if name.startswith("json/")} == expected
    alice_id, bob_id = str(db_id(alice["user_id"])), str(db_id(bob["user_id"]))
    tables = {name: json.loads(files[f"json/{name}.json"]) for name in expected}
    assert [(row["id"], row["email"]) for row in tables["users"]] == [(alice_id, alice["email"])]
    for name, rows in tables.items():
        for row in rows:
            assert row.get("user_id", alice_id) == alice_id, name
            assert not {"password_hash", "token_hash", "token_version", "search"} & set(row), name
    # the rows are the user's, counted independently of the export
    for name in ("accounts", "transactions", "transaction_splits", "categories", "budgets", "budget_lines", "goals",
                 "goal_contributions", "audit_log"):
        # (the download itself is audited after the zip was made)
        ids = await sql(resources, f"select id::text as id from {name} where user_id = :u and "
                                   f"{'action <> ' + repr('data_export.download') if name == 'audit_log' else 'true'} "
                                   "order by id", u=alice_id)
        assert sorted(row["id"] for row in tables[name]) == [r["id"] for r in ids], name
        assert ids, name
    theirs = await sql(resources, "select id::text as id from transactions where user_id = :u", u=bob_id)
    assert not {r["id"] for r in theirs} & {row["id"] for row in tables["transactions"]}
    # amounts are exact decimals as stored
    by_id = {row["id"]: row for row in tables["transactions"]}
    assert by_id[str(db_id(alice["txs"][0]["id"]))]["amount"] == "-12.5000"
    assert by_id[str(db_id(alice["txs"][3]["id"]))]["tags"] == ["cafe", "work"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["user_id"] == alice_id and manifest["formats"] == ["CSV", "JSON"]
    assert manifest["files"]["csv/transactions.csv"] == 6 and manifest["files"]["json/transactions.json"] == 6


async def test_csv_files_are_the_ledger_in_people_terms(gql: GraphQLClient, resources: Resources) -> None:
    # given
    alice = await ledger_of(gql, "alice")
    node = await prepared(gql, resources, alice, formats=["CSV"])
    # when
    async with asgi_client(resources) as http:
        files = read_zip((await http.get(node["downloadUrl"])).content)
    # then
    assert not [name for name in files if name.startswith("json/")]
    check_transactions_csv(files, alice)
    splits = csv_rows(files, "transaction_splits")
    assert [(r["transaction_id"], r["category"], r["amount"], r["currency"]) for r in splits] == [
        (str(db_id(alice["txs"][2]["id"])), "Household", "-50.00", "EUR"),
        (str(db_id(alice["txs"][2]["id"])), "Groceries", "-30.00", "EUR")]
    accounts = csv_rows(files, "accounts")
    # 100 + 2500 - 12.50 - 0.99 - 100 on checking; -80 + 100 on the card
    assert [(r["name"], r["kind"], r["currency"], r["opening_balance"], r["current_balance"]) for r in accounts] == [
        ("alice card", "CREDIT_CARD", "EUR", "0.00", "20.00"),
        ("alice checking", "CHECKING", "EUR", "100.00", "2486.51")]
    budgets = csv_rows(files, "budgets")
    assert [(r["budget"], r["period"], r["category"], r["limit"], r["currency"]) for r in budgets] == [
        ("alice food", "MONTHLY", "Groceries", "300.00", "EUR")]
    goals = csv_rows(files, "goals")
    assert [(r["name"], r["target_amount"], r["currency"]) for r in goals] == [("alice trip", "1000.00", "EUR")]
    contributions = csv_rows(files, "goal_contributions")
    assert [(r["goal"], r["amount"], r["currency"]) for r in contributions] == [("alice trip", "250.00", "EUR")]
    categories = csv_rows(files, "categories")
    groceries = [r for r in categories if r["name"] == "Groceries"]
    assert len(groceries) == 1 and groceries[0]["parent"] == "Food & drink"
    assert groceries[0]["id"] == str(db_id(alice["groceries"]))


# --- requests -----------------------------------------------------------------------------------------------


async def test_one_export_in_flight_idempotency_and_formats(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    other = await gql.register()
    # when: two requests while the first is still queued, one replayed by key, one without formats
    first = await request_export(gql, user["token"], idempotencyKey="k1")
    again = await request_export(gql, user["token"], formats=["CSV"])
    replay = await request_export(gql, user["token"], idempotencyKey="k1")
    conflict = (await gql(EXPORT, {"input": {"idempotencyKey": "k1", "formats": ["JSON"]}},
                          token=user["token"])).ok()["dataExport"]
    empty = (await gql(EXPORT, {"input": {"formats": []}}, token=user["token"])).ok()["dataExport"]
    # then: one export, one job in the queue
    assert again["id"] == first["id"] == replay["id"]
    assert conflict == {"dataExport": None, "errors": [{"field": "idempotencyKey", "code": "CONFLICT",
                                                        "message": conflict["errors"][0]["message"]}]}
    assert empty["dataExport"] is None and [(e["field"], e["code"]) for e in empty["errors"]] == [
        ("formats", "REQUIRED")]
    assert await sql(resources, "select count(*) as n from data_exports") == [{"n": 1}]
    assert await resources.arq.zcard(resources.settings.arq_queue_name) == 1
    # then: listed for its owner only; another user's id reads null
    listed = (await gql(LIST, token=user["token"])).ok()["dataExports"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == first["id"]
    assert (await gql(LIST, token=other["token"])).ok()["dataExports"]["totalCount"] == 0
    assert await one(gql, other["token"], first["id"]) is None
    by_node = 'query($id: ID!) { node(id: $id) { id ... on DataExport { state } } }'
    assert (await gql(by_node, {"id": first["id"]}, token=other["token"])).ok()["node"] is None
    assert (await gql(by_node, {"id": first["id"]}, token=user["token"])).ok()["node"] == {
        "id": first["id"], "state": "QUEUED"}


async def test_requests_at_once_make_one_export(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    # when: five requests at the same moment, each in its own unit of work
    results = await asyncio.gather(*[gql(EXPORT, {"input": {}}, token=user["token"]) for _ in range(5)])
    # then: the same export for all, one row, one audit entry, one job
    assert len({r.ok()["dataExport"]["dataExport"]["id"] for r in results}) == 1
    assert await sql(resources, "select count(*) as n from data_exports") == [{"n": 1}]
    assert await sql(resources, "select count(*) as n from audit_log where action = 'data_export.request'") == [
        {"n": 1}]
    assert await resources.arq.zcard(resources.settings.arq_queue_name) == 1


async def test_at_most_five_exports_a_day(gql: GraphQLClient, resources: Resources) -> None:
    # given: five exports today, each finished
    user = await gql.register()
    made = [await prepared(gql, resources, user, formats=["CSV"]) for _ in range(5)]
    # when
    refused = (await gql(EXPORT, {"input": {}}, token=user["token"])).ok()["dataExport"]
    # then
    assert refused["dataExport"] is None and [e["code"] for e in refused["errors"]] == ["LIMIT_EXCEEDED"]
    assert await sql(resources, "select count(*) as n from data_exports") == [{"n": 5}]
    listed = (await gql(LIST, token=user["token"])).ok()["dataExports"]
    assert [e["node"]["id"] for e in listed["edges"]] == [n["id"] for n in reversed(made)]


async def test_a_read_token_may_not_export(gql: GraphQLClient, resources: Resources) -> None:
    user = await gql.register()
    created = (await gql('mutation { apiTokenCreate(input: {name: "ro", scope: READ}) { token } }',
                         token=user["token"])).ok()["apiTokenCreate"]
    result = await gql(EXPORT, {"input": {}}, token=created["token"])
    assert result.codes == ["FORBIDDEN"]
    assert await sql(resources, "select count(*) as n from data_exports") == [{"n": 0}]


# --- the job ------------------------------------------------------------------------------------------------


async def test_an_export_over_the_size_cap_fails_and_stores_nothing(gql: GraphQLClient,
                                                                    resources: Resources) -> None:
    # given
    user = await ledger_of(gql, "big")
    requested = await request_export(gql, user["token"])
    # when: the cap is below what the ledger needs
    state = await service.prepare_export(resources, db_id(requested["id"]), max_bytes=2000)
    # then
    assert state is not None and state.value == "FAILED"
    node = await one(gql, user["token"], requested["id"])
    assert node is not None and node["state"] == "FAILED" and node["downloadUrl"] is None
    assert node["error"] == "The export is larger than the limit of 2000 bytes" and node["size"] is None
    assert await sql(resources, "select content is null as gone, token_hash from data_exports") == [
        {"gone": True, "token_hash": None}]
    feed = (await gql(NOTIFICATIONS, token=user["token"])).ok()["notifications"]["edges"]
    assert [e for e in feed if e["node"]["kind"] == "DATA_EXPORT_READY"] == []


async def test_the_job_may_run_twice_and_skips_erased_users(gql: GraphQLClient, resources: Resources) -> None:
    # given: a ready export
    user = await gql.register()
    node = await prepared(gql, resources, user)
    export_id = str(db_id(node["id"]))
    # when: the job runs again (arq may deliver twice)
    again = await export_data({"resources": resources, "job_try": 2}, export_id)
    # then: nothing changed, and no second notification
    assert again == "READY"
    assert await one(gql, user["token"], node["id"]) == node
    feed = (await gql(NOTIFICATIONS, token=user["token"])).ok()["notifications"]["edges"]
    assert len([e for e in feed if e["node"]["kind"] == "DATA_EXPORT_READY"]) == 1
    # when: a job for an export that is gone (its user erased)
    assert await export_data({"resources": resources, "job_try": 1}, str(uuid.uuid4())) is None
