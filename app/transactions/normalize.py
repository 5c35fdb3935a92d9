"""Rule-based clean-up of raw bank descriptions.

`normalize_merchant` turns "SQ *BLUE BOTTLE COFFEE 0042 SAN FRANCISCO CA" into "Blue Bottle Coffee":
it strips card and payment prefixes, processor markers ("SQ *", "PAYPAL *"), dates, store numbers,
reference ids, phone numbers, "thank you" phrases, legal forms and a trailing city/region, then maps
a few well-known brands through an alias table and title-cases the rest. It returns "" when nothing
name-like is left; the caller then shows the description itself.

`normalize_description_key` is a fingerprint for dedupe: letters only, case-folded.

Both are pure, deterministic and use only precompiled patterns. `merchant_of` and `description_key_of`
return the same values, memoized for bulk work (a 100k-row import): bank descriptions differ mostly in
their numbers (a card reference, a store number), so both are cached per description with its digits
masked (see `merchant_of` for why that is exact).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["description_key_of", "merchant_of", "normalize_description_key", "normalize_merchant"]

_MAX_INPUT = 512  # bank descriptions are short; bound the work on hostile input

_WS = re.compile(r"\s+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_HAS_LETTER = re.compile(r"[^\W\d_]")

# Card, bank and transfer prefixes, dates and masked card numbers at the start. Applied repeatedly.
_PREFIX = re.compile(
    r"""^(?:
        (?:debit|credit)\s+card\s+(?:purchase|payment|transaction)s?
      | (?:pos|card|debit|visa|mastercard|mc|maestro|eftpos)\s+(?:purchase|debit|transaction|payment)
      | purchase\s+authori[sz]ed\s+on
      | recurring\s+(?:payment|debit|purchase|charge)
      | check\s?card(?:\s+\d{4})?
      | card(?:\s+(?:ending|no\.?|number|nr\.?))?(?:\s+in)?\s*[x*\#]*\d{4,}
      | [x*]{2,}\d{2,}
      | ach(?:\s+(?:debit|credit|pmt|payment|web|ppd))?
      | (?:apple|google|samsung)\s+pay
      | sepa(?:[\s-]+(?:lastschrift|ueberweisung|überweisung|direct\s+debit))?
      | lastschrift | kartenzahlung | girocard | pos | visa | mastercard | maestro | debit | card
      | eftpos | contactless | purchase | payment\s+to | pmt
      | \d{4}-\d{2}-\d{2} | \d{1,2}/\d{1,2}(?:/\d{2,4})? | \d{1,2}\.\d{1,2}\.(?:\d{2,4})?
    )(?!\w)[\s:/\#.,*-]*""",
    re.IGNORECASE | re.VERBOSE,
)
# Payment processors and marketplaces written "SQ *MERCHANT": the merchant is on the right.
_PROCESSOR = re.compile(
    r"^(?:sq|tst|sp|paypal|pp|iz|izettle|zettle|sumup|smp|google|dd|wpy|cko|fs|paddle(?:\.net)?"
    r"|2co(?:\.com)?)\s*\*[\s*]*",
    re.IGNORECASE,
)
# Indian instant-payment narrations: "UPI-SWIGGY-ORDER 8841", "UPI/DR/412345678901/SWIGGY/YESB/...".
_UPI = re.compile(r"^(?:upi|imps|neft)[\s/:-]+", re.IGNORECASE)
_UPI_SPLIT = re.compile(r"[/|-]")
_UPI_SKIP = frozenset("DR CR UPI IMPS NEFT P2M P2P P2A PAY PAYMENT COLLECT REV NA IN OUT TO FROM SENT RECEIVED".split())
_IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$", re.IGNORECASE)

_DATE_TIME = re.compile(
    r"(?<![\w./-])(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}\.\d{1,2}\.(?:\d{2,4})?"
    r"|\d{1,2}:\d{2}(?::\d{2})?)(?![\w/-])"
)
_PHRASES = re.compile(r"\b(?:sagt\s+danke|vielen\s+dank|danke|thank\s*you|thanks|merci|gracias)\b", re.IGNORECASE)
_DOMAIN = re.compile(
    r"^(?:https?://)?((?:[a-z0-9-]+\.)+)(?:com|net|org|io|co|de|uk|fr|nl|es|it|eu|app|tv|me|ai|in|au|ca"
    r"|ch|at|be|us|se|dk|no|fi|pl|ie|jp|info|biz|shop|store)(?:/\S*)?$",
    re.IGNORECASE,
)
_GENERIC_LABELS = frozenset("www help pay billing secure co com net org ac gov".split())
# "0042", "#1234", "866-579-7172", "No.12", "STORE#0042", "T-1234": a number ends the merchant name.
_NUMBERISH = re.compile(r"^(?:store|str|fil|no|nr|[a-z]-)?[.#:]*[+(]?\d[\d()./#-]*$", re.IGNORECASE)
# Reference ids: 6+ letters and digits with at least two digits and a letter ("2K4LL1AB2").
_REFERENCE = re.compile(r"^(?=(?:[a-z]*\d){2})(?=\d*[a-z])[a-z0-9]{6,}$", re.IGNORECASE)
_MARKERS = frozenset("STORE STR FILIALE FIL BRANCH NO NR NUM LOC REF ORDER ID TXN INV INVOICE TERMINAL TERM #".split())
_LEGAL_FORMS = frozenset(
    "GMBH MBH LLC INC LTD LIMITED PLC BV NV AG SE SA SAS SARL SRL SPA KG KGAA OHG UG CORP "
    "CORPORATION CO LLP PTY PVT EK &".split()
)
_REGIONS3 = frozenset("USA GBR DEU NLD IRL AUT CHE".split())
_CONNECTORS = frozenset("OF AND THE DE DU DES LA LE VON DER DIE DAS AM IM UND EN Y E DA DI DEL VAN &".split())
_CITIES = frozenset(
    (
        "NEW YORK|BROOKLYN|LOS ANGELES|SAN FRANCISCO|SAN JOSE|SAN DIEGO|SEATTLE|PORTLAND|CHICAGO|"
        "BOSTON|AUSTIN|DALLAS|HOUSTON|DENVER|PHOENIX|MIAMI|ATLANTA|PHILADELPHIA|WASHINGTON|LAS VEGAS|"
        "OAKLAND|BERKELEY|PALO ALTO|MOUNTAIN VIEW|SUNNYVALE|CUPERTINO|REDMOND|BELLEVUE|MINNEAPOLIS|"
        "DETROIT|NASHVILLE|ORLANDO|TAMPA|SACRAMENTO|PITTSBURGH|BALTIMORE|CHARLOTTE|SALT LAKE CITY|"
        "ST LOUIS|SAINT LOUIS|KANSAS CITY|NEW ORLEANS|HONOLULU|TORONTO|VANCOUVER|MONTREAL|CALGARY|"
        "OTTAWA|LONDON|MANCHESTER|BIRMINGHAM|EDINBURGH|GLASGOW|LIVERPOOL|LEEDS|BRISTOL|CAMBRIDGE|"
        "OXFORD|DUBLIN|BERLIN|HAMBURG|MUENCHEN|MÜNCHEN|MUNCHEN|MUNICH|KOELN|KÖLN|KOLN|COLOGNE|"
        "FRANKFURT|FRANKFURT AM MAIN|STUTTGART|DUESSELDORF|DÜSSELDORF|DUSSELDORF|LEIPZIG|DRESDEN|"
        "HANNOVER|NUERNBERG|NÜRNBERG|NURNBERG|BREMEN|ESSEN|DORTMUND|BONN|WIEN|VIENNA|ZURICH|ZÜRICH|"
        "ZUERICH|GENEVE|GENEVA|BASEL|BERN|PARIS|LYON|MARSEILLE|AMSTERDAM|ROTTERDAM|BRUSSELS|BRUXELLES|"
        "MADRID|BARCELONA|LISBOA|LISBON|ROMA|ROME|MILANO|MILAN|COPENHAGEN|KOBENHAVN|STOCKHOLM|OSLO|"
        "HELSINKI|WARSZAWA|WARSAW|PRAHA|PRAGUE|MUMBAI|BANGALORE|BENGALURU|DELHI|NEW DELHI|SINGAPORE|"
        "TOKYO|SYDNEY|MELBOURNE|DUBAI|HONG KONG"
    ).split("|")
)

# Brands whose descriptor is cryptic or whose usual spelling title-casing would get wrong. Keys are
# matched as the leading words of the cleaned name (upper case, "'" and "." dropped, "-" a space).
# fmt: off
_ALIASES: dict[str, str] = {
    "AMZN": "Amazon", "AMZN MKTP": "Amazon", "AMAZON": "Amazon", "AMAZON MKTPLACE": "Amazon",
    "AMAZON MARKETPLACE": "Amazon", "AMZN PRIME": "Amazon Prime", "AMAZON PRIME": "Amazon Prime",
    "PRIME VIDEO": "Prime Video", "AMAZON WEB SERVICES": "AWS", "AWS": "AWS",
    "UBER": "Uber", "UBER EATS": "Uber Eats", "UBEREATS": "Uber Eats", "LYFT": "Lyft",
    "NETFLIX": "Netflix", "SPOTIFY": "Spotify", "HULU": "Hulu", "DISNEY PLUS": "Disney+",
    "DISNEYPLUS": "Disney+", "PAYPAL": "PayPal", "EBAY": "eBay", "ETSY": "Etsy", "IKEA": "IKEA",
    "LIDL": "Lidl", "ALDI": "ALDI", "ALDI SUED": "ALDI Süd", "ALDI SÜD": "ALDI Süd",
    "ALDI NORD": "ALDI Nord", "REWE": "REWE", "EDEKA": "EDEKA", "DM DROGERIE": "dm",
    "DM DROGERIEMARKT": "dm", "MCDONALDS": "McDonald's", "MC DONALDS": "McDonald's",
    "WALMART": "Walmart", "WAL MART": "Walmart", "WM SUPERCENTER": "Walmart", "COSTCO": "Costco",
    "WHOLEFDS": "Whole Foods", "WHOLE FOODS": "Whole Foods", "TJ MAXX": "TJ Maxx", "TJMAXX": "TJ Maxx",
    "TK MAXX": "TK Maxx", "7 ELEVEN": "7-Eleven", "7ELEVEN": "7-Eleven", "TOYS R US": "Toys R Us",
    "APPLE": "Apple", "ITUNES": "Apple", "GOOGLE": "Google", "YOUTUBE": "YouTube",
    "AIRBNB": "Airbnb", "BOOKING": "Booking.com", "DOORDASH": "DoorDash", "GRUBHUB": "Grubhub",
    "LINKEDIN": "LinkedIn", "GITHUB": "GitHub", "OPENAI": "OpenAI", "MICROSOFT": "Microsoft",
    "MSFT": "Microsoft", "XBOX": "Xbox", "STEAMGAMES": "Steam", "STEAM GAMES": "Steam",
    "SBUX": "Starbucks", "STARBUCKS": "Starbucks", "DB VERTRIEB": "Deutsche Bahn",
    "DB FERNVERKEHR": "Deutsche Bahn", "DEUTSCHE BAHN": "Deutsche Bahn", "SAINSBURYS": "Sainsbury's",
    "J SAINSBURY": "Sainsbury's", "H&M": "H&M", "H & M": "H&M", "AT&T": "AT&T",
}
# fmt: on
_ALIAS_MAX_WORDS = max(len(key.split()) for key in _ALIASES)
_VOWELS = frozenset("AEIOUYÄÖÜÉÈÀ")


def normalize_merchant(description: str) -> str:
    """A clean merchant name for a raw bank description, or "" when none can be found.

    >>> normalize_merchant("SQ *BLUE BOTTLE COFFEE 0042 SAN FRANCISCO CA")
    'Blue Bottle Coffee'
    """
    if not isinstance(description, str):
        return ""
    text = _WS.sub(" ", unicodedata.normalize("NFKC", description[:_MAX_INPUT])).strip()
    upi = _UPI.match(text)
    if upi:
        text = _upi_payee(text[upi.end() :])
    text = _strip_prefixes(text)
    text = _PHRASES.sub(" ", _DATE_TIME.sub(" ", text))
    while "*" in text:  # "UBER *TRIP", "AMZN Mktp US*2K4LL1AB2": the name is left of the star
        left, _, right = text.partition("*")
        text = left if _HAS_LETTER.search(left) else _strip_prefixes(right)
    tokens = _clean_tokens(text.split())
    if not tokens:
        return ""
    alias = _alias(tokens)
    if alias:
        return alias
    tokens = _strip_suffixes(tokens)
    return _alias(tokens) or _title(tokens)


def normalize_description_key(description: str) -> str:
    """A dedupe fingerprint: case-folded letter runs joined by one space.

    Digits, punctuation and spacing are ignored, so "CARD 1234 REWE, Berlin" and
    "card 9876 rewe berlin" share the key "card rewe berlin".
    """
    if not isinstance(description, str):
        return ""
    text = unicodedata.normalize("NFKC", description).casefold()
    return " ".join(_LETTER_RUN.findall(text))


_MASK = "".join("1" if "0" <= chr(code) <= "9" else chr(code) for code in range(256))
"""A `str.translate` table: every ASCII digit -> "1", the one digit no pattern, alias or word list above
names literally; other characters stay (a table string is faster than a dict)."""
_CACHE_SIZE = 65536


def merchant_of(description: str) -> str:
    """`normalize_merchant(description)`, cached per description with its ASCII digits written as "1".

    Exact: the normalizer treats digits alike (`\\d`, `isdigit`, `[a-z0-9]`, digit counts) except in the
    few places that name one literally ("0" in an IFSC code, "2CO", "P2M"/"P2P"/"P2A", the "7-Eleven"
    aliases; never "1"). So for the masked text it takes the same steps as for the original, and its result
    is the original's with the digits masked, unless one of those literals mattered, and then a masked
    digit survives into the result (the text that was kept has it). A result without "1" is therefore the
    original's result; one with "1" is computed again from the original. Keep "1" out of the patterns.
    """
    if not isinstance(description, str):
        return ""
    masked = description.translate(_MASK)
    found = _merchant_masked(masked)
    if "1" not in found or masked == description:
        return found
    return _merchant_exact(description)


@lru_cache(maxsize=_CACHE_SIZE)
def _merchant_masked(masked: str) -> str:
    return normalize_merchant(masked)


@lru_cache(maxsize=_CACHE_SIZE)
def _merchant_exact(description: str) -> str:
    return normalize_merchant(description)


def description_key_of(description: str) -> str:
    """`normalize_description_key(description)`, cached per description with its digits masked (exact:
    the key keeps letters only and digits split letter runs whichever digit they are)."""
    if not isinstance(description, str):
        return ""
    return _description_key_masked(description.translate(_MASK))


@lru_cache(maxsize=_CACHE_SIZE)
def _description_key_masked(masked: str) -> str:
    return normalize_description_key(masked)


def _strip_prefixes(text: str) -> str:
    text = text.lstrip(" -:/*#.,").rstrip()
    while True:
        match = _PREFIX.match(text) or _PROCESSOR.match(text)
        if not match or not match.end():
            return text
        text = text[match.end() :].lstrip(" -:/*#.,").rstrip()


def _upi_payee(rest: str) -> str:
    for segment in _UPI_SPLIT.split(rest):
        segment = segment.strip()
        if (
            not segment
            or "@" in segment
            or segment.upper() in _UPI_SKIP
            or not _HAS_LETTER.search(segment)
            or _IFSC.match(segment)
            or _REFERENCE.match(segment)
        ):
            continue
        return segment
    return ""


def _domain_name(token: str) -> str | None:
    """ "NETFLIX.COM" -> "NETFLIX", "HELP.UBER.COM" -> "UBER"; None when not a domain."""
    match = _DOMAIN.match(token)
    if not match:
        return None
    labels = [label for label in match.group(1).split(".") if label]
    names = [label for label in labels if label.lower() not in _GENERIC_LABELS]
    return names[-1] if names else None


def _clean_tokens(raw: list[str]) -> list[str]:
    """Drop punctuation, domains after the first word, and everything from a number or id on."""
    tokens: list[str] = []
    for token in raw:
        token = token.strip(",;:()[]{}\"'*")
        if not token or (token != "&" and not any(ch.isalnum() for ch in token)):
            continue
        domain = _domain_name(token)
        if domain is not None:
            if not tokens:
                tokens.append(domain)
            continue
        if tokens and (_NUMBERISH.match(token) or _REFERENCE.match(token)):
            while len(tokens) > 1 and tokens[-1].upper().strip(".:#") in _MARKERS:
                tokens.pop()
            break
        if not tokens and _NUMBERISH.match(token) and sum(ch.isdigit() for ch in token) >= 4:
            continue  # a leading store or reference number; a short one may be a name ("76")
        tokens.append(token)
    while tokens and tokens[-1] == "&":
        tokens.pop()
    return tokens if any(_HAS_LETTER.search(token) for token in tokens) else []


def _key(token: str) -> str:
    return token.upper().replace("'", "").replace("’", "").replace(".", "").replace("-", " ")


def _alias(tokens: list[str]) -> str | None:
    words = " ".join(_key(token) for token in tokens).split()
    for size in range(min(len(words), _ALIAS_MAX_WORDS), 0, -1):
        found = _ALIASES.get(" ".join(words[:size]))
        if found:
            return found
    return None


def _strip_suffixes(tokens: list[str]) -> list[str]:
    """Drop trailing legal forms and a region code ("WA", "DE", "USA") with a known city before it.

    A city alone is kept: "PIZZA ROMA" and "HOTEL BERLIN" are names, "BERLIN DE" is a location.
    """
    tokens = _strip_legal(tokens)
    last = tokens[-1] if tokens else ""
    is_code = (len(last) == 2 and last.isascii() and last.isalpha()) or last in _REGIONS3
    if len(tokens) < 2 or not last.isupper() or not is_code:
        return tokens
    tokens = tokens[:-1]
    for size in (3, 2, 1):
        if len(tokens) > size and " ".join(tokens[-size:]).upper() in _CITIES:
            if _key(tokens[-size - 1]) not in _CONNECTORS:
                tokens = tokens[:-size]
            break
    return _strip_legal(tokens)


def _strip_legal(tokens: list[str]) -> list[str]:
    while len(tokens) > 1 and _key(tokens[-1]).replace(" ", "") in _LEGAL_FORMS:
        tokens = tokens[:-1]
    return tokens


def _title(tokens: list[str]) -> str:
    """Title-case all-caps or all-lower words; keep mixed case, short acronyms and 'of', 'de'…"""
    single = len(tokens) == 1
    out: list[str] = []
    for index, word in enumerate(tokens):
        letters = [ch for ch in word if ch.isalpha()]
        upper = any(ch.isupper() for ch in letters)
        lower = any(ch.islower() for ch in letters)
        if not letters or (upper and lower):
            out.append(word)
        elif index and word.upper() in _CONNECTORS:
            out.append(word.lower())
        elif upper and len(letters) <= 4 and (single or "&" in word or not _VOWELS & set(letters)):
            out.append(word)  # "REWE", "KFC", "BP", "H&M": likely an acronym or a short brand
        else:
            out.append(_capitalize(word))
    return " ".join(out)


def _capitalize(word: str) -> str:
    """'7-ELEVEN' -> '7-Eleven', "JOE'S" -> "Joe's", "O'REILLY" -> "O'Reilly", '5TH' -> '5th'."""
    lower = word.lower()

    def upper_first(match: re.Match[str]) -> str:
        start, run = match.start(), match.group()
        before = lower[start - 1] if start else ""
        if start and (before.isdigit() or (before in "'’" and not (start == 2 and len(run) > 1))):
            return run
        return run[:1].upper() + run[1:]

    return _LETTER_RUN.sub(upper_first, lower)
