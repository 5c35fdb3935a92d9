"""GraphQL types of categories."""

from __future__ import annotations

import uuid

import strawberry

from app.categories.models import Category as CategoryRow
from app.categories.models import CategoryKind as DomainCategoryKind
from app.graphql.node import Node, to_global_id

CategoryKind = strawberry.enum(DomainCategoryKind, name="CategoryKind",
                               description="EXPENSE, INCOME or TRANSFER.")


@strawberry.type(description="A category of a two-level tree: roots have children, children have a parent.")
class Category(Node):
    name: str
    kind: CategoryKind  # type: ignore[valid-type]
    icon: str | None
    color: str | None
    position: int
    parent: Category | None = strawberry.field(description="The root this category belongs to, if any.")
    children: list[Category] = strawberry.field(description="Sub-categories (filled on roots of `categories`).")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: CategoryRow, parent: CategoryRow | None = None,
                 children: list[CategoryRow] | None = None) -> Category:
        parent_type = cls.from_row(parent) if parent is not None else None
        node = cls(id=to_global_id("Category", row.id), name=row.name, kind=DomainCategoryKind(row.kind),
                   icon=row.icon, color=row.color, position=row.position, parent=parent_type, children=[],
                   db_id=row.id)
        node.children = [cls.from_row(child, None) for child in children or []]
        for child in node.children:
            child.parent = node
        return node
