"""The export archive: every table holding the user's data as JSON, the main ones as CSV, in one zip.

JSON (`json/<table>.json`) is the complete record: one array per table of the user's rows with every column
except secrets (password and token hashes), generated columns and binary blobs; amounts are exact decimal
strings as stored. CSV (`csv/*.csv`, UTF-8 with a byte-order mark so spreadsheets read accents) is for
people: names next to ids, amounts at the currency's minor units, one row per transaction, split line,
account, category, budget line, goal and goal contribution. Tables added later are exported as JSON
automatically once they have a `user_id` column.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from app.money import format_decimal, minor_units
from app.privacy import repository as repo
from app.privacy.models import ExportFormat

MAX_EXPORT_BYTES = 64 * 1024 * 1024
"""A zip larger than this is not stored (the export FAILS); it lives in a bytea column until downloaded."""
FORMAT_VERSION = 1
EXCLUDED_TABLES = {
    "data_exports": "the exports themselves",
    "refresh_tokens": "credentials (stored hashed)",
    "revoked_access_tokens": "credentials bookkeeping",
    "idempotency_keys": "request bookkeeping",
    "balances": "derived: end-of-day balances are recomputed from opening balances and transactions",
}
SECRET_WORDS = ("password", "token_hash", "token_version", "secret", "credential")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportTooLarge(Exception):
    """The archive outgrew `max_bytes`."""


@dataclass(frozen=True)
class Archive:
    content: bytes
    sha256: str
    files: dict[str, int]
    """Path in the zip -> number of rows written."""

    @property
    def size(self) -> int:
        return len(self.content)


def exported_tables() -> list[sa.Table]:
    """`users` (the user's own row), then every table with a `user_id` column that is not excluded."""
    from app.models import metadata

    tables = [t for t in metadata.sorted_tables if "user_id" in t.c and t.name not in EXCLUDED_TABLES]
    return [metadata.tables["users"], *sorted(tables, key=lambda t: t.name)]


def exported_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.columns
            if not any(word in c.name for word in SECRET_WORDS) and c.computed is None
            and not isinstance(c.type, sa.LargeBinary | TSVECTOR)]


class _Capped(io.BytesIO):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        written = super().write(data)
        if self.tell() > self.limit:
            raise ExportTooLarge(f"the export is larger than {self.limit} bytes")
        return written


async def build_archive(session: AsyncSession, user_id: uuid.UUID, *, formats: Iterable[str],
                        generated_at: dt.datetime, max_bytes: int = MAX_EXPORT_BYTES) -> Archive:
    """The user's data as a zip; `session` should see one snapshot (REPEATABLE READ) so files agree."""
    wanted = {ExportFormat(f) for f in formats}
    buffer = _Capped(max_bytes)
    files: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        if ExportFormat.JSON in wanted:
            for table in exported_tables():
                columns = exported_columns(table)
                path = f"json/{table.name}.json"
                files[path] = await _json_table(zf, path, session, repo.table_rows(table, columns, user_id))
        if ExportFormat.CSV in wanted:
            for name, query, header, cells in CSV_FILES:
                path = f"csv/{name}.csv"
                files[path] = await _csv_file(zf, path, session, query(user_id), header, cells)
        manifest = {"format": "florin-export", "version": FORMAT_VERSION, "generated_at": generated_at.isoformat(),
                    "user_id": str(user_id), "formats": sorted(f.value for f in wanted), "files": files,
                    "excluded_tables": EXCLUDED_TABLES}
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        zf.writestr("README.txt", README.format(generated=generated_at.isoformat()))
    content = buffer.getvalue()
    return Archive(content=content, sha256=hashlib.sha256(content).hexdigest(), files=files)


async def _json_table(zf: zipfile.ZipFile, path: str, session: AsyncSession, stmt: sa.Select[Any]) -> int:
    count = 0
    with zf.open(path, "w", force_zip64=True) as out:
        out.write(b"[")
        chunk: list[str] = []
        async for row in repo.stream(session, stmt):
            chunk.append(("\n" if count == 0 else ",\n") + json.dumps(dict(row._mapping), default=_plain,
                                                                      ensure_ascii=False, sort_keys=True))
            count += 1
            if len(chunk) >= repo.STREAM_BATCH:
                out.write("".join(chunk).encode())
                chunk.clear()
        out.write(("".join(chunk) + ("\n]\n" if count else "]\n")).encode())
    return count


