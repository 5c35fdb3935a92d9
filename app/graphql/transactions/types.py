"""GraphQL types of transactions, splits, transfers, events and tombstones."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from app.graphql.accounts.types import Account
from app.graphql.categories.types import Category
from app.graphql.context import Info
from app.graphql.errors import UserError
from app.graphql.node import Node, to_global_id
from app.graphql.scalars import Money
from app.transactions.events import ChangeKind
from app.transactions.models import CategorySource as DomainCategorySource
from app.transactions.models import TransactionStatus as DomainStatus

TransactionStatus = strawberry.enum(DomainStatus, name="TransactionStatus", description="PENDING or POSTED.")
CategorySource = strawberry.enum(DomainCategorySource, name="CategorySource",
                                 description="Who chose the category: the user, a rule, the merchant memory, a model.")
TransactionEventKind = strawberry.enum(ChangeKind, name="TransactionEventKind")


@strawberry.enum(description="Sort order of `transactions`.")
class TransactionOrder(Enum):
    BOOKED_ON_DESC = "BOOKED_ON_DESC"
    BOOKED_ON_ASC = "BOOKED_ON_ASC"
    AMOUNT_ASC = "AMOUNT_ASC"
    AMOUNT_DESC = "AMOUNT_DESC"


@strawberry.type(description="A category line of a split transaction; the lines sum exactly to its amount.")
class TransactionSplit:
    amount: Money
    category: Category | None
    notes: str


@strawberry.type(description="Money in (positive) or out (negative) of one account on one day.")
class Transaction(Node):
    account: Account
    booked_on: dt.date
    amount: Money
    description: str = strawberry.field(description="The raw text from the bank or the user.")
    merchant: str = strawberry.field(description="Normalized merchant name.")
    category: Category | None
    category_source: CategorySource | None  # type: ignore[valid-type]
    category_confidence: Decimal | None
    notes: str
    tags: list[str]
    status: TransactionStatus  # type: ignore[valid-type]
    is_transfer: bool = strawberry.field(description="True when linked to its other leg in another own account.")
    created_at: dt.datetime
    updated_at: dt.datetime
    db_id: strawberry.Private[uuid.UUID]
    transfer_peer_id: strawberry.Private[uuid.UUID | None]
    has_splits: strawberry.Private[bool]

    @strawberry.field(description="The other leg when this is a transfer.")
    async def transfer_peer(self, info: Info) -> Transaction | None:
        if self.transfer_peer_id is None:
            return None
        from app.graphql.transactions.queries import transaction_loader

        return await transaction_loader(info.context).load(self.transfer_peer_id)

    @strawberry.field(description="Category lines when the transaction is split; empty otherwise.")
    async def splits(self, info: Info) -> list[TransactionSplit]:
        if not self.has_splits:
            return []
        from app.graphql.transactions.queries import splits_loader

        return await splits_loader(info.context).load(self.db_id)


class RowMapper:
    """Builds Transaction objects from joined rows, sharing one Account/Category object per id."""

    def __init__(self) -> None:
        self.accounts: dict[uuid.UUID, Account] = {}
        self.categories: dict[uuid.UUID, Category] = {}

    def account(self, row: Any) -> Account:
        found = self.accounts.get(row.id)
        if found is None:
            found = self.accounts[row.id] = Account.from_row(row)
        return found

    def category(self, row: Any, parent: Any) -> Category | None:
        if row is None:
            return None
        found = self.categories.get(row.id)
        if found is None:
            found = self.categories[row.id] = Category.from_row(row, parent)
        return found

    def transaction(self, row: Any) -> Transaction:
        tx, account, category, parent = row
        currency = tx.currency.strip()
        return Transaction(
            id=to_global_id("Transaction", tx.id), account=self.account(account), booked_on=tx.booked_on,
            amount=Money.of(tx.amount, currency), description=tx.description, merchant=tx.merchant,
            category=self.category(category, parent),
            category_source=DomainCategorySource(tx.category_source) if tx.category_source else None,
            category_confidence=tx.category_confidence, notes=tx.notes, tags=list(tx.tags or []),
            status=DomainStatus(tx.status), is_transfer=tx.transfer_id is not None, created_at=tx.created_at,
            updated_at=tx.updated_at, db_id=tx.id, transfer_peer_id=tx.transfer_id, has_splits=tx.has_splits,
        )


@strawberry.type(description="Two linked legs: money out of one own account and into another.")
class Transfer:
    from_: Transaction = strawberry.field(name="from")
    to: Transaction


@strawberry.input(description="Filters of `transactions`; all given filters must hold.")
class TransactionFilter:
    account_ids: list[strawberry.ID] | None = None
    category_ids: list[strawberry.ID] | None = None
    include_child_categories: bool = True
    uncategorized: bool | None = strawberry.field(default=None, description="true: only without a category.")
    from_: dt.date | None = strawberry.field(default=None, name="from", description="First booking day, inclusive.")
    to: dt.date | None = strawberry.field(default=None, description="Last booking day, inclusive.")
    amount_min: str | None = strawberry.field(default=None, description="Signed lower bound, inclusive.")
    amount_max: str | None = strawberry.field(default=None, description="Signed upper bound, inclusive.")
    status: TransactionStatus | None = None  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.field(default=None, description="Transactions carrying all these tags.")
    search: str | None = strawberry.field(default=None, description="Words matched as prefixes in description "
                                                                    "and merchant.")
    updated_since: dt.datetime | None = strawberry.field(default=None, description="Changed after this instant "
                                                                                   "(offline sync).")


@strawberry.input
class SplitInput:
    amount: str
    category_id: strawberry.ID | None = None
    notes: str | None = None


@strawberry.input
class TransactionCreateInput:
    account_id: strawberry.ID
    amount: str = strawberry.field(description="Signed, in the account's currency: money out is negative.")
    booked_on: dt.date
    description: str | None = None
    merchant: str | None = strawberry.field(default=None, description="Default: normalized from the description.")
    category_id: strawberry.ID | None = None
    notes: str | None = None
    tags: list[str] | None = None
    status: TransactionStatus = DomainStatus.POSTED  # type: ignore[valid-type]
    splits: list[SplitInput] | None = None
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id for safe retries.")


@strawberry.input
class TransactionUpdateInput:
    id: strawberry.ID
    account_id: strawberry.Maybe[strawberry.ID] = None
    amount: strawberry.Maybe[str] = None
    booked_on: strawberry.Maybe[dt.date] = None
    description: strawberry.Maybe[str | None] = None
    merchant: strawberry.Maybe[str | None] = None
    category_id: strawberry.Maybe[strawberry.ID | None] = None
    notes: strawberry.Maybe[str | None] = None
    tags: strawberry.Maybe[list[str] | None] = None
    status: strawberry.Maybe[TransactionStatus] = None  # type: ignore[valid-type]
    splits: strawberry.Maybe[list[SplitInput] | None] = strawberry.field(
        default=None, description="New lines; null removes the split.")
    idempotency_key: str | None = None


@strawberry.input
class TransactionDeleteInput:
    id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class TransferCreateInput:
    from_account_id: strawberry.ID
    to_account_id: strawberry.ID
    amount: str = strawberry.field(description="Positive, in the source account's currency.")
    to_amount: str | None = strawberry.field(default=None, description="Arriving amount; required across "
                                                                       "currencies.")
    booked_on: dt.date
    description: str | None = None
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id of the outgoing leg.")


@strawberry.input
class TransactionLinkInput:
    from_id: strawberry.ID = strawberry.field(description="The outgoing (negative) leg.")
    to_id: strawberry.ID = strawberry.field(description="The incoming (positive) leg.")
    idempotency_key: str | None = None


@strawberry.input
class TransactionUnlinkInput:
    id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.type
class TransactionPayload:
    transaction: Transaction | None
    errors: list[UserError]


@strawberry.type
class TransactionDeletePayload:
    deleted_ids: list[strawberry.ID] = strawberry.field(description="This id, and the other leg of a transfer.")
    errors: list[UserError]


@strawberry.type
class TransferPayload:
    transfer: Transfer | None
    errors: list[UserError]


@strawberry.type
class TransactionUnlinkPayload:
    transactions: list[Transaction]
    errors: list[UserError]


@strawberry.type(description="A change to the caller's transactions.")
class TransactionEvent:
    kind: TransactionEventKind  # type: ignore[valid-type]
    transaction_id: strawberry.ID | None
    transaction: Transaction | None = strawberry.field(description="Null when deleted or bulk.")
    account_ids: list[strawberry.ID]
    count: int
    sync_run_id: strawberry.ID | None


@strawberry.type(description="A tombstone: this object was deleted (for offline clients).")
class Deletion:
    entity: str
    entity_id: strawberry.ID = strawberry.field(description="The global id the object had.")
    deleted_at: dt.datetime
