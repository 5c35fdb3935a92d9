"""Shared GraphQL value types: Money and conversion notes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from app.money import Money as DomainMoney
from app.money import format_decimal, minor_units


@strawberry.type(description="An amount with its ISO 4217 currency; the amount is a string at the currency's "
                             "minor units, e.g. \"100.00\" or JPY \"100\".")
class Money:
    amount: str = strawberry.field(description="Signed decimal amount as a string; money in is positive.")
    currency: str = strawberry.field(description="ISO 4217 code.")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=format_decimal(amount, minor_units(currency)), currency=currency)

    @classmethod
    def from_domain(cls, money: DomainMoney) -> Money:
        return cls.of(money.amount, money.currency)


@strawberry.type(description="How a figure was converted between currencies.")
class ConversionNote:
    from_currency: str = strawberry.field(name="from", description="ISO 4217 code of the original figure.")
    to_currency: str = strawberry.field(name="to", description="ISO 4217 code the figure was converted into.")
    rate: Decimal = strawberry.field(description="Units of `to` per one unit of `from`.")
    rate_day: dt.date = strawberry.field(description="The day of the exchange rate used.")
    exact: bool = strawberry.field(description="False when the rate is from an earlier day than the figure.")
