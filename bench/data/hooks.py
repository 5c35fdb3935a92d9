"""The hook for tables that land later (budgets, goals, valuations, …).

A loader for a new domain is one coroutine registered here. It receives the open asyncpg connection and
the plans of every generated user (ids of the user, its categories and accounts, the first and last day of
its history) after the ledger is loaded and before indexes are rebuilt and statistics taken; it writes
with `copy_records_to_table` and returns how many rows it wrote:

    @extra("budgets")
    async def budgets(conn: asyncpg.Connection, users: Sequence[UserPlan]) -> int:
        rows = [...]  # e.g. one monthly budget per user over its groceries, restaurants, transport lines
        await conn.copy_records_to_table("budgets", records=rows, columns=[...])
        return len(rows)

Keep it deterministic: derive every random choice from `random.Random(f"{name}:{plan.index}")`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench.data.generate import UserPlan

Extra = Callable[[Any, Sequence[UserPlan]], Awaitable[int]]
EXTRAS: dict[str, Extra] = {}

# Domains whose tables are being added now; each gets a loader here when it lands.
PENDING = ("notifications",)


def extra(name: str) -> Callable[[Extra], Extra]:
    def register(fn: Extra) -> Extra:
        EXTRAS[name] = fn
        return fn

    return register


# The loaders (registered by importing them; last, as they use `extra` above). End-of-day balances are not a
# loader: Florin's own SQL computes them after the load (bench/data/balances.py).
from bench.data import planning  # noqa: E402, F401
