"""Queries: `dataExports` (newest first), `dataExport(id)`, the DataExport node and its loader."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.graphql.context import Context, Info
from app.graphql.loaders import in_key_order
from app.graphql.node import from_global_id, register_node
from app.graphql.pagination import Connection, build_connection, page_request
from app.graphql.privacy.types import DataExport
from app.paging import SortKey, count, fetch_page
from app.privacy import repository as repo
from app.privacy import service
from app.privacy.models import DataExport as DataExportRow

E = DataExportRow
NEWEST_FIRST = [SortKey(E.created_at, True, dt.datetime.fromisoformat), SortKey(E.id, True, uuid.UUID)]


async def load_data_exports(ctx: Context, ids: list[uuid.UUID]) -> list[DataExport | None]:
    """The caller's exports for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await service.exports_by_ids(session, principal.user_id, ids)
    return [DataExport.from_row(row) if row is not None else None for row in in_key_order(rows, ids)]


register_node("DataExport")(load_data_exports)


@strawberry.type
class PrivacyQuery:
    @strawberry.field(description="The caller's data exports, newest first, in keyset pages of at most 100.")
    async def data_exports(self, info: Info, first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None) -> Connection[DataExport]:
        ctx = info.context
        principal = ctx.viewer()
        request = page_request("dataExports", NEWEST_FIRST, first=first, after=after, last=last, before=before)
        stmt = repo.exports_query(principal.user_id)
        async with ctx.resources.sessionmaker() as session:
            page = await fetch_page(session, stmt, NEWEST_FIRST, request)

        async def total() -> int:
            async with ctx.resources.sessionmaker() as session:
                return await count(session, stmt)

        return build_connection(page, tag="dataExports", key_of=lambda r: (r.created_at.isoformat(), r.id),
                                to_node=DataExport.from_row, count_fn=total)

    @strawberry.field(description="One of the caller's data exports; null when missing, foreign or of another type.")
    async def data_export(self, info: Info, id: strawberry.ID) -> DataExport | None:
        info.context.viewer()
        decoded = from_global_id(id)
        if decoded is None or decoded[0] != "DataExport":
            return None
        return (await load_data_exports(info.context, [decoded[1]]))[0]
