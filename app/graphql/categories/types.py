"""GraphQL types of categories."""

from __future__ import annotations

import uuid

import strawberry

from app.categories.models import Category as CategoryRow
from app.categories.models import CategoryKind as DomainCategoryKind
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id

CategoryKind = strawberry.enum(DomainCategoryKind, name="CategoryKind",
                               description="EXPENSE, INCOME or TRANSFER.")


@strawberry.type(description="A category of a two-level tree: roots have children, children have a parent.")
class Category(Node):
    name: str = strawberry.field(description="Unique among its siblings, ignoring case.")
    kind: CategoryKind = strawberry.field(  # type: ignore[valid-type]
        description="EXPENSE, INCOME or TRANSFER; a child always has its root's kind.")
    icon: str | None = strawberry.field(description="A short icon name, e.g. `shopping-cart`.")
    color: str | None = strawberry.field(description="`#RRGGBB`.")
    position: int = strawberry.field(description="Order among siblings (then by name).")
    parent: Category | None = strawberry.field(description="The root this category belongs to, if any.")
    children: list[Category] = strawberry.field(description="Sub-categories of a root, in order.")
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


@strawberry.input(description="A new category: a root, or a child of one of the caller's roots (two levels).")
class CategoryCreateInput:
    name: str = strawberry.field(description="1 to 80 characters, unique among its siblings ignoring case.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="A top-level Category; null "
                                                       "for a new top-level category.")
    kind: CategoryKind | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Top-level: default EXPENSE. A child always has its parent's kind.")
    icon: str | None = strawberry.field(default=None, description="A short icon name, e.g. `shopping-cart`.")
    color: str | None = strawberry.field(default=None, description="`#RRGGBB`.")
    position: int | None = strawberry.field(default=None, description="Order among siblings; default: last.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen Category id: the same "
                                                "id with the same input replays, with another input is CONFLICT.")


@strawberry.type(description="The result of `categoryCreate`.")
class CategoryCreatePayload:
    category: Category | None = strawberry.field(description="The new category; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Change some fields of a category: an absent field is unchanged.")
class CategoryUpdateInput:
    id: strawberry.ID = strawberry.field(description="The Category to change.")
    name: strawberry.Maybe[str] = strawberry.field(description="Absent: unchanged.")
    parent_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="Absent: unchanged; null: becomes top-level; an id: moves under that top-level category "
                    "and takes its kind.")
    icon: strawberry.Maybe[str | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    color: strawberry.Maybe[str | None] = strawberry.field(description="`#RRGGBB`; absent: unchanged; null: cleared.")
    position: strawberry.Maybe[int] = strawberry.field(description="Absent: unchanged.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `categoryUpdate`.")
class CategoryUpdatePayload:
    category: Category | None = strawberry.field(description="The category as changed; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Delete a category and its children; their transactions move to "
                              "`moveToCategoryId` or become uncategorized.")
class CategoryDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Category to delete, with its children.")
    move_to_category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where their transactions and split lines go (not one being deleted); "
                                  "null: uncategorized.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `categoryDelete`.")
class CategoryDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id of the deleted category.")
    deleted_ids: list[strawberry.ID] = strawberry.field(description="The deleted category and its children.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
