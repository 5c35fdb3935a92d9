"""The local model alone (no database): date phrases, names, follow-ups, and answers written from results only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.ai.local import LocalModel
from app.ai.local_dates import Dates
from app.ai.model import FunctionCall, FunctionDeclaration, FunctionResult, ModelReply, TextDelta, Turn

TODAY = dt.date(2026, 11, 21)  # a Saturday
SYSTEM = "You are Florin's assistant. Today is 2026-11-21 (Saturday) in the user's time zone Europe/Berlin."


def declarations() -> list[FunctionDeclaration]:
    names = {"category": {"type": "string", "enum": ["Groceries", "Restaurants", "Food & drink", "Coffee"]},
             "merchant": {"type": "string", "enum": ["REWE", "Total", "Uber", "Uber Eats"]},
             "account": {"type": "string", "enum": ["Girokonto", "Visa Credit Card"]}}
    period = {"from": {"type": "string"}, "to": {"type": "string"}}
    return [
        FunctionDeclaration("spending_summary", "", {"type": "object", "properties": {**period, **names}}),
        FunctionDeclaration("account_balances", "", {"type": "object", "properties": {"account": names["account"]}}),
        FunctionDeclaration("net_worth", "", {"type": "object", "properties": {"on": {"type": "string"}}}),
        FunctionDeclaration("net_worth_change", "", {"type": "object", "properties": period}),
    ]


@pytest.mark.parametrize(("phrase", "start", "end"), [
    ("last month", "2026-10-01", "2026-10-31"),
    ("this month", "2026-11-01", "2026-11-21"),
    ("this year", "2026-01-01", "2026-11-21"),
    ("last year", "2025-01-01", "2025-12-31"),
    ("in march", "2026-03-01", "2026-03-31"),
    ("in december", "2025-12-01", "2025-12-31"),
    ("in september 2026", "2026-09-01", "2026-09-30"),
    ("since january", "2026-01-01", "2026-11-21"),
    ("last 30 days", "2026-10-23", "2026-11-21"),
    ("past 2 weeks", "2026-11-08", "2026-11-21"),
    ("over the past two weeks", "2026-11-08", "2026-11-21"),
    ("past 3 months", "2026-08-22", "2026-11-21"),
    ("between august 1 and october 31", "2026-08-01", "2026-10-31"),
    ("between december 1 and december 31", "2025-12-01", "2025-12-31"),
    ("from 1 aug to 31 oct 2025", "2025-08-01", "2025-10-31"),
    ("yesterday", "2026-11-20", "2026-11-20"),
    ("today", "2026-11-21", "2026-11-21"),
    ("last week", "2026-11-09", "2026-11-15"),
    ("this week", "2026-11-16", "2026-11-21"),
    ("last quarter", "2026-07-01", "2026-09-30"),
    ("in 2025", "2025-01-01", "2025-12-31"),
    ("on march 5", "2026-03-05", "2026-03-05"),
])
def test_date_phrases(phrase: str, start: str, end: str) -> None:
    found = Dates(TODAY).find(f"how much did i spend {phrase}?")
    assert found is not None and (found.start.isoformat(), found.end.isoformat()) == (start, end)


def plan(question: str, earlier: tuple[str, ...] = ()) -> FunctionCall | None:
    return LocalModel().plan(question, TODAY, declarations(), earlier=earlier)


def test_names_are_recognized_fuzzily_and_everyday_words_are_not_merchants() -> None:
    call = plan("How much did I spend on food and drink at rewe in March?")
    assert call is not None and call.args == {"from": "2026-03-01", "to": "2026-03-31", "category": "Food & drink",
                                              "merchant": "REWE"}
    call = plan("What did I spend in total on resturants last month?")  # a typo; "total" is not the merchant
    assert call is not None and call.args == {"from": "2026-10-01", "to": "2026-10-31", "category": "Restaurants"}
    call = plan("How much did I spend at Uber Eats this year?")  # the longest name wins
    assert call is not None and call.args["merchant"] == "Uber Eats"
    call = plan("How much do I owe on my credit card?")
    assert call is not None and (call.name, call.args) == ("account_balances", {"account": "Visa Credit Card"})


def test_a_follow_up_keeps_the_question_and_changes_what_it_names() -> None:
    first = "How much did I spend on groceries last month?"
    assert plan("and in September 2026?", (first,)) == FunctionCall(
        "spending_summary", {"from": "2026-09-01", "to": "2026-09-30", "category": "Groceries"}, id="local-1")
    assert plan("what about coffee?", (first,)) == FunctionCall(
        "spending_summary", {"from": "2026-10-01", "to": "2026-10-31", "category": "Coffee"}, id="local-1")


async def test_unknown_questions_get_what_it_can_do_without_numbers() -> None:
    reply = await LocalModel().generate(system=SYSTEM, history=[Turn("user", "Write me a poem about taxes")],
                                        tools=declarations())
    assert reply.calls == () and "I can tell you how much you spent" in reply.text
    assert not any(ch.isdigit() for ch in reply.text)


async def test_a_card_balance_is_said_as_owed_and_streamed_in_pieces() -> None:
    # given: the question, the call and its result
    call = FunctionCall("account_balances", {"account": "Visa Credit Card"}, id="local-1")
    result: dict[str, Any] = {"as_of": "2026-11-21", "accounts": [{
        "account": "Visa Credit Card", "kind": "CREDIT_CARD", "classification": "LIABILITY", "currency": "EUR",
        "balance": {"amount": "-1588.61", "currency": "EUR"}, "owed": {"amount": "1588.61", "currency": "EUR"}}]}
    history = [Turn("user", "What's the balance of my Visa card?"), Turn("model", calls=(call,)),
               Turn("tool", results=(FunctionResult("account_balances", result, id="local-1"),))]
    # when
    items = [item async for item in LocalModel(chunk_words=3).stream(system=SYSTEM, history=history,
                                                                     tools=declarations())]
    # then
    *deltas, reply = items
    assert isinstance(reply, ModelReply) and reply.calls == ()
    assert reply.text == "You owe 1,588.61 EUR on your Visa Credit Card (balance -1,588.61 EUR)."
    assert all(isinstance(d, TextDelta) for d in deltas) and len(deltas) > 1
    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == reply.text


async def test_today_comes_from_the_system_text() -> None:
    reply = await LocalModel(today=dt.date(2020, 1, 1)).generate(
        system=SYSTEM, history=[Turn("user", "How did my net worth change this year?")], tools=declarations())
    assert reply.calls == (FunctionCall("net_worth_change", {"from": "2026-01-01", "to": "2026-11-21"},
                                        id="local-1"),)
