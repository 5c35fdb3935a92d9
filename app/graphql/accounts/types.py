"""GraphQL types of accounts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from app.accounts.models import Account as AccountRow
from app.accounts.models import AccountKind as DomainAccountKind
from app.accounts.models import Classification as DomainClassification
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.networth.balance_history import BalancePoint, resolve_balance_history
from app.graphql.node import Node, to_global_id
from app.graphql.scalars import Money

AccountKind = strawberry.enum(DomainAccountKind, name="AccountKind", description="What an account is.")
Classification = strawberry.enum(DomainClassification, name="Classification",
                                 description="ASSET or LIABILITY, derived from the kind.")


@strawberry.type(description="Something the user holds or owes, in one currency. Balances are signed from the "
                             "owner's view: money owed is negative.")
class Account(Node):
    name: str = strawberry.field(description="The user's name for the account.")
    kind: AccountKind = strawberry.field(description="What the account is.")  # type: ignore[valid-type]
    classification: Classification = strawberry.field(  # type: ignore[valid-type]
        description="ASSET or LIABILITY, derived from the kind.")
    currency: str = strawberry.field(description="ISO 4217 code of every amount of the account; never changes.")
    institution: str | None = strawberry.field(description="The bank or provider holding the account.")
    mask: str | None = strawberry.field(description="Last digits of the account number.")
    opening_balance: Money = strawberry.field(description="Balance on the opening date, before any transaction.")
    opening_date: dt.date | None = strawberry.field(description="The day the opening balance refers to.")
    balance: Money = strawberry.field(description="Current balance: opening balance plus every transaction.")
    archived: bool = strawberry.field(description="Archived accounts are left out of `accounts` unless asked for.")
    created_at: dt.datetime = strawberry.field(description="When the account was created.")
    updated_at: dt.datetime = strawberry.field(description="When the account or its balance last changed.")
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="End-of-day balances, one per day of [from, to] (to: today in the user's time "
                                  "zone; from: 29 days earlier; at most 3700 days); days before the account's "
                                  "first balance are left out.")
    async def balance_history(
        self, info: Info,
        from_: Annotated[dt.date | None, strawberry.argument(name="from", description="First day.")] = None,
        to: Annotated[dt.date | None, strawberry.argument(description="Last day.")] = None,
    ) -> list[BalancePoint]:
        return await resolve_balance_history(info.context, self.db_id, self.currency, from_, to)

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        currency = row.currency.strip()
        return cls(
            id=to_global_id("Account", row.id), name=row.name, kind=DomainAccountKind(row.kind),
            classification=DomainClassification(row.classification), currency=currency,
            institution=row.institution, mask=row.mask, opening_balance=Money.of(row.opening_balance, currency),
            opening_date=row.opening_date, balance=Money.of(row.current_balance, currency), archived=row.archived,
            created_at=row.created_at, updated_at=row.updated_at, db_id=row.id,
        )


@strawberry.input(description="A new account. `id` is an optional client-chosen global id for safe retries.")
class AccountCreateInput:
    name: str = strawberry.field(description="1 to 120 characters.")
    kind: AccountKind = strawberry.field(description="What the account is; sets the classification.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code; it never changes later.")
    institution: str | None = strawberry.field(default=None, description="The bank or provider, if any.")
    mask: str | None = strawberry.field(default=None, description="Last 2 to 4 digits of the account number.")
    opening_balance: str = strawberry.field(default="0", description="Signed decimal string; money owed is "
                                                                     "negative (a credit card: \"-588.61\").")
    opening_date: dt.date | None = strawberry.field(default=None, description="The day of the opening balance.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen Account id: the same id "
                                                "with the same input replays, with another input is CONFLICT.")


@strawberry.type(description="The result of `accountCreate`.")
class AccountCreatePayload:
    account: Account | None = strawberry.field(description="The new account; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Change some fields of an account: an absent field is unchanged, null clears it.")
class AccountUpdateInput:
    id: strawberry.ID = strawberry.field(description="The Account to change.")
    name: strawberry.Maybe[str] = strawberry.field(description="Absent: unchanged.")
    institution: strawberry.Maybe[str | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    mask: strawberry.Maybe[str | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    kind: strawberry.Maybe[AccountKind] = strawberry.field(  # type: ignore[valid-type]
        description="Absent: unchanged; the classification follows the kind.")
    opening_balance: strawberry.Maybe[str] = strawberry.field(
        description="Absent: unchanged; the current balance moves by the difference.")
    opening_date: strawberry.Maybe[dt.date | None] = strawberry.field(description="Absent: unchanged; null: cleared.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `accountUpdate`.")
class AccountUpdatePayload:
    account: Account | None = strawberry.field(description="The account as changed; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Archive an account (hidden from `accounts` unless asked) or bring it back.")
class AccountArchiveInput:
    id: strawberry.ID = strawberry.field(description="The Account to archive.")
    archived: bool = strawberry.field(default=True, description="False brings an archived account back.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `accountArchive`.")
class AccountArchivePayload:
    account: Account | None = strawberry.field(description="The account as changed; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)
