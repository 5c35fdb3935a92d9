"""Rules of categories: the built-in set, a two-level tree per user, create, update, delete. Never commits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import effects
from app.categories import repository as repo
from app.categories.builtin import BUILTIN_CATEGORIES
from app.categories.models import Category, CategoryKind
from app.db import new_id
from app.errors import Collector, Conflict, DomainError, ErrorCode, NotFound

MAX_NAME = 80
MAX_ICON = 40
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_POSITION = range(-(2**31), 2**31)


class _Keep(Enum):
    KEEP = "KEEP"


KEEP = _Keep.KEEP
"""Default of partial-update arguments: leave the value as it is (None means clear)."""


async def seed_builtin_categories(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Copy the built-in tree to the user (their own rows, free to change) with one multi-row INSERT."""
    rows: list[dict[str, Any]] = []
    for position, root in enumerate(BUILTIN_CATEGORIES):
        root_id = new_id()
        rows.append({"id": root_id, "user_id": user_id, "parent_id": None, "name": root.name,
                     "kind": root.kind.value, "icon": root.icon, "color": root.color, "position": position})
        for child_position, (name, icon) in enumerate(root.children):
            rows.append({"id": new_id(), "user_id": user_id, "parent_id": root_id, "name": name,
                         "kind": root.kind.value, "icon": icon, "color": root.color, "position": child_position})
    await repo.insert_many(session, rows)


def _name(value: str | None, errors: Collector) -> str:
    name = (value or "").strip()
    if not name:
        errors.add(ErrorCode.REQUIRED, "Name is required.", "name")
    elif len(name) > MAX_NAME:
        errors.add(ErrorCode.TOO_LONG, f"Name must have at most {MAX_NAME} characters.", "name")
    return name


def _icon(value: str | None, errors: Collector) -> str | None:
    icon = (value or "").strip()
    if len(icon) > MAX_ICON:
        errors.add(ErrorCode.TOO_LONG, f"Icon must have at most {MAX_ICON} characters.", "icon")
    return icon or None


def _color(value: str | None, errors: Collector) -> str | None:
    color = (value or "").strip()
    if not color:
        return None
    if not _COLOR.fullmatch(color):
        errors.add(ErrorCode.INVALID, "Color must be written #RRGGBB, like #2E7D32.", "color")
    return color.upper()


def _position(value: int | None, errors: Collector) -> int | None:
    if value is not None and value not in _POSITION:
        errors.add(ErrorCode.INVALID, "Position is out of range.", "position")
    return value


async def _root_parent(session: AsyncSession, user_id: uuid.UUID, parent_id: uuid.UUID,
                       errors: Collector) -> Category | None:
    """The user's root category `parent_id`, or None with NOT_FOUND / INVALID on `parentId` collected."""
    parent = await repo.category_by_id(session, user_id, parent_id, key_share=True)
    if parent is None:
        errors.add(ErrorCode.NOT_FOUND, "No Category with this id", "parentId")
        return None
    if parent.parent_id is not None:
        errors.add(ErrorCode.INVALID, "Categories have two levels: the parent must be a top-level category.",
                   "parentId")
        return None
    return parent


async def create_category(session: AsyncSession, *, user_id: uuid.UUID, name: str | None,
                          parent_id: uuid.UUID | None = None, kind: CategoryKind | None = None,
                          icon: str | None = None, color: str | None = None, position: int | None = None,
                          category_id: uuid.UUID | None = None) -> Category:
    """A new root (kind EXPENSE unless given) or a child of one of the user's roots (the parent's kind).

    Without `position` the category goes after its siblings. Every bad field is reported at once.
    """
    errors = Collector()
    clean_name = _name(name, errors)
    clean_icon, clean_color, position = _icon(icon, errors), _color(color, errors), _position(position, errors)
    parent = await _root_parent(session, user_id, parent_id, errors) if parent_id is not None else None
    final_kind = CategoryKind(kind) if kind is not None else CategoryKind.EXPENSE
    if parent is not None:
        if kind is not None and CategoryKind(kind).value != parent.kind:
            errors.add(ErrorCode.INVALID, f"A sub-category has its parent's kind, {parent.kind}.", "kind")
        final_kind = CategoryKind(parent.kind)
    if clean_name and not errors.errors:
        taken, next_position = await repo.sibling_state(session, user_id, parent_id, clean_name)
        if taken:
            errors.add(ErrorCode.CONFLICT, "A category with this name already exists here.", "name")
        position = next_position if position is None else position
    errors.raise_if_any()
    new = category_id or new_id()
    row = await repo.insert_category(session, {
        "id": new, "user_id": user_id, "parent_id": parent_id, "name": clean_name, "kind": final_kind.value,
        "icon": clean_icon, "color": clean_color, "position": position or 0})
    if row is None:  # the id is taken, or a concurrent create won the name
        if category_id is not None and await repo.id_taken(session, category_id):
            raise Conflict(message="This id cannot be used for a new category; choose another.", field="id")
        raise Conflict(message="A category with this name already exists here.", field="name")
    return row


