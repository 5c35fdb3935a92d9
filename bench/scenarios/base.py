"""What a scenario is: one request shape, as Florin, PostGraphile and plain asyncpg (the floor) ask it.

A scenario module builds a `Scenario` with:
- `florin_query` and `florin_vars(user, i)`: the GraphQL operation a client sends to Florin;
- `pgl_query` and `pgl_vars(user, i)`: the same data asked of PostGraphile (None: no baseline);
- `floor(conn, user, i)`: the same rows fetched with plain asyncpg, the least any server could do;
- `check_*`: a cheap check of each answer, so a broken server cannot look fast;
- `statement_vars`: labelled variable sets for counting SQL statements per request in-process (page size
  and data size vary; the count must not);
- `same(florin_answer, floor_result)`: raises when they disagree; when set, the bench checks before measuring
  that Florin and the floor computed the same figures for a few users (a floor that computes less is no floor);
- `floor_settings`: Postgres settings for the floor's connections, when the best plain asyncpg can do
  needs one (the search floor plans every statement for its word: `plan_cache_mode=force_custom_plan`).
`tier` names the users the load is spread over ("10k", "1M": transactions per user).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.users import BenchUser

Vars = Callable[[BenchUser, int], dict[str, Any]]
Check = Callable[[dict[str, Any]], None]
Floor = Callable[[Any, BenchUser, int], Awaitable[Any]]


@dataclass
class Scenario:
    name: str
    title: str
    tier: str
    florin_query: str
    florin_vars: Vars
    florin_check: Check
    floor: Floor
    pgl_query: str | None = None
    pgl_vars: Vars | None = None
    pgl_check: Check | None = None
    statement_vars: dict[str, Vars] = field(default_factory=dict)
    floor_settings: dict[str, str] = field(default_factory=dict)  # Postgres settings of the floor's connections
    same: Callable[[dict[str, Any], Any], None] | None = None  # raises when Florin and the floor disagree
    max_concurrency: int | None = None  # a slow request (seconds) runs at this concurrency instead of --concurrency


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
