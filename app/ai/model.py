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
from decimal import Decimal
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


# --- categorization: a language model choosing among the user's category names ---------------------------


@dataclass(frozen=True)
class CategorizeItem:
    """One transaction to categorize, as a model sees it (no ids of Florin's rows, no account names)."""

    key: str
    """The caller's handle for the item, echoed back in its `CategoryGuess`."""
    description: str
    merchant: str | None
    amount: str
    """The signed amount as a decimal string, e.g. "-12.50"."""
    currency: str
    booked_on: str
    """ISO date."""


@dataclass(frozen=True)
class CategoryGuess:
    key: str
    category: str | None
    """One of the category names offered, or None when the model answered "none"."""
    confidence: Decimal
    """0..1, as the model reported it (clamped)."""


class CategoryModel(Protocol):
    name: str

    async def categorize(self, *, categories: Sequence[str],
                         items: Sequence[CategorizeItem]) -> list[CategoryGuess]:
        """A guess per item (any order; items the model skipped are missing). Raises `ChatError`."""
        ...
