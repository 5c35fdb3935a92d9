"""The tool loop: stream a model round, run the calls it asks for, send the results back, until it answers.

It knows no domain: tools arrive as declarations and run through an `Executor` the caller supplies (one
user's read-only tools). A tool that raises, or a name that was never declared, does not end the reply: the
error goes back to the model as the call's result (`{"error": "..."}`), so it can try again or say what it
could not find. After `max_rounds` rounds that still ask for calls the loop stops with a short, honest
sentence instead of guessing. A `ChatError` of the model propagates unchanged.

Events, in order: `TextDelta`s as the model writes (a blank line is put between the texts of two rounds),
one `ToolCalled` per call after it ran, and exactly one `LoopDone` last, whose `text` is every delta joined
and whose `turns` are the model and tool turns the reply added to the history (to be stored with it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.ai.model import (
    MAX_ROUNDS,
    ChatError,
    ChatModel,
    Executor,
    FunctionCall,
    FunctionDeclaration,
    FunctionResult,
    ModelReply,
    TextDelta,
    Turn,
    Usage,
)

log = logging.getLogger(__name__)

ROUND_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class ToolCalled:
    """One tool call the model asked for, after it ran: `error` is set when it failed (then `result` is
    `{"error": error}`, which is also what the model was told)."""

    call: FunctionCall
    result: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class LoopDone:
    text: str
    """The whole reply: every `TextDelta` of the loop joined."""
    usage: Usage
    """Tokens summed over the rounds."""
    rounds: int
    """How many model rounds ran."""
    turns: tuple[Turn, ...]
    """The model turns (with their calls) and tool turns (with the results) this reply added, in order."""


LoopEvent = TextDelta | ToolCalled | LoopDone


def gave_up_text(max_rounds: int) -> str:
    return (f"I could not finish this answer: after {max_rounds} rounds of looking up your data I still needed "
            "more, so I stopped rather than guess. Please ask a narrower question, for example about one "
            "category, account or month.")


async def run(model: ChatModel, *, system: str, history: Sequence[Turn], tools: Sequence[FunctionDeclaration],
              execute: Executor, max_rounds: int = MAX_ROUNDS) -> AsyncIterator[LoopEvent]:
    """Run the tool loop for one reply; see the module's docstring."""
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1")
    declared = {tool.name for tool in tools}
    added: list[Turn] = []
    written: list[str] = []
    input_tokens = output_tokens = 0

    def done(rounds: int) -> LoopDone:
        return LoopDone(text="".join(written), usage=Usage(input_tokens, output_tokens), rounds=rounds,
                        turns=tuple(added))

    for round_no in range(1, max_rounds + 1):
        reply: ModelReply | None = None
        started = False
        async for item in model.stream(system=system, history=(*history, *added), tools=tools):
            if isinstance(item, TextDelta):
                if not item.text:
                    continue
                if not started:
                    started = True
                    separator = _separator(written)
                    if separator:
                        written.append(separator)
                        yield TextDelta(separator)
                written.append(item.text)
                yield item
            elif isinstance(item, ModelReply):
                reply = item
            else:
                raise ChatError("INVALID_RESPONSE", f"the model streamed an unexpected {type(item).__name__}")
        if reply is None:
            raise ChatError("INVALID_RESPONSE", "the model's round ended without a reply")
        input_tokens += reply.usage.input_tokens
        output_tokens += reply.usage.output_tokens
        added.append(Turn(role="model", text=reply.text, calls=reply.calls))
        if not reply.calls:
            yield done(round_no)
            return

        results: list[FunctionResult] = []
        for call in reply.calls:
            result, error = await _run_one(call, declared, execute)
            yield ToolCalled(call=call, result=result, error=error)
            results.append(FunctionResult(name=call.name, response=result, id=call.id))
        added.append(Turn(role="tool", results=tuple(results)))

    # every round asked for more calls: say so honestly instead of looping on
    text = gave_up_text(max_rounds)
    separator = _separator(written)
    if separator:
        written.append(separator)
        yield TextDelta(separator)
    written.append(text)
    yield TextDelta(text)
    added.append(Turn(role="model", text=text))
    yield done(max_rounds)


def _separator(written: list[str]) -> str:
    if not written or written[-1][-1:].isspace():
        return ""
    return ROUND_SEPARATOR


async def _run_one(call: FunctionCall, declared: set[str],
                   execute: Executor) -> tuple[dict[str, Any], str | None]:
    if call.name not in declared:
        error = f"unknown tool {call.name!r}; the tools are: {', '.join(sorted(declared)) or 'none'}"
        return {"error": error}, error
    try:
        result = await execute(call)
    except Exception as exc:  # the model hears about it and may try again
        log.warning("tool %s failed: %s", call.name, exc, exc_info=True)
        error = str(exc) or type(exc).__name__
        return {"error": error}, error
    if not isinstance(result, dict):
        error = f"the tool {call.name!r} returned {type(result).__name__}, not an object"
        return {"error": error}, error
    return result, None
