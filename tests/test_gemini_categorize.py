"""`GeminiModel.categorize` (structured output) against the local server speaking the Gemini REST protocol.

The server checks the request as Gemini would, incl. `generationConfig.responseSchema`, and records it; the
answers are scripted JSON texts, as Gemini sends them for `responseMimeType: application/json`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from app.ai.factory import build_category_model, category_model
from app.ai.gemini import CATEGORIZE_BATCH, CATEGORIZE_SYSTEM, GeminiModel
from app.ai.model import CategorizeItem, CategoryGuess, ChatError
from app.config import Settings
from tests.gemini_server import LOCATION, MODEL, PROJECT, GeminiServer, Raw, Status, json_reply, text

CATEGORIES = ["Groceries", "Restaurants", "Café & Bakery", "Rent"]
ITEMS = [
    CategorizeItem(key="t1", description="CARD 1234 REWE SAGT DANKE", merchant="Rewe", amount="-54.20",
                   currency="EUR", booked_on="2026-11-02"),
    CategorizeItem(key="t2", description="SQ *BLUE BOTTLE COFFEE 0042", merchant="Blue Bottle Coffee",
                   amount="-4.20", currency="EUR", booked_on="2026-11-03"),
    CategorizeItem(key="t3", description="SEPA TRANSFER REF 99812", merchant=None, amount="150.00",
                   currency="EUR", booked_on="2026-11-04"),
]
PATH = f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{MODEL}:generateContent"


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


def user_text(body: dict[str, Any]) -> str:
    [content] = body["contents"]
    assert content["role"] == "user"
    [part] = content["parts"]
    return str(part["text"])


async def test_the_request_is_one_structured_output_call_with_the_users_names_as_an_enum(
        gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.require_system = True
    server.script.append(json_reply([]))

    # when
    await gemini.categorize(categories=CATEGORIES, items=ITEMS)

    # then: one accepted generateContent request
    assert [(item.path, item.stream, item.status) for item in server.received] == [(PATH, False, 200)]
    body = server.accepted[0].body
    assert body["systemInstruction"]["parts"] == [{"text": CATEGORIZE_SYSTEM}]
    assert "tools" not in body
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["temperature"] == 0
    assert config["responseSchema"] == {
        "type": "ARRAY",
        "items": {
            "type": "OBJECT",
            "properties": {
                "key": {"type": "STRING", "description": "The key of the transaction, as given."},
                "category": {"type": "STRING", "enum": [*CATEGORIES, "none"],
                             "description": 'The best category, or "none" when none fits.'},
                "confidence": {"type": "NUMBER", "minimum": 0, "maximum": 1,
                               "description": "How sure you are, from 0 to 1."},
            },
            "required": ["key", "category", "confidence"],
            "property_ordering": ["key", "category", "confidence"],  # the SDK sends the proto name
        },
    }
    # and: the message names the categories and carries each transaction (no account, no ids of Florin's)
    message = user_text(body)
    assert json.dumps(CATEGORIES, ensure_ascii=False) in message
    lines = [json.loads(line) for line in message.splitlines() if line.startswith("{")]
    assert lines == [
        {"key": "t1", "description": "CARD 1234 REWE SAGT DANKE", "merchant": "Rewe", "amount": "-54.20",
         "currency": "EUR", "bookedOn": "2026-11-02"},
        {"key": "t2", "description": "SQ *BLUE BOTTLE COFFEE 0042", "merchant": "Blue Bottle Coffee",
         "amount": "-4.20", "currency": "EUR", "bookedOn": "2026-11-03"},
        {"key": "t3", "description": "SEPA TRANSFER REF 99812", "merchant": "", "amount": "150.00",
         "currency": "EUR", "bookedOn": "2026-11-04"},
    ]


async def test_the_reply_maps_to_guesses_and_none_is_no_category(gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.script.append(json_reply([
        {"key": "t1", "category": "Groceries", "confidence": 0.93},
        {"key": "t2", "category": "Café & Bakery", "confidence": 0.61},
        {"key": "t3", "category": "none", "confidence": 0.8},
    ]))

    # when
    guesses = await gemini.categorize(categories=CATEGORIES, items=ITEMS)

    # then
    assert guesses == [CategoryGuess("t1", "Groceries", Decimal("0.9300")),
                       CategoryGuess("t2", "Café & Bakery", Decimal("0.6100")),
                       CategoryGuess("t3", None, Decimal("0.8000"))]


async def test_guesses_that_do_not_fit_are_left_out_and_confidence_is_clamped(
        gemini: GeminiModel, server: GeminiServer) -> None:
    # given: an unknown key, a category not offered, a repeated key, a missing or non-numeric confidence,
    # a non-object entry, and confidences outside 0..1 (the schema guides Gemini; it proves nothing)
    server.script.append(json_reply([
        {"key": "t9", "category": "Groceries", "confidence": 0.9},
        {"key": "t1", "category": "Shoes", "confidence": 0.9},
        {"key": "t2", "category": "Restaurants", "confidence": 1.7},
        {"key": "t2", "category": "Rent", "confidence": 0.99},
        {"key": "t3", "category": "Rent", "confidence": "high"},
        {"key": "t3", "category": "Rent"},
        "t3: Rent",
        {"key": "t1", "category": "Groceries", "confidence": -0.2},
        {"key": "t3", "category": "Rent", "confidence": True},
    ]))

    # when
    guesses = await gemini.categorize(categories=CATEGORIES, items=ITEMS)

    # then: the first fitting guess of t2 (clamped to 1) and t1's fitting one (clamped to 0); t3 has none
    assert guesses == [CategoryGuess("t2", "Restaurants", Decimal("1.0000")),
                       CategoryGuess("t1", "Groceries", Decimal("0.0000"))]


@pytest.mark.parametrize("answer", [
    text("Groceries, I think."),
    text('{"key": "t1", "category": "Groceries", "confidence": 0.9}'),
    text('[{"key": "t1", "category": "Groceries", "confidence": 0.9}'),
    Raw('{"candidates": [{"finishReason": "SAFETY"}]}'),
], ids=["prose", "object-not-array", "cut-off", "no-answer"])
async def test_a_malformed_reply_is_an_invalid_response(gemini: GeminiModel, server: GeminiServer, answer: Any) -> None:
    # given
    server.script.extend([answer, json_reply([])])

    # when
    with pytest.raises(ChatError) as raised:
        await gemini.categorize(categories=CATEGORIES, items=ITEMS)

    # then: not tried again
    assert raised.value.code == "INVALID_RESPONSE"
    assert len(server.received) == 1


async def test_a_429_is_retried_and_then_succeeds(gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.script.extend([Status(429), json_reply([{"key": "t1", "category": "Groceries", "confidence": 0.9}])])

    # when
    guesses = await gemini.categorize(categories=CATEGORIES, items=ITEMS[:1])

    # then
    assert guesses == [CategoryGuess("t1", "Groceries", Decimal("0.9000"))]
    assert [item.status for item in server.received] == [429, 200]
    assert server.received[0].body == server.received[1].body


async def test_429_every_time_is_rate_limited(gemini: GeminiModel, server: GeminiServer) -> None:
    # given
    server.script.extend([Status(429), Status(429), Status(429), json_reply([])])

    # when
    with pytest.raises(ChatError) as raised:
        await gemini.categorize(categories=CATEGORIES, items=ITEMS)

    # then
    assert raised.value.code == "RATE_LIMITED"
    assert [item.status for item in server.received] == [429, 429, 429]


async def test_many_items_go_in_batches_and_names_are_offered_once(gemini: GeminiModel,
                                                                   server: GeminiServer) -> None:
    # given: more items than one request takes; duplicate, blank and "none" names among the categories
    items = [CategorizeItem(key=f"k{i}", description=f"SHOP {i}", merchant=f"Shop {i}", amount="-1.00",
                            currency="EUR", booked_on="2026-11-01") for i in range(CATEGORIZE_BATCH + 3)]
    server.script.extend([json_reply([{"key": "k0", "category": "Rent", "confidence": 0.5}]),
                          json_reply([{"key": f"k{CATEGORIZE_BATCH + 2}", "category": "Rent", "confidence": 0.25},
                                      {"key": "k0", "category": "Rent", "confidence": 0.5}])])

    # when
    guesses = await gemini.categorize(categories=["Rent", "Rent", " ", "None", "Groceries"], items=items)

    # then: two requests, each for its own items; a key of another batch is not taken from the second answer
    assert guesses == [CategoryGuess("k0", "Rent", Decimal("0.5000")),
                       CategoryGuess(f"k{CATEGORIZE_BATCH + 2}", "Rent", Decimal("0.2500"))]
    assert len(server.accepted) == 2
    counts = [sum(1 for line in user_text(r.body).splitlines() if line.startswith("{")) for r in server.accepted]
    assert counts == [CATEGORIZE_BATCH, 3]
    enum = server.accepted[0].body["generationConfig"]["responseSchema"]["items"]["properties"]["category"]["enum"]
    assert enum == ["Rent", "Groceries", "none"]


async def test_nothing_to_choose_or_nothing_to_categorize_asks_nothing(gemini: GeminiModel,
                                                                       server: GeminiServer) -> None:
    # when
    assert await gemini.categorize(categories=[], items=ITEMS) == []
    assert await gemini.categorize(categories=CATEGORIES, items=[]) == []

    # then
    assert server.received == []


def test_the_factory_builds_gemini_for_categorization_when_configured(server: GeminiServer) -> None:
    # given
    settings = Settings(env="test", ai_provider="gemini", vertex_project="acme-finance", vertex_location="us-central1",
                        gemini_model="gemini-2.5-pro", gemini_base_url=server.base_url, gemini_timeout_seconds=12,
                        gemini_max_retries=4)

    # when
    model = build_category_model(settings)

    # then
    assert isinstance(model, GeminiModel)
    assert (model.name, model.project, model.location, model.base_url, model.timeout, model.max_retries) == (
        "gemini-2.5-pro", "acme-finance", "us-central1", server.base_url, 12, 4)


@pytest.mark.parametrize("overrides", [{}, {"ai_provider": "gemini"}, {"vertex_project": "acme-finance"}],
                         ids=["default", "gemini-without-project", "project-without-gemini"])
def test_without_gemini_there_is_no_category_model(overrides: dict[str, Any]) -> None:
    # given
    settings = Settings(env="test", **overrides)

    # when / then
    assert build_category_model(settings) is None

    # and: the process's model is built once and stays "none"
    class Holder:
        category_model: Any = None

    holder = Holder()
    holder.settings = settings  # type: ignore[attr-defined]
    assert category_model(holder) is None  # type: ignore[arg-type]
    assert holder.category_model is False
