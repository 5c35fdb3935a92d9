"""The assistant's read-only tools: declarations for the model and the functions that answer them.

The model never reads the database: it chooses among these tools and words its answer from their results.
Declarations are built per user (`load_toolbox`, one statement): the `category`, `account`, `goal`, `budget`
and `merchant` parameters list that user's own names as enums. Every tool runs for the toolbox's user only;
nothing in the arguments can name another user's row, because names are looked up in that user's own list.

Results are plain JSON: money as `{"amount": "12.50", "currency": "EUR"}` strings (never floats), each
with what an answer needs: the period, the currency, the rates used (`conversions`) and what had no rate
(`unconverted`, left out of the figures rather than guessed). Lists are paged at 50 rows (`page`).
Flows are converted into the user's base currency at each transaction day's rate.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ai.model import FunctionCall, FunctionDeclaration
from app.auth.principal import Principal
from app.chat import tool_sql

PAGE_SIZE = 50


class ToolError(Exception):
    """A call the tool cannot answer as asked (bad date, unknown name); the model is told the message."""


@dataclass(frozen=True)
class CategoryRef:
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    kind: str


@dataclass(frozen=True)
class AccountRef:
    id: uuid.UUID
    name: str
    kind: str
    classification: str
    currency: str
    archived: bool


@dataclass
class ToolContext:
    """What every tool knows: whose data, in which currency, which day is today, and the user's names."""

    principal: Principal
    today: dt.date
    categories: dict[str, CategoryRef] = field(default_factory=dict)
    """By enum label: the name, or "Parent / Name" when several categories share a name."""
    accounts: dict[str, AccountRef] = field(default_factory=dict)
    goals: dict[str, uuid.UUID] = field(default_factory=dict)
    budgets: dict[str, uuid.UUID] = field(default_factory=dict)
    merchants: list[str] = field(default_factory=list)
    category_by_id: dict[uuid.UUID, CategoryRef] = field(default_factory=dict)
    account_by_id: dict[uuid.UUID, AccountRef] = field(default_factory=dict)
    _labels: dict[uuid.UUID, str] = field(default_factory=dict, repr=False)

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    @property
    def currency(self) -> str:
        return self.principal.base_currency.strip()

    def category_label(self, category_id: uuid.UUID | None) -> str:
        if category_id is None:
            return "Uncategorized"
        if len(self._labels) != len(self.categories):
            self._labels = {ref.id: label for label, ref in self.categories.items()}
        return self._labels.get(category_id, "Uncategorized")

    # -- names in arguments -> the user's rows --------------------------------------------------------------

    def category(self, value: Any) -> CategoryRef | None:
        return _lookup(self.categories, value, "category")

    def category_ids(self, value: Any) -> list[uuid.UUID] | None:
        """The category and its subcategories; None when no category was asked."""
        ref = self.category(value)
        if ref is None:
            return None
        return [ref.id, *[c.id for c in self.category_by_id.values() if c.parent_id == ref.id]]

    def account(self, value: Any) -> AccountRef | None:
        return _lookup({k: v for k, v in self.accounts.items() if not v.archived}, value, "account")

    def goal(self, value: Any) -> uuid.UUID | None:
        return _lookup(self.goals, value, "goal")

    def budget(self, value: Any) -> uuid.UUID | None:
        return _lookup(self.budgets, value, "budget")

    def merchant(self, value: Any) -> str | None:
        """The merchant as stored when it is one of the listed ones (case-insensitively), else the text given."""
        if value is None or value == "":
            return None
        text = str(value).strip()
        if not text:
            return None
        for name in self.merchants:
            if fold(name) == fold(text):
                return name
        return text[:200]


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _lookup(table: dict[str, Any], value: Any, what: str) -> Any:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ToolError(f"`{what}` must be a name")
    if value in table:
        return table[value]
    wanted = fold(value)
    for label, found in table.items():
        if fold(label) == wanted:
            return found
    raise ToolError(f"there is no {what} named {value!r}; the {what} names are: {', '.join(table) or 'none'}")


