"""Queries of net worth: `netWorth`, `netWorthHistory`, `exchangeRates`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.errors import DomainError
from app.graphql.context import Context, Info
from app.graphql.errors import BadUserInput
from app.graphql.networth.types import (
    ExchangeRate,
    ExchangeRateSource,
    NetWorth,
    NetWorthHistory,
    NetWorthInterval,
    NetWorthPoint,
)
from app.networth import figures, service
from app.networth.models import RateSource

CURRENCY = "ISO 4217 code of the result; your base currency by default."


def _currency(ctx: Context, currency: str | None) -> str:
    try:
        return figures.target_currency(currency, ctx.viewer().base_currency)
    except DomainError as exc:
        raise BadUserInput(exc.message) from exc


async def load_net_worth(ctx: Context, on: dt.date | None = None, currency: str | None = None) -> NetWorth:
    """The caller's net worth at the end of `on` (today in their time zone) in `currency` (their base)."""
    principal = ctx.viewer()
    target = _currency(ctx, currency)
    day = on if on is not None else service.today_in(principal.time_zone)
    async with ctx.resources.sessionmaker() as session:
        value = await figures.net_worth(session, user_id=principal.user_id, on=day, currency=target)
    return NetWorth.from_domain(value)


@strawberry.type
class NetWorthQuery:
    @strawberry.field(description="What you own minus what you owe at the end of a day, converted into one currency "
                                  "with the rates of that day; figures without a rate are listed in `unconverted`.")
    async def net_worth(
        self, info: Info,
        on: Annotated[dt.date | None, strawberry.argument(description="The day; today in your time zone by "
                                                                      "default.")] = None,
        currency: Annotated[str | None, strawberry.argument(description=CURRENCY)] = None,
    ) -> NetWorth:
        return await load_net_worth(info.context, on, currency)

    @strawberry.field(description="Net worth at the end of each day, week or month of a window (at most 5000 "
                                  "points), each point converted with the rates of its day.")
    async def net_worth_history(
        self, info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from", description="First day of the window.")],
        to: Annotated[dt.date | None, strawberry.argument(description="Last day of the window (the last point); "
                                                                      "today in your time zone by default.")] = None,
        interval: Annotated[NetWorthInterval, strawberry.argument(  # type: ignore[valid-type]
            description="Spacing of the points.")] = figures.Interval.DAY,
        currency: Annotated[str | None, strawberry.argument(description=CURRENCY)] = None,
    ) -> NetWorthHistory:
        ctx = info.context
        principal = ctx.viewer()
        target = _currency(ctx, currency)
        end = to if to is not None else service.today_in(principal.time_zone)
        spacing = figures.Interval(interval)
        try:
            figures.check_window(from_, end, spacing)
        except DomainError as exc:
            raise BadUserInput(exc.message) from exc
        async with ctx.resources.sessionmaker() as session:
            points = await figures.history(session, user_id=principal.user_id, start=from_, end=end,
                                           interval=spacing, currency=target)
        return NetWorthHistory(currency=target, interval=spacing, from_=from_, to=end,
                               points=[NetWorthPoint.from_domain(p) for p in points])

    @strawberry.field(description="Exchange rates you can see: your own (MANUAL) and the reference rates (ECB), "
                                  "newest day first, yours before a reference rate of the same day.")
    async def exchange_rates(
        self, info: Info,
        base: Annotated[str | None, strawberry.argument(description="Only rates of this base currency.")] = None,
        quote: Annotated[str | None, strawberry.argument(description="Only rates of this quote currency.")] = None,
        from_: Annotated[dt.date | None, strawberry.argument(name="from", description="Only from this day.")] = None,
        to: Annotated[dt.date | None, strawberry.argument(description="Only up to this day.")] = None,
        source: Annotated[ExchangeRateSource | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only rates of this source.")] = None,
        latest: Annotated[bool, strawberry.argument(description="Only the newest rate of each pair and source "
                                                                "(up to `to`).")] = False,
        first: Annotated[int, strawberry.argument(description="At most this many rates (1 to 1000).")] = 100,
    ) -> list[ExchangeRate]:
        ctx = info.context
        principal = ctx.viewer()
        try:
            async with ctx.resources.sessionmaker() as session:
                rows = await service.list_rates(session, user_id=principal.user_id, base=base, quote=quote,
                                                start=from_, end=to,
                                                source=RateSource(source) if source is not None else None,
                                                latest=latest, limit=first)
        except DomainError as exc:
            raise BadUserInput(exc.message) from exc
        return [ExchangeRate.from_row(row) for row in rows]
