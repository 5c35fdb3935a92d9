"""The insight generators: each computes its numbers in SQL (or with the budget, net-worth and recurring
services) and writes its prose from a template. Every one takes `today` so results are reproducible, and
returns drafts whose dedupe key names the kind, the subject and the period, so a re-run repeats nothing.

Thresholds (documented here, tested in tests/test_insights.py):
- spending anomaly: a category's spending this month (1st to today) over 1.5 x its average over the three
  previous full months, and at least 50 above that average;
- budget at risk: a budget whose total projected at today's pace overruns what is available;
- subscription audit: when a recurring series started this month or its last charge went up in price,
  with the count and monthly cost of all series in that currency;
- cash-flow warning: an account whose balance today, minus the recurring charges expected on it before its
  next income (the last income day plus one month; at most 31 days ahead), goes below zero;
- net-worth milestone: net worth in the base currency crossed a round number (every 10,000 below 100,000,
  every 100,000 above) upwards since 30 days ago;
- savings-rate change: last month's savings rate (income minus expenses over income) differs from the
  previous three months' by at least 10 percentage points;
- unusually large transaction: an expense in the last 7 days over 3 x the median expense of the last 90 days
  in its currency, and at least 100.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets import repository as budgets_repo
from app.budgets.status import compute
from app.db import new_id
from app.insights import repository as repo
from app.insights.models import Insight, InsightKind, InsightSeverity
from app.money import format_decimal, minor_units
from app.networth.figures import net_worth
from app.recurring import service as recurring
from app.recurring.detect import Flag, add_months

ANOMALY_FACTOR = Decimal("1.5")
ANOMALY_MINIMUM = Decimal(50)
LARGE_FACTOR = Decimal(3)
LARGE_MINIMUM = Decimal(100)
SAVINGS_CHANGE = Decimal(10)
"""Percentage points."""


def _fmt(amount: Decimal, currency: str) -> str:
    return f"{format_decimal(amount, minor_units(currency))} {currency}"


def _amount(amount: Decimal, currency: str) -> str:
    """An amount for `numbers`: a string at the currency's minor units."""
    return format_decimal(amount, minor_units(currency))


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _draft(user_id: uuid.UUID, kind: InsightKind, subject: str, period: str, title: str, body: str,
           numbers: dict[str, Any], severity: InsightSeverity = InsightSeverity.INFO) -> Insight:
    return Insight(id=new_id(), user_id=user_id, kind=kind.value, title=title[:200], body=body,
                   severity=severity.value, numbers=numbers, dedupe_key=f"{kind.value}:{subject}:{period}",
                   period=period)


Generator = Callable[[AsyncSession, uuid.UUID, dt.date, str], Awaitable[list[Insight]]]


async def spending_anomaly(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str) -> list[Insight]:
    month_start = today.replace(day=1)
    rows = await repo.category_spending(session, user_id, baseline_start=add_months(month_start, -3),
                                        month_start=month_start, end=today)
    names = await repo.category_names(session, user_id, list({r[0] for r in rows}))
    out = []
    for category_id, currency, this, before in rows:
        average = before / 3
        if this > average * ANOMALY_FACTOR and this - average >= ANOMALY_MINIMUM:
            name = names.get(category_id, "a category")
            out.append(_draft(
                user_id, InsightKind.SPENDING_ANOMALY, f"{category_id}:{currency}", _month(today),
                f"{name}: {_fmt(this, currency)} this month",
                f"You spent {_fmt(this, currency)} on {name} so far this month, against an average of "
                f"{_fmt(average, currency)} a month over the previous three months.",
                {"categoryId": str(category_id), "currency": currency, "spent": _amount(this, currency),
                 "average": _amount(average, currency)}, InsightSeverity.WARNING))
    return out


async def budget_at_risk(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str) -> list[Insight]:
    found = await budgets_repo.for_evaluation(session, user_id)
    budgets = [(b, lines) for b, lines in found.budgets if lines] if found is not None else []
    if not budgets:
        return []
    out = []
    for status in await compute(session, user_id, budgets, today):
        total = status.total
        overrun = status.projected_overrun(total)
        if overrun <= 0:
            continue
        currency = status.budget.currency.strip()
        projected = status.projected(total)
        severity = InsightSeverity.CRITICAL if total.over else InsightSeverity.WARNING
        out.append(_draft(
            user_id, InsightKind.BUDGET_AT_RISK, str(status.budget.id), status.period.start.isoformat(),
            f"{status.budget.name} may run over by {_fmt(overrun, currency)}",
            f"At today's pace you will spend {_fmt(projected, currency)} of the {_fmt(total.available, currency)} "
            f"available in {status.budget.name} this period ({_fmt(total.spent, currency)} so far, "
            f"{status.days_left} days left).",
            {"budgetId": str(status.budget.id), "currency": currency, "spent": _amount(total.spent, currency),
             "available": _amount(total.available, currency), "projected": _amount(projected, currency),
             "overrun": _amount(overrun, currency)},
            severity))
    return out


