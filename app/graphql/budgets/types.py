"""GraphQL types of budgets, their status and their alerts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Decimal
from decimal import Context as DecimalContext
from enum import Enum

import strawberry

from app.budgets.models import Budget as BudgetRow
from app.budgets.models import BudgetLine as BudgetLineRow
from app.budgets.models import BudgetPeriod as DomainBudgetPeriod
from app.budgets.models import Rollover as DomainRollover
from app.budgets.status import BudgetStatus as DomainStatus
from app.budgets.status import Figures
from app.graphql.categories.types import Category
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.graphql.scalars import ConversionNote, Money
from app.money import minor_units

BudgetPeriod = strawberry.enum(DomainBudgetPeriod, name="BudgetPeriod",
                               description="How long one period of a budget lasts: WEEKLY, MONTHLY or YEARLY.")
BudgetRollover = strawberry.enum(
    DomainRollover, name="BudgetRollover",
    description="What a period leaves to the next: NONE; SURPLUS (what was not spent, never less than 0); "
                "SURPLUS_AND_DEFICIT (what was not spent, negative after overspending).")


@strawberry.enum(description="Why a budget status is incomplete.")
class BudgetWarningCode(Enum):
    MISSING_RATE = "MISSING_RATE"


async def _category(info: Info, category_id: uuid.UUID) -> Category:
    from app.graphql.categories.queries import category_loader

    found = await category_loader(info.context).load(category_id)
    assert found is not None  # a line's category is the user's (foreign key), and deleting it deletes the line
    return found


@strawberry.type(description="One category of a budget with its limit per period; a line on a parent category "
                             "counts its children.")
class BudgetLine:
    id: strawberry.ID = strawberry.field(description="The global id of the line.")
    limit: Money = strawberry.field(description="The limit per period, in the budget's currency.")
    position: int = strawberry.field(description="Order of the line in its budget.")
    category_id: strawberry.Private[uuid.UUID]
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The EXPENSE category this line counts (with its children when it is a parent).")
    async def category(self, info: Info) -> Category:
        return await _category(info, self.category_id)

    @classmethod
    def from_row(cls, row: BudgetLineRow, currency: str) -> BudgetLine:
        return cls(id=to_global_id("BudgetLine", row.id), limit=Money.of(row.limit, currency), position=row.position,
                   category_id=row.category_id, db_id=row.id)


@strawberry.type(description="Limits per category for a recurring period, with rollover and alert thresholds.")
class Budget(Node):
    name: str = strawberry.field(description="The user's name for the budget.")
    currency: str = strawberry.field(description="ISO 4217 code of every limit and figure of the budget; spending "
                                                 "in other currencies converts at the day's rate.")
    period: BudgetPeriod = strawberry.field(description="How long one period lasts.")  # type: ignore[valid-type]
    start_day: int = strawberry.field(description="MONTHLY: the day of the month a period starts (1..28, e.g. 25 "
                                                  "for payday); WEEKLY: the ISO weekday (1 = Monday); YEARLY: the "
                                                  "month (1..12).")
    rollover: BudgetRollover = strawberry.field(  # type: ignore[valid-type]
        description="What a period leaves to the next.")
    thresholds: list[int] = strawberry.field(description="Alert thresholds in percent of what is available, "
                                                         "ascending.")
    starts_on: dt.date = strawberry.field(description="A day of the first period; rollover counts from there.")
    lines: list[BudgetLine] = strawberry.field(description="The categories and their limits, in order.")
    created_at: dt.datetime = strawberry.field(description="When the budget was created.")
    updated_at: dt.datetime = strawberry.field(description="When the budget last changed.")
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_rows(cls, row: BudgetRow, lines: list[BudgetLineRow]) -> Budget:
        currency = row.currency.strip()
        return cls(id=to_global_id("Budget", row.id), name=row.name, currency=currency,
                   period=DomainBudgetPeriod(row.period), start_day=row.start_day,
                   rollover=DomainRollover(row.rollover), thresholds=sorted(row.thresholds), starts_on=row.starts_on,
                   lines=[BudgetLine.from_row(line, currency) for line in lines], created_at=row.created_at,
                   updated_at=row.updated_at, db_id=row.id)


@strawberry.interface(description="The figures of a budget status, for one line or for the whole budget, in the "
                                  "budget's currency.")
class BudgetFigures:
    limit: Money = strawberry.field(description="The limit of one period.")
    carried_over: Money = strawberry.field(description="Carried over from earlier periods by rollover; negative "
                                                       "after overspending with SURPLUS_AND_DEFICIT.")
    available: Money = strawberry.field(description="Limit plus carried over.")
    spent: Money = strawberry.field(description="Expenses net of refunds in the period so far; transfers never "
                                                "count.")
    remaining: Money = strawberry.field(description="Available minus spent; negative when overspent.")
    utilization: Decimal | None = strawberry.field(description="Spent in percent of available, at 2 places; null "
                                                                "when nothing is available.")
    over_budget: bool = strawberry.field(description="True when more was spent than is available.")
    daily_pace: Money = strawberry.field(description="Average spending per day of the period so far.")
    projected_spent: Money = strawberry.field(description="Spending at the end of the period at the pace so far.")
    projected_overrun: Money = strawberry.field(description="How far the projection exceeds what is available; 0 "
                                                            "when it does not.")
    unconverted: list[Money] = strawberry.field(description="Spending left out of `spent` (in this period or in "
                                                            "those rolled into it) for lack of an exchange rate.")


_WIDE = DecimalContext(prec=200, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _money_in(currency: str) -> Callable[[Decimal], Money]:
    """`Money.of` for many amounts of one currency: the same strings, without a new context per amount."""
    exponent = Decimal(1).scaleb(-minor_units(currency))

    def money(amount: Decimal) -> Money:
        value = amount.quantize(exponent, context=_WIDE)
        return Money(amount=format(value if value else value.copy_abs(), "f"), currency=currency)  # never -0

    return money


def _figures(status: DomainStatus, figures: Figures, money: Callable[[Decimal], Money]) -> dict[str, object]:
    return {
        "limit": money(figures.limit), "carried_over": money(figures.carried),
        "available": money(figures.available), "spent": money(figures.spent),
        "remaining": money(figures.remaining), "utilization": figures.utilization,
        "over_budget": figures.over, "daily_pace": money(status.daily_pace(figures)),
        "projected_spent": money(status.projected(figures)),
        "projected_overrun": money(status.projected_overrun(figures)),
        "unconverted": [Money.of(amount, code) for code, amount in sorted(figures.unconverted.items())],
    }


@strawberry.type(description="The status of one budget line in a period.")
class BudgetLineStatus(BudgetFigures):
    line: BudgetLine = strawberry.field(description="The line.")
    category_id: strawberry.Private[uuid.UUID]
    loaded: strawberry.Private[Category]

    @strawberry.field(description="The line's category.")
    def category(self) -> Category:
        return self.loaded  # loaded with the status, for all lines at once


@strawberry.type(description="The figures of all lines of a budget together.")
class BudgetTotal(BudgetFigures):
    pass


@strawberry.type(description="A figure left out of a budget status, and why.")
class BudgetWarning:
    code: BudgetWarningCode = strawberry.field(description="Why it was left out.")
    message: str = strawberry.field(description="A human-readable explanation.")
    line: BudgetLine = strawberry.field(description="The line whose spending it is.")
    period_start: dt.date = strawberry.field(description="The first day of the period of the figure.")
    amount: Money = strawberry.field(description="The figure, in its own currency.")


@strawberry.type(description="How a budget stands in one period: per line and in total, with pace and projection.")
class BudgetStatus:
    budget: Budget = strawberry.field(description="The budget.")
    on: dt.date = strawberry.field(description="The day the status is for; today in the user's time zone unless "
                                               "asked otherwise.")
    period_start: dt.date = strawberry.field(description="The first day of the period containing `on`.")
    period_end: dt.date = strawberry.field(description="The last day of that period.")
    days_in_period: int = strawberry.field(description="Days in the period.")
    days_elapsed: int = strawberry.field(description="Days of the period up to and including `on`.")
    days_left: int = strawberry.field(description="Days of the period after `on`.")
    lines: list[BudgetLineStatus] = strawberry.field(description="Each line, in the budget's order.")
    total: BudgetTotal = strawberry.field(description="All lines together.")
    conversions: list[ConversionNote] = strawberry.field(description="The exchange rates used for spending in other "
                                                                     "currencies.")
    unconverted: list[Money] = strawberry.field(description="Spending left out for lack of an exchange rate, by "
                                                            "currency.")
    warnings: list[BudgetWarning] = strawberry.field(description="Why figures are incomplete; empty when complete.")

    @classmethod
    def from_domain(cls, status: DomainStatus, categories: Mapping[uuid.UUID, Category]) -> BudgetStatus:
        """The status with each line's category taken from `categories` (by database id)."""
        budget = status.budget
        currency = budget.currency.strip()
        money = _money_in(currency)
        lines = {s.line.id: BudgetLine.from_row(s.line, currency) for s in status.lines}
        return cls(
            budget=Budget.from_rows(budget, [s.line for s in status.lines]), on=status.on,
            period_start=status.period.start, period_end=status.period.last_day, days_in_period=status.period.days,
            days_elapsed=status.days_elapsed, days_left=status.days_left,
            lines=[BudgetLineStatus(line=lines[s.line.id], category_id=s.line.category_id,
                                    loaded=categories[s.line.category_id],
                                    **_figures(status, s.figures, money))  # type: ignore[arg-type]
                   for s in status.lines],
            total=BudgetTotal(**_figures(status, status.total, money)),  # type: ignore[arg-type]
            conversions=[ConversionNote(from_currency=n.from_currency, to_currency=n.to_currency, rate=n.rate,
                                        rate_day=n.rate_day, exact=n.exact) for n in status.conversions],
            unconverted=[Money.of(amount, code) for code, amount in sorted(status.total.unconverted.items())],
            warnings=[BudgetWarning(code=BudgetWarningCode(w.code), message=w.message, line=lines[w.line_id],
                                    period_start=w.period_start, amount=Money.of(w.amount, w.currency))
                      for w in status.warnings],
        )


