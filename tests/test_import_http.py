"""`statementImport` over real HTTP: a GraphQL multipart request (operations + map + file) through the whole app
(every middleware and the real view), then applied by a real arq worker. Without the preflight header the
request is refused before anything runs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from app.main import create_app
from app.resources import Resources
from tests import ledger
from tests.importing import IMPORT, count, drain, ledger_rows
from tests.support import GraphQLClient

CSV = b"Date,Description,Amount\n2026-01-03,COFFEE HOUSE,-3.50\n2026-01-05,REWE SAGT DANKE,-42.10\n"


def multipart(variables: dict[str, Any], data: bytes, filename: str) -> dict[str, Any]:
    """The GraphQL multipart request spec: `operations` with the file as null, `map` pointing at it, the file."""
    operations = {"query": IMPORT, "variables": variables}
    return {"operations": (None, json.dumps(operations)), "map": (None, json.dumps({"0": ["variables.input.file"]})),
            "0": (filename, data, "text/csv")}


async def test_statement_import_over_multipart_http(gql: GraphQLClient, resources: Resources) -> None:
    # given
    user = await gql.register()
    giro = await ledger.account(gql, user["token"], name="Giro", currency="EUR")
    variables = {"input": {"file": None, "accountId": giro["id"]}}
    auth = {"Authorization": f"Bearer {user['token']}"}
    transport = httpx.ASGITransport(app=create_app(resources=resources))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        # when: without the preflight header
        refused = await http.post("/graphql", files=multipart(variables, CSV, "giro.csv"), headers=auth)
        stored_after_refusal = await count(resources, "imports")
        # when: with it
        response = await http.post("/graphql", files=multipart(variables, CSV, "giro.csv"),
                                   headers={**auth, "GraphQL-Require-Preflight": "1"})

    # then
    assert refused.status_code == 400 and "Preflight" in refused.text
    assert stored_after_refusal == 0
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["statementImport"]
    assert payload["errors"] == []
    found = payload["import"]
    assert (found["name"], found["format"], found["size"], found["transactionCount"]) == ("giro.csv", "CSV", len(CSV), 2)
    assert found["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert found["run"]["state"] == "QUEUED" and found["run"]["kind"] == "IMPORT"
    assert found["csvMapping"]["date"] == "Date" and found["csvMapping"]["amount"] == "Amount"
    assert [(a["matchedBy"], a["account"]["id"]) for a in found["accounts"]] == [("ACCOUNT_ID", giro["id"])]

    # when: the worker applies it
    worker = await drain(resources)
    # then
    assert worker.jobs_failed == 0
    rows = await ledger_rows(resources, user["user_id"])
    assert [(r["booked_on"].isoformat(), str(r["amount"]), r["description"]) for r in rows] == [
        ("2026-01-03", "-3.5000", "COFFEE HOUSE"), ("2026-01-05", "-42.1000", "REWE SAGT DANKE")]
    assert await ledger.balance(gql, user["token"], giro["id"]) == "-45.60"
