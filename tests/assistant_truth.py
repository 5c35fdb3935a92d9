"""Independent figures for the assistant evaluation: every row of one user read with plain SQL, then every
figure recomputed naively in Python (no code of the app's reports, budgets, goals or net worth is used).

Rules recomputed (DESIGN §4 and the reports' documented rules): a split transaction counts by its lines, each
in its own category; linked transfers and lines in TRANSFER-kind categories never count; a line in an INCOME
category is income, in an EXPENSE category spending (a refund lowers it); an uncategorized line is spending
when negative. Foreign amounts convert at the latest rate on or before their day, summed exactly and rounded
half-even once at the end.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

CENT = Decimal("0.01")


def r2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass
class Truth:
    base: str
    today: dt.date
    transactions: list[Any] = field(default_factory=list)
    splits: dict[uuid.UUID, list[Any]] = field(default_factory=dict)
    categories: dict[uuid.UUID, Any] = field(default_factory=dict)
    accounts: dict[uuid.UUID, Any] = field(default_factory=dict)
    rates: dict[str, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)
    valuations: dict[uuid.UUID, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)
    budgets: list[Any] = field(default_factory=list)
    budget_lines: list[Any] = field(default_factory=list)
    goals: list[Any] = field(default_factory=list)
    contributions: dict[uuid.UUID, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)
    goal_accounts: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)

    # -- helpers ------------------------------------------------------------------------------------------------

    def category_named(self, name: str) -> Any:
        found = [c for c in self.categories.values() if c.name.lower() == name.lower()]
        assert len(found) == 1, (name, found)
        return found[0]

    def account_named(self, name: str) -> Any:
        found = [a for a in self.accounts.values() if a.name.lower() == name.lower()]
        assert len(found) == 1, (name, found)
        return found[0]

    def subtree(self, name: str) -> set[uuid.UUID]:
        root = self.category_named(name)
        return {root.id} | {c.id for c in self.categories.values() if c.parent_id == root.id}

    def root_of(self, category_id: uuid.UUID | None) -> uuid.UUID | None:
        if category_id is None:
            return None
        c = self.categories[category_id]
        return c.parent_id or c.id

    def to_base(self, amount: Decimal, currency: str, day: dt.date) -> Decimal:
        if currency == self.base:
            return amount
        known = [(d, rate) for d, rate in self.rates[currency] if d <= day]
        assert known, f"no {currency} rate on or before {day}"
        return amount * max(known)[1]

    def lines(self, start: dt.date, end: dt.date) -> list[tuple[Any, uuid.UUID | None, Decimal, str]]:
        """(transaction, category id, amount, kind) of every counted line booked in [start, end]."""
        out = []
        for t in self.transactions:
            if not start <= t.booked_on <= end or t.transfer_id is not None:
                continue
            parts = [(s.category_id, s.amount) for s in self.splits.get(t.id, [])] if t.has_splits \
                else [(t.category_id, t.amount)]
            for category_id, amount in parts:
                kind = self.categories[category_id].kind if category_id else ("EXPENSE" if amount < 0 else "INCOME")
                if kind != "TRANSFER":
                    out.append((t, category_id, amount, kind))
        return out

    # -- figures ------------------------------------------------------------------------------------------------

    def spending(self, start: dt.date, end: dt.date, *, category: str | None = None, merchant: str | None = None,
                 account: str | None = None) -> Decimal:
        wanted = self.subtree(category) if category else None
        account_id = self.account_named(account).id if account else None
        total = Decimal(0)
        for t, category_id, amount, kind in self.lines(start, end):
            if kind != "EXPENSE" or (wanted is not None and category_id not in wanted):
                continue
            if merchant is not None and t.merchant.lower() != merchant.lower():
                continue
            if account_id is not None and t.account_id != account_id:
                continue
            total -= self.to_base(amount, t.currency.strip(), t.booked_on)
        return r2(total)

    def top_categories(self, start: dt.date, end: dt.date, n: int = 5) -> list[Decimal]:
        sums: dict[uuid.UUID | None, Decimal] = {}
        for t, category_id, amount, kind in self.lines(start, end):
            if kind == "EXPENSE":
                key = self.root_of(category_id)
                sums[key] = sums.get(key, Decimal(0)) - self.to_base(amount, t.currency.strip(), t.booked_on)
        return sorted((r2(v) for v in sums.values()), reverse=True)[:n]

    def flow(self, start: dt.date, end: dt.date) -> tuple[Decimal, Decimal]:
        income = expenses = Decimal(0)
        for t, _category_id, amount, kind in self.lines(start, end):
            value = self.to_base(amount, t.currency.strip(), t.booked_on)
            if kind == "INCOME":
                income += value
            else:
                expenses -= value
        return r2(income), r2(expenses)

    def largest(self, start: dt.date, end: dt.date, n: int = 5, *, merchant: str | None = None,
                category: str | None = None, account: str | None = None) -> list[Decimal]:
        wanted = self.subtree(category) if category else None
        account_id = self.account_named(account).id if account else None
        rows = []
        for t in self.transactions:
            kind = self.categories[t.category_id].kind if t.category_id else None
            if merchant is not None and t.merchant.lower() != merchant.lower() \
                    or wanted is not None and t.category_id not in wanted \
                    or account_id is not None and t.account_id != account_id:
                continue
            if start <= t.booked_on <= end and t.transfer_id is None and kind != "TRANSFER" and t.amount < 0:
                rows.append(t.amount)
        return [abs(r2(a)) for a in sorted(rows)[:n]]

    def count(self, *, start: dt.date | None = None, end: dt.date | None = None, merchant: str | None = None,
              category: str | None = None, low: Decimal | None = None, high: Decimal | None = None,
              words: str | None = None) -> int:
        wanted = self.subtree(category) if category else None
        n = 0
        for t in self.transactions:
            if start is not None and t.booked_on < start or end is not None and t.booked_on > end:
                continue
            if merchant is not None and t.merchant.lower() != merchant.lower():
                continue
            if wanted is not None and t.category_id not in wanted:
                continue
            if low is not None and abs(t.amount) < low or high is not None and abs(t.amount) > high:
                continue
            if words is not None:
                text = f"{t.description} {t.merchant}".lower().replace("-", " ").split()
                if not all(any(w.startswith(part) for w in text) for part in words.lower().split()):
                    continue
            n += 1
        return n

    def balance(self, account_id: uuid.UUID, day: dt.date | None = None) -> Decimal:
        """End-of-day balance: the latest valuation on or before `day` plus later transactions, else the opening
        balance plus every transaction."""
        a = self.accounts[account_id]
        day = day or dt.date.max
        valued = [(d, v) for d, v in self.valuations.get(account_id, []) if d <= day]
        since, value = max(valued) if valued else (None, a.opening_balance)
        for t in self.transactions:
            if t.account_id == account_id and t.booked_on <= day and (since is None or t.booked_on > since):
                value += t.amount
        return value

    def net_worth(self, day: dt.date) -> Decimal:
        total = Decimal(0)
        for a in self.accounts.values():
            total += self.to_base(self.balance(a.id, day), a.currency.strip(), day)
        return r2(total)

    def budget_line(self, category: str) -> tuple[Decimal, Decimal]:
        """(spent, available) of the Monthly budget's line for `category` in the period containing today."""
        budget = self.budgets[0]
        target = self.category_named(category).id
        line = next(x for x in self.budget_lines if x.category_id == target)
        cover = {line.category_id} | {c.id for c in self.categories.values() if c.parent_id == line.category_id}
        month = dt.date(budget.starts_on.year, budget.starts_on.month, 1)
        carried = Decimal(0)
        while True:
            following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
            spent = Decimal(0)
            for t in self.transactions:
                if not month <= t.booked_on < following or t.transfer_id is not None:
                    continue
                parts = [(s.category_id, s.amount) for s in self.splits.get(t.id, [])] if t.has_splits \
                    else [(t.category_id, t.amount)]
                for category_id, amount in parts:
                    if category_id in cover:
                        spent -= self.to_base(amount, t.currency.strip(), t.booked_on)
            available = line.limit_amount + carried
            if month <= self.today < following:
                return r2(spent), r2(available)
            carried = max(Decimal(0), available - spent)
            month = following

    def goal(self, name: str) -> dict[str, Decimal | None]:
        g = next(x for x in self.goals if x.name.lower() == name.lower())
        linked = self.goal_accounts.get(g.id, [])
        if linked:
            saved = max(Decimal(0), sum((self.to_base(self.accounts[a].current_balance, self.accounts[a].currency.strip(),
                                                      self.today) for a in linked), Decimal(0)))
        else:
            saved = max(Decimal(0), sum((v for d, v in self.contributions.get(g.id, []) if d <= self.today),
                                        Decimal(0)))
        saved = r2(saved)
        remaining = max(Decimal(0), g.target_amount - saved)
        monthly = None
        if g.target_date is not None:
            months = (g.target_date.year - self.today.year) * 12 + g.target_date.month - self.today.month
            if g.target_date.day > self.today.day:
                months += 1
            monthly = (remaining / max(1, months)).quantize(CENT, rounding=ROUND_CEILING)
        return {"saved": saved, "target": r2(g.target_amount), "remaining": r2(remaining), "monthly": monthly}


