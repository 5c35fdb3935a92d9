"""Query fields of rules: `rules`; the Rule node."""

from __future__ import annotations

import uuid

import strawberry

from app.graphql.context import Context, Info
from app.graphql.node import register_node
from app.graphql.rules.types import Rule
from app.rules import service


async def load_rules(ctx: Context, ids: list[uuid.UUID]) -> list[Rule | None]:
    """The caller's rules for `ids` in key order (None where missing or foreign): one statement."""
    principal = ctx.viewer()
    async with ctx.resources.sessionmaker() as session:
        found = await service.rules(session, principal.user_id, ids)
    by_id = {row.id: Rule.from_row(row) for row in found}
    return [by_id.get(key) for key in ids]


register_node("Rule")(load_rules)


@strawberry.type
class RuleQuery:
    @strawberry.field(description="The caller's categorization rules in the order they run: by ascending priority, "
                                  "then by creation.")
    async def rules(self, info: Info) -> list[Rule]:
        ctx = info.context
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            found = await service.rules(session, principal.user_id)
        return [Rule.from_row(row) for row in found]