async def _csv_file(zf: zipfile.ZipFile, path: str, session: AsyncSession, stmt: sa.Select[Any],
                    header: list[str], cells: Callable[[Any], list[Any]]) -> int:
    count = 0
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    with zf.open(path, "w", force_zip64=True) as out:
        out.write("\ufeff".encode())
        async for row in repo.stream(session, stmt):
            writer.writerow([_cell(value) for value in cells(row)])
            count += 1
            if count % repo.STREAM_BATCH == 0:
                out.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
        out.write(text.getvalue().encode())
    return count


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    return str(value)


def _text(value: str | None) -> str:
    """Free text from users or banks: a leading `=`, `+`, `-` or `@` is quoted with `'` so a spreadsheet never
    runs it as a formula (OWASP's CSV-injection advice); the JSON files keep it as is."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value


def _money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None or not currency:
        return ""
    try:
        return format_decimal(amount, minor_units(currency.strip()))
    except KeyError:
        return format(amount, "f")


def _transaction(r: Any) -> list[Any]:
    return [r.id, r.booked_on, _text(r.account), r.account_id, _money(r.amount, r.currency), r.currency,
            _text(r.description), _text(r.merchant), _text(r.category), _text(r.parent_category), r.category_id,
            _text(r.notes), [_text(t) for t in r.tags or []], r.status, r.transfer_id, r.has_splits, r.created_at,
            r.updated_at]


def _split(r: Any) -> list[Any]:
    return [r.transaction_id, r.position, _text(r.category), r.category_id, _money(r.amount, r.currency), r.currency,
            _text(r.notes)]


def _account(r: Any) -> list[Any]:
    return [r.id, _text(r.name), r.kind, r.classification, r.currency, _text(r.institution), _text(r.mask),
            _money(r.opening_balance, r.currency), r.opening_date, _money(r.current_balance, r.currency), r.archived,
            r.created_at]


def _category(r: Any) -> list[Any]:
    return [r.id, _text(r.parent), _text(r.name), r.kind, r.icon, r.color, r.position, r.parent_id]


def _budget_line(r: Any) -> list[Any]:
    return [r.id, _text(r.name), r.period, r.start_day, r.starts_on, r.currency, r.rollover, r.thresholds,
            _text(r.category), r.category_id, _money(r.limit_amount, r.currency)]


def _goal(r: Any) -> list[Any]:
    return [r.id, _text(r.name), r.kind, _money(r.target_amount, r.currency), r.currency, r.target_date, r.priority,
            r.status, r.completed_at, _text(r.linked_accounts), r.created_at]


def _contribution(r: Any) -> list[Any]:
    return [r.id, r.goal_id, _text(r.goal), r.day, _money(r.amount, r.currency), r.currency, _text(r.note)]


CSV_FILES: list[tuple[str, Callable[[uuid.UUID], sa.Select[Any]], list[str], Callable[[Any], list[Any]]]] = [
    ("transactions", repo.transactions_csv,
     ["id", "booked_on", "account", "account_id", "amount", "currency", "description", "merchant", "category",
      "parent_category", "category_id", "notes", "tags", "status", "transfer_id", "has_splits", "created_at",
      "updated_at"], _transaction),
    ("transaction_splits", repo.splits_csv,
     ["transaction_id", "position", "category", "category_id", "amount", "currency", "notes"], _split),
    ("accounts", repo.accounts_csv,
     ["id", "name", "kind", "classification", "currency", "institution", "mask", "opening_balance", "opening_date",
      "current_balance", "archived", "created_at"], _account),
    ("categories", repo.categories_csv,
     ["id", "parent", "name", "kind", "icon", "color", "position", "parent_id"], _category),
    ("budgets", repo.budgets_csv,
     ["budget_id", "budget", "period", "start_day", "starts_on", "currency", "rollover", "thresholds", "category",
      "category_id", "limit"], _budget_line),
    ("goals", repo.goals_csv,
     ["id", "name", "kind", "target_amount", "currency", "target_date", "priority", "status", "completed_at",
      "linked_accounts", "created_at"], _goal),
    ("goal_contributions", repo.contributions_csv,
     ["id", "goal_id", "goal", "day", "amount", "currency", "note"], _contribution),
]

README = """Florin data export
==================

Generated at {generated} (UTC).

json/<table>.json  every table holding your data, one JSON array of rows per table, with every column
                   except password and token hashes; amounts are exact decimal strings as stored.
csv/*.csv          transactions, split lines, accounts, categories, budgets (one row per budget line),
                   goals and goal contributions, for spreadsheets: UTF-8, comma-separated, amounts at
                   the currency's minor units; text starting with = + - or @ is prefixed with ' so no
                   spreadsheet runs it as a formula.
manifest.json      what this archive holds and how many rows each file has.

Amounts are signed from your point of view: money in is positive, money out negative.
"""
