"""Helpers for the privacy tests: a user with a full ledger, export requests, the job, the zip's files."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from typing import Any

import sqlalchemy as sa

from app.graphql.node import from_global_id
from app.resources import Resources
from tests.ledger import TRANSFER, account, category_id, create
from tests.support import GraphQLClient
from tests.test_budgets import create_budget
from tests.test_goals import contribute, new_goal
from worker.export_jobs import export_data

FIELDS = "id state formats createdAt readyAt expiresAt downloadedAt size sha256 downloadUrl error"
EXPORT = f"""mutation($input: DataExportInput!) {{ dataExport(input: $input) {{
  dataExport {{ {FIELDS} }} errors {{ field message code }} }} }}"""
ONE = f"query($id: ID!) {{ dataExport(id: $id) {{ {FIELDS} }} }}"
LIST = f"{{ dataExports(first: 10) {{ totalCount edges {{ node {{ {FIELDS} }} }} }} }}"
NOTIFICATIONS = "{ notifications(first: 10) { edges { node { kind title data } } } }"
CSV_TABLES = {"transactions", "transaction_splits", "accounts", "categories", "budgets", "goals",
              "goal_contributions"}


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def sql(resources: Resources, statement: str, **params: Any) -> list[dict[str, Any]]:
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text(statement), params)
        rows = [dict(r._mapping) for r in result] if result.returns_rows else []
        await session.commit()
        return rows


async def ledger_of(gql: GraphQLClient, name: str) -> dict[str, Any]:
    """A user with two accounts, five transactions (one split, one formula-like, one with quotes and a newline),
    a transfer, a budget and a goal with a contribution. Returns what the API answered."""
    user = await gql.register(email=f"{name}-{uuid.uuid4().hex[:6]}@example.com")
    token = user["token"]
    checking = await account(gql, token, f"{name} checking", "EUR", "100.00")
    card = await account(gql, token, f"{name} card", "EUR", "0", kind="CREDIT_CARD")
    groceries = await category_id(gql, token, "Groceries")
    household = await category_id(gql, token, "Household")
    salary = await category_id(gql, token, "Salary")
    txs = [
        await create(gql, token, checking["id"], "-12.50", "2026-11-02", description="REWE SAGT DANKE",
                     categoryId=groceries),
        await create(gql, token, checking["id"], "2500.00", "2026-11-01", description="=SALARY ACME",
                     categoryId=salary),
        await create(gql, token, card["id"], "-80.00", "2026-11-03", description="IKEA",
                     splits=[{"amount": "-50.00", "categoryId": household}, {"amount": "-30.00", "categoryId": groceries}]),
        await create(gql, token, checking["id"], "-0.99", "2026-11-04", description='Coffee, "to go"',
                     notes="first line\nsecond line", tags=["cafe", "work"]),
    ]
    moved = (await gql(TRANSFER, {"input": {"fromAccountId": checking["id"], "toAccountId": card["id"],
                                            "amount": "100.00", "bookedOn": "2026-11-05",
                                            "description": "card payment"}}, token=token)).ok()["transferCreate"]
    assert moved["errors"] == []
    budget = await create_budget(gql, token, name=f"{name} food", currency="EUR", period="MONTHLY",
                                 lines=[{"categoryId": groceries, "limit": "300.00"}])
    goal = await new_goal(gql, token, name=f"{name} trip")
    assert (await contribute(gql, token, goal["id"], "250.00"))["errors"] == []
    return {**user, "checking": checking, "card": card, "txs": txs, "transfer": moved["transfer"], "budget": budget,
            "goal": goal, "groceries": groceries, "household": household, "name": name}


async def request_export(gql: GraphQLClient, token: str, **values: Any) -> dict[str, Any]:
    payload = (await gql(EXPORT, {"input": values}, token=token)).ok()["dataExport"]
    assert payload["errors"] == [], payload["errors"]
    return payload["dataExport"]


async def one(gql: GraphQLClient, token: str, export_id: str) -> dict[str, Any] | None:
    return (await gql(ONE, {"id": export_id}, token=token)).ok()["dataExport"]


async def prepared(gql: GraphQLClient, resources: Resources, user: dict[str, Any], **values: Any) -> dict[str, Any]:
    """An export of `user`, prepared by the job function itself (the real queue is exercised elsewhere)."""
    requested = await request_export(gql, user["token"], **values)
    assert await export_data({"resources": resources, "job_try": 1}, str(db_id(requested["id"]))) == "READY"
    node = await one(gql, user["token"], requested["id"])
    assert node is not None and node["state"] == "READY"
    return node


def read_zip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def csv_rows(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    text = files[f"csv/{name}.csv"].decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def quoted(text: str) -> str:
    """Text as a spreadsheet-safe CSV cell: a leading = + - or @ gets a ' in front."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def expected_transactions(user: dict[str, Any]) -> list[dict[str, str]]:
    """The CSV rows the user's ledger should give, from what the API answered when it was written."""
    by_account = {user["checking"]["id"]: user["checking"]["name"], user["card"]["id"]: user["card"]["name"]}
    rows = []
    for tx, notes, tags in zip(user["txs"], ["", "", "", "first line\nsecond line"], ["", "", "", "cafe;work"],
                               strict=True):
        category = tx["category"]
        rows.append({"id": str(db_id(tx["id"])), "booked_on": tx["bookedOn"], "account": by_account[tx["account"]["id"]],
                     "amount": tx["amount"]["amount"], "currency": "EUR",
                     "description": quoted(tx["description"]), "merchant": quoted(tx["merchant"]), "category": category["name"] if category else "",
                     "parent_category": category["parent"]["name"] if category and category["parent"] else "",
                     "notes": notes, "tags": tags, "transfer_id": "", "has_splits": "true" if tx is user["txs"][2] else "false"})
    legs = user["transfer"]
    for leg, other in ((legs["from"], legs["to"]), (legs["to"], legs["from"])):
        rows.append({"id": str(db_id(leg["id"])), "booked_on": "2026-11-05", "account": by_account[leg["account"]["id"]],
                     "amount": leg["amount"]["amount"], "currency": "EUR", "description": "card payment",
                     "merchant": None, "category": "", "parent_category": "", "notes": "", "tags": "",
                     "transfer_id": str(db_id(other["id"])), "has_splits": "false"})
    return sorted(rows, key=lambda r: (r["booked_on"], r["id"]))


def check_transactions_csv(files: dict[str, bytes], user: dict[str, Any]) -> None:
    got = csv_rows(files, "transactions")
    expected = expected_transactions(user)
    for row in expected:  # the transfer legs' merchant is whatever the ledger derived; compare the rest
        if row["merchant"] is None:
            del row["merchant"]
    assert [{key: row[key] for key in want} for row, want in zip(got, expected, strict=True)] == expected
    assert len(got) == 6
