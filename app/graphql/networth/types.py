"""GraphQL types of net worth, valuations and exchange rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from app.accounts.models import AccountKind as DomainAccountKind
from app.accounts.models import Classification as DomainClassification
from app.graphql.accounts.types import Account, AccountKind, Classification
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import to_global_id
from app.graphql.scalars import ConversionNote, Money
from app.money import minor_units
from app.networth import figures
from app.networth.fx import ConversionNote as DomainNote
from app.networth.models import ExchangeRate as RateRow
from app.networth.models import RateSource as DomainRateSource
from app.networth.models import Valuation as ValuationRow

NetWorthInterval = strawberry.enum(figures.Interval, name="NetWorthInterval",
                                   description="Spacing of `netWorthHistory` points: the end of each day, ISO week "
                                               "(Sunday) or calendar month.")
ExchangeRateSource = strawberry.enum(DomainRateSource, name="ExchangeRateSource",
                                     description="Where a rate comes from: the user (MANUAL) or the European "
                                                 "Central Bank's reference rates (ECB).")

CONVERSIONS = "The exchange rates used to convert figures into the result's currency, each with its day."
UNCONVERTED = "Figures that could not be converted for lack of a rate, per currency in their own currency; they " \
              "are left out of the totals instead of being guessed."


def plain(rate: Decimal) -> Decimal:
    """A rate without trailing zeros or an exponent: 1.0800000000 -> 1.08, 100.0000000000 -> 100."""
    return Decimal(format(rate.normalize(), "f"))


def notes(items: list[DomainNote]) -> list[ConversionNote]:
    return [ConversionNote(from_currency=n.from_currency, to_currency=n.to_currency, rate=plain(n.rate),
                           rate_day=n.rate_day, exact=n.exact) for n in items]


def monies(items: list[tuple[Decimal, str]]) -> list[Money]:
    return [Money.of(amount, currency) for amount, currency in items]


@strawberry.type(description="Net-worth total of the accounts of one kind.")
class NetWorthKindTotal:
    kind: AccountKind = strawberry.field(description="The kind of account.")  # type: ignore[valid-type]
    classification: Classification = strawberry.field(  # type: ignore[valid-type]
        description="ASSET or LIABILITY, from the kind.")
    total: Money = strawberry.field(description="Signed sum of the converted balances of these accounts (accounts "
                                                "without a rate are left out).")
    account_count: int = strawberry.field(description="How many accounts of this kind count.")


@strawberry.type(description="One account's part of a net-worth figure.")
class NetWorthAccountLine:
    account: Account = strawberry.field(description="The account.")
    balance: Money = strawberry.field(description="End-of-day balance in the account's own currency.")
    converted: Money | None = strawberry.field(description="The balance in the figure's currency; null when no "
                                                           "exchange rate was found.")


@strawberry.type(description="What the user owns minus what they owe at the end of one day, in one currency. "
                             "Every account counts, archived ones too (an archived account with a zero balance is "
                             "left out of `byAccount`).")
class NetWorth:
    on: dt.date = strawberry.field(description="The day: balances at its end.")
    currency: str = strawberry.field(description="ISO 4217 code of every converted figure.")
    assets: Money = strawberry.field(description="Sum of the positive balances.")
    liabilities: Money = strawberry.field(description="Magnitude of the sum of the negative balances (money owed), "
                                                      "as a positive amount.")
    net_worth: Money = strawberry.field(description="Assets minus liabilities.")
    by_kind: list[NetWorthKindTotal] = strawberry.field(description="Totals per kind of account.")
    by_account: list[NetWorthAccountLine] = strawberry.field(description="Each account's balance, by name.")
    conversions: list[ConversionNote] = strawberry.field(description=CONVERSIONS)
    unconverted: list[Money] = strawberry.field(description=UNCONVERTED)
    unconverted_accounts: list[Account] = strawberry.field(description="Accounts whose balance could not be "
                                                                       "converted (listed, not guessed).")

    @classmethod
    def from_domain(cls, value: figures.NetWorth) -> NetWorth:
        code = value.currency
        return cls(
            on=value.on, currency=code, assets=Money.of(value.assets, code),
            liabilities=Money.of(value.liabilities, code), net_worth=Money.of(value.net_worth, code),
            by_kind=[NetWorthKindTotal(kind=DomainAccountKind(k.kind),
                                       classification=DomainClassification(k.classification),
                                       total=Money.of(k.total, code), account_count=k.accounts) for k in value.kinds],
            by_account=[NetWorthAccountLine(
                account=Account.from_row(line.account),
                balance=Money.of(line.balance, line.account.currency.strip()),
                converted=Money.of(line.converted, code) if line.converted is not None else None)
                for line in value.lines],
            conversions=notes(value.conversions), unconverted=monies(value.unconverted),
            unconverted_accounts=[Account.from_row(a) for a in value.unconverted_accounts],
        )


@strawberry.type(description="Net worth at the end of one point of a history.")
class NetWorthPoint:
    on: dt.date = strawberry.field(description="The day of the point: the end of its period, the last one "
                                               "clipped to `to`.")
    assets: Money = strawberry.field(description="Sum of the positive balances.")
    liabilities: Money = strawberry.field(description="Magnitude of the negative balances, as a positive amount.")
    net_worth: Money = strawberry.field(description="Assets minus liabilities.")
    point: strawberry.Private[figures.Point]

    @strawberry.field(description=CONVERSIONS)
    def conversions(self) -> list[ConversionNote]:
        return notes(self.point.conversions)

    @strawberry.field(description=UNCONVERTED)
    def unconverted(self) -> list[Money]:
        return monies(self.point.unconverted)

    @classmethod
    def from_domain(cls, value: figures.Point) -> NetWorthPoint:
        """The point's figures as Money (already rounded to the currency's minor units); its notes are mapped
        only when a client asks for them."""
        code = value.currency
        return cls(on=value.on, assets=_shown(value.assets, code), liabilities=_shown(value.liabilities, code),
                   net_worth=_shown(value.net_worth, code), point=value)


def _shown(amount: Decimal, currency: str) -> Money:
    """`Money.of` for an amount already rounded to the currency's minor units (the same string, cheaper)."""
    if amount.as_tuple().exponent == -minor_units(currency) and (amount or not amount.is_signed()):
        return Money(amount=format(amount, "f"), currency=currency)
    return Money.of(amount, currency)


