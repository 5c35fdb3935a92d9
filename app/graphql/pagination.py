"""Relay connections over keyset pages: `first`/`after`, `last`/`before`, `totalCount`, page size <= 100."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from app.graphql.errors import BadUserInput
from app.paging import Page, PageRequest, SortKey

T = TypeVar("T")
MAX_PAGE = 100
DEFAULT_PAGE = 20


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether more items follow this page; fetch them with `after: endCursor`.")
    has_previous_page: bool = strawberry.field(
        description="Whether more items precede this page; fetch them with `before: startCursor`.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of this page; null when the page is empty.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; null when the page is empty.")


@strawberry.type(description="A node with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque position of this item in its list and ordering, for `after` or `before`.")
    node: T = strawberry.field(description="The item itself.")


@strawberry.type(description="A page of a list that grows, with keyset cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(
        description="The items of this page with their cursors, in the list's order; at most 100.")
    page_info: PageInfo = strawberry.field(description="Cursors of this page and whether more pages exist.")
    count_fn: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list (with its filters) holds.")
    async def total_count(self) -> int:
        return await self.count_fn()


def encode_cursor(tag: str, values: Sequence[Any]) -> str:
    """base64url (unpadded) of the compact JSON list [tag, *values as strings]. orjson writes the same bytes
    `json.dumps(..., separators=(",", ":"))` did except for non-ASCII text (an account name as a sort key),
    which it writes as UTF-8 instead of `\\u` escapes; `decode_cursor` reads both, so cursors handed out
    earlier stay valid."""
    raw = orjson.dumps([tag, *[str(v) for v in values]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(tag: str, cursor: str, keys: Sequence[SortKey], argument: str) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(data, list) or data[0] != tag or len(data) != len(keys) + 1:
            raise ValueError("cursor of another list or ordering")
        return tuple(key.parse(value) for key, value in zip(keys, data[1:], strict=True))
    except Exception as exc:
        raise BadUserInput(f"`{argument}` is not a valid cursor for this list") from exc


def page_request(tag: str, keys: Sequence[SortKey], *, first: int | None, after: str | None,
                 last: int | None, before: str | None, max_page: int = MAX_PAGE) -> PageRequest:
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= max_page:
            raise BadUserInput(f"`{name}` must be between 0 and {max_page}")
    if first is not None and last is not None:
        raise BadUserInput("Pass `first` or `last`, not both")
    if first is None and last is None:
        first = DEFAULT_PAGE
    return PageRequest(
        first=first,
        after=decode_cursor(tag, after, keys, "after") if after else None,
        last=last,
        before=decode_cursor(tag, before, keys, "before") if before else None,
    )


def build_connection(page: Page[Any], *, tag: str, key_of: Callable[[Any], Sequence[Any]],
                     to_node: Callable[[Any], T], count_fn: Callable[[], Awaitable[int]]) -> Connection[T]:
    edges = [Edge(cursor=encode_cursor(tag, key_of(row)), node=to_node(row)) for row in page.rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None,
        ),
        count_fn=count_fn,
    )
