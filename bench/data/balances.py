"""End-of-day balances of the loaded ledger, computed by Florin's own SQL (`app.networth.balances.fill_all`).

After the COPY the `balances` table is empty; this does what the nightly `fill_balances` job does (one
transaction per user, under the user's ledger lock) for every user, `workers` users at a time, and reports
how long it took and how many rows it wrote. Nothing here duplicates Florin's balance rules.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bench.infra import sqlalchemy_url


@dataclass
class FillReport:
    accounts: int
    rows: int
    seconds: float
    workers: int


async def fill(dsn: str, user_ids: Sequence[uuid.UUID], workers: int = 2) -> FillReport:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import UnitOfWork, create_sessionmaker
    from app.networth.balances import fill_all

    engine = create_async_engine(sqlalchemy_url(dsn), pool_size=workers, max_overflow=0)
    sessions = create_sessionmaker(engine)
    queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    for user_id in user_ids:
        queue.put_nowait(user_id)
    accounts = 0

    async def worker() -> None:
        nonlocal accounts
        while not queue.empty():
            user_id = queue.get_nowait()
            async with sessions() as session:
                session.info["uow"] = UnitOfWork(session)  # fill_all takes the user's ledger lock through it
                async with session.begin():
                    filled = await fill_all(session, user_id)
            accounts += filled

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
        seconds = time.perf_counter() - started
        async with engine.connect() as conn:
            rows = int((await conn.execute(text("SELECT count(*) FROM balances"))).scalar_one())
    finally:
        await engine.dispose()
    return FillReport(accounts, rows, seconds, workers)
