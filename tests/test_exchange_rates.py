"""Exchange rates: the ECB refresh from a local file and a local HTTP server, malformed files refused whole,
manual rates that win and stay private, `exchangeRateSet` validation and `exchangeRates` listing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from arq import Retry

from app.networth import ecb
from tests.support import GraphQLClient
from worker.jobs import fill_balances, refresh_exchange_rates

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
"""
TAIL = """  </Cube>
</gesmes:Envelope>
"""


def document(days: dict[str, dict[str, str]]) -> bytes:
    body = "".join(
        f"    <Cube time='{day}'>\n" + "".join(f"      <Cube currency='{c}' rate='{r}'/>\n" for c, r in rates.items())
        + "    </Cube>\n" for day, rates in days.items())
    return (HEAD + body + TAIL).encode()


DAILY = document({"2026-11-20": {"USD": "1.0812", "JPY": "163.45", "GBP": "0.83315", "CHF": "0.9402"}})
NINETY = document({
    "2026-11-20": {"USD": "1.0812", "JPY": "163.45"},
    "2026-11-19": {"USD": "1.0790", "JPY": "162.90"},
    "2026-11-18": {"USD": "1.0755", "JPY": "162.10"},
})

SET = """mutation($input: ExchangeRateSetInput!) { exchangeRateSet(input: $input) {
  exchangeRate { base quote rate day source } errors { field message code } } }"""
RATES = """query($base: String, $quote: String, $from: Date, $to: Date, $source: ExchangeRateSource, $latest: Boolean,
  $first: Int) { exchangeRates(base: $base, quote: $quote, from: $from, to: $to, source: $source, latest: $latest,
  first: $first) { base quote rate day source } }"""
NET_WORTH = """query($on: Date) { netWorth(on: $on) { netWorth { amount } conversions { rate rateDay }
  unconverted { amount currency } } }"""


async def stored(resources: Any) -> list[tuple[Any, ...]]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(sa.text(
            "SELECT user_id, base, quote, day, rate, source, updated_at FROM exchange_rates "
            "ORDER BY day, base, quote, user_id NULLS FIRST"))
        return [tuple(r) for r in rows]


def with_source(resources: Any, url: str = "", history: str = "") -> Any:
    settings = resources.settings.model_copy(update={"exchange_rates_url": url, "exchange_rates_history_url": history})
    return dataclasses.replace(resources, settings=settings)


