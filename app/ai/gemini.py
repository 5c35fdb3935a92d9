"""Gemini on Vertex AI through the Google Gen AI SDK: the only module importing `google.genai`.

One `GeminiModel` round is one `generateContent` request (`streamGenerateContent?alt=sse` when streamed) with
the system instruction, the history as `contents` and the tools as function declarations; automatic
function calling is off, because Florin runs the tool loop itself (`app/ai/loop.py`).

History: a user turn is a `user` content with its text; a model turn a `model` content with its text and
`functionCall` parts (with the thought signature the model gave them); a tool turn a `user` content of
`functionResponse` parts. Gemini wants roles to alternate and every call of a model turn answered by the
next content, so consecutive contents of one role are merged, empty texts are left out, and the calls of an
interrupted reply (a model turn without its tool turn) are dropped with their orphaned results.

Categorization (`categorize`, the `CategoryModel` protocol) is one request per batch of transactions with
structured output: `responseMimeType` application/json and a `responseSchema` (an array of {key, category,
confidence} whose category is an enum of the user's category names and "none"); the JSON is checked again
here, since a schema guides the model but proves nothing.

Errors: HTTP 429 and timeouts are tried again with exponential back-off (a stream only while nothing of it
was given out yet), then reported as `ChatError("RATE_LIMITED" | "TIMEOUT")`; any other HTTP or connection
error is `UNAVAILABLE`; a response that cannot be read, holds no candidate, was blocked or is empty is
`INVALID_RESPONSE`. The HTTP client is httpx, whatever else is installed, so the behaviour is the same
everywhere; the SDK itself never retries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
from collections.abc import AsyncIterator, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.genai import Client, errors, types

from app.ai.model import (
    CategorizeItem,
    CategoryGuess,
    ChatError,
    FunctionCall,
    FunctionDeclaration,
    ModelReply,
    TextDelta,
    Turn,
    Usage,
)

log = logging.getLogger(__name__)

_RETRIED = frozenset({"RATE_LIMITED", "TIMEOUT"})
_TYPES = {"object": types.Type.OBJECT, "string": types.Type.STRING, "number": types.Type.NUMBER,
          "integer": types.Type.INTEGER, "boolean": types.Type.BOOLEAN, "array": types.Type.ARRAY}
_SCHEMA_KEYS = {"description": "description", "format": "format", "minimum": "minimum", "maximum": "maximum",
                "minItems": "min_items", "maxItems": "max_items", "minLength": "min_length",
                "maxLength": "max_length", "pattern": "pattern", "nullable": "nullable"}
_IGNORED_KEYS = frozenset({"title", "$schema", "$comment", "additionalProperties", "default", "examples"})
_STRUCTURE_KEYS = frozenset({"type", "enum", "items", "properties", "required"})


class GeminiModel:
    """A `ChatModel` on Vertex AI. `credentials=None` uses Google's application default credentials."""

    def __init__(self, project: str, location: str, model_name: str, *, base_url: str | None = None,
                 credentials: Credentials | None = None, timeout: float = 60.0, max_retries: int = 3,
                 retry_base_delay: float = 1.0, retry_max_delay: float = 30.0):
        self.name = model_name
        self.project = project
        self.location = location
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._credentials = credentials
        self._client: Client | None = None
        self._http: httpx.AsyncClient | None = None

    # --- the ChatModel protocol ------------------------------------------------------------------------

    async def generate(self, *, system: str, history: Sequence[Turn],
                       tools: Sequence[FunctionDeclaration]) -> ModelReply:
        contents, config = self._request(system, history, tools)
        return await self._whole(contents, config)

    async def stream(self, *, system: str, history: Sequence[Turn],
                     tools: Sequence[FunctionDeclaration]) -> AsyncIterator[TextDelta | ModelReply]:
        contents, config = self._request(system, history, tools)
        attempt = 0
        while True:
            reply = _Reply()
            given_out = False
            try:
                chunks = await self._sdk().aio.models.generate_content_stream(
                    model=self.name, contents=contents, config=config)
                async for chunk in chunks:
                    for text in reply.add(chunk):
                        given_out = True
                        yield TextDelta(text)
                final = reply.finish()
            except Exception as exc:
                error = _chat_error(exc)
                if error.code not in _RETRIED or attempt >= self.max_retries or given_out:
                    raise error from exc
            else:
                yield final
                return
            await self._back_off(attempt, error)
            attempt += 1

    # --- the CategoryModel protocol --------------------------------------------------------------------

    async def categorize(self, *, categories: Sequence[str],
                         items: Sequence[CategorizeItem]) -> list[CategoryGuess]:
        """One `generateContent` request per `CATEGORIZE_BATCH` items, answered as JSON that the response schema
        holds to: per item its key, one of `categories` or "none", and a confidence. Guesses that do not fit
        (an unknown key or category, no number) are left out; a reply that is no such JSON is
        `ChatError("INVALID_RESPONSE")`."""
        names = category_names(categories)
        if not names or not items:
            return []
        guesses: list[CategoryGuess] = []
        for start in range(0, len(items), CATEGORIZE_BATCH):
            batch = items[start:start + CATEGORIZE_BATCH]
            contents, config = categorize_request(names, batch)
            reply = await self._whole(contents, config)
            guesses.extend(parse_guesses(reply.text, names, [item.key for item in batch]))
        return guesses

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
        if self._http is not None:
            await self._http.aclose()
        self._client = self._http = None

    # --- internals -------------------------------------------------------------------------------------

    def _sdk(self) -> Client:
        if self._client is None:
            self._http = httpx.AsyncClient()
            options = types.HttpOptions(
                base_url=self.base_url,
                timeout=max(1, int(self.timeout * 1000)),
                retry_options=types.HttpRetryOptions(attempts=1),  # retries are ours
                httpx_async_client=self._http,
            )
            self._client = Client(vertexai=True, project=self.project, location=self.location,
                                  credentials=self._credentials, http_options=options)
        return self._client

    def _request(self, system: str, history: Sequence[Turn],
                 tools: Sequence[FunctionDeclaration]) -> tuple[list[types.Content], types.GenerateContentConfig]:
        declarations = [function_declaration(tool) for tool in tools]
        config = types.GenerateContentConfig(
            system_instruction=system or None,
            tools=[types.Tool(function_declarations=declarations)] if declarations else None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        return to_contents(history), config

    async def _whole(self, contents: list[types.Content], config: types.GenerateContentConfig) -> ModelReply:
        """One round, not streamed: HTTP 429 and timeouts are tried again with back-off."""
        attempt = 0
        while True:
            try:
                response = await self._sdk().aio.models.generate_content(
                    model=self.name, contents=contents, config=config)
                reply = _Reply()
                reply.add(response)
                return reply.finish()
            except Exception as exc:
                error = _chat_error(exc)
                if error.code not in _RETRIED or attempt >= self.max_retries:
                    raise error from exc
            await self._back_off(attempt, error)
            attempt += 1

    async def _back_off(self, attempt: int, error: ChatError) -> None:
        delay = min(self.retry_max_delay, self.retry_base_delay * 2 ** attempt)
        log.info("gemini %s (%s), trying again in %.2f s", error.code, error.message, delay)
        await asyncio.sleep(delay)


# --- requests ------------------------------------------------------------------------------------------


def function_declaration(tool: FunctionDeclaration) -> types.FunctionDeclaration:
    """Our declaration as the SDK's; a tool without arguments is declared without parameters."""
    parameters = tool.parameters or {}
    if parameters.get("type", "object") != "object":
        raise ValueError(f"the parameters of {tool.name} must be an object schema")
    if not parameters.get("properties"):
        return types.FunctionDeclaration(name=tool.name, description=tool.description)
    return types.FunctionDeclaration(name=tool.name, description=tool.description,
                                     parameters=to_schema(parameters, tool.name))


def to_schema(node: dict[str, Any], where: str = "schema") -> types.Schema:
    """A JSON schema (object, string, number, integer, boolean, array, enum) as the SDK's `Schema`."""
    for key in node:
        if key not in _SCHEMA_KEYS and key not in _IGNORED_KEYS and key not in _STRUCTURE_KEYS:
            raise ValueError(f"{where}: the JSON schema keyword {key!r} is not supported")
    kind = node.get("type")
    nullable = False
    if isinstance(kind, list):
        nullable = "null" in kind
        others = [item for item in kind if item != "null"]
        if len(others) != 1:
            raise ValueError(f"{where}: a type list must name one type (and maybe null), not {kind}")
        kind = others[0]
    if kind is None and "enum" in node:
        kind = "string"
    if kind not in _TYPES:
        raise ValueError(f"{where}: unsupported type {kind!r}")
    fields: dict[str, Any] = {"type": _TYPES[kind]}
    if nullable:
        fields["nullable"] = True
    for key, value in node.items():
        if key == "type" or key in _IGNORED_KEYS:
            continue
        if key in _SCHEMA_KEYS:
            fields[_SCHEMA_KEYS[key]] = value
        elif key == "enum":
            if kind != "string":
                raise ValueError(f"{where}: Gemini takes an enum of strings only")
            fields["enum"] = [str(item) for item in value]
        elif key == "items":
            fields["items"] = to_schema(value, f"{where}[]")
        elif key == "properties":
            fields["properties"] = {name: to_schema(child, f"{where}.{name}") for name, child in value.items()}
        elif key == "required":
            fields["required"] = list(value)
    return types.Schema(**fields)


def to_contents(history: Sequence[Turn]) -> list[types.Content]:
    """The history as Gemini contents: alternating roles, no empty text, every call answered by the next."""
    turns = list(history)
    merged: list[types.Content] = []
    calls_sent = False  # whether the previous turn's calls went out (so its results may follow)
    for index, turn in enumerate(turns):
        role = "model" if turn.role == "model" else "user"
        parts: list[types.Part] = [types.Part(text=turn.text)] if turn.role != "tool" and turn.text else []
        answered = _answered(turn, turns[index + 1] if index + 1 < len(turns) else None)
        if turn.role == "tool" and calls_sent:
            parts.extend(types.Part(function_response=types.FunctionResponse(
                name=result.name, response=_jsonable(result.response), id=result.id)) for result in turn.results)
        calls_sent = False
        if not merged and role == "model":
            continue  # Gemini wants the user to speak first
        if answered:
            parts.extend(_call_part(call) for call in turn.calls)
            calls_sent = True
        if not parts:
            continue
        if merged and merged[-1].role == role:
            merged[-1].parts = [*(merged[-1].parts or []), *parts]
        else:
            merged.append(types.Content(role=role, parts=parts))
    return merged


def _answered(model_turn: Turn, next_turn: Turn | None) -> bool:
    """Whether a model turn's calls are answered, each, by the next turn."""
    return (model_turn.role == "model" and bool(model_turn.calls) and next_turn is not None
            and next_turn.role == "tool" and len(next_turn.results) == len(model_turn.calls))


def _call_part(call: FunctionCall) -> types.Part:
    signature = None
    if call.signature:
        try:
            signature = base64.b64decode(call.signature, validate=True)
        except (binascii.Error, ValueError):
            signature = None
    return types.Part(function_call=types.FunctionCall(name=call.name, args=_jsonable(call.args), id=call.id),
                      thought_signature=signature)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """A tool's result as plain JSON (a Decimal or a date becomes its string)."""
    return json.loads(json.dumps(value, default=str))


# --- categorization ------------------------------------------------------------------------------------

CATEGORIZE_BATCH = 100
"""Items per `generateContent` request: a reply of about 30 tokens an item stays far below the output limit."""
NONE = "none"
CATEGORIZE_SYSTEM = (
    "You categorize the bank and card transactions of one person. For every transaction in the user's message, "
    "choose the single best category from the allowed names, written exactly as given, or \"none\" when no "
    "category fits or the transaction says too little to tell. Give your confidence from 0 to 1 that the chosen "
    "category is the one this person would pick (for \"none\", how sure you are that none fits). Amounts are "
    "signed: money out is negative, money in positive. Answer with one object per transaction, echoing its key."
)
_PLACES = Decimal("0.0001")


def category_names(categories: Sequence[str]) -> list[str]:
    """The names offered, in order, once each; blank names and a name spelled "none" (the answer that means no
    category) are left out."""
    names: list[str] = []
    for name in categories:
        if name and name.strip() and name.strip().casefold() != NONE and name not in names:
            names.append(name)
    return names


def categorize_schema(names: Sequence[str]) -> types.Schema:
    """An array of {key, category (one of `names` or "none"), confidence (0..1)}."""
    return types.Schema(type=types.Type.ARRAY, items=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "key": types.Schema(type=types.Type.STRING, description="The key of the transaction, as given."),
            "category": types.Schema(type=types.Type.STRING, enum=[*names, NONE],
                                     description='The best category, or "none" when none fits.'),
            "confidence": types.Schema(type=types.Type.NUMBER, minimum=0, maximum=1,
                                       description="How sure you are, from 0 to 1."),
        },
        required=["key", "category", "confidence"],
        property_ordering=["key", "category", "confidence"],
    ))


