"""`LocalModel`: the offline assistant. Deterministic, no network; it implements `ChatModel` by rules.

From the last user question it chooses one call of the tools it is handed (recognizing the user's category,
merchant, account, goal and budget names from the declarations' enums), and when the history ends with the
results it writes the answer from them with templates (`local_answers`), so every number it says comes from
a tool result. A question it cannot map to a tool gets an honest answer that lists what it can do.

Today is read from the system text ("Today is 2026-11-21") so a conversation carries the user's day; the
constructor's `today` is the fallback (tests fix it either way). Date phrases: see `local_dates`. Without one,
flows cover this month, the net worth change the last 30 days, and a search all time.

Intents, in order: an action request ("can you move/pay/transfer …") or anything unknown gets the list of
what it can do; budget ("budget", "overspent", "left to spend"); goal ("goal", "save per month", a goal's
name); net worth ("net worth", "worth"; with "change"/"grow"/"since"/a period: its change; with "at the end
of"/"on"/"as of": on that day); balance ("balance", "owe", "how much is in my …"); income ("income",
"earn", "salary", "savings rate", "cash flow", "income vs expenses"); top categories ("top categories",
"where does my money go", "spend the most on"); largest ("biggest", "largest", "most expensive"); search
("show me / list / find … transactions", an amount range, quoted words); spending ("spend", "cost", "pay").
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from app.ai.local_answers import answer, capabilities
from app.ai.local_dates import NUMBERS, Dates, Period
from app.ai.local_names import KINDS, Match, Names, Question, resolve
from app.ai.model import FunctionCall, FunctionDeclaration, ModelReply, TextDelta, Turn, Usage

TODAY = re.compile(r"\btoday is (\d{4}-\d{2}-\d{2})", re.IGNORECASE)
QUOTED = re.compile(r"[\"'“‘]([^\"'”’]{2,60})[\"'”’]")
NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
FILTER_KINDS = ("category", "merchant", "account")
USES: dict[str, tuple[str, ...]] = {
    "budget_status": ("budget", "category"), "goal_progress": ("goal",), "account_balances": ("account",),
    "spending_summary": FILTER_KINDS, "largest_transactions": FILTER_KINDS, "search_transactions": FILTER_KINDS,
}


def _has(text: str, *patterns: str) -> bool:
    return any(re.search(p, text) for p in patterns)


class LocalModel:
    name = "local"

    def __init__(self, today: dt.date | None = None, chunk_words: int = 4):
        self.today = today
        self.chunk_words = chunk_words

    async def generate(self, *, system: str, history: Sequence[Turn],
                       tools: Sequence[FunctionDeclaration]) -> ModelReply:
        return self.reply(system=system, history=history, tools=tools)

    async def stream(self, *, system: str, history: Sequence[Turn],
                     tools: Sequence[FunctionDeclaration]) -> AsyncIterator[TextDelta | ModelReply]:
        reply = self.reply(system=system, history=history, tools=tools)
        pieces = re.findall(r"\S+\s*", reply.text)
        for i in range(0, len(pieces), self.chunk_words):
            yield TextDelta("".join(pieces[i:i + self.chunk_words]))
        yield reply

    # -- one round --------------------------------------------------------------------------------------------

    def reply(self, *, system: str, history: Sequence[Turn], tools: Sequence[FunctionDeclaration]) -> ModelReply:
        today = self._today(system)
        questions = [t.text for t in history if t.role == "user"]
        question = questions[-1] if questions else ""
        usage_in = sum(len(t.text.split()) for t in history) + len(system.split())
        if history and history[-1].role == "tool":
            calls = next((t.calls for t in reversed(history) if t.role == "model" and t.calls), ())
            text = answer(question, list(calls), list(history[-1].results), today)
            return ModelReply(text=text, usage=Usage(usage_in, len(text.split())))
        call = self.plan(question, today, tools, earlier=questions[:-1])
        if call is None:
            text = capabilities()
            return ModelReply(text=text, usage=Usage(usage_in, len(text.split())))
        return ModelReply(calls=(call,), usage=Usage(usage_in, 1))

    def _today(self, system: str) -> dt.date:
        found = TODAY.search(system or "")
        if found:
            try:
                return dt.date.fromisoformat(found.group(1))
            except ValueError:
                pass
        return self.today or dt.date.today()

    # -- question -> call -------------------------------------------------------------------------------------

    def plan(self, question: str, today: dt.date, tools: Sequence[FunctionDeclaration],
             earlier: Sequence[str] = ()) -> FunctionCall | None:
        declared = {t.name: t for t in tools}
        call = self._plan(question, today, declared)
        if call is None and earlier:
            # a follow-up ("and last month?", "what about restaurants?"): the last answerable question, with
            # the period and names the new question gives instead of its own
            q = Question(question)
            period = Dates(today).find(q.text)
            if period or _names_of(declared).find(q):
                for before in reversed(earlier[-3:]):
                    previous = self._plan(before, today, declared)
                    if previous is None:
                        continue
                    again = self._plan(question, today, declared, intent=previous.name)
                    if again is None:
                        continue
                    args = {**previous.args, **again.args}
                    if period is None:
                        for key in ("from", "to", "on"):
                            if key in previous.args:
                                args[key] = previous.args[key]
                    return FunctionCall(name=previous.name, args=args, id="local-1")
        return call

    def _plan(self, question: str, today: dt.date, declared: dict[str, FunctionDeclaration],
              intent: str | None = None) -> FunctionCall | None:
        q = Question(question)
        names = _names_of(declared)
        period = Dates(today).find(q.text)
        skip = [q.words_in(period.span)] if period else []
        matches = names.find(q, skip)
        intent = intent or self._intent(q, declared, resolve(matches), period)
        if intent is None or intent not in declared:
            return None
        # the names this tool takes; a name of another kind never hides one of them
        kinds = USES.get(intent, ())
        found = resolve([m for m in matches if m.kind in kinds])
        args = self._args(intent, q, today, period, found, declared[intent])
        return FunctionCall(name=intent, args=args, id="local-1")

    def _intent(self, q: Question, declared: dict[str, FunctionDeclaration],
                found: dict[str, Match] | None = None, period: Period | None = None) -> str | None:
        t = q.text
        found = found if found is not None else resolve(_names_of(declared).find(q))
        if _has(t, r"^(?:please\s+)?(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:move|transfer|pay|send|buy|"
                   r"sell|create|delete|remove|cancel|book|set up|add|change|rename|categori[sz]e|open|close)\b",
                r"^(?:please\s+)?(?:move|transfer|pay|send|buy|sell|delete|cancel)\b",
                r"\bshould i\b", r"\b(?:weather|joke|stock price|recipe)\b"):
            return None
        if _has(t, r"\bbudget", r"\bover ?spen[dt]", r"\bleft to spend\b", r"\bover the limit\b"):
            return "budget_status"
        if "goal" in found or _has(t, r"\bgoals?\b", r"\bsav(?:e|ing) (?:up )?for\b",
                                   r"\b(?:save|put aside|set aside|put away)\b.*\b(?:per|a|each|every) month\b"):
            return "goal_progress"
        if _has(t, r"\bnet ?worth\b", r"\bworth\b", r"\bwealth\b"):
            point = _has(t, r"\b(?:at the end of|end of|as of|on)\b")
            change = _has(t, r"\bchang", r"\bgr[eo]w", r"\b(?:go|gone|went) (?:up|down)\b", r"\bincreas",
                          r"\bdecreas", r"\bsince\b", r"\bevolv", r"\btrend", r"\bdevelop", r"\bcompared?\b",
                          r"\bdifference\b", r"\bmoved?\b")
            if change or (period is not None and not period.point and not point
                          and period.phrase not in ("today", "now")):
                return "net_worth_change"
            return "net_worth"
        if _has(t, r"\bbalances?\b", r"\bowe\b", r"\bowing\b", r"\bdebt\b",
                r"\bhow much (?:money |cash )?(?:do i have|is (?:there )?(?:in|on|left in|left on))\b",
                r"\bwhat'?s (?:left )?(?:in|on) my\b", r"\bhow much cash\b"):
            return "account_balances"
        if _has(t, r"\bincome\b", r"\bearn", r"\bsalary\b", r"\bsavings rate\b", r"\bcash ?flow\b",
                r"\bhow much (?:did|have) i (?:make|made)\b", r"\bdid i save\b", r"\bsaved? money\b",
                r"\b(?:in|out) ?(?:vs|versus|against)\b", r"\bmoney (?:in|coming in)\b"):
            return "income_vs_expenses"
        if _has(t, r"\btop\b.*\bcategor", r"\bcategor(?:y|ies)\b.*\b(?:most|biggest|largest|top)\b",
                r"\b(?:most|biggest|largest|top)\b.*\bcategor(?:y|ies)\b",
                r"\bwhere (?:does|did|do) (?:all )?(?:my|the) money go",
                r"\bwhat (?:did|do) i spend (?:the )?most on\b", r"\bspend(?:ing)? the most\b"):
            return "top_categories"
        if _has(t, r"\b(?:biggest|largest|highest|most expensive|priciest|costliest|big|large)\b.*"
                   r"\b(?:expense|purchase|transaction|payment|spend|spending|buy|bill|item)s?\b",
                r"\b(?:expense|purchase|transaction|payment)s?\b.*\b(?:biggest|largest|highest|most expensive)\b"):
            return "largest_transactions"
        if _has(t, r"\btransactions?\b", r"\bpayments?\b", r"\bpurchases?\b", r"\bcharges?\b") and _has(
                t, r"\b(?:show|list|find|search|display|give|see|which|what|any|all|every)\b") or QUOTED.search(q.raw):
            return "search_transactions"
        if _has(t, r"\bspen[dt]", r"\bspending\b", r"\bcost", r"\bpa(?:y|id)\b", r"\bexpenses?\b",
                r"\bwent (?:out|on)\b", r"\bput on\b", r"\bcharged\b", r"\bburn"):
            return "spending_summary"
        if found and _has(t, r"\bhow much\b"):
            return "spending_summary"
        return None

    def _args(self, intent: str, q: Question, today: dt.date, period: Period | None, found: dict[str, Match],
              declaration: FunctionDeclaration) -> dict[str, Any]:
        props = declaration.parameters.get("properties", {})
        t = q.text
        args: dict[str, Any] = {}

        def name(kind: str) -> None:
            if kind in found and kind in props:
                args[kind] = found[kind].name

        if intent == "budget_status":
            name("budget")
            if "budget" not in args:
                name("category")
            return args
        if intent == "goal_progress":
            name("goal")
            return args
        if intent == "account_balances":
            name("account")
            return args
        if intent == "net_worth":
            if period is not None:
                args["on"] = period.end.isoformat()
            return args
        if intent == "net_worth_change":
            start, end = (period.start, period.end) if period else (today - dt.timedelta(days=29), today)
            return {"from": start.isoformat(), "to": end.isoformat()}
        if period is not None:
            args["from"], args["to"] = period.start.isoformat(), period.end.isoformat()
        elif intent != "search_transactions":
            args["from"], args["to"] = today.replace(day=1).isoformat(), today.isoformat()
        if intent == "income_vs_expenses":
            if _has(t, r"\b(?:by|per|each|every) month\b", r"\bmonth by month\b", r"\bmonthly\b"):
                args["by_month"] = True
            return args
        count = r"(\d{1,2}|" + "|".join(w for w in NUMBERS if w != "a") + ")"
        limit = re.search(r"\btop\s+" + count + r"\b", t) or re.search(
            r"\b" + count + r"\s+(?:biggest|largest|highest|most expensive|top|categor|expense|purchase|transaction|"
            r"payment)", t)
        if intent in ("top_categories", "largest_transactions") and limit:
            args["limit"] = _count(limit.group(1))
        if intent == "top_categories":
            if _has(t, r"\bsub ?categor", r"\bdetailed\b"):
                args["detailed"] = True
            return args
        for kind in ("category", "merchant", "account"):
            name(kind)
        if intent == "largest_transactions":
            if _has(t, r"\b(?:income|received|incoming|deposits?|money in)\b"):
                args["direction"] = "IN"
            return args
        if intent == "spending_summary":
            by = re.search(r"\b(?:by|per|for each|each)\s+(category|categories|merchant|merchants|shop|store|"
                           r"account|accounts|month|months)\b", t)
            if by:
                key = by.group(1)
                args["group_by"] = ("CATEGORY" if key.startswith("categor") else "ACCOUNT" if key.startswith("account")
                                    else "MONTH" if key.startswith("month") else "MERCHANT")
            return args
        # search: words, amounts, direction
        quoted = QUOTED.search(q.raw)
        if quoted:
            args["text"] = quoted.group(1).strip()
        else:
            text = re.search(r"\b(?:matching|mentioning|mention|containing|contain|with the word|about|called|named)\s+"
                             r"([\w'\-]+(?: [\w'\-]+)?)", t)
            if text and not any(k in args for k in ("category", "merchant", "account")):
                args["text"] = text.group(1)
        args.update(_amounts(t))
        if _has(t, r"\b(?:income|received|incoming|deposits?|refunds?|money in)\b"):
            args["direction"] = "IN"
        return args


def _count(text: str) -> int:
    return int(text) if text.isdigit() else NUMBERS[text]


def _amounts(t: str) -> dict[str, str]:
    def clean(value: str) -> str:
        return value.replace(",", "")

    m = re.search(r"\bbetween\s+(?:eur\s+|€\s*|\$\s*)?" + NUMBER + r"\s*(?:eur|euros?|dollars?|usd|€|\$)?\s+"
                  r"(?:and|to|-)\s+(?:eur\s+|€\s*|\$\s*)?" + NUMBER, t)
    if m:
        return {"min_amount": clean(m.group(1)), "max_amount": clean(m.group(2))}
    out: dict[str, str] = {}
    low = re.search(r"\b(?:over|above|more than|greater than|at least|bigger than|larger than|exceeding|>)\s*"
                    r"(?:eur\s+|€\s*|\$\s*)?" + NUMBER, t)
    high = re.search(r"\b(?:under|below|less than|smaller than|at most|up to|<)\s*(?:eur\s+|€\s*|\$\s*)?" + NUMBER, t)
    if low:
        out["min_amount"] = clean(low.group(1))
    if high:
        out["max_amount"] = clean(high.group(1))
    return out


def _names_of(declared: dict[str, FunctionDeclaration]) -> Names:
    """The enums of every declared parameter named after one of the name kinds."""
    values: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for declaration in declared.values():
        for key, spec in (declaration.parameters.get("properties") or {}).items():
            if key in values and isinstance(spec, dict):
                for v in spec.get("enum") or ():
                    if isinstance(v, str) and v not in values[key]:
                        values[key].append(v)
    return _names(tuple((kind, tuple(v)) for kind, v in values.items()))


@functools.lru_cache(maxsize=32)
def _names(values: tuple[tuple[str, tuple[str, ...]], ...]) -> Names:
    return Names(dict(values))
