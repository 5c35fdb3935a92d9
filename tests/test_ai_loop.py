"""The tool loop (`app/ai/loop.py`) with a scripted stand-in for a model: no database, no network."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from app.ai.loop import LoopDone, LoopEvent, ToolCalled, gave_up_text, run
from app.ai.model import (
    ChatError,
    FunctionCall,
    FunctionDeclaration,
    FunctionResult,
    ModelReply,
    TextDelta,
    Turn,
    Usage,
)

SYSTEM = "You answer questions about the user's money."
TOOLS = (
    FunctionDeclaration("spending_total", "Total spent in a period.",
                        {"type": "object", "properties": {"period": {"type": "string"}}, "required": ["period"]}),
    FunctionDeclaration("net_worth", "Net worth now.", {"type": "object", "properties": {}}),
)
QUESTION = (Turn(role="user", text="How much did I spend last month?"),)


def round_(*texts: str, calls: Sequence[FunctionCall] = (), usage: Usage = Usage(10, 3)) -> list[Any]:
    return [*(TextDelta(text) for text in texts), ModelReply(text="".join(texts), calls=tuple(calls), usage=usage)]


class ScriptedModel:
    """Answers each round with the next scripted list of items (or raises the scripted ChatError)."""

    name = "scripted"

    def __init__(self, *rounds: list[Any] | ChatError):
        self.rounds: deque[list[Any] | ChatError] = deque(rounds)
        self.histories: list[tuple[Turn, ...]] = []
        self.systems: list[str] = []
        self.tools: list[tuple[FunctionDeclaration, ...]] = []

    async def generate(self, *, system: str, history: Sequence[Turn],
                       tools: Sequence[FunctionDeclaration]) -> ModelReply:
        raise AssertionError("the loop streams")

    async def stream(self, *, system: str, history: Sequence[Turn],
                     tools: Sequence[FunctionDeclaration]) -> AsyncIterator[TextDelta | ModelReply]:
        self.histories.append(tuple(history))
        self.systems.append(system)
        self.tools.append(tuple(tools))
        item = self.rounds.popleft()
        if isinstance(item, ChatError):
            raise item
        for piece in item:
            yield piece


class Tools:
    """A test executor: records the calls and answers from a table (or raises)."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.calls: list[FunctionCall] = []

    async def __call__(self, call: FunctionCall) -> dict[str, Any]:
        self.calls.append(call)
        answer = self.answers[call.name]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]


async def collect(model: ScriptedModel, execute: Tools, history: Sequence[Turn] = QUESTION,
                  **kwargs: Any) -> list[LoopEvent]:
    return [event async for event in run(model, system=SYSTEM, history=history, tools=TOOLS, execute=execute,
                                         **kwargs)]


async def test_a_text_reply_streams_its_deltas_in_order_and_ends_the_loop() -> None:
    # given
    model = ScriptedModel(round_("You spent ", "42.50 EUR", " last month.", usage=Usage(31, 9)))
    tools = Tools({})

    # when
    events = await collect(model, tools)

    # then
    assert events == [
        TextDelta("You spent "), TextDelta("42.50 EUR"), TextDelta(" last month."),
        LoopDone(text="You spent 42.50 EUR last month.", usage=Usage(31, 9), rounds=1,
                 turns=(Turn(role="model", text="You spent 42.50 EUR last month."),)),
    ]
    assert tools.calls == []
    assert model.systems == [SYSTEM] and model.tools == [TOOLS] and model.histories == [QUESTION]


async def test_a_function_call_runs_the_tool_and_sends_the_result_back_in_the_next_round() -> None:
    # given
    call = FunctionCall("spending_total", {"period": "last_month"}, id="c1", signature="c2lnbmF0dXJl")
    model = ScriptedModel(round_("Let me look.", calls=[call], usage=Usage(20, 5)),
                          round_("You spent 42.50 EUR.", usage=Usage(40, 8)))
    tools = Tools({"spending_total": {"total": "42.50", "currency": "EUR"}})

    # when
    events = await collect(model, tools)

    # then
    result = FunctionResult("spending_total", {"total": "42.50", "currency": "EUR"}, id="c1")
    added = (Turn(role="model", text="Let me look.", calls=(call,)), Turn(role="tool", results=(result,)),
             Turn(role="model", text="You spent 42.50 EUR."))
    assert events == [
        TextDelta("Let me look."),
        ToolCalled(call=call, result={"total": "42.50", "currency": "EUR"}, error=None),
        TextDelta("\n\n"), TextDelta("You spent 42.50 EUR."),
        LoopDone(text="Let me look.\n\nYou spent 42.50 EUR.", usage=Usage(60, 13), rounds=2, turns=added),
    ]
    assert tools.calls == [call]
    assert model.histories == [QUESTION, QUESTION + added[:2]]


async def test_the_done_text_is_exactly_the_deltas_joined() -> None:
    # given: a call round without text, then a round in two pieces
    call = FunctionCall("net_worth", {})
    model = ScriptedModel(round_(calls=[call]), round_("Your net worth ", "is 1,000.00 EUR."))
    tools = Tools({"net_worth": {"amount": "1000.00"}})

    # when
    events = await collect(model, tools)

    # then
    deltas = "".join(event.text for event in events if isinstance(event, TextDelta))
    done = events[-1]
    assert isinstance(done, LoopDone)
    assert done.text == deltas == "Your net worth is 1,000.00 EUR."
    assert done.turns[0] == Turn(role="model", text="", calls=(call,))