@dataclass
class _Plan:
    values: dict[str, Any]
    parent_id: uuid.UUID | None


async def update_category(session: AsyncSession, *, user_id: uuid.UUID, category_id: uuid.UUID,
                          name: str | _Keep = KEEP, parent_id: uuid.UUID | None | _Keep = KEEP,
                          icon: str | None | _Keep = KEEP, color: str | None | _Keep = KEEP,
                          position: int | _Keep = KEEP) -> Category:
    """Change only the arguments given (KEEP leaves a value; None clears icon/color, or makes a root).

    The tree keeps two levels: the new parent must be one of the user's roots, not the category itself,
    and a category with children cannot get a parent. Under a parent, a category takes its kind.
    """
    category = await repo.category_by_id(session, user_id, category_id, for_update=True)
    if category is None:
        raise NotFound(message="No Category with this id", field="id")
    errors = Collector()
    plan = _Plan({}, category.parent_id)
    if name is not KEEP:
        plan.values["name"] = _name(name, errors)
    if icon is not KEEP:
        plan.values["icon"] = _icon(icon, errors)
    if color is not KEEP:
        plan.values["color"] = _color(color, errors)
    if position is not KEEP:
        plan.values["position"] = _position(position, errors) or 0
    if parent_id is not KEEP and parent_id != category.parent_id:
        await _plan_parent(session, user_id, category, parent_id, plan, errors)
    new_name = plan.values.get("name", category.name)
    if new_name and not errors.errors and ("name" in plan.values or "parent_id" in plan.values):
        taken, _ = await repo.sibling_state(session, user_id, plan.parent_id, new_name, exclude_id=category.id)
        if taken:
            errors.add(ErrorCode.CONFLICT, "A category with this name already exists here.", "name")
    errors.raise_if_any()
    if not plan.values:
        return category
    try:
        async with session.begin_nested():
            updated = await repo.update_category(session, user_id, category_id, plan.values)
    except IntegrityError as exc:  # a concurrent rename or create won the name
        raise Conflict(message="A category with this name already exists here.", field="name") from exc
    assert updated is not None  # the row is locked
    return updated


async def _plan_parent(session: AsyncSession, user_id: uuid.UUID, category: Category, parent_id: uuid.UUID | None,
                       plan: _Plan, errors: Collector) -> None:
    plan.parent_id = parent_id
    plan.values["parent_id"] = parent_id
    if parent_id is None:  # becomes a root and keeps its kind
        return
    if parent_id == category.id:
        errors.add(ErrorCode.INVALID, "A category cannot be its own parent.", "parentId")
        return
    parent = await _root_parent(session, user_id, parent_id, errors)
    if parent is None:
        return
    if await repo.has_children(session, user_id, category.id):
        errors.add(ErrorCode.INVALID, "A category with sub-categories cannot get a parent: two levels only.",
                   "parentId")
        return
    plan.values["kind"] = parent.kind


async def delete_category(session: AsyncSession, *, user_id: uuid.UUID, category_id: uuid.UUID,
                          move_to_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Delete a category and its children; returns the deleted ids (the category first).

    Their transactions and split lines move to `move_to_id` (one of the user's categories outside the
    deleted ones) or become uncategorized, with `updated_at` touched so offline clients notice; a
    tombstone is written for every deleted category.
    """
    await effects.lock_ledger(session, user_id)
    deleted = await repo.lock_subtree(session, user_id, category_id)
    if not deleted:
        raise NotFound(message="No Category with this id", field="id")
    if move_to_id is not None:
        if move_to_id in deleted:
            raise DomainError(ErrorCode.INVALID, "Transactions cannot move to a category that is being deleted.",
                              "moveToCategoryId")
        if await repo.category_by_id(session, user_id, move_to_id, key_share=True) is None:
            raise NotFound(message="No Category with this id", field="moveToCategoryId")
    await repo.move_split_lines(session, user_id, deleted, move_to_id)
    await repo.move_transactions(session, user_id, deleted, move_to_id)
    effects.touch_categories(session, user_id, (*deleted, move_to_id))
    await repo.insert_tombstones(session, user_id, "Category", deleted)
    await repo.delete_categories(session, user_id, deleted)
    return [category_id, *(i for i in deleted if i != category_id)]
