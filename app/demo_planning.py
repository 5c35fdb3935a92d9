"""The demo user's planning data: a monthly budget, two goals, a valued apartment and USD rates.

Written after the ledger (`app.demo_data`) through the same services the API uses, so every figure a
newcomer opens — budget status, goal progress, net worth and its history — is filled.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from app.accounts import service as accounts_service
from app.accounts.models import AccountKind
from app.auth.principal import Principal
from app.budgets import service as budgets_service
from app.budgets.models import BudgetPeriod, Rollover
from app.db import UnitOfWork
from app.goals import service as goals_service
from app.goals.models import GoalKind
from app.networth import service as networth_service

Category = tuple[str, str | None]

BUDGET_LINES: tuple[tuple[Category, str], ...] = (
    (("Food & drink", "Groceries"), "450.00"),
    (("Food & drink", "Restaurants"), "180.00"),
    (("Transport", None), "150.00"),
    (("Shopping", None), "250.00"),
    (("Entertainment", None), "80.00"),
)
APARTMENT_VALUES = ((0, "318000.00"), (365, "331500.00"), (640, "342000.00"))
"""(days after the start, value) of the apartment's valuations."""


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def usd_rate(month_index: int) -> Decimal:
    """A deterministic USD->EUR rate wandering between 0.90 and 0.95."""
    return Decimal("0.9150") + Decimal((month_index * 37) % 70 - 35) / Decimal(1000)


async def write_planning(uow: UnitOfWork, principal: Principal, *, start: dt.date, today: dt.date,
                         accounts: dict[str, uuid.UUID], categories: dict[Category, uuid.UUID]) -> None:
    """`accounts` by the plan's keys (`savings` is the emergency fund); `categories` by (root, child) names."""
    session, user = uow.session, principal.user_id
    # monthly USD rates from the start of the data to today (the user's own; the reference job adds ECB's)
    months = (today.year - start.year) * 12 + today.month - start.month
    for i in range(months + 1):
        await networth_service.set_rate(session, user_id=user, time_zone=principal.time_zone, base="USD",
                                        quote="EUR", rate=usd_rate(i), day=_months_back(today, months - i))
    apartment = await accounts_service.create_account(
        session, user_id=user, name="Apartment", kind=AccountKind.PROPERTY, currency="EUR",
        institution="Own valuation", opening_balance="0", opening_date=start)
    for offset, value in APARTMENT_VALUES:
        day = min(start + dt.timedelta(days=offset), today)
        await networth_service.record_valuation(session, user_id=user, time_zone=principal.time_zone,
                                                account_id=apartment.id, value=value, day=day,
                                                note="Estimate from comparable sales")
    await budgets_service.create_budget(
        uow, principal, name="Monthly budget", currency="EUR", period=BudgetPeriod.MONTHLY, start_day=1,
        rollover=Rollover.SURPLUS, starts_on=_months_back(today, 5),
        lines=[(categories[category], limit) for category, limit in BUDGET_LINES])
    await goals_service.create_goal(
        uow, principal, name="Emergency fund", kind=GoalKind.EMERGENCY_FUND, target_amount="15000.00",
        currency="EUR", priority=1, account_ids=[accounts["savings"]], today=today)
    trip = await goals_service.create_goal(
        uow, principal, name="Lisbon in spring", kind=GoalKind.VACATION, target_amount="2400.00", currency="EUR",
        target_date=_months_back(today, -6), priority=2, today=today)
    for back in range(8, -1, -1):
        day = min(_months_back(today, back) + dt.timedelta(days=1), today)
        await goals_service.contribute(uow, principal, goal_id=trip.id, amount="150.00", day=day,
                                       note="Monthly savings", today=today)
