"""Mutations of categories: create (client id), partial update, delete (moving transactions)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.categories import service
from app.db import UnitOfWork
from app.errors import DomainError, ErrorCode
from app.graphql.categories.queries import load_categories
from app.graphql.categories.types import (
    Category,
    CategoryCreateInput,
    CategoryCreatePayload,
    CategoryDeleteInput,
    CategoryDeletePayload,
    CategoryUpdateInput,
    CategoryUpdatePayload,
)
from app.graphql.context import Context, Info
from app.graphql.mutation import run_mutation
from app.graphql.node import decode_id, decode_optional_id, from_global_id, to_global_id

ABSENT = "<absent>"


def _client_id(value: str | None) -> uuid.UUID | None:
    """The uuid of a client-chosen Category id; INVALID on `id` when malformed or of another type."""
    if value is None:
        return None
    decoded = from_global_id(value)
    if decoded is None or decoded[0] != "Category":
        raise DomainError(ErrorCode.INVALID, "`id` must be a global id of type Category.", "id")
    return decoded[1]




def _maybe(value: Any) -> Any:
    return ABSENT if value is None else value.value


def _keep(value: Any) -> Any:
    return service.KEEP if value is None else value.value


async def _category(ctx: Context, result: dict[str, Any] | None) -> Category | None:
    if result is None:
        return None
    return (await load_categories(ctx, [uuid.UUID(result["category"])]))[0]


@strawberry.type
class CategoryMutation:
    @strawberry.mutation(description="Create a category: top-level, or under one of the caller's top-level ones.")
    async def category_create(self, info: Info, input: CategoryCreateInput) -> CategoryCreatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            category_id = _client_id(input.id)
            category = await service.create_category(
                uow.session, user_id=principal.user_id, name=input.name,
                parent_id=decode_optional_id(input.parent_id, "Category", "parentId"), kind=input.kind,
                icon=input.icon, color=input.color, position=input.position, category_id=category_id)
            return {"category": str(category.id)}

        data = {"name": input.name, "parentId": input.parent_id, "kind": input.kind, "icon": input.icon,
                "color": input.color, "position": input.position}
        result, errors = await run_mutation(ctx, "categoryCreate", action, key=input.id, data=data)
        if errors:
            return CategoryCreatePayload(category=None, errors=errors)
        return CategoryCreatePayload(category=await _category(ctx, result), errors=[])

    @strawberry.mutation(description="Change some fields of a category; the tree keeps two levels.")
    async def category_update(self, info: Info, input: CategoryUpdateInput) -> CategoryUpdatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            parent = _keep(input.parent_id)
            if parent is not service.KEEP:
                parent = decode_optional_id(parent, "Category", "parentId")
            category = await service.update_category(
                uow.session, user_id=principal.user_id, category_id=decode_id(input.id, "Category"),
                name=_keep(input.name), parent_id=parent, icon=_keep(input.icon), color=_keep(input.color),
                position=_keep(input.position))
            return {"category": str(category.id)}

        data = {"id": input.id, "name": _maybe(input.name), "parentId": _maybe(input.parent_id),
                "icon": _maybe(input.icon), "color": _maybe(input.color), "position": _maybe(input.position)}
        result, errors = await run_mutation(ctx, "categoryUpdate", action, key=input.idempotency_key, data=data)
        if errors:
            return CategoryUpdatePayload(category=None, errors=errors)
        return CategoryUpdatePayload(category=await _category(ctx, result), errors=[])

    @strawberry.mutation(description="Delete a category and its children; their transactions and split lines "
                                     "move to `moveToCategoryId`, or become uncategorized when it is null.")
    async def category_delete(self, info: Info, input: CategoryDeleteInput) -> CategoryDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            deleted = await service.delete_category(
                uow.session, user_id=principal.user_id, category_id=decode_id(input.id, "Category"),
                move_to_id=decode_optional_id(input.move_to_category_id, "Category", "moveToCategoryId"))
            return {"deleted": [str(i) for i in deleted]}

        data = {"id": input.id, "moveToCategoryId": input.move_to_category_id}
        result, errors = await run_mutation(ctx, "categoryDelete", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return CategoryDeletePayload(deleted_id=None, deleted_ids=[], errors=errors)
        ids = [to_global_id("Category", uuid.UUID(i)) for i in result["deleted"]]
        return CategoryDeletePayload(deleted_id=ids[0], deleted_ids=ids, errors=[])
