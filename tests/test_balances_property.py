"""Property: for generated ledgers (accounts incl. liabilities, opening balances and dates, transactions created,
updated, moved, deleted and back-dated, transfers, valuations, manual rates), every day's row of `balances` and
every point of `netWorthHistory` equal a naive recomputation in Python from what was written."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts import service as accounts_service
from app.accounts.models import AccountKind
from app.auth.models import Scope
from app.auth.principal import Principal
from app.db import unit_of_work
from app.errors import DomainError
from app.graphql.node import from_global_id
from app.networth import service as networth_service
from app.transactions import service as tx_service
from tests.support import GraphQLClient

KINDS = [AccountKind.CHECKING, AccountKind.SAVINGS, AccountKind.CREDIT_CARD, AccountKind.LOAN, AccountKind.PROPERTY]
FIRST, LAST = -40, 3  # days relative to today (UTC) that the generated ledger uses
HISTORY = """query($from: Date!, $to: Date!) { netWorthHistory(from: $from, to: $to, interval: DAY, currency: "EUR") {
  points { on assets { amount } liabilities { amount } netWorth { amount } unconverted { amount currency } } } }"""

cents = st.integers(min_value=-500_000, max_value=500_000).map(lambda c: Decimal(c) / 100)
offsets = st.integers(min_value=FIRST, max_value=LAST)
picks = st.integers(min_value=0, max_value=1000)

account_specs = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(["EUR", "EUR", "USD"]), cents,
                                   st.one_of(st.none(), offsets)), min_size=1, max_size=4)
operations = st.lists(st.one_of(
    st.tuples(st.just("create"), picks, cents, offsets),
    st.tuples(st.just("update"), picks, st.one_of(st.none(), cents), st.one_of(st.none(), offsets)),
    st.tuples(st.just("move"), picks, picks),
    st.tuples(st.just("delete"), picks),
    st.tuples(st.just("transfer"), picks, picks, cents.map(abs), offsets),
    st.tuples(st.just("value"), picks, cents, offsets),
    st.tuples(st.just("open"), picks, cents, st.one_of(st.none(), offsets)),
), max_size=14)
rates = st.lists(st.tuples(offsets, st.integers(min_value=5000, max_value=20000).map(lambda r: Decimal(r) / 10000)),
                 max_size=2)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def day(offset: int) -> dt.date:
    return today() + dt.timedelta(days=offset)


@dataclass
class Model:
    """What was written, and the balances it implies, computed naively."""

    accounts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    txs: dict[uuid.UUID, tuple[uuid.UUID, dt.date, Decimal]] = field(default_factory=dict)
    values: dict[tuple[uuid.UUID, dt.date], Decimal] = field(default_factory=dict)
    rates: dict[dt.date, Decimal] = field(default_factory=dict)  # USD -> EUR

    def dated(self, account: uuid.UUID) -> list[dt.date]:
        spec = self.accounts[account]
        return ([spec["opening_date"] or spec["created"]] + [d for a, d, _ in self.txs.values() if a == account]
                + [d for a, d in self.values if a == account])

    def span(self, account: uuid.UUID) -> tuple[dt.date, dt.date]:
        spec = self.accounts[account]
        ends = [d for d in self.dated(account)] + [today() + dt.timedelta(days=1)]
        if spec["opening_date"] is None:
            ends.remove(spec["created"])
        return min(self.dated(account)), max(ends)

    def balance(self, account: uuid.UUID, on: dt.date) -> Decimal:
        anchors = sorted((d, v) for (a, d), v in self.values.items() if a == account and d <= on)
        if anchors:
            since, value = anchors[-1]
            return value + sum((x for a, d, x in self.txs.values() if a == account and since < d <= on), Decimal(0))
        spec = self.accounts[account]
        opening = spec["opening"] if on >= (spec["opening_date"] or spec["created"]) else Decimal(0)
        return opening + sum((x for a, d, x in self.txs.values() if a == account and d <= on), Decimal(0))

    def rows(self) -> dict[tuple[uuid.UUID, dt.date], Decimal]:
        result = {}
        for account in self.accounts:
            first, last = self.span(account)
            on = first
            while on <= last:
                result[(account, on)] = self.balance(account, on)
                on += dt.timedelta(days=1)
        return result

    def point(self, on: dt.date) -> tuple[str, str, str, list[dict[str, str]]]:
        sums: dict[str, list[Decimal]] = {}
        for account, spec in self.accounts.items():
            if on < self.span(account)[0]:
                continue
            value = self.balance(account, on)
            parts = sums.setdefault(spec["currency"], [Decimal(0), Decimal(0)])
            parts[0 if value > 0 else 1] += value
        assets = liabilities = Decimal(0)
        missing = []
        for currency, (positive, negative) in sums.items():
            if currency == "EUR":
                assets, liabilities = assets + positive, liabilities - negative
                continue
            known = [d for d in self.rates if d <= on]
            if not known:
                if positive or negative:
                    missing.append({"amount": f"{positive + negative:.2f}", "currency": currency})
                continue
            rate = self.rates[max(known)]
            # converted exactly; rounded once, below, where the figure is shown
            assets += positive * rate
            liabilities -= negative * rate
        a = assets.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        li = liabilities.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        return f"{a:.2f}", f"{li:.2f}", f"{a - li:.2f}", missing


async def apply(resources: Any, principal: Principal, model: Model, ids: list[uuid.UUID], op: tuple[Any, ...]
                ) -> None:
    kind = op[0]
    tx_ids = sorted(model.txs)
    async with unit_of_work(resources) as uow:
        session, user = uow.session, principal.user_id
        if kind == "create":
            account = ids[op[1] % len(ids)]
            made = await tx_service.create_transaction(uow, principal, account_id=account, amount=op[2],
                                                       booked_on=day(op[3]), description="generated")
            model.txs[made.id] = (account, made.booked_on, op[2])
        elif kind == "update" and tx_ids:
            target = tx_ids[op[1] % len(tx_ids)]
            changes: dict[str, Any] = {}
            if op[2] is not None:
                changes["amount"] = op[2]
            if op[3] is not None:
                changes["booked_on"] = day(op[3])
            await tx_service.update_transaction(uow, principal, transaction_id=target, changes=changes)
            account, was_on, amount = model.txs[target]
            model.txs[target] = (account, changes.get("booked_on", was_on), changes.get("amount", amount))
        elif kind == "move" and tx_ids:
            target = tx_ids[op[1] % len(tx_ids)]
            account, on, amount = model.txs[target]
            same = [a for a in ids if model.accounts[a]["currency"] == model.accounts[account]["currency"]]
            to = same[op[2] % len(same)]
            await tx_service.update_transaction(uow, principal, transaction_id=target, changes={"account_id": to})
            model.txs[target] = (to, on, amount)
        elif kind == "delete" and tx_ids:
            target = tx_ids[op[1] % len(tx_ids)]
            for gone in await tx_service.delete_transaction(uow, principal, transaction_id=target):
                model.txs.pop(gone)
        elif kind == "transfer" and len(ids) > 1 and op[3]:
            source = ids[op[1] % len(ids)]
            target = [a for a in ids if a != source][op[2] % (len(ids) - 1)]
            arriving = op[3] if model.accounts[source]["currency"] == model.accounts[target]["currency"] else op[3] * 2
            out, into = await tx_service.create_transfer(uow, principal, from_account_id=source,
                                                         to_account_id=target, amount=op[3], to_amount=arriving,
                                                         booked_on=day(op[4]))
            model.txs[out.id] = (source, out.booked_on, -op[3])
            model.txs[into.id] = (target, into.booked_on, arriving)
        elif kind == "value":
            account = ids[op[1] % len(ids)]
            await networth_service.record_valuation(session, user_id=user, time_zone="UTC", account_id=account,
                                                    value=op[2], day=day(op[3]))
            model.values[(account, day(op[3]))] = op[2]
        elif kind == "open":
            account = ids[op[1] % len(ids)]
            opening_date = day(op[3]) if op[3] is not None else None
            await accounts_service.update_account(session, user_id=user, account_id=account, opening_balance=op[2],
                                                  opening_date=opening_date)
            model.accounts[account].update(opening=op[2], opening_date=opening_date)


async def stored_rows(resources: Any, user_id: uuid.UUID) -> dict[tuple[uuid.UUID, dt.date], Decimal]:
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text("SELECT account_id, day, balance FROM balances WHERE user_id = :u"),
                                       {"u": user_id})
        return {(r.account_id, r.day): r.balance for r in result}


async def current_balances(resources: Any, user_id: uuid.UUID) -> dict[uuid.UUID, Decimal]:
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text("SELECT id, current_balance FROM accounts WHERE user_id = :u"),
                                       {"u": user_id})
        return {r.id: r.current_balance for r in result}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(specs=account_specs, ops=operations, usd_rates=rates)
async def test_balances_and_history_equal_a_naive_recomputation(gql: GraphQLClient, resources: Any,
                                                               specs: list[tuple[Any, ...]], ops: list[tuple[Any, ...]],
                                                               usd_rates: list[tuple[int, Decimal]]) -> None:
    # given: a fresh user (earlier examples' users stay in the same database: they must never show up)
    user = await gql.register()
    decoded = from_global_id(user["user_id"])
    assert decoded is not None
    principal = Principal(user_id=decoded[1], email=user["email"], base_currency="EUR", time_zone="UTC",
                          scope=Scope.READ_WRITE, token_id=uuid.uuid4())
    model = Model()
    ids: list[uuid.UUID] = []
    for i, (kind, currency, opening, offset) in enumerate(specs):
        async with unit_of_work(resources) as uow:
            made = await accounts_service.create_account(
                uow.session, user_id=principal.user_id, name=f"A{i}", kind=kind, currency=currency,
                opening_balance=opening, opening_date=day(offset) if offset is not None else None)
        ids.append(made.id)
        model.accounts[made.id] = {"currency": currency, "opening": opening,
                                   "opening_date": made.opening_date, "created": made.created_at.date()}
    for offset, rate in usd_rates:
        async with unit_of_work(resources) as uow:
            await networth_service.set_rate(uow.session, user_id=principal.user_id, time_zone="UTC", base="USD",
                                            quote="EUR", rate=rate, day=day(offset))
        model.rates[day(offset)] = rate

    # when: the operations run one unit of work each, through the services
    for op in ops:
        try:
            await apply(resources, principal, model, ids, op)
        except DomainError as exc:  # pragma: no cover - the generated operations are all valid
            raise AssertionError(f"{op} was refused: {exc!r}") from exc

    # then: every row of every day equals the naive balance, and no other row exists
    assert await stored_rows(resources, principal.user_id) == model.rows()
    # and each account's current balance is its balance at the end of its rows
    assert await current_balances(resources, principal.user_id) == {
        account: model.balance(account, model.span(account)[1]) for account in ids}
    # and every point of the daily history equals the naive net worth of that day
    start, end = day(FIRST - 2), day(LAST + 2)
    points = (await gql(HISTORY, {"from": start.isoformat(), "to": end.isoformat()},
                        token=user["token"])).ok()["netWorthHistory"]["points"]
    assert [p["on"] for p in points] == [(start + dt.timedelta(days=i)).isoformat()
                                         for i in range((end - start).days + 1)]
    for p in points:
        assets, liabilities, net, missing = model.point(dt.date.fromisoformat(p["on"]))
        assert (p["assets"]["amount"], p["liabilities"]["amount"], p["netWorth"]["amount"], p["unconverted"]) == (
            assets, liabilities, net, missing), p["on"]
