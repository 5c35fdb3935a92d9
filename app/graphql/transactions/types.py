"""GraphQL types of transactions, splits, transfers, events and tombstones."""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Awaitable
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from app.graphql.accounts.types import Account
from app.graphql.categories.types import Category
from app.graphql.context import Info
from app.graphql.errors import ERRORS, IDEMPOTENCY_KEY, UserError
from app.graphql.node import Node, to_global_id
from app.graphql.scalars import Money
from app.transactions.events import ChangeKind
from app.transactions.models import CategorySource as DomainCategorySource
from app.transactions.models import TransactionStatus as DomainStatus
from app.transactions.repository import ACCOUNT, CATEGORY, PAGE_KEYS, PARENT, joined

# strawberry.enum registers and returns the domain class itself, so input fields that Python code reads
# are annotated with DomainStatus (same schema, and mypy sees a real type).
TransactionStatus = strawberry.enum(DomainStatus, name="TransactionStatus", description="PENDING or POSTED.")
CategorySource = strawberry.enum(DomainCategorySource, name="CategorySource",
                                 description="Who chose the category: the user, a rule, the merchant memory, a model.")
TransactionEventKind = strawberry.enum(
    ChangeKind, name="TransactionEventKind",
    description="What happened: CREATED, UPDATED or DELETED one transaction, or BULK_CHANGED many at once "
                "(an import or a sync; refetch the affected accounts).")


@strawberry.enum(description="Sort order of `transactions`.")
class TransactionOrder(Enum):
    BOOKED_ON_DESC = "BOOKED_ON_DESC"
    BOOKED_ON_ASC = "BOOKED_ON_ASC"
    AMOUNT_ASC = "AMOUNT_ASC"
    AMOUNT_DESC = "AMOUNT_DESC"


@strawberry.type(description="A category line of a split transaction; the lines sum exactly to its amount.")
class TransactionSplit:
    amount: Money = strawberry.field(description="Signed amount of this line, in the transaction's currency: "
                                                 "money in positive, money out negative.")
    category: Category | None = strawberry.field(description="The category of this line; null: uncategorized.")
    notes: str = strawberry.field(description="Notes of this line; empty when none.")


@strawberry.type(description="A category an automatic categorization proposed without being sure enough to set "
                              "it: the transaction stays uncategorized until the user chooses.")
class CategorySuggestion:
    category: Category = strawberry.field(description="The proposed category.")
    source: CategorySource = strawberry.field(  # type: ignore[valid-type]
        description="Who proposed it: MODEL (the local model) or AI (Gemini).")
    confidence: Decimal = strawberry.field(
        description="How sure the proposal was, from 0 to 1 (below the confidence that sets a category).")


@strawberry.type(description="Money in (positive) or out (negative) of one account on one day.")
class Transaction(Node):
    account: Account = strawberry.field(description="The account the money moved in or out of.")
    booked_on: dt.date = strawberry.field(description="The day the transaction was booked (a date, no time).")
    amount: Money = strawberry.field(description="Signed, in the account's currency: money in positive, "
                                                 "money out negative.")
    description: str = strawberry.field(description="The raw text from the bank or the user.")
    merchant: str = strawberry.field(description="Normalized merchant name.")
    category: Category | None = strawberry.field(description="The category; null: uncategorized.")
    category_source: CategorySource | None = strawberry.field(  # type: ignore[valid-type]
        description="Who chose the category; null when uncategorized.")
    category_confidence: Decimal | None = strawberry.field(
        description="How sure an automatic categorization was, from 0 to 1; null when the user chose the "
                    "category or there is none.")
    notes: str = strawberry.field(description="The user's notes; empty when none.")
    tags: list[str] = strawberry.field(description="The user's labels, without duplicates; empty when none.")
    status: TransactionStatus = strawberry.field(  # type: ignore[valid-type]
        description="PENDING (not settled yet) or POSTED.")
    is_transfer: bool = strawberry.field(description="True when linked to its other leg in another own account.")
    created_at: dt.datetime = strawberry.field(description="When the transaction was recorded.")
    updated_at: dt.datetime = strawberry.field(
        description="When the transaction last changed; see `TransactionFilter.updatedSince`.")
    db_id: strawberry.Private[uuid.UUID]
    transfer_peer_id: strawberry.Private[uuid.UUID | None]
    has_splits: strawberry.Private[bool]
    suggestion: strawberry.Private[tuple[uuid.UUID, str, Decimal] | None] = None
    """(category id, source, confidence) of the recorded suggestion."""

    @strawberry.field(description="What an automatic categorization proposed but did not set, for the user to "
                                  "accept or correct; null when there is none (or the user has chosen).",
                      graphql_type=CategorySuggestion | None)
    def category_suggestion(self, info: Info) -> Awaitable[CategorySuggestion | None] | None:
        # synchronous for the many rows without one; the rows with one batch their categories in one statement
        if self.suggestion is None:
            return None
        return _suggestion(info, *self.suggestion)

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