def categorize_request(names: Sequence[str], items: Sequence[CategorizeItem]
                       ) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """The user's message (the categories, then one JSON object per transaction) and the structured-output
    configuration of one categorization request."""
    lines = [json.dumps({"key": item.key, "description": item.description, "merchant": item.merchant or "",
                         "amount": item.amount, "currency": item.currency, "bookedOn": item.booked_on},
                        ensure_ascii=False) for item in items]
    prompt = ("Categories: " + json.dumps(list(names), ensure_ascii=False) + "\n\nTransactions, one per line:\n"
              + "\n".join(lines))
    config = types.GenerateContentConfig(
        system_instruction=CATEGORIZE_SYSTEM,
        response_mime_type="application/json",
        response_schema=categorize_schema(names),
        temperature=0,
    )
    return [types.Content(role="user", parts=[types.Part(text=prompt)])], config


def parse_guesses(text: str, names: Sequence[str], keys: Sequence[str]) -> list[CategoryGuess]:
    """The guesses of a JSON reply for the items `keys`: an item whose key is unknown or repeated, whose category
    is not offered or whose confidence is no number is left out; confidence is clamped to 0..1; "none" is no
    category. A reply that is not a JSON array is `INVALID_RESPONSE`."""
    try:
        answer = json.loads(text)
    except ValueError as exc:
        raise ChatError("INVALID_RESPONSE", f"Gemini's categorization is not JSON ({exc})") from exc
    if not isinstance(answer, list):
        raise ChatError("INVALID_RESPONSE", f"Gemini's categorization is a JSON {type(answer).__name__}, not an array")
    wanted, offered = set(keys), set(names)
    guesses: dict[str, CategoryGuess] = {}
    for entry in answer:
        if not isinstance(entry, dict):
            continue
        key, category, confidence = entry.get("key"), entry.get("category"), _confidence(entry.get("confidence"))
        if not isinstance(key, str) or key not in wanted or key in guesses or confidence is None:
            continue
        if category == NONE:
            guesses[key] = CategoryGuess(key=key, category=None, confidence=confidence)
        elif isinstance(category, str) and category in offered:
            guesses[key] = CategoryGuess(key=key, category=category, confidence=confidence)
    return list(guesses.values())


