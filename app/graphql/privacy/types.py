"""GraphQL types of data exports and of erasing the account."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry

from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.privacy import service
from app.privacy.models import DataExport as DataExportRow
from app.privacy.models import ExportFormat as DomainExportFormat
from app.privacy.models import ExportState as DomainExportState

DataExportState = strawberry.enum(
    DomainExportState, name="DataExportState",
    description="Where a data export stands: QUEUED, RUNNING, READY (downloadable once), FAILED, DOWNLOADED or "
                "EXPIRED.")
DataExportFormat = strawberry.enum(
    DomainExportFormat, name="DataExportFormat",
    description="JSON: every table holding the caller's data, complete; CSV: transactions, split lines, accounts, "
                "categories, budgets, goals and contributions for spreadsheets.")


@strawberry.type(description="A copy of all the caller's data as a zip (JSON and/or CSV), prepared in the "
                             "background and downloadable once through a signed link until it expires.")
class DataExport(Node):
    state: DataExportState = strawberry.field(  # type: ignore[valid-type]
        description="Where the export stands; READY past `expiresAt` reads EXPIRED.")
    formats: list[DataExportFormat] = strawberry.field(  # type: ignore[valid-type]
        description="What the zip holds.")
    created_at: dt.datetime = strawberry.field(description="When it was requested.")
    ready_at: dt.datetime | None = strawberry.field(description="When the zip was ready; null before.")
    expires_at: dt.datetime | None = strawberry.field(
        description="Until when the zip can be downloaded; null before it is ready.")
    downloaded_at: dt.datetime | None = strawberry.field(description="When it was downloaded; null before.")
    size: int | None = strawberry.field(description="Size of the zip in bytes; null before it is ready.")
    sha256: str | None = strawberry.field(description="SHA-256 of the zip (hex), to check the download.")
    error: str | None = strawberry.field(description="Why it FAILED; null otherwise.")
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Where to download the zip, once, without an Authorization header (the link is "
                                  "signed): only while READY, else null. A second download is 410 Gone.")
    def download_url(self, info: Info) -> str | None:
        if self.state != DomainExportState.READY or self.expires_at is None:
            return None
        path = service.download_path(info.context.auth_config.secret, self.db_id, self.expires_at)
        return _absolute(info.context.request, path)

    @classmethod
    def from_row(cls, row: DataExportRow) -> DataExport:
        return cls(id=to_global_id("DataExport", row.id), state=service.effective_state(row),
                   formats=[DomainExportFormat(f) for f in row.formats], created_at=row.created_at,
                   ready_at=row.ready_at, expires_at=row.expires_at, downloaded_at=row.downloaded_at, size=row.size,
                   sha256=row.sha256.strip() if row.sha256 else None, error=row.error, db_id=row.id)


def _absolute(request: Any, path: str) -> str:
    """The link on the origin the client reached (a WebSocket's ws(s) as http(s)); a path without a request."""
    base = getattr(request, "base_url", None)
    if base is None:
        return path
    scheme = {"ws": "http", "wss": "https"}.get(base.scheme, base.scheme)
    return f"{scheme}://{base.netloc}{base.path.rstrip('/')}{path}"


@strawberry.input(description="Ask for a copy of all the caller's data; the `export_data` job prepares it.")
class DataExportInput:
    formats: list[DataExportFormat] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="What the zip holds; absent or null: JSON and CSV. Empty is REQUIRED.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `dataExport`.")
class DataExportPayload:
    data_export: DataExport | None = strawberry.field(
        description="The export, QUEUED (or the one already being prepared); null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Erase the caller's account and all its data, for good.")
class MeDeleteInput:
    password: str = strawberry.field(description="The current password, asked again however the request is "
                                                 "signed in (an API token too); wrong: INVALID_CREDENTIALS.")


@strawberry.type(description="The result of `meDelete`.")
class MeDeletePayload:
    deleted_user_id: strawberry.ID | None = strawberry.field(
        description="The global id of the erased User; null when refused. Every token of the user stops working.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
