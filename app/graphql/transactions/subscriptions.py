"""Subscriptions: `transactionEvents`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.graphql.context import Info
from app.graphql.node import to_global_id
from app.graphql.transactions.queries import load_transactions
from app.graphql.transactions.types import TransactionEvent
from app.transactions.events import ChangeKind, TransactionChanged


@strawberry.type
class TransactionSubscription:
    @strawberry.subscription(description="Changes to the caller's transactions, from any API process or worker.")
    async def transaction_events(self, info: Info) -> AsyncGenerator[TransactionEvent, None]:
        ctx = info.context
        principal = ctx.viewer()
        async for event in ctx.resources.hub.stream(principal.user_id, TransactionChanged):
            assert isinstance(event, TransactionChanged)
            transaction = None
            if event.transaction_id is not None and event.kind in (ChangeKind.CREATED.value, ChangeKind.UPDATED.value):
                transaction = (await load_transactions(ctx, [event.transaction_id]))[0]
            yield TransactionEvent(
                kind=ChangeKind(event.kind),
                transaction_id=to_global_id("Transaction", event.transaction_id) if event.transaction_id else None,
                transaction=transaction, account_ids=[to_global_id("Account", a) for a in event.account_ids],
                count=event.count,
                sync_run_id=to_global_id("SyncRun", event.sync_run_id) if event.sync_run_id else None,
            )
