"""Statement imports: parse and validate at once, store, and apply later as one IMPORT run.

`prepare` checks the input and parses the file (in a thread): a malformed file is a DomainError
(MALFORMED_FILE naming the line or element, UNSUPPORTED_FORMAT, FILE_TOO_LARGE) and nothing is stored.
`store` matches the file's accounts (app/sync/matching.py), creates the missing ones when asked, stores the
bytes with their sha256 and what parsing found, and queues a run with its `apply_import` job (sent after the
commit). `apply` re-reads the stored bytes exactly as validated and applies the rows through the pipeline
in one transaction (app/sync/runs.py `execute`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.accounts import repository as accounts_repo
from app.accounts import service as accounts_service
from app.accounts.models import Account, AccountKind
from app.db import UnitOfWork, new_id
from app.errors import DomainError, ErrorCode, NotFound
from app.money import parse_amount, parse_currency
from app.rules import learned
from app.sync import repository as repo
from app.sync import runs
from app.sync.matching import AccountMatch, MatchedBy, digits_mask, identity, match_accounts
from app.sync.models import RunKind, StatementImport, SyncRun
from app.sync.pipeline import RunCounts, apply_rows, paused_gc
from app.sync.providers import detect
from app.sync.providers.csv_format import CsvMapping
from app.sync.providers.statement import ParsedAccount, ParsedStatement
from app.sync.providers.values import DateOrder

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.resources import Resources

JOB = "apply_import"
MAX_FILENAME = 255


def size_text(size: int) -> str:
    """1536 -> '1.5 KB', 10485760 -> '10 MB'."""
    for unit, scale in (("MB", 1048576), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def job_id(import_id: uuid.UUID) -> str:
    return f"import:{import_id}"


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file and where its rows go (the `statementImport` input less the file)."""

    format: str | None = None
    """AUTO (or None) to detect, else OFX, QFX, QIF, CAMT053 or CSV."""
    csv_mapping: CsvMapping | None = None
    csv_preset_id: uuid.UUID | None = None
    date_order: str | None = None
    currency: str | None = None
    account_id: uuid.UUID | None = None
    create_missing_accounts: bool = False


@dataclass
class Prepared:
    """A parsed, valid file, ready to be stored."""

    data: bytes
    filename: str
    sha256: str
    statement: ParsedStatement
    options: ImportOptions
    currency: str | None
    date_order: str | None


@dataclass
class Stored:
    import_id: uuid.UUID
    run_id: uuid.UUID
    matches: list[AccountMatch] = field(default_factory=list)


def _options_data(options: ImportOptions) -> dict[str, Any]:
    return {"format": options.format, "csvMapping": options.csv_mapping.to_dict() if options.csv_mapping else None,
            "csvPresetId": str(options.csv_preset_id) if options.csv_preset_id else None,
            "dateOrder": options.date_order, "currency": options.currency,
            "accountId": str(options.account_id) if options.account_id else None,
            "createMissingAccounts": options.create_missing_accounts}


