"""The one Strawberry schema: queries, mutations and subscriptions of every domain, with limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
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
from app.graphql.chat.mutations import ChatMutation
from app.graphql.chat.queries import ChatQuery
from app.graphql.chat.subscriptions import ChatSubscription
from app.graphql.context import Info
from app.graphql.errors import BadUserInput, FlorinErrors
from app.graphql.executor import FlorinExecutionContext
from app.graphql.goals.mutations import GoalMutation
from app.graphql.goals.queries import GoalQuery
from app.graphql.goals.subscriptions import GoalSubscription
from app.graphql.insights.mutations import InsightMutation
from app.graphql.insights.queries import InsightQuery
from app.graphql.limits import CachedDocuments, DocumentCache, DocumentLimits, QueryCost
from app.graphql.networth.mutations import NetWorthMutation
from app.graphql.networth.queries import NetWorthQuery
from app.graphql.networth.subscriptions import NetWorthSubscription
from app.graphql.node import MAX_NODES, Node, resolve_nodes
from app.graphql.notifications.mutations import NotificationMutation
from app.graphql.notifications.queries import NotificationQuery
from app.graphql.notifications.subscriptions import NotificationSubscription
from app.graphql.observe import ObserveOperation
from app.graphql.pagination import MAX_PAGE
from app.graphql.privacy.mutations import PrivacyMutation
from app.graphql.privacy.queries import PrivacyQuery
from app.graphql.recurring.queries import RecurringQuery
from app.graphql.reports.queries import ReportQuery
from app.graphql.rules.mutations import RuleMutation
from app.graphql.rules.queries import RuleQuery
from app.graphql.sync.mutations import SyncMutation
from app.graphql.sync.queries import SyncQuery
from app.graphql.sync.subscriptions import SyncSubscription
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
            NotificationQuery, ReportQuery, RuleQuery, SyncQuery, PrivacyQuery, ChatQuery, RecurringQuery,
            InsightQuery):
    pass


@strawberry.type(description="Change the caller's data; every mutation returns a payload with `errors`.")
class Mutation(AuthMutation, AccountMutation, CategoryMutation, TransactionMutation, BudgetMutation, GoalMutation,
               NetWorthMutation, NotificationMutation, RuleMutation, SyncMutation, PrivacyMutation, ChatMutation,
               InsightMutation):
    pass


@strawberry.type(description="Real-time events of the caller over graphql-transport-ws.")
class Subscription(TransactionSubscription, BudgetSubscription, GoalSubscription, NetWorthSubscription,
                   NotificationSubscription, SyncSubscription, ChatSubscription):
    @strawberry.subscription(description="Liveness check: yields `pong` every `interval` seconds, `count` times.")
    async def heartbeat(self, info: Info, count: int = 1, interval: float = 1.0) -> AsyncGenerator[str, None]:
        info.context.viewer()
        if not 1 <= count <= 100 or not 0.1 <= interval <= 60:
            raise BadUserInput("`count` must be 1..100 and `interval` 0.1..60 seconds")
        for i in range(count):
            if i:
                await asyncio.sleep(interval)
            yield "pong"


class FlorinSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Strawberry would log every error with the query text, which may hold a password typed inline;
        `FlorinErrors` logs the unexpected ones (with their traceback) instead."""


def create_schema(*, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000, max_directives: int = 50,
                  max_duplicate_fields: int = 5, max_cost: int = 50000, max_page: int = MAX_PAGE,
                  introspection: bool = True, suggestions: bool = True, slow_operation_ms: int = 1000,
                  ) -> strawberry.Schema:
    """The schema with its limits; production passes `introspection=False, suggestions=False`.

    The depth and alias rules are built once here (a rule class made per request would differ every time, and
    a document could never be known valid); `documents` remembers what a document text passed."""
    documents = DocumentCache()
    depth_and_aliases = [*QueryDepthLimiter(max_depth=max_depth).validation_rules,
                         *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules]
    extensions: list[Any] = [
        lambda: FlorinErrors(hide_suggestions=not suggestions),
        lambda: ObserveOperation(slow_ms=slow_operation_ms),
        lambda: CachedDocuments(documents),
        lambda: DocumentLimits(max_directives=max_directives, max_duplicate_fields=max_duplicate_fields),
        lambda: AddValidationRules(depth_and_aliases),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: QueryCost(max_cost=max_cost, max_page=max_page, cache=documents),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return FlorinSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FlorinExecutionContext,
        config=StrawberryConfig(auto_camel_case=True, disable_field_suggestions=not suggestions),
    )


def schema_for(settings: Any) -> strawberry.Schema:
    """The schema configured by `settings` (limits, and production's closed doors)."""
    return create_schema(
        max_depth=settings.max_query_depth, max_aliases=settings.max_aliases, max_tokens=settings.max_tokens,
        max_directives=settings.max_directives, max_duplicate_fields=settings.max_duplicate_fields,
        max_cost=settings.max_query_cost, max_page=settings.max_page_size,
        introspection=settings.introspection_enabled, suggestions=not settings.is_production,
        slow_operation_ms=settings.slow_operation_ms)


schema = create_schema()
