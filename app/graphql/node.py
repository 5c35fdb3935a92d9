"""Relay global ids (base64 of `Type:uuid`), the Node interface, and `node`/`nodes` lookups."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import strawberry

from app.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from app.graphql.context import Context

MAX_NODES = 100


@strawberry.interface(description="An object with a global id, fetchable with `node(id)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The global id of the object.")


def to_global_id(type_name: str, value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{value}".encode()).decode())


def from_global_id(value: str) -> tuple[str, uuid.UUID] | None:
    """(type name, uuid) or None for anything malformed."""
    try:
        text = base64.b64decode(value.encode(), validate=True).decode()
        type_name, _, raw = text.partition(":")
        return type_name, uuid.UUID(raw)
    except (binascii.Error, UnicodeError, ValueError, AttributeError):
        return None


def decode_id(value: str | None, type_name: str, field: str = "id") -> uuid.UUID:
    """The uuid behind a global id of `type_name`; a malformed id or one of another type is NOT_FOUND."""
    decoded = from_global_id(value or "")
    if decoded is None or decoded[0] != type_name:
        raise DomainError(ErrorCode.NOT_FOUND, f"No {type_name} with this id", field)
    return decoded[1]


def decode_ids(values: list[str], type_name: str, field: str) -> list[uuid.UUID]:
    return [decode_id(value, type_name, f"{field}.{i}") for i, value in enumerate(values)]


def decode_optional_id(value: str | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if value is None else decode_id(value, type_name, field)


# type name -> batch loader of that type's nodes for the context's principal (None where missing)
NodeFetcher = Callable[["Context", list[uuid.UUID]], Awaitable[list[Any]]]
NODE_FETCHERS: dict[str, NodeFetcher] = {}


def register_node(type_name: str) -> Callable[[NodeFetcher], NodeFetcher]:
    def wrap(fetcher: NodeFetcher) -> NodeFetcher:
        NODE_FETCHERS[type_name] = fetcher
        return fetcher

    return wrap


async def resolve_nodes(ctx: Context, ids: list[str]) -> list[Any]:
    """Look up many global ids; a missing, foreign, malformed or unknown-type id gives null."""
    decoded = [from_global_id(value) for value in ids]
    by_type: dict[str, list[uuid.UUID]] = {}
    for item in decoded:
        if item is not None and item[0] in NODE_FETCHERS:
            by_type.setdefault(item[0], []).append(item[1])
    found: dict[tuple[str, uuid.UUID], Any] = {}
    for type_name, keys in by_type.items():
        unique = list(dict.fromkeys(keys))
        for key, obj in zip(unique, await NODE_FETCHERS[type_name](ctx, unique), strict=True):
            found[(type_name, key)] = obj
    return [found.get(item) if item is not None else None for item in decoded]
