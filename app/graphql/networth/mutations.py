"""Mutations of net worth: `valuationRecord`, `exchangeRateSet`."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from app.auth.principal import Principal
from app.db import UnitOfWork
from app.graphql.accounts.queries import load_accounts
from app.graphql.context import Info
from app.graphql.mutation import run_mutation
from app.graphql.networth.types import (
    ExchangeRate,
    ExchangeRateSetInput,
    ExchangeRateSetPayload,
    Valuation,
    ValuationRecordInput,
    ValuationRecordPayload,
)
from app.graphql.node import decode_id
from app.networth import repository as repo
from app.networth import service


@strawberry.type
class NetWorthMutation:
    @strawberry.mutation(description="Record what an account (a house, a car) is worth from a day on; its balance "
                                     "from that day is the value plus later transactions.")
    async def valuation_record(self, info: Info, input: ValuationRecordInput) -> ValuationRecordPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            valuation = await service.record_valuation(
                uow.session, user_id=principal.user_id, time_zone=principal.time_zone,
                account_id=decode_id(input.account_id, "Account", "accountId"), value=input.value, day=input.day,
                note=input.note)
            return {"account": str(valuation.account_id), "valuation": str(valuation.id)}

        data = {"accountId": input.account_id, "value": input.value, "day": input.day, "note": input.note}
        result, errors = await run_mutation(ctx, "valuationRecord", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return ValuationRecordPayload(account=None, valuation=None, errors=errors)
        account = (await load_accounts(ctx, [uuid.UUID(result["account"])]))[0]
        async with ctx.resources.sessionmaker() as session:
            row = await repo.valuation_by_id(session, ctx.viewer().user_id, uuid.UUID(result["valuation"]))
        valuation = Valuation.from_row(row, account.currency) if row is not None and account is not None else None
        return ValuationRecordPayload(account=account, valuation=valuation, errors=[])

    @strawberry.mutation(description="Set your own exchange rate of a pair on a day; on that day it wins over the "
                                     "reference rate, and only you see it.")
    async def exchange_rate_set(self, info: Info, input: ExchangeRateSetInput) -> ExchangeRateSetPayload:
        ctx = info.context

        async def action(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
            row = await service.set_rate(uow.session, user_id=principal.user_id, time_zone=principal.time_zone,
                                         base=input.base, quote=input.quote, rate=input.rate, day=input.day)
            return {"rate": str(row.id)}

        data = {"base": input.base, "quote": input.quote, "rate": input.rate, "day": input.day}
        result, errors = await run_mutation(ctx, "exchangeRateSet", action, key=input.idempotency_key, data=data)
        if errors or result is None:
            return ExchangeRateSetPayload(exchange_rate=None, errors=errors)
        async with ctx.resources.sessionmaker() as session:
            row = await repo.rate_by_id(session, ctx.viewer().user_id, uuid.UUID(result["rate"]))
        return ExchangeRateSetPayload(exchange_rate=ExchangeRate.from_row(row) if row is not None else None, errors=[])
