"""End-of-day balances: a change dated D rewrites exactly the rows from D on, valuations anchor the balance,
the nightly job extends rows to tomorrow, and `Account.balanceHistory` reads them without N+1."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.auth.models import Scope
from app.auth.principal import Principal
from app.db import unit_of_work
from app.graphql.node import from_global_id
from app.networth import balances
from app.transactions import service as tx_service
from tests.ledger import TX_DELETE, TX_UPDATE, account, create
from tests.support import GraphQLClient, count_queries
from worker.jobs import fill_balances

ACCOUNT_CREATE = """mutation($input: AccountCreateInput!) { accountCreate(input: $input) {
  account { id balance { amount } } errors { field code } } }"""
VALUATION = """mutation($input: ValuationRecordInput!) { valuationRecord(input: $input) {
  account { id balance { amount currency } } valuation { id day value { amount currency } note }
  errors { field message code } } }"""
HISTORY_PAGE = """query($from: Date, $to: Date) { accounts(first: 50) { edges { node { name
  balanceHistory(from: $from, to: $to) { day balance { amount currency } } } } } }"""


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def day(offset: int) -> dt.date:
    return utc_today() + dt.timedelta(days=offset)


def db_id(global_id: str) -> Any:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def rows(resources: Any, account_id: str) -> dict[dt.date, tuple[Decimal, dt.datetime]]:
    """day -> (balance, computed_at) of one account, straight from the table."""
    async with resources.sessionmaker() as session:
        result = await session.execute(sa.text(
            "SELECT day, balance, computed_at FROM balances WHERE account_id = :a ORDER BY day"),
            {"a": db_id(account_id)})
        return {r.day: (r.balance, r.computed_at) for r in result}


async def opened(gql: GraphQLClient, token: str, *, opening: str, offset: int, kind: str = "CHECKING",
                 currency: str = "EUR", name: str = "Main") -> str:
    result = (await gql(ACCOUNT_CREATE, {"input": {"name": name, "kind": kind, "currency": currency,
                                                   "openingBalance": opening,
                                                   "openingDate": day(offset).isoformat()}},
                        token=token)).ok()["accountCreate"]
    assert result["errors"] == []
    return str(result["account"]["id"])


def changed(before: dict[dt.date, tuple[Decimal, dt.datetime]], after: dict[dt.date, tuple[Decimal, dt.datetime]]
            ) -> list[dt.date]:
    """Days whose row was written (computed_at moved), added or removed."""
    return sorted(d for d in before.keys() | after.keys() if before.get(d, (None, None))[1] != after.get(d, (0, 0))[1])


async def test_rows_span_the_opening_day_to_tomorrow(gql: GraphQLClient, resources: Any) -> None:
    # given / when: an account opened 5 days ago with 100.00 and one payment 2 days ago
    user = await gql.register()
    acc = await opened(gql, user["token"], opening="100.00", offset=-5)
    await create(gql, user["token"], acc, "-30.25", day(-2).isoformat())
    # then: one row per day from the opening day to tomorrow, the payment counted from its day
    table = await rows(resources, acc)
    assert {d: b for d, (b, _) in table.items()} == {
        day(-5): Decimal("100"), day(-4): Decimal("100"), day(-3): Decimal("100"), day(-2): Decimal("69.75"),
        day(-1): Decimal("69.75"), day(0): Decimal("69.75"), day(1): Decimal("69.75")}


async def test_a_back_dated_change_rewrites_exactly_the_rows_from_its_day_on(gql: GraphQLClient, resources: Any
                                                                              ) -> None:
    # given: an account opened 20 days ago with payments 15, 10 and 5 days ago
    user = await gql.register()
    token = user["token"]
    acc = await opened(gql, token, opening="1000.00", offset=-20)
    early = await create(gql, token, acc, "-100.00", day(-15).isoformat())
    middle = await create(gql, token, acc, "-10.00", day(-10).isoformat())
    await create(gql, token, acc, "-1.00", day(-5).isoformat())
    before = await rows(resources, acc)
    assert sorted(before) == [day(i) for i in range(-20, 2)]

    # when: a payment is back-dated to 8 days ago
    await create(gql, token, acc, "-50.00", day(-8).isoformat())
    after = await rows(resources, acc)
    # then: exactly the rows from 8 days ago on were written, each 50.00 lower; the older ones are untouched
    assert changed(before, after) == [day(i) for i in range(-8, 2)]
    for d in after:
        expected = before[d][0] - (Decimal("50") if d >= day(-8) else 0)
        assert after[d][0] == expected, d

    # when: the middle payment's description changes (no amount, no day)
    before = after
    update = {"id": middle["id"], "description": "renamed"}
    assert (await gql(TX_UPDATE, {"input": update}, token=token)).ok()["transactionUpdate"]["errors"] == []
    # then: no row is rewritten
    assert changed(before, await rows(resources, acc)) == []

    # when: the middle payment moves from 10 to 12 days ago
    update = {"id": middle["id"], "bookedOn": day(-12).isoformat()}
    assert (await gql(TX_UPDATE, {"input": update}, token=token)).ok()["transactionUpdate"]["errors"] == []
    after = await rows(resources, acc)
    # then: only the days in between change (from 10 days ago on, the balance is as it was)
    assert changed(before, after) == [day(-12), day(-11)]
    assert [after[day(i)][0] for i in (-13, -12, -11, -10)] == [
        Decimal("900"), Decimal("890"), Decimal("890"), Decimal("890")]

    # when: the earliest payment is deleted
    before = after
    assert (await gql(TX_DELETE, {"id": early["id"]}, token=token)).ok()["transactionDelete"]["errors"] == []
    after = await rows(resources, acc)
    # then: the rows from its day on are 100.00 higher, the older ones untouched
    assert changed(before, after) == [day(i) for i in range(-15, 2)]
    assert all(after[d][0] == before[d][0] + (100 if d >= day(-15) else 0) for d in after)


async def test_a_change_before_the_opening_day_extends_and_shrinks_the_rows(gql: GraphQLClient, resources: Any
                                                                            ) -> None:
    # given: an account opened 3 days ago
    user = await gql.register()
    acc = await opened(gql, user["token"], opening="10.00", offset=-3)
    # when: a transaction is booked 6 days ago
    made = await create(gql, user["token"], acc, "5.00", day(-6).isoformat())
    # then: rows start on its day; the opening balance counts from the opening day on
    table = await rows(resources, acc)
    assert [table[day(i)][0] for i in range(-6, 2)] == [Decimal("5")] * 3 + [Decimal("15")] * 5
    # when: the opening balance changes
    update = """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) { errors { code } } }"""
    result = await gql(update, {"input": {"id": acc, "openingBalance": "12.00"}}, token=user["token"])
    assert result.ok()["accountUpdate"]["errors"] == []
    # then: exactly the rows from the opening day on are rewritten
    after = await rows(resources, acc)
    assert changed(table, after) == [day(i) for i in range(-3, 2)]
    assert [after[day(i)][0] for i in range(-6, 2)] == [Decimal("5")] * 3 + [Decimal("17")] * 5
    # when: it is deleted again, the rows start at the opening day once more
    await gql(TX_DELETE, {"id": made["id"]}, token=user["token"])
    table = await rows(resources, acc)
    assert sorted(table) == [day(i) for i in range(-3, 2)]
    assert {b for b, _ in table.values()} == {Decimal("12")}


async def test_a_valuation_anchors_the_balance_from_its_day_on(gql: GraphQLClient, resources: Any) -> None:
    # given: a house opened 30 days ago at 0
    user = await gql.register()
    token = user["token"]
    house = await opened(gql, token, opening="0", offset=-30, kind="PROPERTY", name="House")
    # when: it is valued at 250000 ten days ago
    result = (await gql(VALUATION, {"input": {"accountId": house, "value": "250000", "day": day(-10).isoformat(),
                                              "note": "appraisal"}}, token=token)).ok()["valuationRecord"]
    # then: the payload has the account with its new balance, and the valuation
    assert result["errors"] == []
    assert result["account"]["balance"] == {"amount": "250000.00", "currency": "EUR"}
    assert result["valuation"]["day"] == day(-10).isoformat()
    assert result["valuation"]["value"] == {"amount": "250000.00", "currency": "EUR"}
    assert result["valuation"]["note"] == "appraisal"
    table = await rows(resources, house)
    assert all(b == (Decimal("250000") if d >= day(-10) else 0) for d, (b, _) in table.items())

    # when: a repair is paid 5 days ago and an older income is booked 20 days ago
    before = table
    await create(gql, token, house, "-1000.00", day(-5).isoformat())
    table = await rows(resources, house)
    assert changed(before, table) == [day(i) for i in range(-5, 2)]
    before = table
    await create(gql, token, house, "300.00", day(-20).isoformat())
    table = await rows(resources, house)
    # then: the older transaction changes the days before the valuation only; the valuation still anchors
    assert changed(before, table) == [day(i) for i in range(-20, -10)]
    assert table[day(-11)][0] == Decimal("300") and table[day(-10)][0] == Decimal("250000")
    assert table[day(0)][0] == Decimal("249000")

    # when: the valuation of that day is replaced
    result = (await gql(VALUATION, {"input": {"accountId": house, "value": "260000.00",
                                              "day": day(-10).isoformat()}}, token=token)).ok()["valuationRecord"]
    # then: one valuation is left, and the balance follows from its day on
    assert result["account"]["balance"]["amount"] == "259000.00"
    assert result["valuation"]["note"] == ""
    async with resources.sessionmaker() as session:
        count = (await session.execute(sa.text("SELECT count(*) FROM valuations WHERE account_id = :a"),
                                       {"a": db_id(house)})).scalar_one()
    assert count == 1
    table = await rows(resources, house)
    assert [table[day(i)][0] for i in (-11, -10, -5, 1)] == [
        Decimal("300"), Decimal("260000"), Decimal("259000"), Decimal("259000")]


async def test_fill_balances_extends_every_account_to_tomorrow(gql: GraphQLClient, resources: Any) -> None:
    # given: two users' accounts whose last rows stop three days ago (as if the job had not run since)
    first, second = await gql.register(), await gql.register()
    a = await opened(gql, first["token"], opening="10.00", offset=-9)
    await create(gql, first["token"], a, "-2.50", day(-4).isoformat())
    b = await opened(gql, second["token"], opening="-40.00", offset=-6, kind="CREDIT_CARD")
    c = await opened(gql, second["token"], opening="7.00", offset=-2)
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text("DELETE FROM balances WHERE day > :d"), {"d": day(-3)})
        await session.execute(sa.text("DELETE FROM balances WHERE account_id = :c"), {"c": db_id(c)})
    kept = {acc: await rows(resources, acc) for acc in (a, b)}

    # when: the nightly job runs
    filled = await fill_balances({"resources": resources})

    # then: every account runs to tomorrow with the right balance, and the rows it had are untouched
    assert filled == 3
    for acc, expected in ((a, Decimal("7.50")), (b, Decimal("-40")), (c, Decimal("7"))):
        table = await rows(resources, acc)
        assert max(table) == day(1)
        assert [table[day(i)][0] for i in (-2, -1, 0, 1)] == [expected] * 4
    for acc in (a, b):
        table = await rows(resources, acc)
        assert {d: v for d, v in table.items() if d <= day(-3)} == kept[acc]
    # and running it again has nothing to do
    assert await fill_balances({"resources": resources}) == 0


async def test_balance_history_of_a_page_of_accounts_is_batched(gql: GraphQLClient, resources: Any) -> None:
    # given: a user with 2 accounts, another with 8
    small, large = await gql.register(), await gql.register()
    for i in range(2):
        await opened(gql, small["token"], opening=f"{i + 1}.00", offset=-3, name=f"S{i}")
    for i in range(8):
        acc = await opened(gql, large["token"], opening="5.00", offset=-1, name=f"L{i}")
        await create(gql, large["token"], acc, "1.00", day(0).isoformat())
    window = {"from": day(-3).isoformat(), "to": day(2).isoformat()}

    # when: each asks the history of every account on a page
    counts = []
    for user in (small, large):
        with count_queries(resources.engine) as counter:
            data = (await gql(HISTORY_PAGE, window, token=user["token"])).ok()
        counts.append(counter.count)
        nodes = [edge["node"] for edge in data["accounts"]["edges"]]
        if user is small:
            # then: a row per day; days after the last row repeat it
            assert nodes[0]["balanceHistory"] == [
                {"day": day(i).isoformat(), "balance": {"amount": "1.00", "currency": "EUR"}} for i in range(-3, 3)]
        else:
            # and days before the first row are left out
            assert [p["day"] for p in nodes[0]["balanceHistory"]] == [day(i).isoformat() for i in range(-1, 3)]
            assert [p["balance"]["amount"] for p in nodes[0]["balanceHistory"]] == ["5.00", "6.00", "6.00", "6.00"]
    # then: the number of statements does not grow with the number of accounts
    assert counts[0] == counts[1]


async def test_balance_history_defaults_and_limits(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    acc = await account(gql, user["token"], opening="3.00")
    query = """query($id: ID!, $from: Date, $to: Date) { account(id: $id) {
      balanceHistory(from: $from, to: $to) { day } } }"""
    # when: no window is given, then it is the last 30 days up to today
    points = (await gql(query, {"id": acc["id"]}, token=user["token"])).ok()["account"]["balanceHistory"]
    assert [p["day"] for p in points] == [day(0).isoformat()]  # the account exists since today
    # when: the window is reversed or too long, then BAD_USER_INPUT
    for window in ({"from": "2026-02-01", "to": "2026-01-01"}, {"from": "2000-01-01", "to": "2026-01-01"}):
        assert (await gql(query, {"id": acc["id"], **window}, token=user["token"])).codes == ["BAD_USER_INPUT"]



async def test_fill_balances_waits_for_a_writer_of_the_same_user(gql: GraphQLClient, resources: Any) -> None:
    # given: an account whose rows stop today (as if midnight had passed), and a writer of that user with a
    # payment not yet committed
    user = await gql.register()
    acc = await opened(gql, user["token"], opening="100.00", offset=-3)
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text("DELETE FROM balances WHERE day > :d"), {"d": day(0)})
    principal = Principal(user_id=db_id(user["user_id"]), email=user["email"], base_currency="EUR", time_zone="UTC",
                          scope=Scope.READ_WRITE, token_id=uuid.uuid4())
    job: asyncio.Task[int] | None = None
    async with unit_of_work(resources) as uow:
        await tx_service.create_transaction(uow, principal, account_id=db_id(acc), amount="-5.00", booked_on=day(0))
        # (its rows are written now rather than just before the commit, so they are in the table, uncommitted)
        await balances.recompute(uow.session, principal.user_id, {db_id(acc): day(0)})
        # when: the nightly job starts meanwhile
        job = asyncio.ensure_future(fill_balances({"resources": resources}))
        # then: it waits on the user's ledger lock instead of writing from a stale snapshot
        for _ in range(200):
            async with resources.sessionmaker() as probe:
                waiting = (await probe.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    " AND datname = current_database()"))).scalar_one()
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting == 1 and not job.done()
    # and once the writer commits, the rows to tomorrow hold the payment
    await job
    table = await rows(resources, acc)
    assert max(table) == day(1)
    assert [table[day(i)][0] for i in (-1, 0, 1)] == [Decimal("100"), Decimal("95"), Decimal("95")]
