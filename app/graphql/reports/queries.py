"""Queries: `spending` and `cashFlow`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Annotated, TypeVar

import strawberry

from app.errors import DomainError, DomainErrors
from app.graphql.context import Info
from app.graphql.errors import BadUserInput
from app.graphql.reports.types import CashFlow, CashFlowInterval, Spending, SpendingGroupBy
from app.reports import service
from app.reports.service import GroupBy, Interval

T = TypeVar("T")

RANGE = "Booking days from `from` to `to`, inclusive; `from` <= `to` and at most 10 years, else BAD_USER_INPUT."
CURRENCY = "Convert every figure into this ISO 4217 currency at each booking day's rate; absent: one figure per " \
           "currency."


async def _checked(call: Awaitable[T]) -> T:
    """A refused argument (range, currency) is a top-level BAD_USER_INPUT naming the argument."""
    try:
        return await call
    except DomainError as exc:
        raise BadUserInput(exc.message, field=exc.field) from exc
    except DomainErrors as exc:
        first = exc.errors[0]
        raise BadUserInput(str(exc), field=first.field) from exc


@strawberry.type
class ReportQuery:
    @strawberry.field(description="What the caller spent over a date range, grouped. " + RANGE)
    async def spending(
        self, info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from", description="First booking day, inclusive.")],
        to: Annotated[dt.date, strawberry.argument(description="Last booking day, inclusive.")],
        group_by: Annotated[SpendingGroupBy, strawberry.argument(  # type: ignore[valid-type]
            description="How to group; default CATEGORY.")] = GroupBy.CATEGORY,
        currency: Annotated[str | None, strawberry.argument(description=CURRENCY)] = None,
        roll_up: Annotated[bool, strawberry.argument(
            description="Grouping by CATEGORY: count child categories in their top-level one.")] = False,
    ) -> Spending:
        ctx = info.context
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            report = await _checked(service.spending(session, principal.user_id, start=from_, end=to,
                                                     group_by=GroupBy(group_by), roll_up=roll_up, currency=currency))
        return Spending.from_domain(report)

    @strawberry.field(description="Income, expenses, net and savings rate per period over a date range. " + RANGE)
    async def cash_flow(
        self, info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from", description="First booking day, inclusive.")],
        to: Annotated[dt.date, strawberry.argument(description="Last booking day, inclusive.")],
        interval: Annotated[CashFlowInterval, strawberry.argument(  # type: ignore[valid-type]
            description="The length of each period; default MONTH.")] = Interval.MONTH,
        currency: Annotated[str | None, strawberry.argument(description=CURRENCY)] = None,
    ) -> CashFlow:
        ctx = info.context
        principal = ctx.viewer()
        async with ctx.resources.sessionmaker() as session:
            report = await _checked(service.cash_flow(session, principal.user_id, start=from_, end=to,
                                                      interval=Interval(interval), currency=currency))
        return CashFlow.from_domain(report)