@contextmanager
def serve(files: dict[str, bytes]) -> Iterator[str]:
    """A local HTTP server in a thread serving `files` by path; 404 for anything else."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_parse_reads_every_day_and_currency() -> None:
    # when
    parsed = ecb.parse(NINETY)
    # then
    assert parsed.skipped == frozenset()
    assert [(r.base, r.quote, r.day.isoformat(), str(r.rate)) for r in parsed.rates] == [
        ("EUR", "USD", "2026-11-20", "1.0812"), ("EUR", "JPY", "2026-11-20", "163.45"),
        ("EUR", "USD", "2026-11-19", "1.0790"), ("EUR", "JPY", "2026-11-19", "162.90"),
        ("EUR", "USD", "2026-11-18", "1.0755"), ("EUR", "JPY", "2026-11-18", "162.10"),
    ]


def test_parse_skips_currencies_of_the_past() -> None:
    # given: a day of the full history, when the Cyprus pound still had a rate
    old = document({"2007-12-31": {"USD": "1.4721", "CYP": "0.585274", "SIT": "239.64"}})
    # when
    parsed = ecb.parse(old)
    # then: the rates Florin knows are kept, the others skipped and named
    assert [(r.quote, str(r.rate)) for r in parsed.rates] == [("USD", "1.4721")]
    assert parsed.skipped == frozenset({"CYP", "SIT"})


MALFORMED = {
    "not xml": b"this is not xml",
    "truncated": DAILY[:-40],
    "html": b"<html><body>Maintenance</body></html>",
    "no day cubes": (HEAD + TAIL).encode(),
    "no time": (HEAD + "<Cube><Cube currency='USD' rate='1.1'/></Cube>" + TAIL).encode(),
    "bad day": document({"2026-13-01": {"USD": "1.1"}}),
    "bad rate": document({"2026-11-20": {"USD": "1,0812"}}),
    "zero rate": document({"2026-11-20": {"USD": "0"}}),
    "negative rate": document({"2026-11-20": {"USD": "-1.1"}}),
    "huge rate": document({"2026-11-20": {"USD": "12345678901"}}),
    "not a currency code": document({"2026-11-20": {"U$D": "1.1"}}),
    "only unknown currencies": document({"2026-11-20": {"ZZZ": "1.1"}}),
    "twice": (HEAD + "<Cube time='2026-11-20'><Cube currency='USD' rate='1.1'/><Cube currency='USD' rate='1.2'/>"
              "</Cube>" + TAIL).encode(),
    "entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + DAILY[DAILY.index(b"<gesmes:Envelope"):],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_parse_refuses_malformed_documents(name: str) -> None:
    with pytest.raises(ecb.MalformedRates):
        ecb.parse(MALFORMED[name])


async def test_refresh_from_a_local_file_stores_reference_rates_once(resources: Any, tmp_path: Path) -> None:
    # given: the daily file on disk
    path = tmp_path / "eurofxref-daily.xml"
    path.write_bytes(DAILY)
    ctx = {"resources": with_source(resources, str(path))}
    # when
    result = await refresh_exchange_rates(ctx)
    # then: four EUR-based reference rates without an owner
    assert result == {"source": str(path), "days": 1, "rates": 4, "written": 4}
    rows = await stored(resources)
    assert [(u, b, q, d.isoformat(), str(r.normalize()), s) for u, b, q, d, r, s, _ in rows] == [
        (None, "EUR", "CHF", "2026-11-20", "0.9402", "ECB"), (None, "EUR", "GBP", "2026-11-20", "0.83315", "ECB"),
        (None, "EUR", "JPY", "2026-11-20", "163.45", "ECB"), (None, "EUR", "USD", "2026-11-20", "1.0812", "ECB")]
    # when: it runs again (a job may run twice), as a file:// URL this time
    again = await refresh_exchange_rates({"resources": with_source(resources, path.as_uri())})
    # then: nothing is written
    assert again is not None and again["written"] == 0
    assert await stored(resources) == rows
    # when: the ECB corrects one rate, then only that row changes
    path.write_bytes(DAILY.replace(b"1.0812", b"1.0813"))
    assert (await refresh_exchange_rates(ctx) or {})["written"] == 1
    assert [r[4] for r in await stored(resources)][-1] == Decimal("1.0813")


async def test_refresh_from_a_local_http_server_and_the_history_on_the_first_run(resources: Any) -> None:
    with serve({"/daily.xml": DAILY, "/hist-90d.xml": NINETY}) as base:
        ctx = {"resources": with_source(resources, f"{base}/daily.xml", f"{base}/hist-90d.xml")}
        # when: nothing is stored yet
        first = await refresh_exchange_rates(ctx)
        # then: the 90-day history is read
        assert first == {"source": f"{base}/hist-90d.xml", "days": 3, "rates": 6, "written": 6}
        # when: next time
        second = await refresh_exchange_rates(ctx)
        # then: the daily file, adding the currencies the history lacked
        assert second == {"source": f"{base}/daily.xml", "days": 1, "rates": 4, "written": 2}
        assert len(await stored(resources)) == 8
        # when: the source answers 404, then the job asks arq to retry later and writes nothing
        broken = {"resources": with_source(resources, f"{base}/missing.xml"), "job_try": 2}
        with pytest.raises(Retry):
            await refresh_exchange_rates(broken)
        assert len(await stored(resources)) == 8
    # and no source configured: nothing to do (tests never reach the internet)
    assert resources.settings.exchange_rates_url == ""
    assert await refresh_exchange_rates({"resources": resources}) is None


async def test_a_malformed_file_fails_the_job_cleanly(resources: Any, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    # given: rates already stored, then a file whose last rate is broken (everything before it is fine)
    path = tmp_path / "rates.xml"
    path.write_bytes(DAILY)
    ctx = {"resources": with_source(resources, str(path))}
    await refresh_exchange_rates(ctx)
    before = await stored(resources)
    path.write_bytes(NINETY.replace(b"162.10", b"abc"))
    # when
    with caplog.at_level(logging.ERROR, logger="florin.networth.rates"), pytest.raises(ecb.MalformedRates):
        await refresh_exchange_rates(ctx)
    # then: logged, and not one row of the file is written
    assert any("refusing the exchange rates" in r.getMessage() for r in caplog.records)
    assert await stored(resources) == before


async def test_a_manual_rate_wins_on_its_day_and_survives_refreshes(gql: GraphQLClient, resources: Any,
                                                                    tmp_path: Path) -> None:
    # given: a user with 108.12 USD, the ECB rate of 2026-11-20 (1 EUR = 1.0812 USD), and their own rate that day
    user = await gql.register()
    acc = """mutation { accountCreate(input: {name: "Dollars", kind: CHECKING, currency: "USD",
      openingBalance: "108.12", openingDate: "2026-11-01"}) { errors { code } } }"""
    assert (await gql(acc, token=user["token"])).ok()["accountCreate"]["errors"] == []
    path = tmp_path / "daily.xml"
    path.write_bytes(DAILY)
    ctx = {"resources": with_source(resources, str(path))}
    await refresh_exchange_rates(ctx)
    worth = (await gql(NET_WORTH, {"on": "2026-11-20"}, token=user["token"])).ok()["netWorth"]
    assert worth["netWorth"]["amount"] == "100.00"  # 108.12 / 1.0812
    mine = {"base": "EUR", "quote": "USD", "rate": "1.2", "day": "2026-11-20"}
    assert (await gql(SET, {"input": mine}, token=user["token"])).ok()["exchangeRateSet"]["errors"] == []
    manual_before = [r for r in await stored(resources) if r[0] is not None]
    # when: the ECB refresh runs again with a corrected rate of that very day
    path.write_bytes(DAILY.replace(b"1.0812", b"1.0900"))
    await refresh_exchange_rates(ctx)
    # then: the manual row is untouched and it is the rate used that day: 108.12 / 1.2 = 90.10
    assert [r for r in await stored(resources) if r[0] is not None] == manual_before
    worth = (await gql(NET_WORTH, {"on": "2026-11-20"}, token=user["token"])).ok()["netWorth"]
    assert worth["netWorth"]["amount"] == "90.10"
    assert worth["conversions"] == [{"rate": "0.8333333333", "rateDay": "2026-11-20"}]
    # and a stranger, who has no manual rate, still gets the reference rate
    stranger = await gql.register()
    assert (await gql(acc, token=stranger["token"])).ok()["accountCreate"]["errors"] == []
    theirs = (await gql(NET_WORTH, {"on": "2026-11-20"}, token=stranger["token"])).ok()["netWorth"]
    assert theirs["netWorth"]["amount"] == "99.19"  # 108.12 / 1.09 = 99.192...


async def test_exchange_rate_set_validates_and_replaces_the_days_rate(gql: GraphQLClient, resources: Any) -> None:
    # given
    user = await gql.register()
    cases = [
        ({"base": "USD", "quote": "USD", "rate": "1"}, [("quote", "INVALID")]),
        ({"base": "USD", "quote": "EUR", "rate": "0"}, [("rate", "INVALID")]),
        ({"base": "USD", "quote": "EUR", "rate": "-1.5"}, [("rate", "INVALID")]),
        ({"base": "USD", "quote": "EUR", "rate": "abc"}, [("rate", "INVALID")]),
        ({"base": "USD", "quote": "EUR", "rate": "1e3"}, [("rate", "INVALID")]),
        ({"base": "USD", "quote": "EUR", "rate": ""}, [("rate", "REQUIRED")]),
        ({"base": "USD", "quote": "EUR", "rate": "1.12345678901"}, [("rate", "TOO_MANY_DECIMALS")]),
        ({"base": "USD", "quote": "EUR", "rate": "12345678901"}, [("rate", "LIMIT_EXCEEDED")]),
        ({"base": "XXX", "quote": "", "rate": "1"}, [("base", "INVALID_CURRENCY"), ("quote", "REQUIRED")]),
        ({"base": "USD", "quote": "EUR", "rate": "1", "day": "1850-01-01"}, [("day", "INVALID")]),
    ]
    for given, expected in cases:
        # when
        result = (await gql(SET, {"input": given}, token=user["token"])).ok()["exchangeRateSet"]
        # then
        assert result["exchangeRate"] is None
        assert sorted((e["field"], e["code"]) for e in result["errors"]) == sorted(expected), given
    assert await stored(resources) == []
    # when: a valid rate, lower-case codes, no day
    today = dt.datetime.now(dt.UTC).date().isoformat()
    made = (await gql(SET, {"input": {"base": "usd", "quote": "eur", "rate": "0.9250"}},
                      token=user["token"])).ok()["exchangeRateSet"]
    # then: stored for today as MANUAL
    assert made == {"exchangeRate": {"base": "USD", "quote": "EUR", "rate": "0.925", "day": today, "source": "MANUAL"},
                    "errors": []}
    # when: set again the same day, then it is replaced (one row)
    again = (await gql(SET, {"input": {"base": "USD", "quote": "EUR", "rate": "0.93", "day": today}},
                       token=user["token"])).ok()["exchangeRateSet"]
    assert again["exchangeRate"]["rate"] == "0.93"
    assert [(r[1], r[2], str(r[4].normalize())) for r in await stored(resources)] == [("USD", "EUR", "0.93")]


async def test_exchange_rates_lists_own_and_reference_rates_only(gql: GraphQLClient, resources: Any,
                                                                tmp_path: Path) -> None:
    # given: reference rates of three days, a manual rate of the user's and one of a stranger's
    path = tmp_path / "hist.xml"
    path.write_bytes(NINETY)
    await refresh_exchange_rates({"resources": with_source(resources, str(path))})
    user, stranger = await gql.register(), await gql.register()
    for who, rate in ((user, "1.5"), (stranger, "9.9")):
        body = {"base": "EUR", "quote": "USD", "rate": rate, "day": "2026-11-19"}
        assert (await gql(SET, {"input": body}, token=who["token"])).ok()["exchangeRateSet"]["errors"] == []

    async def listed(**variables: Any) -> list[tuple[str, str, str, str, str]]:
        rows = (await gql(RATES, variables, token=user["token"])).ok()["exchangeRates"]
        return [(r["base"], r["quote"], r["rate"], r["day"], r["source"]) for r in rows]

    # when / then: newest first, the user's rate before the reference rate of its day, never the stranger's
    assert await listed(quote="USD") == [
        ("EUR", "USD", "1.0812", "2026-11-20", "ECB"), ("EUR", "USD", "1.5", "2026-11-19", "MANUAL"),
        ("EUR", "USD", "1.079", "2026-11-19", "ECB"), ("EUR", "USD", "1.0755", "2026-11-18", "ECB")]
    assert await listed(source="MANUAL") == [("EUR", "USD", "1.5", "2026-11-19", "MANUAL")]
    assert await listed(quote="JPY", **{"from": "2026-11-19", "to": "2026-11-19"}) == [
        ("EUR", "JPY", "162.9", "2026-11-19", "ECB")]
    assert await listed(latest=True) == [
        ("EUR", "JPY", "163.45", "2026-11-20", "ECB"), ("EUR", "USD", "1.0812", "2026-11-20", "ECB"),
        ("EUR", "USD", "1.5", "2026-11-19", "MANUAL")]
    assert len(await listed(first=2)) == 2
    # and bad arguments are BAD_USER_INPUT
    for variables in ({"first": 0}, {"first": 1001}, {"base": "EURO"}, {"from": "2026-11-20", "to": "2026-11-19"}):
        assert (await gql(RATES, variables, token=user["token"])).codes == ["BAD_USER_INPUT"], variables


def test_the_worker_schedules_the_refresh_only_with_a_source(resources: Any) -> None:
    from worker.main import FUNCTIONS, cron_jobs

    # given / when: the test settings (no source) and settings with one
    without = {job.name: job for job in cron_jobs(resources.settings)}
    with_one = {job.name: job for job in cron_jobs(with_source(resources, "/srv/rates.xml").settings)}
    # then: balances are extended nightly either way; the rates are fetched daily only from a configured source
    assert (without["cron:fill_balances"].hour, without["cron:fill_balances"].minute) == ({0}, {5})
    assert "cron:refresh_exchange_rates" not in without
    assert (with_one["cron:refresh_exchange_rates"].hour, with_one["cron:refresh_exchange_rates"].minute) == ({16}, {5})
    assert not with_one["cron:refresh_exchange_rates"].run_at_startup
    assert refresh_exchange_rates in FUNCTIONS and fill_balances in FUNCTIONS
