"""The local assistant's evaluation on a generated two-year history (the demo user, `today` fixed).

Two sets of questions:
- GENERATED: templates x the user's own category, merchant and account names (read from the database) x
  date phrases, with the expected periods worked out by hand below;
- HELD-OUT: paraphrases in `tests/fixtures/assistant_heldout.py`, written before the local model and never
  used to tune it.

Each question runs the real tool loop (`app.ai.loop.run`) with `LocalModel` and the user's real tools. A case
passes when the assistant called the expected tool with the expected arguments (and no filter that was not
asked for), every expected figure, recomputed independently from the raw rows (`tests/assistant_truth.py`),
appears in the answer, and every amount of the answer appears in the tool's result. The pass rates are printed
(`pytest -s`) and have a floor.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.ai.local import LocalModel
from app.ai.loop import LoopDone, ToolCalled, run
from app.ai.model import FunctionCall, Turn
from app.auth.models import Scope
from app.auth.principal import Principal
from app.chat.prompt import system_text
from app.chat.tools import Toolbox, load_toolbox
from app.db import new_id
from app.demo import load_demo
from app.resources import Resources, build_resources
from tests.assistant_truth import Truth, load
from tests.conftest import clone_database, drop_database, make_settings
from tests.fixtures.assistant_heldout import HELDOUT, HELDOUT_FRESH, TODAY

GENERATED_FLOOR = 0.90
HELDOUT_FLOOR = 0.70

# date phrase -> the period it means on TODAY (Saturday 2026-11-21), worked out by hand
PHRASES: list[tuple[str, str, str]] = [
    ("last month", "2026-10-01", "2026-10-31"),
    ("this month", "2026-11-01", "2026-11-21"),
    ("this year", "2026-01-01", "2026-11-21"),
    ("last year", "2025-01-01", "2025-12-31"),
    ("in March", "2026-03-01", "2026-03-31"),
    ("in September 2026", "2026-09-01", "2026-09-30"),
    ("since January", "2026-01-01", "2026-11-21"),
    ("in the last 30 days", "2026-10-23", "2026-11-21"),
    ("over the past 2 weeks", "2026-11-08", "2026-11-21"),
    ("between August 1 and October 31", "2026-08-01", "2026-10-31"),
    ("yesterday", "2026-11-20", "2026-11-20"),
    ("today", "2026-11-21", "2026-11-21"),
]
FILTERS = ("category", "merchant", "account", "text", "min_amount", "max_amount", "budget", "goal", "on", "from",
           "to", "by_month")
MONEY = re.compile(r"(?<![\w.,-])(-?\d{1,3}(?:,\d{3})*(?:\.\d+)?) ([A-Z]{3})\b")


@dataclass(frozen=True)
class Case:
    question: str
    tool: str | None
    args: dict[str, Any]


@dataclass
class Demo:
    resources: Resources
    principal: Principal
    truth: Truth
    toolbox: Toolbox


@pytest.fixture(scope="module")
async def demo(servers: dict[str, str], template_url: str) -> AsyncIterator[Demo]:
    url = await clone_database(servers)
    settings = make_settings(url, servers["redis"])
    resources = None
    try:
        await load_demo(settings, today=TODAY)
        resources = await build_resources(settings, start_hub=False)
        async with resources.engine.connect() as conn:
            user = (await conn.execute(sa.text("SELECT * FROM users WHERE email = :e"),
                                       {"e": settings.demo_email})).one()
        principal = Principal(user_id=user.id, email=user.email, base_currency=user.base_currency.strip(),
                              time_zone=user.time_zone, scope=Scope.READ_WRITE, token_id=new_id())
        truth = await load(resources.engine, user.id, principal.base_currency, TODAY)
        async with resources.sessionmaker() as session:
            toolbox = await load_toolbox(session, principal, TODAY)
        yield Demo(resources, principal, truth, toolbox)
    finally:
        if resources is not None:
            await resources.close()
        await drop_database(servers, url)


@dataclass
class Outcome:
    calls: list[FunctionCall]
    results: list[dict[str, Any]]
    text: str


async def ask(demo: Demo, question: str) -> Outcome:
    async def execute(call: FunctionCall) -> dict[str, Any]:
        async with demo.resources.sessionmaker() as session:
            return await demo.toolbox.run(session, call)

    calls, results, text = [], [], ""
    async for event in run(LocalModel(), system=system_text(demo.principal, TODAY),
                           history=[Turn(role="user", text=question)], tools=demo.toolbox.declarations,
                           execute=execute):
        if isinstance(event, ToolCalled):
            calls.append(event.call)
            results.append(event.result)
        elif isinstance(event, LoopDone):
            text = event.text
    return Outcome(calls, results, text)


# -- expectations -----------------------------------------------------------------------------------------------


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def expected(case: Case, t: Truth) -> tuple[list[Decimal], int | None]:
    """(figures the answer must state, a count it must state) for the case, from the raw rows."""
    a, tool = case.args, case.tool
    start, end = (_day(a["from"]) if "from" in a else None), (_day(a["to"]) if "to" in a else None)
    if tool == "spending_summary":
        assert start and end
        return [t.spending(start, end, category=a.get("category"), merchant=a.get("merchant"),
                           account=a.get("account"))], None
    if tool == "top_categories":
        assert start and end
        return t.top_categories(start, end, a.get("limit", 5)), None
    if tool == "largest_transactions":
        assert start and end
        return t.largest(start, end, a.get("limit", 5), merchant=a.get("merchant"), category=a.get("category"),
                         account=a.get("account")), None
    if tool == "income_vs_expenses":
        assert start and end
        income, expenses = t.flow(start, end)
        return [income, expenses, abs(income - expenses)], None
    if tool == "search_transactions":
        low = Decimal(a["min_amount"]) if "min_amount" in a else None
        high = Decimal(a["max_amount"]) if "max_amount" in a else None
        return [], t.count(start=start, end=end, merchant=a.get("merchant"), category=a.get("category"), low=low,
                           high=high, words=a.get("text"))
    if tool == "budget_status":
        if "category" in a:
            return list(t.budget_line(a["category"])), None
        lines = [t.budget_line(t.categories[x.category_id].name) for x in t.budget_lines]
        return [sum((s for s, _ in lines), Decimal(0)), sum((v for _, v in lines), Decimal(0))], None
    if tool == "goal_progress":
        names = [a["goal"]] if "goal" in a else [g.name for g in t.goals]
        out: list[Decimal] = []
        for name in names:
            out += [v for v in t.goal(name).values() if v is not None]
        return out, None
    if tool == "net_worth":
        return [t.net_worth(_day(a["on"]) if "on" in a else TODAY)], None
    if tool == "net_worth_change":
        assert start and end
        return [t.net_worth(start - dt.timedelta(days=1)), t.net_worth(end)], None
    if tool == "account_balances":
        accounts = [t.account_named(a["account"])] if "account" in a else \
            [x for x in t.accounts.values() if not x.archived]
        return [abs(t.balance(x.id)) for x in accounts], None
    return [], None


def _amounts_in(value: Any) -> set[Decimal]:
    found: set[Decimal] = set()
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            found.add(abs(Decimal(value["amount"])))
        for v in value.values():
            found |= _amounts_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= _amounts_in(v)
    return found


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or wanted is None:
        return bool(value) == bool(wanted)
    if isinstance(wanted, int):
        return str(value) == str(wanted)
    if isinstance(wanted, str) and re.fullmatch(r"\d+(\.\d+)?", wanted):
        return str(value).replace(",", "") not in ("", "None") and Decimal(str(value)) == Decimal(wanted)
    return str(value).casefold() == str(wanted).casefold()


def failure(case: Case, outcome: Outcome, truth: Truth) -> str | None:
    """Why the case failed, or None."""
    said = [abs(Decimal(m.group(1).replace(",", ""))) for m in MONEY.finditer(outcome.text)]
    if case.tool is None:
        if outcome.calls:
            return f"called {outcome.calls[0].name}{outcome.calls[0].args} instead of answering that it cannot"
        return f"stated amounts {said}" if said else None
    if len(outcome.calls) != 1 or outcome.calls[0].name != case.tool:
        return f"called {[(c.name, c.args) for c in outcome.calls]}, wanted {case.tool}"
    args = outcome.calls[0].args
    for key, wanted in case.args.items():
        if not _same(args.get(key), wanted):
            return f"{key}={args.get(key)!r}, wanted {wanted!r} (args {args})"
    extra = [k for k in FILTERS if args.get(k) not in (None, "", False) and k not in case.args]
    if args.get("group_by") not in (None, "NONE") and "group_by" not in case.args:
        extra.append("group_by")
    if extra:
        return f"unasked arguments {extra} (args {args})"
    if "error" in outcome.results[0]:
        return f"tool error {outcome.results[0]['error']}"
    figures, count = expected(case, truth)
    missing = [f for f in figures if abs(f) not in said]
    if missing:
        return f"answer lacks {missing}: {outcome.text}"
    if count is not None and not re.search(rf"\b{count}\b" if count else r"\bno transactions\b", outcome.text):
        return f"answer lacks the count {count}: {outcome.text}"
    grounded = _amounts_in(outcome.results[0])
    invented = [s for s in said if s not in grounded]
    if invented:
        return f"amounts not in the tool result {invented}: {outcome.text}"
    return None


# -- the generated set ------------------------------------------------------------------------------------------


ON_CATEGORY = ("How much did I spend on {c} {p}?", "What did I spend on {c} {p}?", "{P}, how much went on {c}?",
               "Total spent on {c} {p}?")
AT_MERCHANT = ("How much did I spend at {m} {p}?", "What did I pay at {m} {p}?", "How much went to {m} {p}?")
SEARCH_MERCHANT = ("Show me transactions at {m} {p}", "List my {m} transactions {p}", "Find payments to {m} {p}")
FROM_ACCOUNT = ("How much did I spend from my {a} account {p}?", "What did I spend with my {a} {p}?")


def pick(templates: tuple[str, ...], i: int) -> str:
    """Template variants rotate over the names, so each name meets several phrasings across the date phrases."""
    return templates[i % len(templates)]


def generated(demo: Demo) -> list[Case]:
    ctx = demo.toolbox.context
    t = demo.truth
    used = {c for tx in t.transactions for c in [tx.category_id] if c}
    categories = [label for label, ref in ctx.categories.items() if ref.kind == "EXPENSE" and ref.id in used][:10]
    merchants = ctx.merchants[:10]
    accounts = [label for label, ref in ctx.accounts.items() if not ref.archived]
    budget_categories = [t.categories[line.category_id].name for line in t.budget_lines]
    cases: list[Case] = []
    for k, (phrase, start, end) in enumerate(PHRASES):
        period = {"from": start, "to": end}
        cases += [
            Case(f"How much did I spend {phrase}?", "spending_summary", period),
            Case(f"What are my top categories {phrase}?", "top_categories", period),
            Case(f"What were my biggest expenses {phrase}?", "largest_transactions", period),
            Case(f"What was my income {phrase}?", "income_vs_expenses", period),
            Case(f"Income versus expenses {phrase}", "income_vs_expenses", period),
            Case(f"How did my net worth change {phrase}?", "net_worth_change", period),
        ]
        cases += [Case(pick(ON_CATEGORY, i + k).format(c=c, p=phrase, P=phrase[0].upper() + phrase[1:]),
                       "spending_summary", {"category": c, **period}) for i, c in enumerate(categories)]
        cases += [Case(pick(AT_MERCHANT, i + k).format(m=m, p=phrase), "spending_summary", {"merchant": m, **period})
                  for i, m in enumerate(merchants)]
        cases += [Case(pick(SEARCH_MERCHANT, i + k).format(m=m, p=phrase), "search_transactions",
                       {"merchant": m, **period}) for i, m in enumerate(merchants)]
        cases += [Case(pick(FROM_ACCOUNT, i + k).format(a=a, p=phrase), "spending_summary", {"account": a, **period})
                  for i, a in enumerate(accounts)]
    cases += [Case(f"Am I on track with my {c} budget?", "budget_status", {"category": c})
              for c in budget_categories]
    cases += [Case(f"How much must I save per month for {g}?", "goal_progress", {"goal": g}) for g in ctx.goals]
    cases += [Case("How are my goals doing?", "goal_progress", {}), Case("What is my net worth?", "net_worth", {})]
    cases += [Case(f"What is the balance of my {a}?", "account_balances", {"account": a}) for a in accounts]
    return cases


RATES: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def summary_line() -> Iterator[None]:
    """One line with every set's pass rate once the module is done (shown with `pytest -s`)."""
    yield
    if RATES:
        print("\nASSISTANT EVALUATION: " + "; ".join(f"{label} {rate}" for label, rate in RATES.items()))


