"""Helpers for import tests: upload a statement through `statementImport`, drain the queue with a real arq
worker, read back what the ledger holds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import random
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.datastructures import UploadFile

from app.graphql.node import from_global_id
from app.resources import Resources
from tests.support import GraphQLClient
from worker.main import build_worker

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "statements"

IMPORT = """mutation($input: StatementImportInput!) { statementImport(input: $input) {
  import { id name format sha256 size transactionCount warnings
    accounts { index number iban mask name currency transactionCount firstDay lastDay matchedBy created reason
               account { id name currency kind balance { amount currency } } }
    unmatchedAccounts { index number iban mask name currency transactionCount reason account { id } }
    csvMapping { date amount debit credit description delimiter decimalSeparator }
    run { id kind state added updated duplicates errors } }
  errors { field message code } } }"""

RUN = """query($id: ID!) { node(id: $id) { ... on SyncRun { id kind state added updated duplicates errors error phase
  done total attempts importId startedAt finishedAt } } }"""

ACCOUNT = """query($id: ID!) { account(id: $id) { id name currency balance { amount currency } } }"""


def fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def upload(data: bytes, filename: str) -> UploadFile:
    return UploadFile(file=io.BytesIO(data), filename=filename)


def db_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def statement_import(gql: GraphQLClient, token: str, data: bytes, filename: str, **fields: Any
                           ) -> dict[str, Any]:
    """The `statementImport` payload (the file sent as an in-process upload)."""
    variables = {"input": {"file": upload(data, filename), **fields}}
    return (await gql(IMPORT, variables, token=token)).ok()["statementImport"]  # type: ignore[no-any-return]


async def drain(resources: Resources) -> Any:
    """Run every queued job with a real arq worker in burst mode; returns the worker (for its counts)."""
    worker = build_worker(resources.settings, burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def imported(gql: GraphQLClient, resources: Resources, token: str, data: bytes, filename: str,
                   **fields: Any) -> dict[str, Any]:
    """Upload, apply with a worker, and return {"import": …, "run": the finished run}."""
    payload = await statement_import(gql, token, data, filename, **fields)
    assert payload["errors"] == [], payload["errors"]
    worker = await drain(resources)
    assert worker.jobs_failed == 0
    run = (await gql(RUN, {"id": payload["import"]["run"]["id"]}, token=token)).ok()["node"]
    return {"import": payload["import"], "run": run}


async def ledger_rows(resources: Resources, user_id: str | uuid.UUID) -> list[dict[str, Any]]:
    """Every transaction of the user, ordered by account, day, amount, description and fingerprint."""
    uid = db_id(user_id) if isinstance(user_id, str) else user_id
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text(
            "SELECT t.id, t.account_id, a.name AS account, t.booked_on, t.amount, t.currency, t.description, "
            "t.merchant, t.status, t.external_id, t.fingerprint, t.sync_run_id, t.category_id "
            "FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.user_id = :u "
            "ORDER BY a.name, t.booked_on, t.amount, t.description, t.fingerprint, t.id"), {"u": uid})
        return [dict(row._mapping) for row in result]


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, str, Decimal, str, str]]:
    """(account, day, amount, currency, description) of each row, for exact comparisons."""
    return [(r["account"], r["booked_on"].isoformat(), r["amount"], r["currency"].strip(), r["description"])
            for r in rows]


async def count(resources: Resources, table: str) -> int:
    async with resources.sessionmaker() as session:
        return int((await session.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


class Subscription:
    """An in-process subscription through the real schema and event hub, collecting what it yields."""

    def __init__(self, gql: GraphQLClient, resources: Resources, token: str, query: str,
                 variables: dict[str, Any] | None = None):
        self.gql, self.resources, self.token, self.query, self.variables = gql, resources, token, query, variables
        self.results: list[Any] = []
        self.ended = asyncio.Event()
        self.changed = asyncio.Event()

    async def __aenter__(self) -> Subscription:
        from app.graphql.context import build_context

        context = await build_context(self.resources, authorization=f"Bearer {self.token}")
        before = self.resources.hub.subscriber_count
        self.stream = await self.gql.schema.subscribe(self.query, variable_values=self.variables,
                                                      context_value=context)
        self.task = asyncio.ensure_future(self._collect())
        for _ in range(200):  # until the hub holds the new subscriber (or the stream already ended)
            if self.resources.hub.subscriber_count > before or self.ended.is_set():
                break
            await asyncio.sleep(0.02)
        return self

    async def _collect(self) -> None:
        try:
            async for result in self.stream:  # type: ignore[union-attr]
                self.results.append(result)
                self.changed.set()
        finally:
            self.ended.set()
            self.changed.set()

    async def wait_for(self, count: int, within: float = 20) -> list[Any]:
        """The first `count` results (fewer when the stream ends first)."""
        async with asyncio.timeout(within):
            while True:
                self.changed.clear()
                if len(self.results) >= count or self.ended.is_set():
                    return self.results[:count]
                await self.changed.wait()

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        with contextlib.suppress(Exception):
            await self.stream.aclose()  # type: ignore[union-attr]


MERCHANTS = ("REWE SAGT DANKE", "LIDL DIENSTL", "SHELL TANKSTELLE", "AMAZON MKTPLACE PMTS", "NETFLIX.COM",
             "DB VERTRIEB GMBH", "STARBUCKS", "EDEKA CENTER", "DM DROGERIE MARKT", "SPOTIFY AB")


def generated_csv(rows: int, seed: int = 7) -> bytes:
    """A bank CSV of `rows` card payments over about ten years, deterministic for a seed; some identical
    rows (same day, amount and text) on purpose."""
    rnd = random.Random(seed)
    start = dt.date(2016, 1, 1)
    lines = ["Date,Description,Amount"]
    for i in range(rows):
        if i % 50 == 49:  # an honest twin of the row before
            lines.append(lines[-1])
            continue
        day = start + dt.timedelta(days=i * 3650 // max(rows, 1))
        cents = rnd.randint(100, 20000)
        lines.append(f"{day.isoformat()},CARD {rnd.randint(1000, 1009)} {rnd.choice(MERCHANTS)},"
                     f"-{cents // 100}.{cents % 100:02d}")
    return ("\n".join(lines) + "\n").encode()
