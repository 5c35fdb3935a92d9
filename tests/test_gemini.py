"""`GeminiModel` (google-genai, Vertex AI) against a local server speaking the Gemini REST protocol.

The SDK's `base_url` points at `tests/gemini_server.py`, which checks every request as Gemini would and
records it; the bearer token is static and `NO_GCE_CHECK=true` (tests/conftest.py), so nothing reaches
Google. The tool loop is Florin's own (`app/ai/loop.py`) with a test executor.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from google.oauth2.credentials import Credentials

from app.ai.factory import build_chat_model
from app.ai.gemini import GeminiModel, to_contents, to_schema
from app.ai.loop import LoopDone, ToolCalled, run
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
from app.config import Settings
from tests.gemini_server import LOCATION, MODEL, PROJECT, GeminiServer, Raw, Reply, Stall, Status, calls, text

SYSTEM = "You are Florin's assistant. Every number you say comes from a tool result."
CATEGORIES = ["Groceries", "Rent", "Café & Bakery"]
ACCOUNTS = ["Checking", "Visa Card"]
TOOLS = (
    FunctionDeclaration("spending_total", "Total spent over a period, optionally in one category or account.", {
        "type": "object",
        "properties": {
            "period": {"type": "string", "description": "e.g. last_month"},
            "category": {"type": "string", "enum": CATEGORIES, "description": "one of the user's categories"},
            "account": {"type": ["string", "null"], "enum": ACCOUNTS},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            "merchants": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["period"],
        "additionalProperties": False,
    }),
    FunctionDeclaration("net_worth", "The user's net worth now.", {"type": "object", "properties": {}}),
)
QUESTION = (Turn(role="user", text="How much did I spend on groceries last month?"),)
PATH = f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{MODEL}"


@pytest.fixture(scope="module")
def server() -> Iterator[GeminiServer]:
    with GeminiServer() as running:
        yield running


@pytest.fixture
async def gemini(server: GeminiServer) -> AsyncIterator[GeminiModel]:
    server.reset()
    model = GeminiModel(PROJECT, LOCATION, MODEL, base_url=server.base_url,
                        credentials=Credentials(token="test-token"), timeout=5, max_retries=2,
                        retry_base_delay=0.01)
    yield model
    await model.aclose()


async def stream(model: GeminiModel, history: tuple[Turn, ...] = QUESTION,
                 tools: tuple[FunctionDeclaration, ...] = TOOLS) -> list[TextDelta | ModelReply]:
    return [item async for item in model.stream(system=SYSTEM, history=history, tools=tools)]


async def test_a_streamed_text_reply_gives_the_deltas_in_order_then_the_reply(gemini: GeminiModel,
                                                                              server: GeminiServer) -> None:
    # given
    server.script.append(text("You spent ", "123.45 EUR", " on groceries.", prompt_tokens=57, output_tokens=11))

    # when
    items = await stream(gemini)

    # then
    assert items == [TextDelta("You spent "), TextDelta("123.45 EUR"), TextDelta(" on groceries."),
                     ModelReply(text="You spent 123.45 EUR on groceries.", usage=Usage(57, 11))]
    [request] = server.received
    assert (request.status, request.path, request.stream) == (200, f"{PATH}:streamGenerateContent", True)
    assert request.headers["authorization"] == "Bearer test-token"
    assert request.body["contents"] == [{"role": "user",
                                         "parts": [{"text": "How much did I spend on groceries last month?"}]}]


async def test_a_whole_reply_is_one_generate_content_request(gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.script.append(text("Hello", " there.", prompt_tokens=5, output_tokens=2))

    # when
    reply = await gemini.generate(system=SYSTEM, history=QUESTION, tools=TOOLS)

    # then
    assert reply == ModelReply(text="Hello there.", usage=Usage(5, 2))
    assert [(item.path, item.stream, item.status) for item in server.received] == [
        (f"{PATH}:generateContent", False, 200)]


async def test_the_request_carries_the_system_instruction_the_declarations_and_the_users_enums(
        gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.require_system = True
    server.script.append(text("ok"))

    # when
    await stream(gemini)

    # then
    body = server.accepted[0].body
    assert body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
    [tool] = body["tools"]
    spending, net_worth = tool["functionDeclarations"]
    assert net_worth == {"name": "net_worth", "description": "The user's net worth now."}
    assert spending["name"] == "spending_total"
    assert spending["description"] == "Total spent over a period, optionally in one category or account."
    assert spending["parameters"] == {
        "type": "OBJECT",
        "properties": {
            "period": {"type": "STRING", "description": "e.g. last_month"},
            "category": {"type": "STRING", "enum": CATEGORIES, "description": "one of the user's categories"},
            "account": {"type": "STRING", "enum": ACCOUNTS, "nullable": True},
            "limit": {"type": "INTEGER", "minimum": 1, "maximum": 50},
            "merchants": {"type": "ARRAY", "items": {"type": "STRING"}},
        },
        "required": ["period"],
    }
    assert "toolConfig" not in body  # AUTO: the model chooses; Florin runs what it asks for


async def test_a_function_call_is_run_by_florin_and_its_response_sent_back_before_the_final_text(
        gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.require_system = True
    server.script.extend([
        calls(("spending_total", {"period": "last_month", "category": "Groceries"}), before="Let me check."),
        text("You spent 123.45 EUR on groceries last month.", prompt_tokens=80, output_tokens=12),
    ])
    ran: list[FunctionCall] = []

    async def execute(call: FunctionCall) -> dict[str, Any]:
        ran.append(call)
        return {"total": Decimal("123.45"), "currency": "EUR", "transactions": 7}

    # when
    events = [event async for event in run(gemini, system=SYSTEM, history=QUESTION, tools=TOOLS, execute=execute)]

    # then: Florin ran the tool the model chose, with its arguments
    assert [(call.name, call.args) for call in ran] == [
        ("spending_total", {"period": "last_month", "category": "Groceries"})]
    called = [event for event in events if isinstance(event, ToolCalled)]
    assert called == [ToolCalled(ran[0], {"total": Decimal("123.45"), "currency": "EUR", "transactions": 7})]
    done = events[-1]
    assert isinstance(done, LoopDone)
    assert done.text == "Let me check.\n\nYou spent 123.45 EUR on groceries last month."
    assert done.usage == Usage(20 + 80, 9 + 12) and done.rounds == 2
    # and the second request sent the call back (with its thought signature) and then the functionResponse
    assert [item.status for item in server.received] == [200, 200]
    first_call = server.accepted[0]
    second = server.accepted[1].body["contents"]
    assert second[0] == first_call.body["contents"][0]
    assert second[1]["role"] == "model"
    assert second[1]["parts"][0] == {"text": "Let me check."}
    assert second[1]["parts"][1]["functionCall"] == {"name": "spending_total",
                                                     "args": {"period": "last_month", "category": "Groceries"}}
    assert ran[0].signature is not None
    assert base64.urlsafe_b64decode(second[1]["parts"][1]["thoughtSignature"]) == base64.b64decode(ran[0].signature)
    assert second[2] == {"role": "user", "parts": [{"functionResponse": {
        "name": "spending_total", "response": {"total": "123.45", "currency": "EUR", "transactions": 7}}}]}
    assert len(second) == 3


async def test_several_rounds_of_calls_are_all_accepted_by_the_server(gemini: GeminiModel,
                                                                      server: GeminiServer) -> None:
    # given: two call rounds (the second with two calls), then the answer
    server.script.extend([
        calls(("net_worth", {})),
        calls(("spending_total", {"period": "this_year"}), ("spending_total", {"period": "last_year"})),
        text("Your net worth is 10.00 EUR; you spent 3.00 EUR this year and 4.00 EUR last year."),
    ])
    answers = {"this_year": "3.00", "last_year": "4.00"}

    async def execute(call: FunctionCall) -> dict[str, Any]:
        if call.name == "net_worth":
            return {"amount": "10.00", "currency": "EUR"}
        return {"total": answers[call.args["period"]], "currency": "EUR"}

    # when
    events = [event async for event in run(gemini, system=SYSTEM, history=QUESTION, tools=TOOLS, execute=execute)]

    # then
    assert [item.status for item in server.received] == [200, 200, 200]
    last = server.accepted[2].body["contents"]
    assert [content["role"] for content in last] == ["user", "model", "user", "model", "user"]
    assert [part["functionResponse"]["response"]["total"] for part in last[4]["parts"]] == ["3.00", "4.00"]
    done = events[-1]
    assert isinstance(done, LoopDone) and done.rounds == 3


async def test_a_429_is_retried_and_then_succeeds(gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.script.extend([Status(429), text("Fine now.")])

    # when
    items = await stream(gemini)

    # then
    assert items[-1] == ModelReply(text="Fine now.", usage=Usage(12, 7))
    assert [item.status for item in server.received] == [429, 200]
    assert server.received[0].body == server.received[1].body


async def test_429_every_time_is_rate_limited_after_the_retries(gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.script.extend([Status(429), Status(429), Status(429), text("too late")])

    # when
    with pytest.raises(ChatError) as raised:
        await stream(gemini)

    # then
    assert raised.value.code == "RATE_LIMITED"
    assert [item.status for item in server.received] == [429, 429, 429]  # the first try and 2 retries
    assert len(server.script) == 1


async def test_a_timeout_is_retried_and_then_succeeds(server: GeminiServer) -> None:
    # given
    server.reset()
    server.script.extend([Stall(3), text("Here you are.")])
    model = GeminiModel(PROJECT, LOCATION, MODEL, base_url=server.base_url, credentials=Credentials(token="test-token"),
                        timeout=0.3, max_retries=1, retry_base_delay=0.01)

    # when
    try:
        reply = await model.generate(system=SYSTEM, history=QUESTION, tools=TOOLS)
    finally:
        await model.aclose()

    # then
    assert reply.text == "Here you are."
    assert len(server.received) == 2


async def test_timing_out_every_time_is_a_timeout(server: GeminiServer) -> None:
    # given
    server.reset()
    server.script.extend([Stall(3), Stall(3)])
    model = GeminiModel(PROJECT, LOCATION, MODEL, base_url=server.base_url, credentials=Credentials(token="test-token"),
                        timeout=0.3, max_retries=1, retry_base_delay=0.01)

    # when
    with pytest.raises(ChatError) as raised:
        try:
            await stream(model)
        finally:
            await model.aclose()

    # then
    assert raised.value.code == "TIMEOUT"
    assert len(server.received) == 2


async def test_a_stream_that_hangs_after_giving_text_is_not_tried_again(server: GeminiServer) -> None:
    # given: the first chunk arrives, then nothing
    server.reset()
    server.script.extend([Reply([[{"text": "You spent "}], [{"text": "12.00 EUR."}]], stall_after=1),
                          text("never asked for")])
    model = GeminiModel(PROJECT, LOCATION, MODEL, base_url=server.base_url, credentials=Credentials(token="test-token"),
                        timeout=0.3, max_retries=2, retry_base_delay=0.01)
    items: list[TextDelta | ModelReply] = []

    # when
    with pytest.raises(ChatError) as raised:
        try:
            async for item in model.stream(system=SYSTEM, history=QUESTION, tools=TOOLS):
                items.append(item)
        finally:
            await model.aclose()

    # then: retrying would repeat text already shown
    assert raised.value.code == "TIMEOUT"
    assert items == [TextDelta("You spent ")]
    assert len(server.received) == 1


@pytest.mark.parametrize("answer", [Status(500, "INTERNAL", "Internal error encountered."),
                                    Status(503, "UNAVAILABLE", "The service is currently unavailable."),
                                    Status(403, "PERMISSION_DENIED", "Permission denied on resource project.")])
async def test_other_api_errors_are_unavailable_without_retry(gemini: GeminiModel, server: GeminiServer,
                                                              answer: Status) -> None:
    # given
    server.script.extend([answer, text("never asked for")])

    # when
    with pytest.raises(ChatError) as raised:
        await stream(gemini)

    # then
    assert raised.value.code == "UNAVAILABLE"
    assert str(answer.code) in raised.value.message
    assert len(server.received) == 1


async def test_wrong_credentials_are_unavailable(server: GeminiServer) -> None:
    # given
    server.reset()
    model = GeminiModel(PROJECT, LOCATION, MODEL, base_url=server.base_url,
                        credentials=Credentials(token="someone-else"), max_retries=0)

    # when
    with pytest.raises(ChatError) as raised:
        try:
            await stream(model)
        finally:
            await model.aclose()

    # then
    assert raised.value.code == "UNAVAILABLE"
    assert [item.status for item in server.received] == [401]


async def test_missing_google_credentials_are_unavailable(server: GeminiServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # given: application default credentials pointing nowhere
    server.reset()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/florin-adc.json")
    model = GeminiModel(PROJECT, LOCATION, MODEL, base_url=server.base_url, max_retries=0)

    # when
    with pytest.raises(ChatError) as raised:
        try:
            await stream(model)
        finally:
            await model.aclose()

    # then
    assert raised.value.code == "UNAVAILABLE"
    assert server.received == []


@pytest.mark.parametrize("stream_it", [True, False], ids=["stream", "generate"])
@pytest.mark.parametrize("answer", [
    Raw("this is not json"),
    Raw('{"candidates": []}'),
    Raw('{"candidates": [{"finishReason": "SAFETY"}], "usageMetadata": {"promptTokenCount": 3}}'),
    Raw('{"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"args": {}}}]}}]}'),
    Raw('{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}'),
    Raw('{"candidates": [{"content": {"role": "model", "parts": [{"text": "half"}]}}]} trailing'),
], ids=["not-json", "no-candidate", "safety", "call-without-name", "blocked", "trailing-garbage"])
async def test_a_malformed_response_is_an_invalid_response(gemini: GeminiModel, server: GeminiServer,
                                                           answer: Raw, stream_it: bool) -> None:
    # given
    if stream_it:
        answer = Raw(f"data: {answer.body}\r\n\r\n", content_type="text/event-stream")
    server.script.extend([answer, text("never asked for")])

    # when
    with pytest.raises(ChatError) as raised:
        if stream_it:
            await stream(gemini)
        else:
            await gemini.generate(system=SYSTEM, history=QUESTION, tools=TOOLS)

    # then
    assert raised.value.code == "INVALID_RESPONSE"
    assert len(server.received) == 1


@pytest.mark.parametrize("history", [
    (Turn(role="user", text="first"), Turn(role="user", text="second")),
    (Turn(role="model", text="Hello, I am Florin."), Turn(role="user", text="hi")),
    (Turn(role="user", text="q"), Turn(role="model", text="", calls=(FunctionCall("net_worth", {}),)),
     Turn(role="user", text="that reply was cut off; again?")),
    (Turn(role="user", text="q"), Turn(role="model", calls=(FunctionCall("net_worth", {}),)),
     Turn(role="tool", results=(FunctionResult("net_worth", {"amount": "1.00"}),)), Turn(role="user", text="and?")),
    (Turn(role="user", text="q"), Turn(role="tool", results=(FunctionResult("net_worth", {"amount": "1.00"}),)),
     Turn(role="model", text="orphaned result"), Turn(role="user", text="")),
    (Turn(role="user", text="q"), Turn(role="model", text="a"), Turn(role="model", text="b"),
     Turn(role="user", text="c")),
    (Turn(role="model", calls=(FunctionCall("net_worth", {}),)),
     Turn(role="tool", results=(FunctionResult("net_worth", {"amount": "1.00"}),)), Turn(role="user", text="hi")),
    (Turn(role="user", text="q"), Turn(role="model", calls=(FunctionCall("net_worth", {}),)),
     Turn(role="tool", results=(FunctionResult("net_worth", {"amount": "1.00"}),)),
     Turn(role="tool", results=(FunctionResult("net_worth", {"amount": "2.00"}),)),
     Turn(role="user", text="and?")),
], ids=["two-user-turns", "model-first", "interrupted-call", "tool-then-user", "orphan-result", "two-model-turns",
        "calls-first", "results-twice"])
async def test_awkward_histories_are_sent_in_a_shape_gemini_accepts(gemini: GeminiModel, server: GeminiServer,
                                                                    history: tuple[Turn, ...]) -> None:
    # given
    server.script.append(text("ok"))

    # when
    reply = await gemini.generate(system=SYSTEM, history=history, tools=TOOLS)

    # then
    assert reply.text == "ok"
    assert [item.status for item in server.received] == [200], server.received[0].error


def test_consecutive_turns_of_one_role_are_merged() -> None:
    # given
    history = (Turn(role="user", text="first"), Turn(role="user", text="second"),
               Turn(role="model", text="answer"))

    # when
    contents = to_contents(history)

    # then
    assert [(content.role, [part.text for part in content.parts or []]) for content in contents] == [
        ("user", ["first", "second"]), ("model", ["answer"])]


def test_json_schemas_gemini_cannot_take_are_refused_when_declaring() -> None:
    with pytest.raises(ValueError, match="oneOf"):
        to_schema({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}})
    with pytest.raises(ValueError, match="enum of strings"):
        to_schema({"type": "integer", "enum": [1, 2]})
    with pytest.raises(ValueError, match="one type"):
        to_schema({"type": ["string", "integer"]})


async def test_the_server_refuses_what_gemini_refuses(server: GeminiServer) -> None:
    # given
    server.reset()
    server.script.extend([text("ok")] * 20)
    user = {"role": "user", "parts": [{"text": "q"}]}
    call = {"role": "model", "parts": [{"functionCall": {"name": "net_worth", "args": {}}}]}
    answer = {"role": "user", "parts": [{"functionResponse": {"name": "net_worth", "response": {"amount": "1"}}}]}
    tool = {"functionDeclarations": [{"name": "net_worth", "description": "d",
                                      "parameters": {"type": "OBJECT", "properties": {"x": {"type": "STRING"}}}}]}
    server.signatures['["issued", {}]'] = "c2ln"
    refused = {
        "a functionResponse without a preceding call": {"contents": [user, {"role": "model", "parts": [
            {"text": "let me see"}]}, answer]},
        "a call never answered": {"contents": [user, call]},
        "two user turns in a row": {"contents": [user, user]},
        "a model turn first": {"contents": [call | {"parts": [{"text": "hi"}]}, user]},
        "a made-up role": {"contents": [{"role": "assistant", "parts": [{"text": "q"}]}]},
        "an empty text": {"contents": [{"role": "user", "parts": [{"text": ""}]}]},
        "no contents": {"contents": []},
        "an unknown field": {"contents": [user], "temperature": 1},
        "a response that is not an object": {"contents": [user, call, {"role": "user", "parts": [
            {"functionResponse": {"name": "net_worth", "response": "1"}}]}]},
        "the wrong function answered": {"contents": [user, call, {"role": "user", "parts": [
            {"functionResponse": {"name": "other", "response": {}}}]}]},
        "a call of this turn without its signature": {"contents": [user, {"role": "model", "parts": [
            {"functionCall": {"name": "issued", "args": {}}}]}, {"role": "user", "parts": [
                {"functionResponse": {"name": "issued", "response": {}}}]}]},
        "an unknown schema type": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "str"}}}}]}]},
        "an enum on an integer": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "INTEGER", "enum": [1]}}}}]}]},
        "an array without items": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "ARRAY"}}}}]}]},
        "a required name not among the properties": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "STRING"}},
                                         "required": ["y"]}}]}]},
        "an object without properties": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "OBJECT", "properties": {}}}]}]},
        "a bad function name": {"contents": [user], "tools": [{"functionDeclarations": [{"name": "1 bad"}]}]},
        "a duplicate declaration": {"contents": [user], "tools": [tool, tool]},
        "a JSON-schema keyword": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "STRING", "oneOf": []}}}}]}]},
        "a response schema without JSON": {"contents": [user], "generationConfig": {
            "responseSchema": {"type": "STRING", "enum": ["a"]}}},
        "a system instruction with a call": {"contents": [user], "systemInstruction": {"parts": [
            {"functionCall": {"name": "f"}}]}},
    }
    accepted = {
        "a plain question": {"contents": [user]},
        "a call answered": {"contents": [user, call, answer], "tools": [tool]},
        "lowercase types": {"contents": [user], "tools": [{"functionDeclarations": [
            {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "string", "enum": ["a"]}}}}]}]},
        "structured output": {"contents": [user], "generationConfig": {
            "responseMimeType": "application/json", "responseSchema": {"type": "STRING", "enum": ["Food", "none"]}}},
    }
    headers = {"authorization": "Bearer test-token"}

    # when
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        refusals = {name: await client.post(f"{PATH}:generateContent", json=body, headers=headers)
                    for name, body in refused.items()}
        acceptances = {name: await client.post(f"{PATH}:generateContent", json=body, headers=headers)
                       for name, body in accepted.items()}
        no_token = await client.post(f"{PATH}:generateContent", json=accepted["a plain question"])

    # then
    assert {name: response.status_code for name, response in refusals.items()} == {name: 400 for name in refused}
    assert all(response.json()["error"]["status"] == "INVALID_ARGUMENT" for response in refusals.values())
    assert refusals["a functionResponse without a preceding call"].json()["error"]["message"] == (
        "Please ensure that function response turn comes immediately after a function call turn.")
    assert {name: response.status_code for name, response in acceptances.items()} == {name: 200 for name in accepted}
    assert no_token.status_code == 401


def test_the_factory_builds_gemini_when_a_vertex_project_is_configured(server: GeminiServer) -> None:
    # given
    settings = Settings(env="test", ai_provider="gemini", vertex_project="acme-finance", vertex_location="us-central1",
                        gemini_model="gemini-2.5-pro", gemini_base_url=server.base_url, gemini_timeout_seconds=12,
                        gemini_max_retries=4)

    # when
    model = build_chat_model(settings)

    # then
    assert isinstance(model, GeminiModel)
    assert (model.name, model.project, model.location, model.base_url, model.timeout, model.max_retries) == (
        "gemini-2.5-pro", "acme-finance", "us-central1", server.base_url, 12, 4)


@pytest.mark.parametrize("overrides", [{}, {"ai_provider": "gemini"}, {"vertex_project": "acme-finance"}],
                         ids=["default", "gemini-without-project", "project-without-gemini"])
def test_the_factory_falls_back_to_the_local_model(overrides: dict[str, Any]) -> None:
    # given
    from app.ai.local import LocalModel

    settings = Settings(env="test", **overrides)

    # when
    model = build_chat_model(settings)

    # then
    assert isinstance(model, LocalModel)