@strawberry.type(description="A budget line reached one of its thresholds in a period; fired once per line, period "
                             "and threshold.")
class BudgetAlert(Node):
    budget: Budget = strawberry.field(description="The budget.")
    line: BudgetLine = strawberry.field(description="The line that reached the threshold.")
    threshold: int = strawberry.field(description="The threshold reached, in percent of what was available.")
    period_start: dt.date = strawberry.field(description="The first day of the period it happened in.")
    spent: Money = strawberry.field(description="What the line had spent in the period when it fired.")
    limit: Money = strawberry.field(description="The line's limit per period when it fired.")
    fired_at: dt.datetime = strawberry.field(description="When it fired.")


# --- inputs and payloads ---------------------------------------------------------------------------------------


@strawberry.input(description="A line of a budget: a category and its limit per period.")
class BudgetLineInput:
    category_id: strawberry.ID = strawberry.field(description="One of the caller's EXPENSE categories; a parent "
                                                              "counts its children. One line per category.")
    limit: str = strawberry.field(description="Positive decimal string in the budget's currency, e.g. \"400.00\".")


@strawberry.input(description="A new budget. `id` is an optional client-chosen global id for safe retries.")
class BudgetCreateInput:
    name: str = strawberry.field(description="1 to 120 characters.")
    currency: str = strawberry.field(description="ISO 4217 code of the limits and figures.")
    period: BudgetPeriod = strawberry.field(  # type: ignore[valid-type]
        default=DomainBudgetPeriod.MONTHLY, description="How long one period lasts; default MONTHLY.")
    start_day: int | None = strawberry.field(
        default=None, description="MONTHLY: day of the month 1..28 (payday the 25th: 25th to 24th); WEEKLY: ISO "
                                  "weekday 1..7; YEARLY: month 1..12. Default 1.")
    rollover: BudgetRollover = strawberry.field(  # type: ignore[valid-type]
        default=DomainRollover.NONE, description="What a period leaves to the next; default NONE.")
    thresholds: list[int] | None = strawberry.field(
        default=None, description="Alert thresholds in percent, 1..1000, at most 10 (duplicates dropped); "
                                  "default 50, 80, 100.")
    lines: list[BudgetLineInput] = strawberry.field(default_factory=list, description="At most 100 lines.")
    starts_on: dt.date | None = strawberry.field(
        default=None, description="A day of the first period, which rollover counts from; default today.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen Budget id: the same id "
                                                "with the same input replays, with another input is CONFLICT.")


