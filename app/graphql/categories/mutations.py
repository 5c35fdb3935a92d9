"""Mutations of categories: create (client id), partial update, delete (moving transactions)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.categories import service
from app.db import UnitOfWork
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
from app.graphql.mutation import client_id, fingerprint_value, given, run_mutation
from app.graphql.node import decode_id, decode_optional_id, to_global_id


async def _category(ctx: Context, result: dict[str, Any] | None) -> Category | None:
    if result is None:
        return None
    return (await load_categories(ctx, [uuid.UUID(result["category"])]))[0]

UPDATABLE = ("name", "icon", "color", "position")


@strawberry.type
class CategoryMutation:
    @strawberry.mutation(description="Create a category: top-level, or under one of the caller's top-level ones.")
    async def category_create(self, info: Info, input: CategoryCreateInput) -> CategoryCreatePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            category_id = client_id(input.id, "Category")
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
            parent = given(input.parent_id, service.KEEP)
            if parent is not service.KEEP:
                parent = decode_optional_id(parent, "Category", "parentId")
            category = await service.update_category(
                uow.session, user_id=principal.user_id, category_id=decode_id(input.id, "Category"),
                parent_id=parent, **{name: given(getattr(input, name), service.KEEP) for name in UPDATABLE})
            return {"category": str(category.id)}

        data = {"id": input.id, "parentId": fingerprint_value(input.parent_id),
                **{name: fingerprint_value(getattr(input, name)) for name in UPDATABLE}}
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
