"""SQL statements per request, counted in-process on the real schema and context builder.

Each scenario's operation runs through `build_context` (authentication included, as in the HTTP view)
and `schema.execute`, with every statement counted by a `before_cursor_execute` listener and every pool
checkout by a `checkout` listener (each checkout is also a pre-ping round trip when `pool_pre_ping` is on).
The counts are taken for several page sizes and for users of every data size loaded: they must not move.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from bench.scenarios.base import Scenario
from bench.users import BenchUser


@dataclass
class Count:
    scenario: str
    variant: str
    tier: str
    statements: int
    checkouts: int
    sql: list[str]


@contextmanager
def counting(engine: Any) -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"statements": [], "checkouts": 0}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen["statements"].append(" ".join(statement.split())[:160])

    def checkout(*args: Any) -> None:
        seen["checkouts"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine.pool, "checkout", checkout)


def _schema(settings: Any) -> Any:
    import app.graphql.schema as module

    if hasattr(module, "schema_for"):
        return module.schema_for(settings)
    return module.create_schema(max_depth=settings.max_query_depth, max_aliases=settings.max_aliases,
                                max_tokens=settings.max_tokens)


async def count_statements(settings: Any, scenarios: Sequence[Scenario],
                           users_by_tier: dict[str, list[BenchUser]]) -> list[Count]:
    from app.graphql.context import build_context
    from app.resources import build_resources

    resources = await build_resources(settings, start_hub=False)
    schema = _schema(settings)
    out: list[Count] = []
    try:
        for scenario in scenarios:
            for variant, make_vars in scenario.statement_vars.items():
                for tier, users in users_by_tier.items():
                    if not users:
                        continue
                    user = users[0]
                    variables = make_vars(user, 0)
                    # once to warm caches, then counted
                    for counted in (False, True):
                        with counting(resources.engine) as seen:
                            context = await build_context(resources, authorization=f"Bearer {user.florin_token}")
                            result = await schema.execute(scenario.florin_query, variable_values=variables,
                                                          context_value=context)
                        if result.errors:
                            raise RuntimeError(f"{scenario.name}/{variant}: {result.errors[0]}")
                        if counted:
                            out.append(Count(scenario.name.rsplit("_", 1)[0], variant, tier,
                                             len(seen["statements"]), seen["checkouts"], seen["statements"]))
    finally:
        await resources.close()
    return out