async def test_several_calls_of_one_round_run_in_order_and_answer_in_order() -> None:
    # given
    first = FunctionCall("spending_total", {"period": "this_month"}, id="a")
    second = FunctionCall("net_worth", {}, id="b")
    model = ScriptedModel(round_(calls=[first, second]), round_("Done."))
    tools = Tools({"spending_total": {"total": "5.00"}, "net_worth": {"amount": "9.00"}})

    # when
    events = await collect(model, tools)

    # then
    assert [event for event in events if isinstance(event, ToolCalled)] == [
        ToolCalled(first, {"total": "5.00"}), ToolCalled(second, {"amount": "9.00"})]
    assert model.histories[1][-1] == Turn(role="tool", results=(
        FunctionResult("spending_total", {"total": "5.00"}, id="a"), FunctionResult("net_worth", {"amount": "9.00"},
                                                                                     id="b")))


async def test_a_tool_that_raises_reports_the_error_to_the_model_which_goes_on() -> None:
    # given
    call = FunctionCall("spending_total", {"period": "someday"})
    model = ScriptedModel(round_(calls=[call]), round_("I could not read that period."))
    tools = Tools({"spending_total": ValueError("unknown period 'someday'")})

    # when
    events = await collect(model, tools)

    # then
    assert events[0] == ToolCalled(call, {"error": "unknown period 'someday'"}, error="unknown period 'someday'")
    assert model.histories[1][-1] == Turn(role="tool", results=(
        FunctionResult("spending_total", {"error": "unknown period 'someday'"}),))
    done = events[-1]
    assert isinstance(done, LoopDone) and done.text == "I could not read that period." and done.rounds == 2


async def test_an_unknown_tool_is_not_run_and_the_model_is_told() -> None:
    # given
    call = FunctionCall("delete_everything", {})
    model = ScriptedModel(round_(calls=[call]), round_("Sorry."))
    tools = Tools({})

    # when
    events = await collect(model, tools)

    # then
    assert tools.calls == []
    expected = "unknown tool 'delete_everything'; the tools are: net_worth, spending_total"
    assert events[0] == ToolCalled(call, {"error": expected}, error=expected)
    assert model.histories[1][-1].results == (FunctionResult("delete_everything", {"error": expected}),)


async def test_a_tool_answering_something_else_than_an_object_is_an_error() -> None:
    # given
    call = FunctionCall("net_worth", {})
    model = ScriptedModel(round_(calls=[call]), round_("Sorry."))
    tools = Tools({"net_worth": ["not", "an", "object"]})

    # when
    events = await collect(model, tools)

    # then
    assert events[0] == ToolCalled(call, {"error": "the tool 'net_worth' returned list, not an object"},
                                   error="the tool 'net_worth' returned list, not an object")


async def test_after_max_rounds_of_calls_the_loop_stops_with_an_honest_text() -> None:
    # given: a model that never stops asking
    call = FunctionCall("net_worth", {})
    model = ScriptedModel(*(round_("Checking.", calls=[call], usage=Usage(10, 2)) for _ in range(3)),
                          round_("never reached"))
    tools = Tools({"net_worth": {"amount": "1.00"}})

    # when
    events = await collect(model, tools, max_rounds=3)

    # then
    assert len(model.histories) == 3 and len(tools.calls) == 3
    assert len(model.rounds) == 1  # the fourth round was never asked for
    done = events[-1]
    assert isinstance(done, LoopDone)
    assert done.rounds == 3 and done.usage == Usage(30, 6)
    assert done.text == "Checking.\n\nChecking.\n\nChecking.\n\n" + gave_up_text(3)
    assert done.text.startswith("Checking.") and "I could not finish" in gave_up_text(3)
    assert [turn.role for turn in done.turns] == ["model", "tool"] * 3 + ["model"]
    assert done.turns[-1] == Turn(role="model", text=gave_up_text(3))
    assert "".join(event.text for event in events if isinstance(event, TextDelta)) == done.text


async def test_a_model_error_propagates_after_what_was_already_given_out() -> None:
    # given
    call = FunctionCall("net_worth", {})
    model = ScriptedModel(round_("Looking.", calls=[call]), ChatError("RATE_LIMITED", "429 after retries"))
    tools = Tools({"net_worth": {"amount": "1.00"}})
    events: list[LoopEvent] = []

    # when
    with pytest.raises(ChatError) as raised:
        async for event in run(model, system=SYSTEM, history=QUESTION, tools=TOOLS, execute=tools):
            events.append(event)

    # then
    assert raised.value.code == "RATE_LIMITED"
    assert events == [TextDelta("Looking."), ToolCalled(call, {"amount": "1.00"})]


async def test_a_round_without_a_reply_is_an_invalid_response() -> None:
    # given
    model = ScriptedModel([TextDelta("half a round")])

    # when
    with pytest.raises(ChatError) as raised:
        await collect(model, Tools({}))

    # then
    assert raised.value.code == "INVALID_RESPONSE"