async def load(engine: Any, user_id: uuid.UUID, base: str, today: dt.date) -> Truth:
    truth = Truth(base=base, today=today)
    async with engine.connect() as conn:
        async def rows(sql: str) -> list[Any]:
            return list((await conn.execute(sa.text(sql), {"u": user_id})).all())

        truth.transactions = await rows("SELECT * FROM transactions WHERE user_id = :u ORDER BY booked_on, id")
        for s in await rows("SELECT * FROM transaction_splits WHERE user_id = :u ORDER BY position"):
            truth.splits.setdefault(s.transaction_id, []).append(s)
        truth.categories = {c.id: c for c in await rows("SELECT * FROM categories WHERE user_id = :u")}
        truth.accounts = {a.id: a for a in await rows("SELECT * FROM accounts WHERE user_id = :u")}
        for r in await rows("SELECT base, quote, day, rate FROM exchange_rates WHERE user_id = :u ORDER BY day"):
            assert r.quote.strip() == base, r
            truth.rates.setdefault(r.base.strip(), []).append((r.day, r.rate))
        for v in await rows("SELECT account_id, day, value FROM valuations WHERE user_id = :u"):
            truth.valuations.setdefault(v.account_id, []).append((v.day, v.value))
        truth.budgets = await rows("SELECT * FROM budgets WHERE user_id = :u")
        truth.budget_lines = await rows("SELECT * FROM budget_lines WHERE user_id = :u")
        truth.goals = await rows("SELECT * FROM goals WHERE user_id = :u")
        for c in await rows("SELECT goal_id, day, amount FROM goal_contributions WHERE user_id = :u"):
            truth.contributions.setdefault(c.goal_id, []).append((c.day, c.amount))
        for ga in await rows("SELECT goal_id, account_id FROM goal_accounts WHERE user_id = :u"):
            truth.goal_accounts.setdefault(ga.goal_id, []).append(ga.account_id)
    return truth