@strawberry.type(description="The result of `budgetCreate`.")
class BudgetCreatePayload:
    budget: Budget | None = strawberry.field(description="The new budget; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Change some fields of a budget: an absent field is unchanged.")
class BudgetUpdateInput:
    id: strawberry.ID = strawberry.field(description="The Budget to change.")
    name: strawberry.Maybe[str] = strawberry.field(description="Absent: unchanged.")
    currency: strawberry.Maybe[str] = strawberry.field(description="Absent: unchanged; the limits keep their "
                                                                   "numbers unless `lines` are given too.")
    period: strawberry.Maybe[BudgetPeriod] = strawberry.field(  # type: ignore[valid-type]
        description="Absent: unchanged. A new period without `startDay` starts on 1.")
    start_day: strawberry.Maybe[int | None] = strawberry.field(description="Absent: unchanged; null: 1.")
    rollover: strawberry.Maybe[BudgetRollover] = strawberry.field(  # type: ignore[valid-type]
        description="Absent: unchanged.")
    thresholds: strawberry.Maybe[list[int] | None] = strawberry.field(
        description="Absent: unchanged; null: the default 50, 80, 100; [] turns alerts off.")
    lines: strawberry.Maybe[list[BudgetLineInput]] = strawberry.field(
        description="Absent: unchanged; else replaces the lines (a category that keeps its line keeps its alerts); "
                    "[] removes them all.")
    starts_on: strawberry.Maybe[dt.date | None] = strawberry.field(
        description="Absent: unchanged; null: today.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `budgetUpdate`.")
class BudgetUpdatePayload:
    budget: Budget | None = strawberry.field(description="The budget as changed; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Delete a budget with its lines and alerts.")
class BudgetDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Budget to delete.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `budgetDelete`.")
class BudgetDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id of the deleted budget; null when "
                                                                    "refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
