"""Helpers for tests: a GraphQL client on the real schema and context builder, SQL statement counting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

PASSWORD = "correct horse battery"


@dataclass
class Result:
    data: Any
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class GraphQLClient:
    """Executes operations with the same context builder the HTTP view uses."""

    def __init__(self, resources: Any):
        from app.graphql.schema import create_schema

        self.resources = resources
        s = resources.settings
        self.schema = create_schema(max_depth=s.max_query_depth, max_aliases=s.max_aliases, max_tokens=s.max_tokens)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *,
                       token: str | None = None) -> Result:
        from app.graphql.context import build_context

        context = await build_context(self.resources, authorization=f"Bearer {token}" if token else None)
        result = await self.schema.execute(query, variable_values=variables, context_value=context)
        errors = [e.formatted for e in result.errors or []]
        return Result(result.data, errors)

    async def register(self, email: str | None = None, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        result = await self(
            """mutation($input: AuthRegisterInput!) { authRegister(input: $input) {
                 accessToken refreshToken expiresAt user { id email } errors { field message code } } }""",
            {"input": {"email": email, "password": password, **extra}},
        )
        payload = result.ok()["authRegister"]
        assert payload["errors"] == [], payload["errors"]
        return {"email": email, "password": password, "token": payload["accessToken"],
                "refresh": payload["refreshToken"], "user_id": payload["user"]["id"]}


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(engine: AsyncEngine) -> Iterator[QueryCounter]:
    counter = QueryCounter()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


@contextmanager
def assert_max_queries(engine: AsyncEngine, limit: int) -> Iterator[QueryCounter]:
    with count_queries(engine) as counter:
        yield counter
    assert counter.count <= limit, f"{counter.count} statements > {limit}:\n" + "\n---\n".join(counter.statements)