async def _suggestion(info: Info, category_id: uuid.UUID, source: str, confidence: Decimal
                      ) -> CategorySuggestion | None:
    from app.graphql.categories.queries import category_loader

    category = await category_loader(info.context).load(category_id)
    if category is None:  # deleted since
        return None
    return CategorySuggestion(category=category, source=DomainCategorySource(source), confidence=confidence)


class RowMapper:
    """Builds Transaction objects from joined rows, sharing one Account/Category object per id."""

    def __init__(self) -> None:
        self.accounts: dict[uuid.UUID, Account] = {}
        self.categories: dict[uuid.UUID, Category] = {}

    def account(self, row: Any) -> Account:
        """The account of a flat `repository.page_columns` row."""
        found = self.accounts.get(row.account_id)
        if found is None:
            found = self.accounts[row.account_id] = Account.from_row(joined(row, ACCOUNT))
        return found

    def category(self, row: Any, parent: Any = None) -> Category | None:
        """The category (with its parent) of a flat `repository.page_columns` row; None when it has none."""
        key = row.category__id
        if key is None:
            return None
        found = self.categories.get(key)
        if found is None:
            parent = joined(row, PARENT) if row.parent__id is not None else None
            found = self.categories[key] = Category.from_row(joined(row, CATEGORY), parent)
        return found

    def transaction(self, row: Any) -> Transaction:
        """`row`: a flat row of `repository.page_columns` (plain columns, no ORM objects): the transaction's
        columns read by position in one call, its account's and category's by `account()` and `category()`."""
        (id_, booked_on, amount, currency, description, merchant, source, confidence, notes, tags, status,
         transfer_id, created_at, updated_at, has_splits, suggested_id, suggested_source, suggested_confidence,
         account_id, category_id) = _pick(row)
        account = self.accounts.get(account_id)
        if account is None:
            account = self.account(row)
        category = None if category_id is None else self.categories.get(category_id) or self.category(row)
        return Transaction(
            id=to_global_id("Transaction", id_), account=account, booked_on=booked_on,
            amount=Money.of(amount, currency.strip()), description=description, merchant=merchant,
            category=category, category_source=_SOURCES[source] if source else None,
            category_confidence=confidence, notes=notes, tags=list(tags or ()), status=_STATUSES[status],
            is_transfer=transfer_id is not None, created_at=created_at, updated_at=updated_at, db_id=id_,
            transfer_peer_id=transfer_id, has_splits=has_splits,
            suggestion=(suggested_id, suggested_source, suggested_confidence)
            if suggested_id is not None and suggested_source and suggested_confidence is not None else None,
        )


# The columns `RowMapper.transaction` reads, fetched from a flat row by position in one C call (an attribute
# read by name costs more than the rest of the mapping); the enums by value through a dict.
_pick = operator.itemgetter(*(PAGE_KEYS.index(name) for name in (
    "id", "booked_on", "amount", "currency", "description", "merchant", "category_source", "category_confidence",
    "notes", "tags", "status", "transfer_id", "created_at", "updated_at", "has_splits", "suggested_category_id",
    "suggested_source", "suggested_confidence", "account_id", CATEGORY + "id")))
_SOURCES = {member.value: member for member in DomainCategorySource}
_STATUSES = {member.value: member for member in DomainStatus}


@strawberry.type(description="Two linked legs: money out of one own account and into another.")
class Transfer:
    from_: Transaction = strawberry.field(name="from", description="The outgoing leg: money out, negative.")
    to: Transaction = strawberry.field(description="The incoming leg: money in, positive, in its account's "
                                                   "currency.")


