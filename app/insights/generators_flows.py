"""Generators over monthly flows and single transactions: savings-rate change and unusually large
transactions (thresholds documented in app/insights/generators.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.insights import repository as repo
from app.insights.generators import (
    LARGE_FACTOR,
    LARGE_MINIMUM,
    SAVINGS_CHANGE,
    _amount,
    _draft,
    _fmt,
    _month,
    budget_at_risk,
    cash_flow_warning,
    net_worth_milestone,
    spending_anomaly,
    subscription_audit,
)
from app.insights.models import Insight, InsightKind, InsightSeverity
from app.money import format_decimal
from app.recurring.detect import add_months


def _rate(income: Decimal, expenses: Decimal) -> Decimal:
    return (income - expenses) * 100 / income


async def savings_rate_change(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str
                              ) -> list[Insight]:
    last_month = add_months(today.replace(day=1), -1)
    rows = await repo.monthly_flows(session, user_id, start=add_months(last_month, -3), end=today.replace(day=1))
    out = []
    for currency in sorted({r[1] for r in rows}):
        last = [(i, e) for m, c, i, e in rows if c == currency and m == last_month]
        before = [(i, e) for m, c, i, e in rows if c == currency and m < last_month]
        income_before = sum((i for i, _ in before), Decimal(0))
        if not last or last[0][0] <= 0 or income_before <= 0:
            continue
        now = _rate(*last[0])
        then = _rate(income_before, sum((e for _, e in before), Decimal(0)))
        change = now - then
        if abs(change) < SAVINGS_CHANGE:
            continue
        word = "rose" if change > 0 else "fell"
        out.append(_draft(
            user_id, InsightKind.SAVINGS_RATE_CHANGE, currency, _month(last_month),
            f"Your savings rate {word} to {format_decimal(now, 0)} %",
            f"In {_month(last_month)} you kept {format_decimal(now, 1)} % of your {currency} income, against "
            f"{format_decimal(then, 1)} % over the three months before.",
            {"currency": currency, "rate": format_decimal(now, 2), "previous": format_decimal(then, 2),
             "change": format_decimal(change, 2)},
            InsightSeverity.INFO if change > 0 else InsightSeverity.WARNING))
    return out


async def large_transaction(session: AsyncSession, user_id: uuid.UUID, today: dt.date, base: str
                            ) -> list[Insight]:
    rows = await repo.large_expenses(session, user_id, since=today - dt.timedelta(days=6),
                                     baseline_start=today - dt.timedelta(days=89), end=today, factor=LARGE_FACTOR,
                                     minimum=LARGE_MINIMUM)
    out = []
    for tx_id, day, name, currency, amount, median in rows:
        out.append(_draft(
            user_id, InsightKind.LARGE_TRANSACTION, str(tx_id), _month(day),
            f"A large expense: {_fmt(amount, currency)} at {name or 'an unnamed payee'}",
            f"On {day.isoformat()} you spent {_fmt(amount, currency)}, over {LARGE_FACTOR} times your typical "
            f"expense of {_fmt(median, currency)} in the last 90 days.",
            {"transactionId": str(tx_id), "currency": currency, "amount": _amount(amount, currency),
             "median": _amount(median, currency)},
            InsightSeverity.INFO))
    return out


GENERATORS = [spending_anomaly, budget_at_risk, subscription_audit, cash_flow_warning, net_worth_milestone,
              savings_rate_change, large_transaction]
