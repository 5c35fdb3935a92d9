"""A 100k-row statement import through Florin's own path against raw COPY of the same rows.

Not a request loop: one measured step. A deterministic CSV statement (`Date,Description,Amount`, 100,000
rows of card and bank lines over three years) is imported into one user's checking account with
`app.sync.command.import_file` (what `florin import FILE` runs: parse, store the file, then the same
`apply_rows` pipeline as the `apply_import` job: deduplication, bulk insert, categorization, balances,
budget alerts) in this process, twice: the first import adds every row, the re-import finds every row a
duplicate. The floor is the same rows, already as records, COPYed into a scratch table created `LIKE
transactions INCLUDING ALL` (the same columns, defaults, generated search column and indexes), then
dropped. Reported: rows/s of each and the first import's rate as a share of COPY's (target: at least 30 %).
"""

from __future__ import annotations

import datetime as dt
import io
import random
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from bench.data.catalog import MERCHANTS, RATES
from bench.users import BenchUser

ROWS = 100_000
SPAN_DAYS = 3 * 365
TARGET_SHARE = 0.30


@dataclass
class ImportResult:
    rows: int
    file_bytes: int
    account_currency: str
    first_seconds: float
    first_added: int
    first_duplicates: int
    again_seconds: float
    again_added: int
    again_duplicates: int
    copy_seconds: float
    first_output: str = ""
    again_output: str = ""

    @property
    def first_rate(self) -> float:
        return self.rows / self.first_seconds if self.first_seconds else 0.0

    @property
    def again_rate(self) -> float:
        return self.rows / self.again_seconds if self.again_seconds else 0.0

    @property
    def copy_rate(self) -> float:
        return self.rows / self.copy_seconds if self.copy_seconds else 0.0

    @property
    def share(self) -> float:
        return self.first_rate / self.copy_rate if self.copy_rate else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"first_rate": round(self.first_rate), "again_rate": round(self.again_rate),
                               "copy_rate": round(self.copy_rate), "share": round(self.share, 4)}


def statement(user: BenchUser, currency: str, rows: int = ROWS) -> list[tuple[dt.date, str, Decimal]]:
    """(day, description, amount) lines, deterministic per user: spending, refunds and a monthly salary."""
    rng = random.Random(f"florin-bench-import:{user.index}:{rows}")
    places = Decimal(1).scaleb(-(0 if currency == "JPY" else 2))
    first = user.end - dt.timedelta(days=SPAN_DAYS - 1)
    out: list[tuple[dt.date, str, Decimal]] = []
    for n in range(rows):
        day = first + dt.timedelta(days=n * SPAN_DAYS // rows)
        if n % 400 == 0:
            out.append((day, f"GEHALT IMPORT GMBH {day:%m/%Y} REF {n:07d}",
                        Decimal(3200 * RATES.get(currency, 1.0)).quantize(places)))
            continue
        m = MERCHANTS[rng.randrange(len(MERCHANTS))]
        eur = m.low + (m.high - m.low) * rng.random() ** 2
        amount = -Decimal(eur * RATES.get(currency, 1.0)).quantize(places) or -places
        if rng.random() < 0.01:
            amount = -amount
        out.append((day, m.description.format(n=f"{rng.randrange(10**6):06d}", city="BERLIN DE"), amount))
    return out


def csv_bytes(lines: list[tuple[dt.date, str, Decimal]]) -> bytes:
    buf = io.StringIO()
    buf.write("Date,Description,Amount\n")
    for day, description, amount in lines:
        buf.write(f"{day.isoformat()},{description.replace(',', ' ')},{amount}\n")
    return buf.getvalue().encode()


async def copy_floor(dsn: str, user: BenchUser, account_id: uuid.UUID, currency: str,
                     lines: list[tuple[dt.date, str, Decimal]]) -> float:
    """Seconds to COPY the rows into a scratch table shaped like `transactions` (indexes included)."""
    now = dt.datetime.now(dt.UTC)
    records = [(uuid.uuid4(), user.id, account_id, day, amount, currency, description, "", "POSTED", now, now)
               for day, description, amount in lines]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_import_copy")
        await conn.execute("CREATE TABLE bench_import_copy (LIKE transactions INCLUDING ALL)")
        t0 = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("bench_import_copy", records=records, columns=[
                "id", "user_id", "account_id", "booked_on", "amount", "currency", "description", "merchant",
                "status", "created_at", "updated_at"])
        seconds = time.perf_counter() - t0
        await conn.execute("DROP TABLE bench_import_copy")
    finally:
        await conn.close()
    return seconds


async def measure(settings: Any, dsn: str, user: BenchUser, rows: int = ROWS) -> ImportResult:
    from app.sync.command import ImportRequest, import_file

    conn = await asyncpg.connect(dsn)
    try:
        currency = (await conn.fetchval("select currency from accounts where id = $1",
                                        user.accounts["checking"])).strip()
    finally:
        await conn.close()
    lines = statement(user, currency, rows)
    data = csv_bytes(lines)
    copy_seconds = await copy_floor(dsn, user, user.accounts["checking"], currency, lines)
    with tempfile.TemporaryDirectory(prefix="florin-bench-import-") as tmp:
        path = Path(tmp) / "statement-100k.csv"
        path.write_bytes(data)
        runs = []
        for _ in range(2):
            out, err = io.StringIO(), io.StringIO()
            request = ImportRequest(path=path, email=user.email, account_id=user.accounts["checking"])
            t0 = time.perf_counter()
            code = await import_file(settings, request, out=out, err=err)
            seconds = time.perf_counter() - t0
            if code != 0:
                raise RuntimeError(f"florin import failed ({code}): {out.getvalue()[-300:]} {err.getvalue()[-300:]}")
            runs.append((seconds, out.getvalue().strip()))
    counts = []
    conn = await asyncpg.connect(dsn)
    try:
        for row in await conn.fetch("select added, duplicates from sync_runs where user_id = $1 and kind = 'IMPORT' "
                                    "order by created_at", user.id):
            counts.append((row["added"], row["duplicates"]))
    finally:
        await conn.close()
    (first, first_out), (again, again_out) = runs
    return ImportResult(rows, len(data), currency, first, counts[-2][0], counts[-2][1], again, counts[-1][0],
                        counts[-1][1], copy_seconds, first_out[-400:], again_out[-400:])


def markdown(r: dict[str, Any]) -> list[str]:
    share = r["share"]
    return [
        "| step | seconds | rows/s | added | duplicates skipped |", "|---|---:|---:|---:|---:|",
        f"| raw COPY into a table `LIKE transactions INCLUDING ALL` (the floor) | {r['copy_seconds']:.2f} | "
        f"{r['copy_rate']:,} | {r['rows']:,} | – |",
        f"| `florin import` (parse + store + pipeline, dedupe on), first import | {r['first_seconds']:.2f} | "
        f"{r['first_rate']:,} | {r['first_added']:,} | {r['first_duplicates']:,} |",
        f"| the same file again (all duplicates) | {r['again_seconds']:.2f} | {r['again_rate']:,} | "
        f"{r['again_added']:,} | {r['again_duplicates']:,} |",
        "",
        f"First import / raw COPY: **{share:.1%}** of the COPY rate (target >= {TARGET_SHARE:.0%}: "
        f"{'met' if share >= TARGET_SHARE else '**not met**'}). The statement: {r['rows']:,} CSV rows, "
        f"{r['file_bytes'] / 2**20:.1f} MiB, {r['account_currency']}.",
    ]