@strawberry.input(description="Filters of `transactions`; all given filters must hold.")
class TransactionFilter:
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only in these Accounts (an empty list matches nothing); null: every account.")
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only in these Categories (an empty list matches nothing); null: any category.")
    include_child_categories: bool = strawberry.field(
        default=True, description="Whether `categoryIds` also match the children of the given categories.")
    uncategorized: bool | None = strawberry.field(default=None, description="true: only without a category.")
    from_: dt.date | None = strawberry.field(default=None, name="from", description="First booking day, inclusive.")
    to: dt.date | None = strawberry.field(default=None, description="Last booking day, inclusive.")
    amount_min: str | None = strawberry.field(default=None, description="Signed lower bound, inclusive.")
    amount_max: str | None = strawberry.field(default=None, description="Signed upper bound, inclusive.")
    status: TransactionStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only PENDING or only POSTED transactions; null: both.")
    tags: list[str] | None = strawberry.field(default=None, description="Transactions carrying all these tags.")
    search: str | None = strawberry.field(default=None, description="Words matched as prefixes in description "
                                                                    "and merchant.")
    updated_since: dt.datetime | None = strawberry.field(default=None, description="Changed after this instant "
                                                                                   "(offline sync).")


@strawberry.input(description="One category line of a split; the lines sum exactly to the transaction's amount.")
class SplitInput:
    amount: str = strawberry.field(description="Signed decimal string in the account's currency: money in "
                                               "positive, money out negative.")
    category_id: strawberry.ID | None = strawberry.field(default=None, description="The Category of this line; "
                                                                                   "null: uncategorized.")
    notes: str | None = strawberry.field(default=None, description="At most 2000 characters; null: none.")


@strawberry.input(description="A new transaction in one account; the account's balance moves by its amount.")
class TransactionCreateInput:
    account_id: strawberry.ID = strawberry.field(description="The Account of the transaction; its currency is "
                                                             "the transaction's.")
    amount: str = strawberry.field(description="Signed, in the account's currency: money out is negative.")
    booked_on: dt.date = strawberry.field(description="The booking day, between 1900-01-01 and 2200-12-31.")
    description: str | None = strawberry.field(default=None, description="The text of the transaction, at most "
                                                                         "500 characters; null: empty.")
    merchant: str | None = strawberry.field(default=None, description="Default: normalized from the description.")
    category_id: strawberry.ID | None = strawberry.field(default=None, description="The Category; null: "
                                                                                   "uncategorized.")
    notes: str | None = strawberry.field(default=None, description="At most 2000 characters; null: none.")
    tags: list[str] | None = strawberry.field(
        default=None, description="At most 20 tags of at most 40 characters each; duplicates are dropped.")
    status: DomainStatus = strawberry.field(
        default=DomainStatus.POSTED, description="PENDING or POSTED; default POSTED.")
    splits: list[SplitInput] | None = strawberry.field(
        default=None, description="2 to 50 category lines that sum exactly to `amount`; null or empty: not split.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id for safe retries.")


@strawberry.input(description="Change some fields of a transaction: an absent field is unchanged.")
class TransactionUpdateInput:
    id: strawberry.ID = strawberry.field(description="The Transaction to change.")
    account_id: strawberry.Maybe[strawberry.ID] = strawberry.field(
        default=None, description="Move to another Account of the same currency; absent: unchanged.")
    amount: strawberry.Maybe[str] = strawberry.field(
        default=None, description="Signed decimal string: money in positive, money out negative; absent: "
                                  "unchanged. A split transaction needs new `splits` when it changes.")
    booked_on: strawberry.Maybe[dt.date] = strawberry.field(
        default=None, description="The booking day, between 1900-01-01 and 2200-12-31; absent: unchanged.")
    description: strawberry.Maybe[str | None] = strawberry.field(
        default=None, description="At most 500 characters; absent: unchanged; null: cleared. Without `merchant`, "
                                  "the merchant is normalized from it again.")
    merchant: strawberry.Maybe[str | None] = strawberry.field(
        default=None, description="At most 200 characters; absent: unchanged; null: cleared.")
    category_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        default=None, description="A Category, chosen by the user; absent: unchanged; null: uncategorized.")
    notes: strawberry.Maybe[str | None] = strawberry.field(
        default=None, description="At most 2000 characters; absent: unchanged; null: cleared.")
    tags: strawberry.Maybe[list[str] | None] = strawberry.field(
        default=None, description="Replaces all tags (at most 20, each at most 40 characters); absent: unchanged; "
                                  "null: cleared.")
    status: strawberry.Maybe[DomainStatus] = strawberry.field(
        default=None, description="PENDING or POSTED; absent: unchanged.")
    splits: strawberry.Maybe[list[SplitInput] | None] = strawberry.field(
        default=None, description="New lines; null removes the split.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Delete a transaction, and the other leg when it is part of a transfer.")
