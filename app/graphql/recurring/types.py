"""GraphQL types of recurring charges."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from app.graphql.accounts.queries import account_loader
from app.graphql.accounts.types import Account
from app.graphql.categories.queries import category_loader
from app.graphql.categories.types import Category
from app.graphql.context import Info
from app.graphql.scalars import Money
from app.recurring.detect import Flag as DomainFlag
from app.recurring.detect import Interval as DomainInterval
from app.recurring.detect import Series

RecurringInterval = strawberry.enum(
    DomainInterval, name="RecurringInterval",
    description="How often a recurring charge comes: WEEKLY (about 7 days), MONTHLY (28-31 days), QUARTERLY "
                "(about 90 days) or YEARLY (about 365 days).")
RecurringFlag = strawberry.enum(
    DomainFlag, name="RecurringFlag",
    description="A change worth a look: PRICE_INCREASE (the last charge is over 5 % above the earlier typical "
                "amount), MISSED (the next charge is overdue by more than the interval's tolerance), DUPLICATE "
                "(two charges in one period, or two series of the same merchant at the same interval).")


@strawberry.type(description="A series of expenses from one merchant at a regular interval with similar amounts; "
                             "amounts are the charges as positive numbers in the account's currency.")
class RecurringSeries:
    merchant: str = strawberry.field(description="The merchant as written on the last charge.")
    interval: RecurringInterval = strawberry.field(description="How often it is charged.")  # type: ignore[valid-type]
    average_amount: Money = strawberry.field(description="The mean of the charges, one per period.")
    last_amount: Money = strawberry.field(description="The most recent charge.")
    last_date: dt.date = strawberry.field(description="The booking day of the most recent charge.")
    next_expected_date: dt.date = strawberry.field(description="When the next charge is expected.")
    next_expected_amount: Money = strawberry.field(description="The expected next charge: the last amount.")
    occurrences: int = strawberry.field(description="How many periods were charged.")
    flags: list[RecurringFlag] = strawberry.field(  # type: ignore[valid-type]
        description="Changes worth a look; empty when none.")
    account_id: strawberry.Private[uuid.UUID]
    category_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The account of the most recent charge.")
    async def account(self, info: Info) -> Account | None:
        return await account_loader(info.context).load(self.account_id)

    @strawberry.field(description="The category of the most recent charge; null when uncategorized.")
    async def category(self, info: Info) -> Category | None:
        if self.category_id is None:
            return None
        return await category_loader(info.context).load(self.category_id)

    @classmethod
    def from_domain(cls, s: Series) -> RecurringSeries:
        return cls(merchant=s.merchant, interval=s.interval, average_amount=Money.of(s.average_amount, s.currency),
                   last_amount=Money.of(s.last_amount, s.currency), last_date=s.last_date,
                   next_expected_date=s.next_expected_date,
                   next_expected_amount=Money.of(s.next_expected_amount, s.currency), occurrences=s.occurrences,
                   flags=list(s.flags), account_id=s.account_id, category_id=s.category_id)
