"""`Account.balanceHistory(from, to)`: daily end-of-day balances, batched for a whole page of accounts.

Kept apart from the other net-worth types so `app/graphql/accounts/types.py` can import it without a cycle.
The loader is keyed by (account, from, to); one batch runs one statement per distinct window, so a page of
accounts asking the same window costs one statement, not one per account.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Hashable
from typing import cast

import strawberry
from strawberry.dataloader import DataLoader

from app.errors import DomainError
from app.graphql.context import Context
from app.graphql.errors import BadUserInput
from app.graphql.scalars import Money
from app.networth import figures
from app.networth.service import today_in

DEFAULT_DAYS = 30


@strawberry.type(description="An account's balance at the end of one day.")
class BalancePoint:
    day: dt.date = strawberry.field(description="The day.")
    balance: Money = strawberry.field(description="End-of-day balance in the account's currency, signed: money "
                                                  "owed is negative.")


Key = tuple[uuid.UUID, str, dt.date, dt.date]


def balance_history_loader(ctx: Context) -> DataLoader[Key, list[BalancePoint]]:
    principal = ctx.viewer()

    async def batch(raw: list[Hashable]) -> list[list[BalancePoint]]:
        keys = cast(list[Key], raw)
        windows: dict[tuple[dt.date, dt.date], list[uuid.UUID]] = {}
        for account_id, _currency, start, end in keys:
            windows.setdefault((start, end), []).append(account_id)
        found: dict[Key, list[BalancePoint]] = {}
        async with ctx.resources.sessionmaker() as session:
            for (start, end), ids in windows.items():
                days = await figures.balance_histories(session, user_id=principal.user_id,
                                                       account_ids=list(dict.fromkeys(ids)), start=start, end=end)
                for key in keys:
                    if (key[2], key[3]) == (start, end):
                        found[key] = [BalancePoint(day=day, balance=Money.of(balance, key[1]))
                                      for day, balance in days.get(key[0], [])]
        return [found[key] for key in keys]

    return ctx.loaders.get("balance_history", batch)


def window(ctx: Context, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """[from, to] with defaults (to: today in the user's time zone; from: 29 days before `to`), checked."""
    principal = ctx.viewer()
    last = end if end is not None else today_in(principal.time_zone)
    first = start if start is not None else last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadUserInput("`from` must not be after `to`")
    if (last - first).days + 1 > figures.MAX_HISTORY_DAYS:
        raise BadUserInput(f"`balanceHistory` covers at most {figures.MAX_HISTORY_DAYS} days at once")
    return first, last


async def resolve_balance_history(ctx: Context, account_id: uuid.UUID, currency: str, start: dt.date | None,
                                  end: dt.date | None) -> list[BalancePoint]:
    first, last = window(ctx, start, end)
    try:
        return await balance_history_loader(ctx).load((account_id, currency, first, last))
    except DomainError as exc:  # pragma: no cover - the window is checked above
        raise BadUserInput(exc.message) from exc
