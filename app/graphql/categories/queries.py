"""Queries of categories: the `categories` tree, `category(id)`, the Category node and its loader."""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence

import strawberry
from strawberry.dataloader import DataLoader

from app.categories import repository as repo
from app.categories.models import Category as CategoryRow
from app.graphql.categories.types import Category
from app.graphql.context import Context, Info
from app.graphql.node import from_global_id, register_node


def build_tree(rows: Sequence[CategoryRow]) -> list[Category]:
    """Roots with their children (rows already ordered); each child's `parent` is its root."""
    children: dict[uuid.UUID, list[CategoryRow]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    return [Category.from_row(row, children=children.get(row.id, [])) for row in rows if row.parent_id is None]


async def load_categories(ctx: Context, ids: list[uuid.UUID]) -> list[Category | None]:
    """The caller's categories for `ids` in key order (None where missing or foreign), each with its
    parent and children, and the parent with all of its children: one statement per batch."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        rows = await repo.subtrees_of(session, principal.user_id, ids)
    found: dict[uuid.UUID, Category] = {}
    for root in build_tree(rows):
        found[root.db_id] = root
        found.update((child.db_id, child) for child in root.children)
    return [found.get(key) for key in ids]


register_node("Category")(load_categories)


def category_loader(ctx: Context) -> DataLoader[uuid.UUID, Category | None]:
    """The request's owner-scoped loader of categories (with parent) by database id: one statement a batch."""

    async def batch(keys: list[Hashable]) -> list[Category | None]:
        return await load_categories(ctx, [uuid.UUID(str(key)) for key in keys])

    return ctx.loaders.get("category_by_id", batch)


@strawberry.type
class CategoryQuery:
    @strawberry.field(description="The caller's category tree: top-level categories by position and name, each "
                                  "with its `children`.")
    async def categories(self, info: Info) -> list[Category]:
        ctx = info.context
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            rows = await repo.all_categories(session, principal.user_id)
        return build_tree(rows)

    @strawberry.field(description="One of the caller's categories with its parent and children; null when missing, "
                                  "foreign or of another type.")
    async def category(self, info: Info, id: strawberry.ID) -> Category | None:
        info.context.viewer()
        decoded = from_global_id(id)
        if decoded is None or decoded[0] != "Category":
            return None
        return await category_loader(info.context).load(decoded[1])
