"""`florin import FILE`: the same prepare/store/apply as `statementImport`, run in this process."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from app.auth import repository as auth_repo
from app.config import Settings
from app.db import read_session, unit_of_work
from app.errors import DomainError, DomainErrors
from app.resources import build_resources
from app.sync import imports
from app.sync.models import RunState
from app.sync.providers.csv_format import CsvMapping


@dataclass
class ImportRequest:
    path: Path
    email: str
    account_id: uuid.UUID | None = None
    format: str | None = None
    date_order: str | None = None
    currency: str | None = None
    create_missing_accounts: bool = False
    csv_mapping: CsvMapping | None = None


class ProgressBar:
    """A one-line text progress bar on a stream (stderr), redrawn in place."""

    def __init__(self, stream: TextIO, width: int = 30):
        self.stream = stream
        self.width = width
        self.drawn = False

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if total:
            filled = min(self.width, self.width * done // max(total, 1))
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        else:
            bar = f"{done}"
        self.stream.write(f"\r{phase:<13}{bar}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _errors(exc: DomainError | DomainErrors) -> str:
    items = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return "\n".join(f"{e.code.value}{f' ({e.field})' if e.field else ''}: {e.message}" for e in items)


async def import_file(settings: Settings, request: ImportRequest, *, out: TextIO = sys.stdout,
                      err: TextIO = sys.stderr) -> int:
    """Import one file for the user with `email`; prints a summary. Returns the exit code (0 when applied)."""
    resources = await build_resources(settings, start_hub=False)
    bar = ProgressBar(err)
    try:
        async with read_session(resources) as session:
            user = await auth_repo.user_by_email(session, request.email.strip().lower())
        if user is None:
            err.write(f"florin import: no user with the email {request.email}\n")
            return 2
        options = imports.ImportOptions(format=request.format, csv_mapping=request.csv_mapping,
                                        date_order=request.date_order, currency=request.currency,
                                        account_id=request.account_id,
                                        create_missing_accounts=request.create_missing_accounts)
        data = request.path.read_bytes()
        try:
            bar("reading", 0, None)
            async with read_session(resources) as session:
                prepared = await imports.prepare(session, user.id, data=data, filename=request.path.name,
                                                 options=options, max_bytes=settings.max_import_bytes)
            async with unit_of_work(resources) as uow:
                stored = await imports.store(uow, user.id, prepared, enqueue=False)
        except (DomainError, DomainErrors) as exc:
            bar.close()
            err.write(f"florin import: {request.path.name} was not imported\n{_errors(exc)}\n")
            return 1
        for match in stored.matches:
            item = match.parsed
            label = item.iban or item.number or match.name or f"account {match.index + 1}"
            where = f"-> {match.account.name} ({match.matched_by.value if match.matched_by else ''})" \
                if match.account else f"not matched: {match.reason}"
            out.write(f"{label}: {len(item.transactions)} transactions {where}\n")
        run = await imports.apply(resources, stored.import_id, on_progress=bar, statement=prepared.statement)
        bar.close()
        if run is None:
            err.write("florin import: the run was taken over by another process\n")
            return 1
        out.write(f"{run.state}: {run.added} added, {run.updated} updated, {run.duplicates} duplicates skipped, "
                  f"{run.errors} errors\n")
        if run.error:
            out.write(f"{run.error}\n")
        return 0 if run.state == RunState.SUCCEEDED.value else 1
    finally:
        await resources.close()
