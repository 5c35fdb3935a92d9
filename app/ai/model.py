"""The `ChatModel` protocol: what the assistant needs of a language model, and nothing of Florin's domain.

Tools arrive as `FunctionDeclaration`s (a JSON-schema subset: object, string, number, integer, boolean,
array, enum); the model answers with text and/or `FunctionCall`s; Florin runs the calls itself (automatic
function calling is off) and sends `FunctionResult`s back, at most `MAX_ROUNDS` times per reply. Two
implementations: `app/ai/gemini.py` (Vertex AI through google-genai, the only module importing it) and
`app/ai/local.py` (offline and deterministic: the question is parsed into the same tool calls and the
answer is written from their results with templates). `app/ai/loop.py` runs the tool loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

MAX_ROUNDS = 5


@dataclass(frozen=True)
class FunctionDeclaration:
    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments: {"type": "object", "properties": {...}, "required": [...]}."""


@dataclass(frozen=True)
class FunctionCall:
    name: str
    args: dict[str, Any]
    id: str | None = None
    signature: str | None = None
    """The model's opaque thought signature of this call (base64), sent back with it in the following rounds
    of the same reply: Gemini 3 refuses a function call of the current turn without it."""


@dataclass(frozen=True)
class FunctionResult:
    name: str
    response: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Turn:
    """One entry of a conversation as the model sees it."""

    role: Literal["user", "model", "tool"]
    text: str = ""
    calls: tuple[FunctionCall, ...] = ()
    results: tuple[FunctionResult, ...] = ()


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text, in order."""

    text: str


@dataclass(frozen=True)
class ModelReply:
    """The end of one model round: the whole text of the round and the calls it asks for (may be empty)."""

    text: str = ""
    calls: tuple[FunctionCall, ...] = ()
    usage: Usage = field(default_factory=Usage)


class ChatError(Exception):
    """The model could not answer: RATE_LIMITED (429 after retries), TIMEOUT, UNAVAILABLE, INVALID_RESPONSE."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ChatModel(Protocol):
    name: str
    """Shown on stored messages, e.g. "gemini-2.5-flash" or "local"."""

    async def generate(self, *, system: str, history: Sequence[Turn],
                       tools: Sequence[FunctionDeclaration]) -> ModelReply:
        """One round, whole."""
        ...

    def stream(self, *, system: str, history: Sequence[Turn],
               tools: Sequence[FunctionDeclaration]) -> AsyncIterator[TextDelta | ModelReply]:
        """One round: `TextDelta`s as they come, then exactly one `ModelReply` last."""
        ...


Executor = Callable[[FunctionCall], Awaitable[dict[str, Any]]]
"""Runs one tool call for the current user and returns its JSON-able result."""
