"""The one Strawberry schema: queries, mutations and subscriptions of every domain, with limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from app.graphql.accounts.mutations import AccountMutation
from app.graphql.accounts.queries import AccountQuery
from app.graphql.auth.mutations import AuthMutation
from app.graphql.auth.queries import AuthQuery
from app.graphql.budgets.mutations import BudgetMutation
from app.graphql.budgets.queries import BudgetQuery
from app.graphql.budgets.subscriptions import BudgetSubscription
from app.graphql.categories.mutations import CategoryMutation
from app.graphql.categories.queries import CategoryQuery
from app.graphql.context import Info
from app.graphql.errors import BadUserInput, FlorinErrors
from app.graphql.goals.mutations import GoalMutation
from app.graphql.goals.queries import GoalQuery
from app.graphql.goals.subscriptions import GoalSubscription
from app.graphql.networth.mutations import NetWorthMutation
from app.graphql.networth.queries import NetWorthQuery
from app.graphql.networth.subscriptions import NetWorthSubscription
from app.graphql.node import MAX_NODES, Node, resolve_nodes
from app.graphql.notifications.mutations import NotificationMutation
from app.graphql.notifications.queries import NotificationQuery
from app.graphql.notifications.subscriptions import NotificationSubscription
from app.graphql.reports.queries import ReportQuery
from app.graphql.transactions.mutations import TransactionMutation
from app.graphql.transactions.queries import TransactionQuery
from app.graphql.transactions.subscriptions import TransactionSubscription


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
class Query(NodeQuery, AuthQuery, AccountQuery, CategoryQuery, TransactionQuery, BudgetQuery, GoalQuery, NetWorthQuery,
            NotificationQuery, ReportQuery):
    pass


@strawberry.type(description="Change the caller's data; every mutation returns a payload with `errors`.")
class Mutation(AuthMutation, AccountMutation, CategoryMutation, TransactionMutation, BudgetMutation, GoalMutation,
               NetWorthMutation, NotificationMutation):
    pass


@strawberry.type(description="Real-time events of the caller over graphql-transport-ws.")
class Subscription(TransactionSubscription, BudgetSubscription, GoalSubscription, NetWorthSubscription,
                   NotificationSubscription):
    @strawberry.subscription(description="Liveness check: yields `pong` every `interval` seconds, `count` times.")
    async def heartbeat(self, info: Info, count: int = 1, interval: float = 1.0) -> AsyncGenerator[str, None]:
        info.context.viewer()
        if not 1 <= count <= 100 or not 0.1 <= interval <= 60:
            raise BadUserInput("`count` must be 1..100 and `interval` 0.1..60 seconds")
        for i in range(count):
            if i:
                await asyncio.sleep(interval)
            yield "pong"


def create_schema(*, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            FlorinErrors,
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = create_schema()
