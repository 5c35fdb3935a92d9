"""The per-schema document cache (parse, limits, validation and cost verdicts remembered per document text)
must never change an answer: a text refused once is refused again, a cost that depends on a variable is
estimated for that variable's value, and a valid text keeps working after it is remembered."""

from __future__ import annotations

from graphql import parse

from app.graphql.limits import CACHED_DOCUMENTS, DocumentCache
from app.resources import Resources
from tests.test_security import asgi_client, codes, count_rows, post, register, with_settings

TOKENS = "query($n: Int) { apiTokens(first: $n) { totalCount edges { node { id name } } } }"  # cost 1 + n * 5
SKIPPED = "query($s: Boolean!) { apiTokens(first: 100) @skip(if: $s) { totalCount edges { node { id name } } } }"
DEEP = "{ categories { children { parent { children { parent { children { parent { id } } } } } } } }"


async def test_a_remembered_text_gets_the_cost_of_its_own_variables(resources: Resources) -> None:
    # given: a ceiling of 36 = the cost of TOKENS with n = 7
    res = with_settings(resources, max_query_cost=36)
    async with asgi_client(res) as http:
        user = await register(http)
        # when: the same text, alternating between an allowed and a refused page size
        answers = [await post(http, TOKENS, {"n": n}, token=user["token"]) for n in (7, 8, 7, 8, 0)]
        skip = [await post(http, SKIPPED, {"s": s}, token=user["token"]) for s in (True, False, True)]
    # then
    allowed = {"data": {"apiTokens": {"totalCount": 0, "edges": []}}}
    assert [a.json() == allowed for a in answers] == [True, False, True, False, True]
    for refused in (answers[1], answers[3]):
        assert codes(refused.json()) == ["GRAPHQL_VALIDATION_FAILED"]
        assert refused.json()["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "cost": 41,
                                                             "maxCost": 36}
    assert skip[0].json() == {"data": {}} and skip[2].json() == {"data": {}}
    assert skip[1].json()["errors"][0]["extensions"]["cost"] == 1 + 100 * 5
    assert skip[1].json().get("data") is None


async def test_a_refused_text_is_refused_every_time(resources: Resources) -> None:
    # given: a depth limit of 5, an alias limit of 2, a duplicate-field limit of 2
    res = with_settings(resources, max_query_depth=5, max_aliases=2, max_duplicate_fields=2)
    aliases = "{ a: me { id } b: me { id } c: me { id } }"
    duplicates = "{ me { id id id } }"
    create = 'mutation { apiTokenCreate(input: {name: "t"}) { apiToken { id } token errors { code } } }'
    async with asgi_client(res) as http:
        user = await register(http)
        # when: each refused text three times, then a mutation sent twice (valid, so remembered)
        refused = [await post(http, query, token=user["token"]) for query in (DEEP, aliases, duplicates) * 3]
        created = [await post(http, create, token=user["token"]) for _ in range(2)]
    # then: the same refusal every time, and nothing of the refused documents ran
    for i, response in enumerate(refused):
        body = response.json()
        assert body.get("data") is None
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
        assert body == refused[i % 3].json()
    assert all(c.json()["data"]["apiTokenCreate"]["errors"] == [] for c in created)
    assert await count_rows(resources, "api_tokens") == 2


async def test_an_invalid_text_stays_invalid_and_a_valid_one_keeps_answering(resources: Resources) -> None:
    async with asgi_client(resources) as http:
        user = await register(http)
        # when
        unknown = [await post(http, "{ me { id nope } }", token=user["token"]) for _ in range(3)]
        me = [await post(http, "{ me { email } }", token=user["token"]) for _ in range(3)]
        anonymous = await post(http, "{ me { email } }")
    # then
    assert [codes(u.json()) for u in unknown] == [["GRAPHQL_VALIDATION_FAILED"]] * 3
    assert [m.json() for m in me] == [{"data": {"me": {"email": user["email"]}}}] * 3
    assert codes(anonymous.json()) == ["UNAUTHENTICATED"]  # a remembered text is still authenticated per request


def test_the_cache_is_bounded_and_keeps_recent_texts() -> None:
    # given
    cache = DocumentCache(maxsize=3)
    document = parse("{ me { id } }")
    # when
    for i in range(5):
        cache.put(f"text {i}", document)
        cache.get("text 0")  # used again and again: stays
    # then
    assert len(cache) == 3
    assert cache.get("text 0") is not None and cache.get("text 4") is not None
    assert cache.get("text 1") is None and cache.get("text 2") is None
    assert CACHED_DOCUMENTS >= 64

