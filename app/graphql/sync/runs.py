"""Sync runs: `syncRuns` (newest first), `syncProgress(runId)`, the SyncRun node and its loader."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from app.graphql.context import Context, Info
from app.graphql.errors import TopLevelError
from app.graphql.loaders import in_key_order
from app.graphql.node import from_global_id, register_node
from app.graphql.pagination import Connection, build_connection, page_request
from app.graphql.sync.types import SyncProgress, SyncRun, SyncRunKind, SyncRunState
from app.paging import SortKey, count, fetch_page
from app.sync import service as sync_service
from app.sync.events import SyncProgressed
from app.sync.models import RunKind, RunState
from app.sync.models import SyncRun as SyncRunRow

NEWEST_FIRST = [SortKey(SyncRunRow.created_at, True, dt.datetime.fromisoformat),
                SortKey(SyncRunRow.id, True, uuid.UUID)]
FINISHED = frozenset({RunState.SUCCEEDED.value, RunState.FAILED.value})
_NOWHERE = uuid.UUID(int=0)


class RunNotFound(TopLevelError):
    code = "NOT_FOUND"


async def load_runs(ctx: Context, ids: list[uuid.UUID]) -> list[SyncRun | None]:
    """The caller's runs for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await sync_service.runs_by_ids(session, principal.user_id, ids)
    return [SyncRun.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("SyncRun")(load_runs)


def _id_of(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    """The uuid of a global id of `type_name`; a malformed one or one of another type matches nothing."""
    if value is None:
        return None
    decoded = from_global_id(value)
    return decoded[1] if decoded is not None and decoded[0] == type_name else _NOWHERE


@strawberry.input(description="Which runs to list; absent fields do not filter.")
class SyncRunFilter:
    kind: SyncRunKind | None = strawberry.field(default=None, description="Only imports or only syncs.")  # type: ignore[valid-type]
    state: SyncRunState | None = strawberry.field(default=None, description="Only runs in this state.")  # type: ignore[valid-type]
    connection_id: strawberry.ID | None = strawberry.field(default=None,
                                                           description="Only the runs of this Connection.")
    import_id: strawberry.ID | None = strawberry.field(default=None,
                                                       description="Only the runs of this StatementImport.")


@strawberry.type
class RunQuery:
    @strawberry.field(description="The caller's imports and syncs, newest first, in keyset pages of at most 100.")
    async def sync_runs(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        filter: Annotated[SyncRunFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[SyncRun]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("syncRuns", NEWEST_FIRST, first=first, after=after, last=last, before=before)
        f = filter or SyncRunFilter()
        stmt = sync_service.runs_query(
            principal.user_id, kind=RunKind(f.kind).value if f.kind else None,
            state=RunState(f.state).value if f.state else None,
            connection_id=_id_of(f.connection_id, "Connection"), import_id=_id_of(f.import_id, "StatementImport"))
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, NEWEST_FIRST, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        return build_connection(page, tag="syncRuns", key_of=lambda r: (r.created_at.isoformat(), r.id),
                                to_node=SyncRun.from_row, count_fn=total)


@strawberry.type
class RunSubscription:
    @strawberry.subscription(description="The progress of one of the caller's runs: first its state now, then each "
                                         "step as it happens (from any worker), ending after SUCCEEDED or FAILED. "
                                         "Another user's or an unknown run is a NOT_FOUND error.")
    async def sync_progress(
        self, info: Info,
        run_id: Annotated[strawberry.ID, strawberry.argument(description="The SyncRun to follow.")],
    ) -> AsyncGenerator[SyncProgress, None]:
        ctx = info.context
        principal = ctx.viewer()
        wanted = _id_of(run_id, "SyncRun") or _NOWHERE
        async with ctx.resources.hub.subscribe(principal.user_id) as queue:
            run = (await load_runs(ctx, [wanted]))[0]  # after subscribing: no later step is missed
            if run is None:
                raise RunNotFound("No SyncRun with this id")
            yield SyncProgress(run=run, phase=run.phase, done=run.done, total=run.total)
            finished = RunState(run.state).value in FINISHED
            while not finished:
                event = await queue.get()
                if not isinstance(event, SyncProgressed):
                    if type(event).__name__ == "_Closed":  # the hub is closing
                        return
                    continue
                if event.run_id != wanted:
                    continue
                run = (await load_runs(ctx, [wanted]))[0]
                if run is None:
                    return
                finished = event.state in FINISHED
                yield SyncProgress(run=run, phase=event.phase, done=event.done, total=event.total)