def _confidence(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    number = min(Decimal(1), max(Decimal(0), Decimal(str(value))))
    return number.quantize(_PLACES, rounding=ROUND_HALF_EVEN)


# --- responses -----------------------------------------------------------------------------------------

_REFUSED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
                      "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "OTHER"})


class _Reply:
    """What the chunks of one round add up to."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls: list[FunctionCall] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.candidates = 0
        self.finish_reason: str | None = None
        self.block_reason: str | None = None

    def add(self, chunk: types.GenerateContentResponse) -> list[str]:
        """Take one chunk in; return its new text pieces."""
        if not isinstance(chunk, types.GenerateContentResponse):
            raise ChatError("INVALID_RESPONSE", f"Gemini answered {type(chunk).__name__}")
        usage = chunk.usage_metadata
        if usage is not None:  # counts so far, not increments: the last one wins
            self.input_tokens = usage.prompt_token_count or self.input_tokens
            output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
            self.output_tokens = output or self.output_tokens
        if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason is not None:
            self.block_reason = _name(chunk.prompt_feedback.block_reason)
        pieces: list[str] = []
        if not chunk.candidates:
            return pieces
        self.candidates += 1
        candidate = chunk.candidates[0]
        if candidate.finish_reason is not None:
            self.finish_reason = _name(candidate.finish_reason)
        for part in (candidate.content.parts if candidate.content is not None else None) or []:
            if part.thought:
                continue  # a thought summary is not part of the answer
            if part.function_call is not None:
                self.calls.append(_function_call(part))
            elif part.text:
                self.texts.append(part.text)
                pieces.append(part.text)
        return pieces

    def finish(self) -> ModelReply:
        if self.block_reason is not None:
            raise ChatError("INVALID_RESPONSE", f"Gemini refused the request ({self.block_reason})")
        if not self.candidates:
            raise ChatError("INVALID_RESPONSE", "Gemini's response holds no candidate")
        if not self.texts and not self.calls:
            reason = self.finish_reason or "no finish reason"
            if reason in _REFUSED:
                raise ChatError("INVALID_RESPONSE", f"Gemini gave no answer ({reason})")
            raise ChatError("INVALID_RESPONSE", f"Gemini's answer is empty ({reason})")
        return ModelReply(text="".join(self.texts), calls=tuple(self.calls),
                          usage=Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens))


def _function_call(part: types.Part) -> FunctionCall:
    call = part.function_call
    assert call is not None
    if not call.name:
        raise ChatError("INVALID_RESPONSE", "Gemini asked for a function call without a name")
    args = call.args if call.args is not None else {}
    if not isinstance(args, dict):
        raise ChatError("INVALID_RESPONSE", f"the arguments of Gemini's call to {call.name} are not an object")
    signature = base64.b64encode(part.thought_signature).decode("ascii") if part.thought_signature else None
    return FunctionCall(name=call.name, args=dict(args), id=call.id, signature=signature)


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _chat_error(exc: Exception) -> ChatError:
    if isinstance(exc, ChatError):
        return exc
    if isinstance(exc, errors.APIError):
        detail = f"HTTP {exc.code} {exc.status or ''}: {exc.message or ''}".strip()
        if exc.code == 429:
            return ChatError("RATE_LIMITED", f"Gemini is rate limiting requests ({detail})")
        if exc.code in (408, 504):
            return ChatError("TIMEOUT", f"Gemini timed out ({detail})")
        return ChatError("UNAVAILABLE", f"Gemini refused the request ({detail})")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ChatError("TIMEOUT", f"Gemini did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.HTTPError | OSError):
        return ChatError("UNAVAILABLE", f"Gemini could not be reached ({type(exc).__name__}: {exc})")
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return ChatError("UNAVAILABLE", f"no Google credentials for Vertex AI ({exc})")
    if isinstance(exc, ValueError):  # unreadable JSON, a response that does not fit the schema
        return ChatError("INVALID_RESPONSE", f"Gemini's response could not be read ({exc})")
    raise exc
