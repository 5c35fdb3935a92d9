"""GraphQL types of the spending and cash-flow reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from app.graphql.accounts.types import Account
from app.graphql.categories.types import Category
from app.graphql.scalars import ConversionNote, Money
from app.networth import fx
from app.reports import service
from app.reports.service import GroupBy as DomainGroupBy
from app.reports.service import Interval as DomainInterval

SpendingGroupBy = strawberry.enum(
    DomainGroupBy, name="SpendingGroupBy",
    description="How `spending` groups: by CATEGORY (the line's own category, or its top-level category with "
                "`rollUp`), MERCHANT, ACCOUNT or MONTH of the booking day.")
CashFlowInterval = strawberry.enum(
    DomainInterval, name="CashFlowInterval",
    description="The periods of `cashFlow`: DAY, WEEK (ISO weeks, Monday to Sunday), MONTH or YEAR.")

RULES = ("Split transactions count by their split lines, each in its own category; linked transfers and "
         "lines in TRANSFER-kind categories never count; pending and posted transactions both count. A line "
         "in an EXPENSE category is spending (a positive one, a refund, lowers it); a line in an INCOME "
         "category is income; an uncategorized line is spending when negative and income when positive.")
CONVERSIONS = "The rates used when `currency` was given; empty otherwise."


def conversion_notes(notes: list[fx.ConversionNote]) -> list[ConversionNote]:
    return [ConversionNote(from_currency=n.from_currency, to_currency=n.to_currency, rate=n.rate,
                           rate_day=n.rate_day, exact=n.exact) for n in notes]


def moneys(items: list[tuple[Decimal, str]]) -> list[Money]:
    return [Money.of(amount, currency) for amount, currency in items]


@strawberry.type(description="Spending of one group (a category, merchant, account or month) in one currency.")
class SpendingGroup:
    label: str = strawberry.field(description="A display name: the category, merchant or account name "
                                              "(`Uncategorized`, `No merchant`), or the month as YYYY-MM.")
    category: Category | None = strawberry.field(
        description="Grouping by CATEGORY: the category (a top-level one with `rollUp`); null for uncategorized "
                    "lines and for other groupings.")
    merchant: str | None = strawberry.field(
        description="Grouping by MERCHANT: the normalized merchant; null when the transactions have none or "
                    "for other groupings.")
    account: Account | None = strawberry.field(description="Grouping by ACCOUNT: the account; null otherwise.")
    month: dt.date | None = strawberry.field(description="Grouping by MONTH: the month's first day; null otherwise.")
    amount: Money = strawberry.field(
        description="What was spent, a positive magnitude: expenses net of refunds (negative only when refunds "
                    "exceed spending).")
    share: Decimal | None = strawberry.field(
        description="This group's part of the total of its currency, a fraction at 4 places (0.25 is 25 %); "
                    "null when that total is 0.")
    transaction_count: int = strawberry.field(
        description="How many transactions contributed (a split transaction counts once per group).")

    @classmethod
    def from_domain(cls, group: service.SpendingGroup) -> SpendingGroup:
        return cls(
            label=group.label,
            category=Category.from_row(group.category, group.parent) if group.category is not None else None,
            merchant=group.merchant, account=Account.from_row(group.account) if group.account is not None else None,
            month=group.month, amount=Money.of(group.amount, group.currency), share=group.share,
            transaction_count=group.transactions)


@strawberry.type(description="Spending over a date range, by group. " + RULES)
class Spending:
    from_: dt.date = strawberry.field(name="from", description="First booking day, inclusive.")
    to: dt.date = strawberry.field(description="Last booking day, inclusive.")
    group_by: SpendingGroupBy = strawberry.field(description="How the groups were formed.")  # type: ignore[valid-type]
    roll_up: bool = strawberry.field(
        description="Whether categories were rolled up into their top-level one (only when grouping by CATEGORY).")
    currency: str | None = strawberry.field(
        description="The currency everything was converted into; null: every figure in its own currency.")
    groups: list[SpendingGroup] = strawberry.field(
        description="By currency, then by amount, largest first. Without `currency`, one group per group key "
                    "and currency; with it, one per group key, converted at each booking day's rate.")
    totals: list[Money] = strawberry.field(
        description="The total spending per currency (exactly one, in `currency`, when it was given).")
    conversions: list[ConversionNote] = strawberry.field(description=CONVERSIONS)
    unconverted: list[Money] = strawberry.field(
        description="Spending in currencies without a rate to `currency`, left out of `groups` and `totals`.")

    @classmethod
    def from_domain(cls, report: service.SpendingReport) -> Spending:
        return cls(from_=report.start, to=report.end, group_by=report.group_by, roll_up=report.roll_up,
                   currency=report.currency, groups=[SpendingGroup.from_domain(g) for g in report.groups],
                   totals=moneys(report.totals), conversions=conversion_notes(report.conversions),
                   unconverted=moneys(report.unconverted))


@strawberry.type(description="Money in and out during one period, in one currency.")
class CashFlowPeriod:
    start: dt.date = strawberry.field(description="First day of the period (the range's first day for the first).")
    end: dt.date = strawberry.field(description="Last day of the period (the range's last day for the last).")
    currency: str = strawberry.field(description="ISO 4217 code of every figure of this period.")
    income: Money = strawberry.field(description="Income: lines of INCOME categories and uncategorized money in.")
    expenses: Money = strawberry.field(description="Expenses net of refunds, a positive magnitude.")
    net: Money = strawberry.field(description="income - expenses; negative when more went out than came in.")
    savings_rate: Decimal | None = strawberry.field(
        description="net / income, a fraction at 4 places (0.2 is 20 %); null when income is 0 or negative.")

    @classmethod
    def from_domain(cls, period: service.CashFlowPeriod) -> CashFlowPeriod:
        cur = period.currency
        return cls(start=period.start, end=period.end, currency=cur, income=Money.of(period.income, cur),
                   expenses=Money.of(period.expenses, cur), net=Money.of(period.net, cur),
                   savings_rate=period.savings_rate)


@strawberry.type(description="Income, expenses, net and savings rate per period over a date range. " + RULES)
class CashFlow:
    from_: dt.date = strawberry.field(name="from", description="First booking day, inclusive.")
    to: dt.date = strawberry.field(description="Last booking day, inclusive.")
    interval: CashFlowInterval = strawberry.field(description="The length of each period.")  # type: ignore[valid-type]
    currency: str | None = strawberry.field(
        description="The currency everything was converted into; null: every figure in its own currency.")
    periods: list[CashFlowPeriod] = strawberry.field(
        description="Every period of the range in order (also those without transactions), each once per "
                    "currency: the currencies with flows in the range, or only `currency` when given.")
    totals: list[CashFlowPeriod] = strawberry.field(description="The whole range as one period, per currency.")
    conversions: list[ConversionNote] = strawberry.field(description=CONVERSIONS)
    unconverted: list[Money] = strawberry.field(
        description="Net flows (money in positive) in currencies without a rate to `currency`, left out of "
                    "`periods` and `totals`.")

    @classmethod
    def from_domain(cls, report: service.CashFlowReport) -> CashFlow:
        return cls(from_=report.start, to=report.end, interval=report.interval, currency=report.currency,
                   periods=[CashFlowPeriod.from_domain(p) for p in report.periods],
                   totals=[CashFlowPeriod.from_domain(p) for p in report.totals],
                   conversions=conversion_notes(report.conversions), unconverted=moneys(report.unconverted))