def fingerprint_data(data: bytes, filename: str, options: ImportOptions) -> dict[str, Any]:
    """What identifies a request for idempotency: the file's hash, its name and the options."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "filename": filename, **_options_data(options)}


async def prepare(session: AsyncSession, user_id: uuid.UUID, *, data: bytes, filename: str | None,
                  options: ImportOptions, max_bytes: int = detect.MAX_BYTES) -> Prepared:
    """Check the input and parse the file; DomainError on anything wrong, before anything is stored."""
    if len(data) > max_bytes:  # before any other work
        raise DomainError(ErrorCode.FILE_TOO_LARGE, f"The file is larger than {size_text(max_bytes)}, the most a "
                          "statement may be.", "file")
    currency = parse_currency(options.currency, "currency") if options.currency is not None else None
    date_order = None
    if options.date_order is not None:
        try:
            date_order = DateOrder(options.date_order).value
        except ValueError:
            raise DomainError(ErrorCode.INVALID, "dateOrder is DMY, MDY or YMD.", "dateOrder") from None
    mapping = options.csv_mapping
    if options.csv_preset_id is not None:
        if mapping is not None:
            raise DomainError(ErrorCode.INVALID, "Give csvMapping or csvPresetId, not both.", "csvPresetId")
        presets = await repo.presets_by_ids(session, user_id, [options.csv_preset_id])
        if not presets:
            raise NotFound(message="No CsvMappingPreset with this id", field="csvPresetId")
        mapping = CsvMapping.from_dict(presets[0].mapping)
    if options.account_id is not None:
        account = await accounts_repo.account_by_id(session, user_id, options.account_id)
        if account is None:
            raise NotFound(message="No Account with this id", field="accountId")
        currency = currency or account.currency.strip()
    name = (filename or "statement").strip()[:MAX_FILENAME] or "statement"
    with paused_gc():
        statement = await asyncio.to_thread(detect.parse, data, filename=name, max_bytes=max_bytes,
                                            mapping=mapping, format=options.format, date_order=date_order,
                                            currency=currency)
    return Prepared(data=data, filename=name, sha256=hashlib.sha256(data).hexdigest(), statement=statement,
                    options=options, currency=currency, date_order=date_order)


def _summary(match: AccountMatch) -> dict[str, Any]:
    item = match.parsed
    days = [t.booked_on for t in item.transactions]
    return {
        "index": match.index, "number": item.number, "iban": item.iban, "mask": item.mask, "name": item.name,
        "currency": item.currency, "institution": item.institution,
        "kind": item.kind_hint.value if item.kind_hint else None, "transactions": len(item.transactions),
        "firstDay": min(days).isoformat() if days else None, "lastDay": max(days).isoformat() if days else None,
        "accountId": str(match.account.id) if match.account else None,
        "matchedBy": match.matched_by.value if match.matched_by else None,
        "created": match.matched_by is MatchedBy.CREATED, "reason": None if match.account else match.reason,
    }


def _opening(item: ParsedAccount, currency: str) -> tuple[Decimal, dt.date | None]:
    """The opening balance and day of an account created from a file: its opening balance when given,
    else its closing balance less the file's rows, else 0 from its first row's day."""
    days = [t.booked_on for t in item.transactions]
    first = min(days) if days else None
    try:
        if item.opening_balance is not None:
            return parse_amount(item.opening_balance, currency), item.opening_balance_on or item.period_start or first
        if item.balance is not None:
            moved = sum((t.amount for t in item.transactions if t.currency in (None, currency)), Decimal(0))
            day = min(d for d in (first, item.balance_on) if d is not None) if (first or item.balance_on) else None
            return parse_amount(item.balance - moved, currency), day
    except DomainError:
        pass
    return Decimal(0), first


async def _create(session: AsyncSession, user_id: uuid.UUID, match: AccountMatch, currency: str | None,
                  *, name_currency: bool = False) -> Account:
    """An account for a file's account; `name_currency` adds the currency to its name (the file holds the
    same account number in several currencies)."""
    item = match.parsed
    code = item.currency or currency
    if code is None:
        raise DomainError(ErrorCode.REQUIRED, f"The file does not say the currency of account "
                          f"{item.iban or item.number or match.name or match.index + 1}; give `currency`.", "currency")
    kind = AccountKind(item.kind_hint.value) if item.kind_hint else AccountKind.CHECKING
    mask = digits_mask(item)
    name = match.name or " ".join(p for p in (item.institution, kind.value.replace("_", " ").title(),
                                              f"…{item.mask}" if item.mask else None) if p)
    if name_currency:
        name = f"{name} {code}"
    opening, opening_day = _opening(item, code)
    account = await accounts_service.create_account(
        session, user_id=user_id, name=name[:120], kind=kind, currency=code,
        institution=(item.institution or None) and item.institution[:120], mask=mask, opening_balance=opening,
        opening_date=opening_day)
    external = identity(item.iban or item.number)
    if external:
        account = await accounts_repo.update_account(session, user_id, account.id, {"external_id": external}) \
            or account
    return account


async def store(uow: UnitOfWork, user_id: uuid.UUID, prepared: Prepared, *, enqueue: bool = True) -> Stored:
    """Match the file's accounts, create the missing ones when asked, store the file and queue its run."""
    session = uow.session
    options = prepared.options
    statement = prepared.statement
    mine = list((await session.execute(accounts_repo.accounts_query(user_id, include_archived=True))).scalars())
    chosen = next((a for a in mine if a.id == options.account_id), None)
    if options.account_id is not None and chosen is None:
        raise NotFound(message="No Account with this id", field="accountId")
    matches = match_accounts(statement.accounts, mine, filename=prepared.filename, account=chosen)
    if options.create_missing_accounts:
        idents = [identity(m.parsed.iban or m.parsed.number) or m.name for m in matches]
        for match, ident in zip(matches, idents, strict=True):
            if match.account is None:
                match.account = await _create(session, user_id, match, prepared.currency,
                                              name_currency=ident is not None and idents.count(ident) > 1)
                match.matched_by, match.reason = MatchedBy.CREATED, None
    applied = [m for m in matches if m.account is not None]
    total = sum(len(m.parsed.transactions) for m in applied)
    mapping = statement.csv_mapping
    row = StatementImport(
        id=new_id(), user_id=user_id, name=prepared.filename, format=statement.format.value, sha256=prepared.sha256,
        size=len(prepared.data), content=prepared.data, account_id=options.account_id,
        options={**_options_data(options), "parsedFormat": statement.format.value,
                 "parsedCsvMapping": mapping.to_dict() if mapping else None, "currency": prepared.currency,
                 "dateOrder": prepared.date_order,
                 "accounts": {str(m.index): str(m.account.id) for m in applied if m.account}},
        preview={"accounts": [_summary(m) for m in matches], "warnings": list(statement.warnings),
                 "transactions": statement.transaction_count,
                 "csvMapping": mapping.to_dict() if mapping else None})
    await repo.insert_import(session, row)
    run = await runs.create_run(uow, user_id, kind=RunKind.IMPORT, import_id=row.id, total=total)
    if enqueue:
        uow.enqueue(JOB, str(row.id), job_id=job_id(row.id))
    return Stored(import_id=row.id, run_id=run.id, matches=matches)