class TransactionDeleteInput:
    id: strawberry.ID = strawberry.field(description="The Transaction to delete.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Move money between two own accounts: creates the outgoing and the incoming leg.")
class TransferCreateInput:
    from_account_id: strawberry.ID = strawberry.field(description="The Account the money leaves.")
    to_account_id: strawberry.ID = strawberry.field(description="The Account the money arrives in; not "
                                                                "`fromAccountId`.")
    amount: str = strawberry.field(description="Positive, in the source account's currency.")
    to_amount: str | None = strawberry.field(default=None, description="Arriving amount; required across "
                                                                       "currencies.")
    booked_on: dt.date = strawberry.field(
        description="The booking day of both legs, between 1900-01-01 and 2200-12-31.")
    description: str | None = strawberry.field(
        default=None, description="At most 500 characters; null: \"Transfer to\" and the target account's name.")
    id: strawberry.ID | None = strawberry.field(default=None, description="Client-chosen id of the outgoing leg.")


@strawberry.input(description="Pair an outgoing transaction with an incoming one of another own account as a "
                              "transfer.")
class TransactionLinkInput:
    from_id: strawberry.ID = strawberry.field(description="The outgoing (negative) leg.")
    to_id: strawberry.ID = strawberry.field(description="The incoming (positive) leg.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Unpair a transfer, given either of its legs.")
class TransactionUnlinkInput:
    id: strawberry.ID = strawberry.field(description="Either leg of the transfer.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The user's category for one transaction.")
class TransactionCategorizeInput:
    id: strawberry.ID = strawberry.field(description="The Transaction; not a split transaction or a transfer leg.")
    category_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        default=None, description="The Category, chosen by the user (it teaches the merchant memory and the "
                                  "model); null: uncategorized. Required (absent is REQUIRED).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The user's category for many transactions at once: all of them or none.")
class TransactionsCategorizeBulkInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="1 to 500 of the caller's Transactions (repeated ids count once); no split transaction or "
                    "transfer leg among them.")
    category_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        default=None, description="The Category, chosen by the user (it teaches the merchant memory and the "
                                  "model); null: uncategorized. Required (absent is REQUIRED).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of `transactionCategorize`.")
class TransactionCategorizePayload:
    transaction: Transaction | None = strawberry.field(description="The transaction as stored; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `transactionsCategorizeBulk`.")
class TransactionsCategorizeBulkPayload:
    transactions: list[Transaction] = strawberry.field(
        description="The transactions as stored, in the order given (once each); empty when refused.")
    count: int = strawberry.field(description="How many transactions were categorized; 0 when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `transactionCreate` and `transactionUpdate`.")
class TransactionPayload:
    transaction: Transaction | None = strawberry.field(description="The transaction as stored; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `transactionDelete`.")
class TransactionDeletePayload:
    deleted_ids: list[strawberry.ID] = strawberry.field(description="This id, and the other leg of a transfer.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `transferCreate` and `transactionLink`.")
class TransferPayload:
    transfer: Transfer | None = strawberry.field(description="The two linked legs; null when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `transactionUnlink`.")
class TransactionUnlinkPayload:
    transactions: list[Transaction] = strawberry.field(
        description="The two former legs, now ordinary transactions; empty when refused.")
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="A change to the caller's transactions.")
class TransactionEvent:
    kind: TransactionEventKind = strawberry.field(  # type: ignore[valid-type]
        description="What happened.")
    transaction_id: strawberry.ID | None = strawberry.field(
        description="The changed Transaction; null for BULK_CHANGED.")
    transaction: Transaction | None = strawberry.field(description="Null when deleted or bulk.")
    account_ids: list[strawberry.ID] = strawberry.field(
        description="The Accounts concerned; after a move to another account, the old and the new one.")
    count: int = strawberry.field(description="How many transactions changed: 1, or more for BULK_CHANGED.")
    sync_run_id: strawberry.ID | None = strawberry.field(
        description="The sync run behind a BULK_CHANGED event; null otherwise.")


@strawberry.type(description="A tombstone: this object was deleted (for offline clients).")
class Deletion:
    entity: str = strawberry.field(description="The type of the deleted object, e.g. `Transaction` or `Category`.")
    entity_id: strawberry.ID = strawberry.field(description="The global id the object had.")
    deleted_at: dt.datetime = strawberry.field(description="When the object was deleted.")