async def subscription_audit(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str
                             ) -> list[Insight]:
    series = await recurring.recurring(session, user_id, today=today)
    month_start = today.replace(day=1)
    out = []
    for currency in sorted({s.currency for s in series}):
        mine = [s for s in series if s.currency == currency]
        increased = [s for s in mine if Flag.PRICE_INCREASE in s.flags and s.last_date >= month_start]
        new = [s for s in mine if _first_day(s) >= month_start]
        if not increased and not new:
            continue
        monthly = sum((s.monthly_cost() for s in mine), Decimal(0))
        parts = [f"{len(mine)} recurring charges cost you about {_fmt(monthly, currency)} a month."]
        if new:
            parts.append("New this month: " + ", ".join(s.merchant for s in new) + ".")
        if increased:
            parts.append("Price went up: " + ", ".join(
                f"{s.merchant} (now {_fmt(s.last_amount, currency)})" for s in increased) + ".")
        out.append(_draft(
            user_id, InsightKind.SUBSCRIPTION_AUDIT, currency, _month(today),
            f"Your subscriptions: {_fmt(monthly, currency)} a month", " ".join(parts),
            {"currency": currency, "count": len(mine), "monthly": _amount(monthly, currency),
             "new": [s.merchant for s in new], "increased": [s.merchant for s in increased]}))
    return out


def _first_day(series: Any) -> dt.date:
    """The day of the first charge of a series, from its occurrences and interval (approximate)."""
    from app.recurring.detect import SPECS

    spec = next(s for s in SPECS if s.interval == series.interval)
    day = series.last_date
    for _ in range(series.occurrences - 1):
        day = add_months(day, -spec.months) if spec.months else day - dt.timedelta(days=spec.days)
    return day


async def cash_flow_warning(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str
                            ) -> list[Insight]:
    series = await recurring.recurring(session, user_id, today=today)
    if not series:
        return []
    from app.networth import repository as networth_repo

    balances = await networth_repo.balances_on(session, user_id, today)
    incomes = await repo.last_income_days(session, user_id, start=today - dt.timedelta(days=62), end=today)
    out = []
    for account, balance in balances:
        if account.archived or account.classification != "ASSET":
            continue
        last_income = incomes.get(account.id)
        horizon = today + dt.timedelta(days=31)
        if last_income is not None and today < add_months(last_income, 1) < horizon:
            horizon = add_months(last_income, 1)
        due = [s for s in series if s.account_id == account.id and today < s.next_expected_date < horizon]
        charges = sum((s.next_expected_amount for s in due), Decimal(0))
        projected = balance - charges
        if projected >= 0:
            continue
        currency = account.currency.strip()
        out.append(_draft(
            user_id, InsightKind.CASH_FLOW_WARNING, str(account.id), _month(today),
            f"{account.name} may go below zero before {horizon.isoformat()}",
            f"{account.name} holds {_fmt(balance, currency)}; the {len(due)} recurring charges expected before "
            f"{horizon.isoformat()} ({_fmt(charges, currency)}) would leave {_fmt(projected, currency)}.",
            {"accountId": str(account.id), "currency": currency, "balance": _amount(balance, currency),
             "charges": _amount(charges, currency), "projected": _amount(projected, currency),
             "until": horizon.isoformat()}, InsightSeverity.CRITICAL))
    return out


def _milestone_step(value: Decimal) -> Decimal:
    return Decimal(10_000) if value < 100_000 else Decimal(100_000)


async def net_worth_milestone(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str
                              ) -> list[Insight]:
    now = (await net_worth(session, user_id=user_id, on=today, currency=base)).net_worth
    then = (await net_worth(session, user_id=user_id, on=today - dt.timedelta(days=30), currency=base)).net_worth
    if now <= 0 or now <= then:
        return []
    step = _milestone_step(now)
    milestone = (now // step) * step
    if milestone <= 0 or then >= milestone:
        return []
    return [_draft(user_id, InsightKind.NET_WORTH_MILESTONE, f"{base}:{milestone}", _month(today),
                   f"Your net worth passed {_fmt(milestone, base)}",
                   f"Your net worth is {_fmt(now, base)}, up from {_fmt(then, base)} 30 days ago.",
                   {"currency": base, "milestone": _amount(milestone, base), "now": _amount(now, base),
                    "then": _amount(then, base)})]
