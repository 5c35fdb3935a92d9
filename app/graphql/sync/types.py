"""GraphQL types shared by imports and syncs: SyncRun, its kind and state, and SyncProgress."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.graphql.node import Node, to_global_id
from app.sync.models import RunKind as DomainRunKind
from app.sync.models import RunState as DomainRunState
from app.sync.models import SyncRun as SyncRunRow

SyncRunKind = strawberry.enum(DomainRunKind, name="SyncRunKind",
                              description="IMPORT: a statement file; SYNC: a pull from a connected provider.")
SyncRunState = strawberry.enum(DomainRunState, name="SyncRunState",
                               description="QUEUED, then RUNNING, then SUCCEEDED or FAILED.")


@strawberry.type(description="One import or sync: QUEUED -> RUNNING -> SUCCEEDED | FAILED, with its counts. A run "
                             "applies its rows in one transaction: they land whole or not at all.")
class SyncRun(Node):
    kind: SyncRunKind = strawberry.field(description="What the run does.")  # type: ignore[valid-type]
    state: SyncRunState = strawberry.field(description="Where the run is.")  # type: ignore[valid-type]
    connection_id: strawberry.ID | None = strawberry.field(
        description="The Connection a SYNC run pulls from; null for imports.")
    import_id: strawberry.ID | None = strawberry.field(
        description="The StatementImport an IMPORT run applies; null for syncs.")
    window_start: dt.date | None = strawberry.field(description="First day the run asked the provider for, if any.")
    window_end: dt.date | None = strawberry.field(description="Last day the run asked the provider for, if any.")
    added: int = strawberry.field(description="Transactions added.")
    updated: int = strawberry.field(
        description="Transactions updated in place (a pending one that arrived posted).")
    duplicates: int = strawberry.field(description="Rows skipped because they were already there.")
    errors: int = strawberry.field(
        description="Rows that could not be applied (wrong currency, invalid amount or day); see `error`.")
    error: str | None = strawberry.field(description="Why the run failed, or a note on skipped rows; null otherwise.")
    phase: str | None = strawberry.field(
        description="The current step: queued, starting, reading, matching, applying, categorizing, done, failed.")
    done: int = strawberry.field(description="Rows handled so far.")
    total: int | None = strawberry.field(description="Rows to handle, when known.")
    attempts: int = strawberry.field(
        description="How many times a worker started the run (more than 1 after a retry).")
    created_at: dt.datetime = strawberry.field(description="When the run was queued.")
    started_at: dt.datetime | None = strawberry.field(description="When the latest attempt started.")
    finished_at: dt.datetime | None = strawberry.field(description="When the run succeeded or failed.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: SyncRunRow) -> SyncRun:
        return cls(
            id=to_global_id("SyncRun", row.id), kind=DomainRunKind(row.kind), state=DomainRunState(row.state),
            connection_id=to_global_id("Connection", row.connection_id) if row.connection_id else None,
            import_id=to_global_id("StatementImport", row.import_id) if row.import_id else None,
            window_start=row.window_start, window_end=row.window_end, added=row.added, updated=row.updated,
            duplicates=row.duplicates, errors=row.errors, error=row.error, phase=row.phase, done=row.done,
            total=row.total, attempts=row.attempts, created_at=row.created_at, started_at=row.started_at,
            finished_at=row.finished_at, db_id=row.id,
        )


@strawberry.type(description="A step of a run, as it happens.")
class SyncProgress:
    run: SyncRun = strawberry.field(description="The run as stored when the step was reported.")
    phase: str | None = strawberry.field(description="The step: queued, starting, reading, matching, applying, "
                                                     "categorizing, done or failed.")
    done: int = strawberry.field(description="Rows handled so far in this step.")
    total: int | None = strawberry.field(description="Rows this step handles, when known.")