def reparse(row: StatementImport) -> ParsedStatement:
    """The stored file read exactly as it was validated (the format and CSV mapping found then)."""
    options = row.options or {}
    mapping = options.get("parsedCsvMapping")
    return detect.parse(row.content, filename=row.name, max_bytes=max(row.size, 1),
                        mapping=CsvMapping.from_dict(mapping) if mapping else None,
                        format=options.get("parsedFormat") or row.format, date_order=options.get("dateOrder"),
                        currency=options.get("currency"))


async def apply(resources: Resources, import_id: uuid.UUID, *, job_try: int = 1, max_tries: int = 1,
                on_progress: runs.ProgressCallback | None = None,
                statement: ParsedStatement | None = None) -> SyncRun | None:
    """Apply a stored import (the `apply_import` job, and `florin import` in-process): one unit of work.

    `statement` is the file as `prepare` parsed it, when the caller still holds it (`florin import` stores
    and applies in one process): the stored bytes are then not parsed a second time. The job parses them.
    """
    async with resources.sessionmaker() as session:
        row = await repo.import_by_id(session, import_id)
        latest = await repo.latest_runs_of_imports(session, row.user_id, [row.id]) if row else {}
    run = latest.get(import_id)
    if row is None or run is None:
        return None
    stored = row

    async def apply_stored(uow: UnitOfWork, run: SyncRun, progress: runs.Progress) -> RunCounts:
        await progress("reading", 0, run.total)
        if statement is not None:
            parsed = statement
        else:
            with paused_gc():
                parsed = await asyncio.to_thread(reparse, stored)
        targets = (stored.options or {}).get("accounts") or {}
        batches = [(uuid.UUID(account_id), parsed.accounts[int(index)].transactions)
                   for index, account_id in sorted(targets.items(), key=lambda kv: int(kv[0]))
                   if int(index) < len(parsed.accounts)]
        counts = await apply_rows(uow, stored.user_id, run_id=run.id, batches=batches)
        learned.queue_categorize(uow, stored.user_id, run.id, counts.added + counts.updated)
        return counts

    return await runs.execute(resources, run.id, apply_stored, job_try=job_try, max_tries=max_tries,
                              on_progress=on_progress)
