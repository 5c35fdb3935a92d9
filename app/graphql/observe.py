"""Names each operation for the logs and metrics, counts open subscriptions, and logs slow operations with their
SQL statement count."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.logging import operation_var
from app.metrics import ACTIVE_SUBSCRIPTIONS, RequestStats, request_stats

log = logging.getLogger("florin.graphql")


def outcome_of(errors: list[object] | None) -> str:
    """`ok`, or the code of the first error in lower case (`bad_user_input`, `rate_limited`, …)."""
    if not errors:
        return "ok"
    extensions = getattr(errors[0], "extensions", None) or {}
    return str(extensions.get("code") or "error").lower()[:40]


class ObserveOperation(SchemaExtension):
    """Listed after `FlorinErrors`, so it sees the final error codes."""

    def __init__(self, *, slow_ms: int = 1000):
        self.slow_ms = slow_ms
        self.subscribed = False

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        stats = request_stats.get()
        name = context.operation_name if context.graphql_document is not None else None
        operation_var.set(name or None)
        if stats is not None:
            stats.operation = name
            try:
                stats.operation_type = context.operation_type.value
            except Exception:  # noqa: BLE001 - no such operation in the document: validation says so
                stats.operation_type = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and not self.subscribed and not context.pre_execution_errors:
            try:
                kind = context.operation_type
            except Exception:  # noqa: BLE001
                kind = None
            if kind is OperationType.SUBSCRIPTION:
                self.subscribed = True
                ACTIVE_SUBSCRIPTIONS.inc()
        yield

    def on_operation(self) -> Iterator[None]:
        stats = request_stats.get()
        token = None
        if stats is None:  # not over HTTP (WebSocket, tests): count this operation's statements here
            stats = RequestStats()
            token = request_stats.set(stats)
        before = stats.sql_statements
        started = time.perf_counter()
        try:
            yield
        finally:
            ms = (time.perf_counter() - started) * 1000
            result = self.execution_context.result
            stats.outcome = outcome_of(getattr(result, "errors", None))
            if ms >= self.slow_ms and stats.operation_type != OperationType.SUBSCRIPTION.value:
                log.warning("slow operation %s", stats.operation or "anonymous", extra={"fields": {
                    "ms": round(ms, 1), "sql_statements": stats.sql_statements - before,
                    "outcome": stats.outcome}})
            if self.subscribed:
                ACTIVE_SUBSCRIPTIONS.dec()
                self.subscribed = False
            if token is not None:
                try:
                    request_stats.reset(token)
                except ValueError:  # a stream closed from another context
                    pass