@strawberry.type(description="Net worth over time, one point per period.")
class NetWorthHistory:
    currency: str = strawberry.field(description="ISO 4217 code of every figure.")
    interval: NetWorthInterval = strawberry.field(description="Spacing of the points.")  # type: ignore[valid-type]
    from_: dt.date = strawberry.field(name="from", description="First day asked for.")
    to: dt.date = strawberry.field(description="Last day asked for (the last point).")
    points: list[NetWorthPoint] = strawberry.field(description="Oldest first.")


@strawberry.type(description="A fresh net-worth figure after a change to the ledger or to a rate.")
class NetWorthUpdate:
    on: dt.date = strawberry.field(description="Today in the user's time zone.")
    net_worth: NetWorth = strawberry.field(description="Net worth at the end of today, in the base currency.")


@strawberry.type(description="An exchange rate: 1 `base` = `rate` `quote` on `day`.")
class ExchangeRate:
    base: str = strawberry.field(description="ISO 4217 code of the currency priced.")
    quote: str = strawberry.field(description="ISO 4217 code the price is in.")
    rate: Decimal = strawberry.field(description="Units of `quote` per unit of `base`.")
    day: dt.date = strawberry.field(description="The day the rate is for; later days use it until a newer rate.")
    source: ExchangeRateSource = strawberry.field(  # type: ignore[valid-type]
        description="MANUAL (yours; wins over a reference rate of the same day) or ECB.")
    updated_at: dt.datetime = strawberry.field(description="When the rate was last stored.")

    @classmethod
    def from_row(cls, row: RateRow) -> ExchangeRate:
        return cls(base=row.base.strip(), quote=row.quote.strip(), rate=plain(row.rate), day=row.day,
                   source=DomainRateSource(row.source), updated_at=row.updated_at)


@strawberry.type(description="The value of an account (a house, a car) from a day on.")
class Valuation:
    id: strawberry.ID = strawberry.field(description="The global id of the valuation.")
    day: dt.date = strawberry.field(description="From the end of this day the balance is this value plus later "
                                                "transactions.")
    value: Money = strawberry.field(description="The value, in the account's currency.")
    note: str = strawberry.field(description="The user's note; empty when none.")
    recorded_at: dt.datetime = strawberry.field(description="When the value was recorded (or last replaced).")

    @classmethod
    def from_row(cls, row: ValuationRow, currency: str) -> Valuation:
        return cls(id=to_global_id("Valuation", row.id), day=row.day, value=Money.of(row.value, currency),
                   note=row.note, recorded_at=row.created_at)


@strawberry.input(description="Record what an account is worth on a day; a valuation already on that day is "
                               "replaced.")
class ValuationRecordInput:
    account_id: strawberry.ID = strawberry.field(description="The Account valued.")
    value: str = strawberry.field(description="Decimal string in the account's currency (signed: a debt is "
                                              "negative).")
    day: dt.date | None = strawberry.field(default=None, description="The day; today in your time zone by default.")
    note: str | None = strawberry.field(default=None, description="Optional note, at most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `valuationRecord`.")
class ValuationRecordPayload:
    account: Account | None = strawberry.field(description="The account with its balance as it now is; null when "
                                                           "refused.")
    valuation: Valuation | None = strawberry.field(description="The valuation stored; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Set your own exchange rate for a pair on a day (replacing yours of that day).")
class ExchangeRateSetInput:
    base: str = strawberry.field(description="ISO 4217 code of the currency priced.")
    quote: str = strawberry.field(description="ISO 4217 code the price is in; differs from `base`.")
    rate: str = strawberry.field(description="Decimal string greater than 0: units of `quote` per unit of `base` "
                                             "(at most 10 digits before and after the point).")
    day: dt.date | None = strawberry.field(default=None, description="The day; today in your time zone by default.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `exchangeRateSet`.")
class ExchangeRateSetPayload:
    exchange_rate: ExchangeRate | None = strawberry.field(description="The rate stored; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
