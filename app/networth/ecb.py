"""The ECB euro foreign exchange reference rates: fetch the XML and parse it.

The format (daily, 90-day and full-history files alike)::

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <gesmes:subject>Reference rates</gesmes:subject>
      <Cube>
        <Cube time="2026-11-20">
          <Cube currency="USD" rate="1.0812"/> ...
        </Cube> ...
      </Cube>
    </gesmes:Envelope>

Every rate is "1 EUR = rate units of currency". A document that does not follow this shape, has a currency
that is not a three-letter code, a rate that is not a positive decimal or repeats a (day, currency) is
refused as a whole (`MalformedRates`): nothing of it is stored. Well-formed codes Florin does not know (the
full history still lists CYP, SIT or MTL, replaced by the euro long ago) are skipped and reported. DTDs and
entities are refused before parsing, so the parser never expands or fetches anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import re
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from app.money import is_currency

BASE = "EUR"
MAX_BYTES = 64 * 1024 * 1024
"""The full history since 1999 is about 10 MB; anything far larger is not a rates file."""
MAX_INTEGER_DIGITS = 10
"""Rates are NUMERIC(20,10): at most 10 digits before the point and 10 after."""
MAX_DECIMALS = 10

_RATE = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+", re.ASCII)
_CODE = re.compile(r"[A-Z]{3}", re.ASCII)
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")


class MalformedRates(ValueError):
    """The source is not a usable ECB reference-rates document."""


class SourceUnavailable(OSError):
    """The source could not be read (network or file error); worth retrying later."""


@dataclass(frozen=True)
class Parsed:
    rates: list[ReferenceRate]
    skipped: frozenset[str]
    """Well-formed currency codes that Florin does not know, left out."""


@dataclass(frozen=True)
class ReferenceRate:
    """1 EUR = `rate` `quote` on `day`."""

    day: dt.date
    quote: str
    rate: Decimal

    @property
    def base(self) -> str:
        return BASE


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _rate(text: str | None, where: str) -> Decimal:
    value = (text or "").strip()
    if not _RATE.fullmatch(value):
        raise MalformedRates(f"{where}: rate {value[:32]!r} is not a positive decimal")
    try:
        rate = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already ruled this out
        raise MalformedRates(f"{where}: rate {value[:32]!r} is not a number") from exc
    exponent = rate.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if rate <= 0:
        raise MalformedRates(f"{where}: rate must be positive")
    if rate.adjusted() >= MAX_INTEGER_DIGITS or max(0, -exponent) > MAX_DECIMALS:
        raise MalformedRates(f"{where}: rate {value[:32]!r} does not fit 10 digits before and after the point")
    return rate


def parse(data: bytes) -> Parsed:
    """Every (day, currency, rate) of an ECB reference-rates document, in document order."""
    upper = data.upper()
    if any(marker in upper for marker in _FORBIDDEN):
        raise MalformedRates("document type declarations and entities are not allowed")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise MalformedRates(f"not well-formed XML ({exc})") from exc
    if _local(root.tag) != "Envelope":
        raise MalformedRates(f"expected a gesmes:Envelope, found <{_local(root.tag)}>")
    outer = [child for child in root if _local(child.tag) == "Cube"]
    if len(outer) != 1:
        raise MalformedRates("expected exactly one <Cube> inside the envelope")
    rates: list[ReferenceRate] = []
    skipped: set[str] = set()
    seen: set[tuple[dt.date, str]] = set()
    for day_cube in outer[0]:
        if _local(day_cube.tag) != "Cube" or "time" not in day_cube.attrib:
            raise MalformedRates("expected <Cube time=\"YYYY-MM-DD\"> elements inside the outer <Cube>")
        try:
            day = dt.date.fromisoformat(day_cube.attrib["time"].strip())
        except ValueError as exc:
            raise MalformedRates(f"bad day {day_cube.attrib['time'][:32]!r}") from exc
        for cube in day_cube:
            currency = cube.attrib.get("currency", "").strip()
            where = f"{day.isoformat()} {currency[:8] or '?'}"
            if _local(cube.tag) != "Cube" or not currency:
                raise MalformedRates(f"{day.isoformat()}: expected <Cube currency=\"...\" rate=\"...\"/>")
            if not _CODE.fullmatch(currency) or currency == BASE:
                raise MalformedRates(f"{where}: not a three-letter currency code other than EUR")
            if (day, currency) in seen:
                raise MalformedRates(f"{where}: the same currency appears twice on one day")
            seen.add((day, currency))
            rate = _rate(cube.attrib.get("rate"), where)
            if is_currency(currency):
                rates.append(ReferenceRate(day, currency, rate))
            else:
                skipped.add(currency)
    if not rates:
        raise MalformedRates("the document holds no rates")
    return Parsed(rates, frozenset(skipped))


def _is_local(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(source: str, timeout: float) -> bytes:
    parsed = urllib.parse.urlsplit(source)
    if parsed.scheme in ("http", "https"):
        # a server on this machine is never reached through a proxy; others follow the environment
        handlers = [urllib.request.ProxyHandler({})] if _is_local(parsed.hostname) else []
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(source, timeout=timeout) as response:
                data: bytes = response.read(MAX_BYTES + 1)
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise SourceUnavailable(f"cannot read {source}: {exc}") from exc
    else:
        path = Path(urllib.request.url2pathname(parsed.path)) if parsed.scheme == "file" else Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {path}: {exc}") from exc
    if len(data) > MAX_BYTES:
        raise MalformedRates(f"the source is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return data


async def fetch(source: str, *, timeout_seconds: float = 30.0) -> bytes:
    """The bytes of `source`: an http(s) URL, a file:// URL or a path (read in a thread; the network read gives
    up after `timeout_seconds` without data)."""
    return await asyncio.to_thread(_read, source, timeout_seconds)