async def evaluate(demo: Demo, cases: list[Case], label: str) -> float:
    failures: list[tuple[Case, str]] = []
    for case in cases:
        reason = failure(case, await ask(demo, case.question), demo.truth)
        if reason is not None:
            failures.append((case, reason))
    rate = 1 - len(failures) / len(cases)
    RATES[label.split(", ")[-1]] = f"{len(cases) - len(failures)}/{len(cases)} ({rate:.1%})"
    print(f"\n{label}: {len(cases) - len(failures)}/{len(cases)} passed ({rate:.1%})")
    for case, reason in itertools.islice(failures, 40):
        print(f"  FAIL {case.question!r}: {reason}")
    return rate


async def test_generated_questions(demo: Demo) -> None:
    cases = generated(demo)
    assert len(cases) >= 400
    rate = await evaluate(demo, cases, "local assistant, generated set")
    assert rate >= GENERATED_FLOOR


async def test_heldout_paraphrases(demo: Demo) -> None:
    cases = [Case(q, tool, args) for q, tool, args in HELDOUT]
    rate = await evaluate(demo, cases, "local assistant, held-out set")
    assert rate >= HELDOUT_FLOOR


async def test_fresh_heldout_paraphrases(demo: Demo) -> None:
    cases = [Case(q, tool, args) for q, tool, args in HELDOUT_FRESH]
    rate = await evaluate(demo, cases, "local assistant, fresh held-out set")
    assert rate >= HELDOUT_FLOOR
