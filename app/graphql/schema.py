"""The one Strawberry schema: queries, mutations and subscriptions of every domain, with limits."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from app.graphql.auth.mutations import AuthMutation
from app.graphql.auth.queries import AuthQuery
from app.graphql.context import Info
from app.graphql.errors import BadUserInput, FlorinErrors
from app.graphql.node import MAX_NODES, Node, resolve_nodes


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when missing, foreign or of another type.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        info.context.viewer()
        return (await resolve_nodes(info.context, [id]))[0]

    @strawberry.field(description="Many objects by global id, in the order asked (at most 100).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        info.context.viewer()
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"`ids` may hold at most {MAX_NODES} ids")
        return await resolve_nodes(info.context, list(ids))


@strawberry.type(description="Read the caller's data.")
class Query(NodeQuery, AuthQuery):
    pass


@strawberry.type(description="Change the caller's data; every mutation returns a payload with `errors`.")
class Mutation(AuthMutation):
    pass


def create_schema(*, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            FlorinErrors,
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = create_schema()
