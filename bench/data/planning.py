"""Loaders for the planning and net-worth tables: extra accounts of the ten-year tier, exchange rates,
valuations, budgets with their lines, goals with contributions, linked accounts and milestones.

Registered in `hooks.EXTRAS` (in this order); each writes through COPY and is deterministic: every random
choice comes from `random.Random(f"{name}:{seed}:{index}")`. End-of-day balances are not written here: they are
computed by Florin's own SQL after the load (`bench.data.balances`).

What the scenarios rely on:
- reference rates (ECB, EUR-based, weekdays only, like the real feed) for every currency the generator uses,
  from before the first history day to the last one, so every figure converts (through EUR when needed);
- per user, budget "Monthly" (12 lines, MONTHLY, rollover NONE, in the base currency) and budget
  "Every category" (50 lines: the 41 built-in EXPENSE categories and 9 custom ones added here);
- per user, three goals: two following contributions, one following the savings account;
- per ten-year user, 13 more accounts (20 in all) in six currencies with monthly movements.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from app.accounts.models import AccountKind, classify
from app.categories.builtin import BUILTIN_CATEGORIES
from bench.data.catalog import RATES
from bench.data.generate import COLUMNS, AccountPlan, UserPlan, _at, _money, deterministic_uuid7
from bench.data.hooks import extra

SEED = "florin-bench-planning"
RATE_QUOTES = ("USD", "GBP", "CHF", "JPY", "INR", "SEK")
RATE_PLACES = {"JPY": 2}  # ECB publishes yen to 2 places, the others to 4

# Budget "Monthly": (category, EUR limit); a root counts its children.
MONTHLY_LINES: tuple[tuple[tuple[str, str | None], float], ...] = (
    (("Food & drink", "Groceries"), 420), (("Food & drink", "Restaurants"), 160), (("Food & drink", "Coffee"), 45),
    (("Food & drink", "Delivery"), 80), (("Transport", "Public transport"), 60), (("Transport", "Fuel"), 120),
    (("Shopping", "Online shopping"), 150), (("Shopping", "Clothing"), 90), (("Entertainment", None), 80),
    (("Personal care", None), 70), (("Health", None), 60), (("Subscriptions", None), 15),
)
# Custom EXPENSE categories every user adds (children of built-in roots): with the 41 built-in ones, 50 lines.
CUSTOM_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("Housing", "Furniture", "sofa"), ("Food & drink", "Bakery", "croissant"), ("Transport", "Car sharing", "car"),
    ("Shopping", "Sports gear", "bike"), ("Health", "Dentist", "tooth"), ("Entertainment", "Hobbies", "palette"),
    ("Travel", "Vacation rentals", "home"), ("Education", "Courses", "school"), ("Gifts & donations", "Charity",
                                                                                  "heart"),
)
# The 13 accounts a ten-year user has beyond the standard 7: (key, name, kind, currency, opening EUR, monthly EUR).
HISTORY_ACCOUNTS: tuple[tuple[str, str, AccountKind, str, float, float], ...] = (
    ("savings_usd", "Dollar savings", AccountKind.SAVINGS, "USD", 4000, 120),
    ("savings_gbp", "Sterling savings", AccountKind.SAVINGS, "GBP", 2500, 80),
    ("savings_chf", "Franken Sparkonto", AccountKind.SAVINGS, "CHF", 6000, 150),
    ("broker_usd", "US brokerage", AccountKind.INVESTMENT, "USD", 12000, 300),
    ("broker_jpy", "NISA account", AccountKind.INVESTMENT, "JPY", 5000, 100),
    ("fund_sek", "Fondkonto", AccountKind.INVESTMENT, "SEK", 3000, 90),
    ("pension_eur", "Riester pension", AccountKind.RETIREMENT, "EUR", 9000, 160),
    ("pension_gbp", "UK workplace pension", AccountKind.RETIREMENT, "GBP", 7000, 140),
    ("crypto_eur", "Crypto wallet", AccountKind.CRYPTO, "EUR", 1500, 40),
    ("cash_gbp", "Pounds in a drawer", AccountKind.CASH, "GBP", 150, 5),
    ("card_usd", "US credit card", AccountKind.CREDIT_CARD, "USD", 0, -60),
    ("family_inr", "Family loan (INR)", AccountKind.OTHER_LIABILITY, "INR", -2500, 60),
    ("art_eur", "Art collection", AccountKind.OTHER_ASSET, "EUR", 8000, 0),
)
ACCOUNT_COLUMNS = list(COLUMNS["accounts"])
TX_COLUMNS = list(COLUMNS["transactions"])


def _rng(name: str, plan: UserPlan) -> random.Random:
    return random.Random(f"{SEED}:{name}:{plan.index}")


def _base(plan: UserPlan) -> str:
    return plan.base_currency.strip()


def _limit(eur: float, currency: str) -> Decimal:
    """A round budget figure in `currency`: two significant digits."""
    value = eur * RATES[currency]
    step = 10 ** max(0, int(math.log10(value)) - 1)
    return Decimal(max(step, round(value / step) * step))


@extra("history accounts (20 per ten-year user) + their transactions")
async def history_accounts(conn: Any, users: Sequence[UserPlan]) -> int:
    accounts: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    income, fees = ("Income", "Interest & dividends"), ("Fees & charges", None)
    for plan in users:
        if not plan.history:
            continue
        rng = _rng("history", plan)
        registered = _at(plan.start - dt.timedelta(days=1), 9 * 3600)
        for key, name, kind, currency, opening_eur, monthly_eur in HISTORY_ACCOUNTS:
            account_id = deterministic_uuid7(rng, registered)
            opening = _money(opening_eur * RATES[currency], currency)
            row = (account_id, plan.id, name, kind.value, classify(kind).value, currency,
                   "Interactive Brokers" if kind == AccountKind.INVESTMENT else "HSBC", f"{rng.randrange(10000):04d}",
                   opening, plan.start, opening, False, registered, registered)
            plan.accounts[key] = AccountPlan(account_id, key, kind, currency, opening, row)
            accounts.append(row)
            if not monthly_eur:
                continue
            day = plan.start + dt.timedelta(days=rng.randrange(1, 28))
            while day <= plan.end:
                eur = monthly_eur * rng.uniform(0.4, 1.6) * (1 if rng.random() < 0.85 else -0.5)
                amount = _money(eur * RATES[currency], currency)
                if amount:
                    created = _at(day, rng.randrange(6 * 3600, 22 * 3600))
                    category = plan.categories[income if amount > 0 else fees]
                    rows.append((deterministic_uuid7(rng, created), plan.id, account_id, day, amount, currency,
                                 f"{'DEPOSIT' if amount > 0 else 'WITHDRAWAL'} {name.upper()} {day:%m/%Y}", "",
                                 category, "RULE", None, "", [], "POSTED", None, False, created, created))
                day += dt.timedelta(days=rng.randrange(25, 36))
    if accounts:
        await conn.copy_records_to_table("accounts", records=accounts, columns=ACCOUNT_COLUMNS)
        await conn.copy_records_to_table("transactions", records=rows, columns=TX_COLUMNS)
    return len(accounts) + len(rows)


def reference_rates(first: dt.date, last: dt.date) -> list[tuple[str, dt.date, Decimal]]:
    """(quote, day, EUR->quote) for every weekday of [first, last]: a mean-reverting random walk per currency."""
    out: list[tuple[str, dt.date, Decimal]] = []
    for quote in RATE_QUOTES:
        rng = random.Random(f"{SEED}:rates:{quote}")
        level = 0.0
        places = Decimal(1).scaleb(-RATE_PLACES.get(quote, 4))
        day = first
        while day <= last:
            if day.weekday() < 5:
                level = 0.995 * level + rng.gauss(0, 0.004)
                out.append((quote, day, Decimal(RATES[quote] * math.exp(level)).quantize(places, ROUND_HALF_EVEN)))
            day += dt.timedelta(days=1)
    return out


@extra("exchange_rates (ECB reference, daily)")
async def exchange_rates(conn: Any, users: Sequence[UserPlan]) -> int:
    if not users:
        return 0
    first = min(p.start for p in users) - dt.timedelta(days=14)
    last = max(p.end for p in users)
    rng = random.Random(f"{SEED}:rate-ids")
    rows = [(deterministic_uuid7(rng, _at(day, 16 * 3600)), None, "EUR", quote, day, rate, "ECB",
             _at(day, 16 * 3600)) for quote, day, rate in reference_rates(first, last)]
    await conn.copy_records_to_table("exchange_rates", records=rows, columns=[
        "id", "user_id", "base", "quote", "day", "rate", "source", "updated_at"])
    return len(rows)


@extra("valuations (property and vehicle, yearly)")
async def valuations(conn: Any, users: Sequence[UserPlan]) -> int:
    rows: list[tuple[Any, ...]] = []
    for plan in users:
        rng = _rng("valuations", plan)
        for account in plan.accounts.values():
            growth = {AccountKind.PROPERTY: 1.03, AccountKind.VEHICLE: 0.88}.get(account.kind)
            if growth is None:
                continue
            year = plan.start.year + 1
            while dt.date(year, 1, 15) <= plan.end:
                day = dt.date(year, 1, 15)
                years = (day - plan.start).days / 365.25
                value = _money(float(account.opening) * growth**years * rng.uniform(0.97, 1.03), account.currency)
                created = _at(day, 10 * 3600)
                rows.append((deterministic_uuid7(rng, created), plan.id, account.id, day, value, "yearly estimate",
                             created))
                year += 1
    if rows:
        await conn.copy_records_to_table("valuations", records=rows, columns=[
            "id", "user_id", "account_id", "day", "value", "note", "created_at"])
    return len(rows)


@extra("budgets + budget_lines (+ 9 custom categories per user)")
async def budgets(conn: Any, users: Sequence[UserPlan]) -> int:
    categories: list[tuple[Any, ...]] = []
    budget_rows: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    expense_roots = {root.name for root in BUILTIN_CATEGORIES if root.kind.value == "EXPENSE"}
    colors = {root.name: root.color for root in BUILTIN_CATEGORIES}
    for plan in users:
        rng = _rng("budgets", plan)
        base = _base(plan)
        created = _at(plan.start, 8 * 3600)
        for position, (root, name, icon) in enumerate(CUSTOM_CATEGORIES):
            category_id = deterministic_uuid7(rng, created)
            plan.categories[(root, name)] = category_id
            categories.append((category_id, plan.id, plan.categories[(root, None)], name, "EXPENSE", icon, colors[root],
                               100 + position, created, created))
        expense = [key for key in plan.categories if key[0] in expense_roots]
        assert len(expense) == 50, len(expense)
        for name, spec in (("Monthly", MONTHLY_LINES),
                           ("Every category", tuple((key, rng.uniform(10, 300)) for key in expense))):
            budget_id = deterministic_uuid7(rng, created)
            plan.ids[f"budget:{name}"] = budget_id
            budget_rows.append((budget_id, plan.id, name, base, "MONTHLY", 1, plan.start, "NONE", [50, 80, 100],
                                created, created))
            for position, (category, eur) in enumerate(spec):
                lines.append((deterministic_uuid7(rng, created), budget_id, plan.id, plan.categories[category],
                              _limit(eur, base), position))
    await conn.copy_records_to_table("categories", records=categories, columns=list(COLUMNS["categories"]))
    await conn.copy_records_to_table("budgets", records=budget_rows, columns=[
        "id", "user_id", "name", "currency", "period", "start_day", "starts_on", "rollover", "thresholds",
        "created_at", "updated_at"])
    await conn.copy_records_to_table("budget_lines", records=lines, columns=[
        "id", "budget_id", "user_id", "category_id", "limit_amount", "position"])
    return len(budget_rows) + len(lines) + len(categories)


@extra("goals + goal_contributions + goal_accounts + goal_milestones")
async def goals(conn: Any, users: Sequence[UserPlan]) -> int:
    goal_rows: list[tuple[Any, ...]] = []
    contributions: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    milestones: list[tuple[Any, ...]] = []
    for plan in users:
        rng = _rng("goals", plan)
        base = _base(plan)
        created = _at(plan.start, 8 * 3600)
        specs = (("Emergency fund", "EMERGENCY_FUND", 10000, None, plan.start, 250),
                 ("Summer vacation", "VACATION", 3000, plan.end + dt.timedelta(days=220),
                  plan.end - dt.timedelta(days=330), 180),
                 ("Down payment", "HOME", 60000, plan.end + dt.timedelta(days=5 * 365), None, 0))
        for priority, (name, kind, target_eur, target_date, first, monthly_eur) in enumerate(specs):
            goal_id = deterministic_uuid7(rng, created)
            target = _limit(target_eur, base)
            goal_rows.append((goal_id, plan.id, name, kind, target, base, target_date, priority, "ACTIVE", None,
                              created, created))
            if first is None:  # follows the savings account
                links.append((goal_id, plan.accounts["savings"].id, plan.id))
                continue
            saved = Decimal(0)
            reached = 0
            day = first + dt.timedelta(days=rng.randrange(28))
            while day <= plan.end and saved < target * Decimal("0.9"):
                amount = _money(monthly_eur * RATES[base] * rng.uniform(0.5, 1.5), base)
                when = _at(day, 19 * 3600)
                contributions.append((deterministic_uuid7(rng, when), goal_id, plan.id, amount, day, "", when))
                saved += amount
                while reached < 3 and saved * 100 >= target * (25 * (reached + 1)):
                    reached += 1
                    milestones.append((deterministic_uuid7(rng, when), goal_id, plan.id, 25 * reached, when))
                day += dt.timedelta(days=rng.randrange(26, 35))
    await conn.copy_records_to_table("goals", records=goal_rows, columns=[
        "id", "user_id", "name", "kind", "target_amount", "currency", "target_date", "priority", "status",
        "completed_at", "created_at", "updated_at"])
    await conn.copy_records_to_table("goal_contributions", records=contributions, columns=[
        "id", "goal_id", "user_id", "amount", "day", "note", "created_at"])
    await conn.copy_records_to_table("goal_accounts", records=links, columns=["goal_id", "account_id", "user_id"])
    await conn.copy_records_to_table("goal_milestones", records=milestones, columns=[
        "id", "goal_id", "user_id", "percent", "reached_at"])
    return len(goal_rows) + len(contributions) + len(links) + len(milestones)
