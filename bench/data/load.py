"""Load generated data through COPY: users, refresh-token families, categories, accounts, transactions.

Bulk-load habits: secondary indexes of `transactions` are dropped before the COPY and rebuilt after it
(from their own `pg_indexes` definitions, so they are exactly the migrated ones), foreign-key triggers are
skipped with `session_replication_role = replica` when the role may (the generator keeps every reference
valid; a final check verifies it), and everything is vacuumed and analyzed at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from argon2 import PasswordHasher

from bench.data import balances
from bench.data.generate import COLUMNS, PASSWORD, DataSpec, TransactionStream, UserPlan, plan_user
from bench.data.hooks import EXTRAS

log = logging.getLogger("bench.data")
CHUNK = 50_000
REBUILT_TABLES = ("transactions", "transaction_splits")


@dataclass
class LoadReport:
    users: int = 0
    transactions: int = 0
    splits: int = 0
    accounts: int = 0
    categories: int = 0
    extras: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    index_seconds: float = 0.0
    balances_seconds: float = 0.0  # Florin's fill_all over every user (bench/data/balances.py)
    balance_rows: int = 0
    balance_accounts: int = 0


def password_hash(time_cost: int = 3, memory_kib: int = 65536) -> str:
    """One argon2 hash of the bench password with Florin's production parameters, shared by every user."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1).hash(PASSWORD)


async def _secondary_indexes(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """select i.indexname, i.indexdef from pg_indexes i
           where i.schemaname = 'public' and i.tablename = $1
             and not exists (select 1 from pg_constraint c where c.conname = i.indexname)""", table)
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def load(dsn: str, spec: DataSpec, *, hash_: str | None = None) -> tuple[LoadReport, list[UserPlan]]:
    """Generate and COPY the data of `spec` into the (migrated, empty) database at `dsn`."""
    started = time.perf_counter()
    report = LoadReport()
    hash_ = hash_ or password_hash()
    conn = await asyncpg.connect(dsn)
    plans: list[UserPlan] = []
    try:
        try:
            await conn.execute("SET session_replication_role = replica")
        except asyncpg.PostgresError:
            log.info("not allowed to skip FK triggers; loading with them")
        await conn.execute("SET synchronous_commit = off")
        dropped: list[tuple[str, str]] = []
        for table in REBUILT_TABLES:
            for name, definition in await _secondary_indexes(conn, table):
                await conn.execute(f'DROP INDEX "{name}"')
                dropped.append((name, definition))

        tiers = spec.tiers()
        history = set(spec.history_indexes())
        for index, count in tiers:
            plans.append(plan_user(spec, index, count, hash_))
            plans[-1].history = index in history
        await _copy(conn, "users", [p.user_row for p in plans])
        await _copy(conn, "refresh_tokens", [p.refresh_row for p in plans])
        categories = [row for p in plans for row in p.category_rows]
        accounts = [row for p in plans for row in p.account_rows()]
        await _copy(conn, "categories", categories)
        await _copy(conn, "accounts", accounts)
        report.users, report.categories, report.accounts = len(plans), len(categories), len(accounts)

        gen_time = 0.0
        chunks = _chunks(plans)

        def produce() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], float] | None:
            t0 = time.perf_counter()
            item = next(chunks, None)
            return None if item is None else (*item, time.perf_counter() - t0)

        pending = asyncio.ensure_future(asyncio.to_thread(produce))
        while True:
            item = await pending
            if item is None:
                break
            rows, splits, took = item
            gen_time += took
            pending = asyncio.ensure_future(asyncio.to_thread(produce))  # generate the next while this copies
            await _copy(conn, "transactions", rows)
            if splits:
                await _copy(conn, "transaction_splits", splits)
            report.transactions += len(rows)
            report.splits += len(splits)
            log.info("loaded %d transactions", report.transactions)
        report.generate_seconds = gen_time

        for name, fn in EXTRAS.items():
            report.extras[name] = await fn(conn, plans)

        t0 = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in dropped:
            await conn.execute(definition)
        report.index_seconds = time.perf_counter() - t0

        await conn.execute("""
            update accounts a set current_balance = a.opening_balance + coalesce(s.total, 0)
            from (select account_id, sum(amount) as total from transactions group by account_id) s
            where s.account_id = a.id""")
        await conn.execute("SET session_replication_role = DEFAULT")
        await verify(conn)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    filled = await balances.fill(dsn, [p.id for p in plans])
    report.balances_seconds, report.balance_rows, report.balance_accounts = filled.seconds, filled.rows, filled.accounts
    log.info("balances: %d rows for %d accounts in %.1fs", filled.rows, filled.accounts, filled.seconds)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE balances")
        await conn.execute("VACUUM ANALYZE accounts")
    finally:
        await conn.close()
    report.seconds = time.perf_counter() - started
    return report, plans


def _chunks(plans: list[UserPlan]) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Transactions of every user in chunks of about CHUNK rows (a month's transfer pairs stay together)."""
    rows: list[tuple[Any, ...]] = []
    splits: list[tuple[Any, ...]] = []
    for plan in plans:
        for month_rows, month_splits in TransactionStream(plan).chunks():
            rows.extend(month_rows)
            splits.extend(month_splits)
            if len(rows) >= CHUNK:
                yield rows, splits
                rows, splits = [], []
    if rows:
        yield rows, splits


async def _copy(conn: asyncpg.Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))


async def verify(conn: asyncpg.Connection) -> None:
    """The invariants the bench relies on; raises when the generated data breaks one."""
    checks = {
        "balance = opening + sum(transactions)": """
            select count(*) from accounts a where a.current_balance <> a.opening_balance
              + coalesce((select sum(t.amount) from transactions t where t.account_id = a.id), 0)""",
        "transfer legs point at each other, same user, other account": """
            select count(*) from transactions t join transactions p on p.id = t.transfer_id
            where p.transfer_id <> t.id or p.user_id <> t.user_id or p.account_id = t.account_id""",
        "dangling transfer": """
            select count(*) from transactions t where t.transfer_id is not null
              and not exists (select 1 from transactions p where p.id = t.transfer_id)""",
        "transaction account of another user": """
            select count(*) from transactions t join accounts a on a.id = t.account_id
            where a.user_id <> t.user_id""",
        "transaction category of another user": """
            select count(*) from transactions t join categories c on c.id = t.category_id
            where c.user_id <> t.user_id""",
        "splits do not sum to their transaction": """
            select count(*) from transactions t where t.has_splits and t.amount <>
              (select coalesce(sum(s.amount), 0) from transaction_splits s where s.transaction_id = t.id)""",
        "currency differs from its account": """
            select count(*) from transactions t join accounts a on a.id = t.account_id
            where a.currency <> t.currency""",
    }
    for name, sql in checks.items():
        bad = await conn.fetchval(sql)
        if bad:
            raise RuntimeError(f"generated data breaks '{name}': {bad} rows")