async def load_context(session: AsyncSession, principal: Principal, today: dt.date) -> ToolContext:
    """The user's names for the enums: one statement."""
    ctx = ToolContext(principal=principal, today=today)
    rows = await tool_sql.names(session, principal.user_id)
    categories = [CategoryRef(r.id, r.name, r.parent_id, r.extra or "") for r in rows
                  if r.kind == "category" and r.id is not None]
    ctx.category_by_id = {c.id: c for c in categories}
    counts: dict[str, int] = {}
    for c in categories:
        counts[fold(c.name)] = counts.get(fold(c.name), 0) + 1
    for c in categories:
        parent = ctx.category_by_id.get(c.parent_id) if c.parent_id else None
        label = c.name if counts[fold(c.name)] == 1 or parent is None else f"{parent.name} / {c.name}"
        ctx.categories[label] = c
    for r in rows:
        if r.kind == "account" and r.id is not None:
            kind, classification, currency, archived = (r.extra or ":::").split(":", 3)
            ref = AccountRef(r.id, r.name, kind, classification, currency, archived == "archived")
            ctx.account_by_id[ref.id] = ref
            label = r.name if r.name not in ctx.accounts else f"{r.name} ({str(r.id)[:8]})"
            ctx.accounts[label] = ref
        elif r.kind == "goal" and r.id is not None:
            ctx.goals[r.name if r.name not in ctx.goals else f"{r.name} ({str(r.id)[:8]})"] = r.id
        elif r.kind == "budget" and r.id is not None:
            ctx.budgets[r.name if r.name not in ctx.budgets else f"{r.name} ({str(r.id)[:8]})"] = r.id
        elif r.kind == "merchant":
            ctx.merchants.append(r.name)
    return ctx


# -- declarations -------------------------------------------------------------------------------------------

ToolFunction = Callable[[ToolContext, AsyncSession, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: Callable[[ToolContext], dict[str, Any]]
    """The JSON schema of the arguments for this user (with their names as enums)."""
    run: ToolFunction
    summarize: Callable[[dict[str, Any]], str]


def _date(description: str) -> dict[str, Any]:
    return {"type": "string", "description": f"{description}, as YYYY-MM-DD."}


def _names(values: list[str], description: str) -> dict[str, Any] | None:
    if not values:
        return None
    return {"type": "string", "enum": values, "description": description}


def schema(properties: dict[str, dict[str, Any] | None], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object schema of the properties that exist (a name list of a user without any such name is left out)."""
    props = {k: v for k, v in properties.items() if v is not None}
    out: dict[str, Any] = {"type": "object", "properties": props}
    wanted = [r for r in required if r in props]
    if wanted:
        out["required"] = wanted
    return out


FROM = _date("First day of the period, inclusive")
TO = _date("Last day of the period, inclusive")
PAGE = {"type": "integer", "description": f"Page of the rows, from 1; {PAGE_SIZE} rows a page."}


def category_param(ctx: ToolContext) -> dict[str, Any] | None:
    return _names(list(ctx.categories), "One of the user's categories (a parent category includes its "
                                        "subcategories).")


def account_param(ctx: ToolContext) -> dict[str, Any] | None:
    return _names([k for k, v in ctx.accounts.items() if not v.archived], "One of the user's accounts.")


def merchant_param(ctx: ToolContext) -> dict[str, Any] | None:
    return _names(ctx.merchants, "One of the user's merchants (as shown on their transactions).")


def goal_param(ctx: ToolContext) -> dict[str, Any] | None:
    return _names(list(ctx.goals), "One of the user's goals; leave out for all goals.")


def budget_param(ctx: ToolContext) -> dict[str, Any] | None:
    return _names(list(ctx.budgets), "One of the user's budgets; leave out for all budgets.")


def _tools() -> list[Tool]:
    from app.chat import tools_flows, tools_positions

    return [*tools_flows.TOOLS, *tools_positions.TOOLS]


@dataclass
class Toolbox:
    """The tools of one user for one reply."""

    context: ToolContext
    tools: dict[str, Tool]

    @property
    def declarations(self) -> list[FunctionDeclaration]:
        return [FunctionDeclaration(name=t.name, description=t.description, parameters=t.parameters(self.context))
                for t in self.tools.values()]

    async def run(self, session: AsyncSession, call: FunctionCall) -> dict[str, Any]:
        tool = self.tools.get(call.name)
        if tool is None:
            raise ToolError(f"unknown tool {call.name!r}")
        args = dict(call.args or {})
        return await tool.run(self.context, session, args)

    def summary(self, name: str, result: dict[str, Any]) -> str:
        tool = self.tools.get(name)
        if tool is None or "error" in result:
            return f"error: {result.get('error', 'unknown tool')}"
        try:
            return tool.summarize(result)
        except Exception:  # noqa: BLE001 - a summary is a courtesy; never fail a reply for it
            return name


async def load_toolbox(session: AsyncSession, principal: Principal, today: dt.date) -> Toolbox:
    context = await load_context(session, principal, today)
    return Toolbox(context=context, tools={t.name: t for t in _tools()})
