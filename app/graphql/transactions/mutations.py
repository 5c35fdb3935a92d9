"""Mutations of transactions, transfers and their links."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.errors import DomainError, ErrorCode
from app.graphql.context import Context, Info
from app.graphql.mutation import client_id, run_mutation
from app.graphql.node import decode_id, decode_optional_id, to_global_id
from app.graphql.transactions.queries import load_transactions
from app.graphql.transactions.types import (
    SplitInput,
    Transaction,
    TransactionCategorizeInput,
    TransactionCategorizePayload,
    TransactionCreateInput,
    TransactionDeleteInput,
    TransactionDeletePayload,
    TransactionLinkInput,
    TransactionPayload,
    TransactionsCategorizeBulkInput,
    TransactionsCategorizeBulkPayload,
    TransactionUnlinkInput,
    TransactionUnlinkPayload,
    TransactionUpdateInput,
    Transfer,
    TransferCreateInput,
    TransferPayload,
)
from app.transactions import categorize, service
from app.transactions.service import SplitLine


def _lines(splits: list[SplitInput] | None) -> list[SplitLine] | None:
    if splits is None:
        return None
    return [SplitLine(amount=s.amount, notes=s.notes,
                      category_id=decode_optional_id(s.category_id, "Category", f"splits.{i}.categoryId"))
            for i, s in enumerate(splits)]


def _plain(value: Any) -> Any:
    """Input objects -> plain data for the idempotency fingerprint."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if hasattr(value, "value") and type(value).__name__ == "Some":
        return {"set": _plain(value.value)}
    return value


async def _load(ctx: Context, ids: list[str]) -> list[Transaction]:
    found = await load_transactions(ctx, [uuid.UUID(i) for i in ids])
    return [t for t in found if t is not None]


async def _load_one(ctx: Context, id: str) -> Transaction | None:
    found = await _load(ctx, [id])
    return found[0] if found else None


