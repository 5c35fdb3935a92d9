"""The demo user and their data for `florin demo` and `make dev`.

`load_demo` registers the demo user when missing and, only while that user has no account at all, writes
two years of deterministic data (`app.demo_data`, then `app.demo_planning`: a budget, goals, a valued
apartment and exchange rates) through the same services the API uses, in one unit of
work: running it again never duplicates anything. Demo data publishes no real-time events.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from zoneinfo import ZoneInfo

from app.accounts import repository as accounts_repo
from app.accounts import service as accounts_service
from app.auth import repository as auth_repo
from app.auth import service as auth_service
from app.auth.models import Scope, User
from app.auth.principal import Principal
from app.categories import repository as categories_repo
from app.categories import service as categories_service
from app.categories.builtin import BUILTIN_CATEGORIES
from app.categories.models import CategoryKind
from app.config import Settings
from app.db import UnitOfWork, new_id, unit_of_work
from app.demo_data import Category, Plan, TransactionSpec, build_plan
from app.demo_planning import BUDGET_LINES, write_planning
from app.insights import service as insights_service
from app.resources import build_resources
from app.transactions import service as transactions_service
from app.transactions.models import TransactionStatus
from app.transactions.service import SplitLine

log = logging.getLogger("florin.demo")


async def load_demo(settings: Settings, *, today: dt.date | None = None) -> None:
    """Create the demo user if missing, then their demo data if they have no accounts yet.

    `today` (default: today in the user's time zone) is the last day of the data.
    """
    resources = await build_resources(settings, start_hub=False)
    try:
        async with unit_of_work(resources) as uow:
            user = await auth_repo.user_by_email(uow.session, settings.demo_email.strip().lower())
            if user is None:
                issued = await auth_service.register(
                    uow.session, config=auth_service.AuthConfig.from_settings(settings), email=settings.demo_email,
                    password=settings.demo_password.get_secret_value(), name="Demo User", base_currency="EUR",
                    time_zone="Europe/Berlin")
                user = issued.user
                log.info("demo user created")
            else:
                log.info("demo user exists")
            user_id = user.id
        started = time.perf_counter()
        async with unit_of_work(resources) as uow:
            # the row lock makes two loaders that start together wait for each other instead of both writing
            user = await auth_repo.user_by_id(uow.session, user_id, for_update=True)
            if user is None:  # pragma: no cover - deleted between the two units of work
                return
            if await accounts_repo.has_accounts(uow.session, user.id):
                log.info("demo data exists")
                return
            last = today or dt.datetime.now(ZoneInfo(user.time_zone)).date()
            plan = build_plan(last)
            principal = _principal(user)
            rows, accounts = await write_plan(uow, principal, plan)
            categories = await _category_ids(uow, principal, [category for category, _ in BUDGET_LINES])
            await write_planning(uow, principal, start=plan.start, today=last, accounts=accounts,
                                 categories=categories)
            uow.events.clear()  # demo data needs no real-time events
        async with unit_of_work(resources) as uow:  # over the committed data, balances included
            found = await insights_service.generate_for(uow, user_id, today=last)
            uow.events.clear()
        log.info("demo insights: %d", len(found))
        log.info("demo data loaded: %d accounts, %d transactions in %.1f s", len(plan.accounts), rows,
                 time.perf_counter() - started)
    finally:
        await resources.close()


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, email=user.email, base_currency=user.base_currency.strip(),
                     time_zone=user.time_zone, scope=Scope.READ_WRITE, token_id=new_id())


async def _category_ids(uow: UnitOfWork, principal: Principal, wanted: list[Category]) -> dict[Category, uuid.UUID]:
    """The user's category for each (top-level, child) name pair; one the user removed is created again."""
    rows = await categories_repo.all_categories(uow.session, principal.user_id)
    roots = {row.name: row for row in rows if row.parent_id is None}
    names = {row.id: row.name for row in roots.values()}
    found: dict[Category, uuid.UUID] = {(row.name, None): row.id for row in roots.values()}
    found.update({(names[row.parent_id], row.name): row.id for row in rows if row.parent_id in names})
    kinds = {builtin.name: builtin.kind for builtin in BUILTIN_CATEGORIES}
    for root, child in wanted:
        if (root, None) not in found:
            created = await categories_service.create_category(
                uow.session, user_id=principal.user_id, name=root, kind=kinds.get(root, CategoryKind.EXPENSE))
            found[(root, None)] = created.id
        if child is not None and (root, child) not in found:
            created = await categories_service.create_category(
                uow.session, user_id=principal.user_id, name=child, parent_id=found[(root, None)])
            found[(root, child)] = created.id
    return found


async def write_plan(uow: UnitOfWork, principal: Principal, plan: Plan) -> tuple[int, dict[str, uuid.UUID]]:
    """Open the plan's accounts and book its operations in order; returns the number of transaction rows and
    the accounts by the plan's keys."""
    accounts: dict[str, uuid.UUID] = {}
    for spec in plan.accounts:
        account = await accounts_service.create_account(
            uow.session, user_id=principal.user_id, name=spec.name, kind=spec.kind, currency=spec.currency,
            institution=spec.institution or None, mask=spec.mask, opening_balance=spec.opening_balance,
            opening_date=plan.start)
        accounts[spec.key] = account.id
    categories = await _category_ids(uow, principal, plan.categories())
    rows = 0
    for op in plan.operations:
        if isinstance(op, TransactionSpec):
            await transactions_service.create_transaction(
                uow, principal, account_id=accounts[op.account], amount=op.amount, booked_on=op.day,
                description=op.description, merchant=op.merchant, category_id=categories[op.category],
                tags=op.tags, status=(TransactionStatus.PENDING if op.pending else TransactionStatus.POSTED).value,
                splits=[SplitLine(line.amount, categories[line.category], line.notes) for line in op.splits] or None)
            rows += 1
        else:
            await transactions_service.create_transfer(
                uow, principal, from_account_id=accounts[op.source], to_account_id=accounts[op.target],
                amount=op.amount, to_amount=op.to_amount, booked_on=op.day, description=op.description)
            rows += 2
    return rows, accounts
