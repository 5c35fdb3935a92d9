"""Rules of data exports (request, prepare, download once, expire) and of erasing a user.

The download link is `/exports/{id}?token=…`. The token is an HMAC (the secret key) of the export id and its
expiry, so the owner can be shown the link again at any time while only its SHA-256 is stored; it works once,
until `expires_at`. A wrong token is answered like an unknown id (404), so a link reveals nothing about
exports it does not open; a used or expired one is 410 Gone.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import verify_password
from app.auth.principal import Principal
from app.auth.service import AuthConfig, Origin, audit
from app.auth.tokens import hash_token
from app.db import UnitOfWork, new_id, unit_of_work, utcnow
from app.effects import lock_ledger
from app.errors import AuthError, DomainError, ErrorCode
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from app.privacy import repository as repo
from app.privacy.export import MAX_EXPORT_BYTES, ExportTooLarge, build_archive
from app.privacy.models import IN_FLIGHT, DataExport, ExportFormat, ExportState
from app.resources import Resources

log = logging.getLogger("florin.privacy")

JOB = "export_data"
EXPORT_TTL = dt.timedelta(hours=48)
"""How long a ready export can be downloaded."""
MAX_EXPORTS_PER_DAY = 5
"""Exports one user may request in 24 hours (each reads every row they have)."""


def job_id(export_id: uuid.UUID) -> str:
    return f"export:{export_id}"


# --- the download link ---------------------------------------------------------------------------------------


def download_token(secret: str, export_id: uuid.UUID, expires_at: dt.datetime) -> str:
    message = f"florin-data-export:{export_id}:{int(expires_at.timestamp())}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def download_path(secret: str, export_id: uuid.UUID, expires_at: dt.datetime) -> str:
    return f"/exports/{export_id}?token={download_token(secret, export_id, expires_at)}"


def effective_state(row: DataExport, now: dt.datetime | None = None) -> ExportState:
    """A READY export past its expiry is EXPIRED even before the hourly job says so."""
    state = ExportState(row.state)
    if state == ExportState.READY and row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return ExportState.EXPIRED
    return state


# --- requesting an export ------------------------------------------------------------------------------------


async def request_export(uow: UnitOfWork, *, principal: Principal, formats: Sequence[ExportFormat] | None = None,
                         origin: Origin | None = None) -> DataExport:
    """Queue an export of everything the user has. While one is queued or running, that one is returned (and
    its job enqueued again, which arq ignores when it is still queued)."""
    session = uow.session
    chosen = list(dict.fromkeys(ExportFormat(f) for f in formats)) if formats is not None else list(ExportFormat)
    if not chosen:
        raise DomainError(ErrorCode.REQUIRED, "Choose at least one format", "formats")
    await repo.lock_requests(session, principal.user_id)
    pending = await repo.in_flight(session, principal.user_id)
    if pending is not None:
        uow.enqueue(JOB, str(pending.id), job_id=job_id(pending.id))
        return pending
    now = utcnow()
    if await repo.created_since(session, principal.user_id, now - dt.timedelta(days=1)) >= MAX_EXPORTS_PER_DAY:
        raise DomainError(ErrorCode.LIMIT_EXCEEDED,
                          f"At most {MAX_EXPORTS_PER_DAY} exports a day; try again tomorrow", None)
    row = DataExport(id=new_id(), user_id=principal.user_id, state=ExportState.QUEUED.value,
                     formats=[f.value for f in ExportFormat if f in chosen], created_at=now)
    repo.add(session, row)
    await session.flush()
    audit(session, "data_export.request", user_id=principal.user_id, origin=origin, entity="DataExport",
          entity_id=row.id, details={"formats": row.formats})
    uow.enqueue(JOB, str(row.id), job_id=job_id(row.id))
    return row


async def exports_by_ids(session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
                         ) -> list[DataExport]:
    return await repo.exports_by_ids(session, user_id, ids)


# --- preparing it (the `export_data` job) --------------------------------------------------------------------


async def prepare_export(resources: Resources, export_id: uuid.UUID, *, max_bytes: int = MAX_EXPORT_BYTES
                         ) -> ExportState | None:
    """Build and store the zip of a QUEUED (or interrupted RUNNING) export; other states are left alone, so
    running twice is harmless. Returns the state it ends in (None when the export no longer exists)."""
    async with unit_of_work(resources) as uow:
        row = await repo.export_for_update(uow.session, export_id)
        if row is None or row.state not in IN_FLIGHT:
            return None if row is None else ExportState(row.state)
        await repo.update_export(uow.session, export_id, state=ExportState.RUNNING.value, started_at=utcnow())
        user_id, formats = row.user_id, list(row.formats)

    try:
        async with resources.sessionmaker() as session:
            # one snapshot, so the files agree with each other even while the user keeps writing
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                                        "postgresql_readonly": True})
            archive = await build_archive(session, user_id, formats=formats, generated_at=utcnow(),
                                          max_bytes=max_bytes)
    except ExportTooLarge:
        return await fail_export(resources, export_id, f"The export is larger than the limit of {max_bytes} bytes")

    async with unit_of_work(resources) as uow:
        row = await repo.export_for_update(uow.session, export_id)
        if row is None or row.state != ExportState.RUNNING.value:  # erased, or finished by another run
            return None if row is None else ExportState(row.state)
        ready_at = utcnow()
        expires_at = (ready_at + EXPORT_TTL).replace(microsecond=0)
        token = download_token(resources.settings.secret_key.get_secret_value(), export_id, expires_at)
        await repo.update_export(uow.session, export_id, state=ExportState.READY.value, ready_at=ready_at,
                                 expires_at=expires_at, size=archive.size, sha256=archive.sha256,
                                 token_hash=hash_token(token), content=archive.content, error=None)
        await notify(uow, user_id, kind=NotificationKind.DATA_EXPORT_READY, title="Your data export is ready",
                     body=f"Download it once before {expires_at:%Y-%m-%d %H:%M} UTC; the link then stops working.",
                     data={"dataExportId": str(export_id), "expiresAt": expires_at.isoformat(),
                           "size": archive.size},
                     subject_id=export_id)
    log.info("data export %s ready: %d bytes", export_id, archive.size)
    return ExportState.READY


async def fail_export(resources: Resources, export_id: uuid.UUID, reason: str) -> ExportState | None:
    """Mark a queued or running export FAILED with a reason the user may read."""
    async with unit_of_work(resources) as uow:
        row = await repo.export_for_update(uow.session, export_id)
        if row is None or row.state not in IN_FLIGHT:
            return None if row is None else ExportState(row.state)
        await repo.update_export(uow.session, export_id, state=ExportState.FAILED.value, error=reason[:200],
                                 content=None)
    return ExportState.FAILED


async def expire_exports(resources: Resources, now: dt.datetime | None = None) -> int:
    """READY exports past their expiry become EXPIRED and their zips are dropped."""
    async with unit_of_work(resources) as uow:
        return await repo.expire_ready(uow.session, now or utcnow())


# --- downloading it ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    content: bytes
    sha256: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Refused:
    status: int
    """404: no such export for this token; 410: already downloaded or expired."""
    message: str


NOT_FOUND = Refused(404, "Not found")


async def download(uow: UnitOfWork, *, secret: str, export_id: uuid.UUID, token: str,
                   origin: Origin | None = None, now: dt.datetime | None = None) -> Download | Refused:
    """Hand out the zip once. The caller commits in every case (an expired export is marked EXPIRED)."""
    session = uow.session
    now = now or utcnow()
    row = await repo.download_row(session, export_id)
    if row is None or not row.token_hash or not token or len(token) > 128:
        return NOT_FOUND
    if not hmac.compare_digest(row.token_hash.strip(), hash_token(token)):
        return NOT_FOUND
    if row.state == ExportState.DOWNLOADED.value:
        return Refused(410, "This export was already downloaded; request a new one")
    if row.state == ExportState.EXPIRED.value or (row.expires_at is not None and row.expires_at <= now):
        if row.state != ExportState.EXPIRED.value:
            await repo.mark_expired(session, export_id)
        return Refused(410, "This export link has expired; request a new one")
    if row.state != ExportState.READY.value:
        return NOT_FOUND
    content = await repo.take_content(session, export_id, now)
    if content is None:
        return Refused(410, "This export was already downloaded; request a new one")
    audit(session, "data_export.download", user_id=row.user_id, origin=origin, entity="DataExport",
          entity_id=export_id, details={"size": len(content), "sha256": row.sha256})
    return Download(content=content, sha256=row.sha256, created_at=row.created_at)


# --- erasing the user ----------------------------------------------------------------------------------------


async def erase_user(uow: UnitOfWork, *, config: AuthConfig, principal: Principal, password: str | None,
                     origin: Origin | None = None) -> uuid.UUID:
    """Delete the user and, by cascade, every row of theirs in every table, after checking the password again
    (whatever signed the request in, an API token too). The audit log keeps the deletion (it has no foreign key
    to users by design). Every token stops working: the user behind it is gone."""
    session = uow.session
    stored = await repo.password_hash(session, principal.user_id)
    if stored is None:
        raise AuthError("user no longer exists")
    if not await verify_password(stored, password or "", config.hash_time_cost, config.hash_memory_kib):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Password is wrong", "password")
    await lock_ledger(session, principal.user_id)  # no ledger writer of this user is half-way through
    if not await repo.delete_user(session, principal.user_id, stored):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Password is wrong", "password")  # changed meanwhile
    audit(session, "user.delete", user_id=principal.user_id, origin=origin, entity="User",
          entity_id=principal.user_id, details={"via": "api_token" if principal.via_api_token else "session"})
    log.info("user %s erased", principal.user_id)
    return principal.user_id