@strawberry.type
class TransactionMutation:
    @strawberry.mutation(description="Record a transaction; the account's balance moves by its amount.")
    async def transaction_create(self, info: Info, input: TransactionCreateInput) -> TransactionPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            tx = await service.create_transaction(
                uow, principal, account_id=decode_id(input.account_id, "Account", "accountId"), amount=input.amount,
                booked_on=input.booked_on, description=input.description, merchant=input.merchant,
                category_id=decode_optional_id(input.category_id, "Category", "categoryId"), notes=input.notes,
                tags=input.tags, status=input.status.value, splits=_lines(input.splits),
                transaction_id=client_id(input.id, "Transaction"))
            return {"transaction": str(tx.id)}

        result, errors = await run_mutation(ctx, "transactionCreate", action, key=input.id, data=_plain(input))
        if errors or result is None:
            return TransactionPayload(transaction=None, errors=errors)
        return TransactionPayload(transaction=await _load_one(ctx, result["transaction"]), errors=[])

    @strawberry.mutation(description="Change given fields of a transaction; absent fields stay as they are.")
    async def transaction_update(self, info: Info, input: TransactionUpdateInput) -> TransactionPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            changes: dict[str, Any] = {}
            if input.account_id is not None:
                changes["account_id"] = decode_id(input.account_id.value, "Account", "accountId")
            for name in ("amount", "booked_on", "description", "merchant", "notes", "tags"):
                given = getattr(input, name)
                if given is not None:
                    changes[name] = given.value
            if input.status is not None:
                changes["status"] = input.status.value.value
            if input.category_id is not None:
                changes["category_id"] = decode_optional_id(input.category_id.value, "Category", "categoryId")
            if input.splits is not None:
                changes["splits"] = _lines(input.splits.value)
            tx = await service.update_transaction(uow, principal, transaction_id=decode_id(input.id, "Transaction"),
                                                  changes=changes)
            return {"transaction": str(tx.id)}

        result, errors = await run_mutation(ctx, "transactionUpdate", action, key=input.idempotency_key,
                                            data=_plain(input))
        if errors or result is None:
            return TransactionPayload(transaction=None, errors=errors)
        return TransactionPayload(transaction=await _load_one(ctx, result["transaction"]), errors=[])

    @strawberry.mutation(description="Delete a transaction; deleting one leg of a transfer deletes both.")
    async def transaction_delete(self, info: Info, input: TransactionDeleteInput) -> TransactionDeletePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            ids = await service.delete_transaction(uow, principal, transaction_id=decode_id(input.id, "Transaction"))
            return {"deleted": [str(i) for i in ids]}

        result, errors = await run_mutation(ctx, "transactionDelete", action, key=input.idempotency_key,
                                            data=_plain(input))
        if errors or result is None:
            return TransactionDeletePayload(deleted_ids=[], errors=errors)
        return TransactionDeletePayload(
            deleted_ids=[to_global_id("Transaction", uuid.UUID(i)) for i in result["deleted"]], errors=[])

    @strawberry.mutation(description="Move money between two own accounts: two linked legs, never spending.")
    async def transfer_create(self, info: Info, input: TransferCreateInput) -> TransferPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            out, into = await service.create_transfer(
                uow, principal, from_account_id=decode_id(input.from_account_id, "Account", "fromAccountId"),
                to_account_id=decode_id(input.to_account_id, "Account", "toAccountId"), amount=input.amount,
                to_amount=input.to_amount, booked_on=input.booked_on, description=input.description,
                transfer_id=client_id(input.id, "Transaction"))
            return {"from": str(out.id), "to": str(into.id)}

        result, errors = await run_mutation(ctx, "transferCreate", action, key=input.id, data=_plain(input))
        return await _transfer_payload(ctx, result, errors)

    @strawberry.mutation(description="Pair two existing transactions of two own accounts as one transfer.")
    async def transaction_link(self, info: Info, input: TransactionLinkInput) -> TransferPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            out, into = await service.link(uow, principal, from_id=decode_id(input.from_id, "Transaction", "fromId"),
                                           to_id=decode_id(input.to_id, "Transaction", "toId"))
            return {"from": str(out.id), "to": str(into.id)}

        result, errors = await run_mutation(ctx, "transactionLink", action, key=input.idempotency_key,
                                            data=_plain(input))
        return await _transfer_payload(ctx, result, errors)

    @strawberry.mutation(description="Unpair a transfer: both legs become ordinary transactions again.")
    async def transaction_unlink(self, info: Info, input: TransactionUnlinkInput) -> TransactionUnlinkPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            rows = await service.unlink(uow, principal, transaction_id=decode_id(input.id, "Transaction"))
            return {"transactions": [str(r.id) for r in rows]}

        result, errors = await run_mutation(ctx, "transactionUnlink", action, key=input.idempotency_key,
                                            data=_plain(input))
        if errors or result is None:
            return TransactionUnlinkPayload(transactions=[], errors=errors)
        return TransactionUnlinkPayload(transactions=await _load(ctx, result["transactions"]), errors=[])

    @strawberry.mutation(description="Set the user's category on a transaction (null: uncategorized); the choice "
                                     "teaches the merchant memory and the categorization model.")
    async def transaction_categorize(self, info: Info, input: TransactionCategorizeInput
                                     ) -> TransactionCategorizePayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            done = await categorize.categorize_one(uow, principal, transaction_id=decode_id(input.id, "Transaction"),
                                                   category_id=_category(input.category_id))
            return {"transaction": str(done)}

        result, errors = await run_mutation(ctx, "transactionCategorize", action, key=input.idempotency_key,
                                            data=_plain(input))
        if errors or result is None:
            return TransactionCategorizePayload(transaction=None, errors=errors)
        return TransactionCategorizePayload(transaction=await _load_one(ctx, result["transaction"]), errors=[])

    @strawberry.mutation(description="Set the user's category on 1 to 500 transactions at once, all of them or "
                                     "none; the choice teaches the merchant memory and the categorization model.")
    async def transactions_categorize_bulk(self, info: Info, input: TransactionsCategorizeBulkInput
                                           ) -> TransactionsCategorizeBulkPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            if len(input.ids) > categorize.MAX_BULK:
                raise DomainError(ErrorCode.INVALID, f"At most {categorize.MAX_BULK} transactions at once", "ids")
            category_id = _category(input.category_id)
            done = await categorize.categorize_bulk(
                uow, principal, transaction_ids=[decode_id(i, "Transaction", "ids") for i in input.ids],
                category_id=category_id)
            return {"transactions": [str(i) for i in done]}

        result, errors = await run_mutation(ctx, "transactionsCategorizeBulk", action, key=input.idempotency_key,
                                            data=_plain(input))
        if errors or result is None:
            return TransactionsCategorizeBulkPayload(transactions=[], count=0, errors=errors)
        found = await _load(ctx, result["transactions"])
        return TransactionsCategorizeBulkPayload(transactions=found, count=len(result["transactions"]), errors=[])


def _category(value: strawberry.Maybe[strawberry.ID | None]) -> uuid.UUID | None:
    """The chosen category: REQUIRED when absent, null for uncategorized."""
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, "Give a category, or null for uncategorized", "categoryId")
    return decode_optional_id(value.value, "Category", "categoryId")


async def _transfer_payload(ctx: Context, result: dict[str, Any] | None, errors: list[Any]) -> TransferPayload:
    if errors or result is None:
        return TransferPayload(transfer=None, errors=errors)
    legs = await _load(ctx, [result["from"], result["to"]])
    by_id = {leg.db_id: leg for leg in legs}
    return TransferPayload(transfer=Transfer(from_=by_id[uuid.UUID(result["from"])], to=by_id[uuid.UUID(result["to"])]),
                           errors=[])
