"""Recognizing the user's own names (categories, merchants, accounts, goals, budgets) in a question.

The names come from the enums of the tool declarations. A name matches when its words appear in the question
(case- and accent-insensitively, "&" read as "and", a final plural "s" optional), or a distinctive part of it
does ("credit card" for "Visa Credit Card", "emergency" for "Emergency fund"), or, for a typo, when a run of
the question's words is very close to it. The longest match wins; a merchant whose name is an everyday word
("Total", "Shell") only counts when written capitalized or after "at", "from", "with", "to" or "by".
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KINDS = ("category", "merchant", "account", "goal", "budget")
GENERIC = {"account", "accounts", "card", "fund", "budget", "goal", "the", "my", "and", "of", "in", "on", "for",
           "a", "an", "to", "other", "new", "main", "own", "spring", "summer", "winter", "autumn", "fall",
           "monthly", "weekly", "yearly", "&", "/", "-", "gmbh", "ag", "co", "inc", "ltd", "dr", "dr.", "home",
           "total", "money", "payment", "payments", "charges", "shopping",
           # number words ("my five biggest purchases" is not about "Five Elephant")
           "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "first", "second", "third", "hundred", "thousand"}
FUNCTION_WORDS = {"the", "my", "and", "of", "in", "on", "for", "a", "an", "to", "&", "/", "-"}
COMMON_WORDS = {"total", "shell", "jet", "bolt", "target", "ing", "dm", "apple", "next", "gap", "best", "now",
                "top", "one", "more", "all", "every", "today", "last", "cash", "uber", "wise", "plus", "express"}
CUES = ("at", "from", "with", "to", "by", "via")


TOKEN = re.compile(r"[\w']+(?:[.\-,][\w']+)*|&")


def fold(text: str) -> str:
    """Lower case without accents; "&" reads "and"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return plain.replace("&", "and").replace("\u2019", "'")


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and not word[-2].isdigit():
        return word[:-1]
    return word


class Question:
    """A question as words: `original` as written, `folded` lower case, and `text` (the folded words joined by
    single spaces) whose character spans map back to word positions."""

    def __init__(self, question: str):
        self.raw = question
        self.original = TOKEN.findall(unicodedata.normalize("NFKC", question).replace("\u2019", "'"))
        self.folded = [fold(w) for w in self.original]
        self.text = " ".join(self.folded)
        self._starts: list[int] = []
        position = 0
        for word in self.folded:
            self._starts.append(position)
            position += len(word) + 1

    def words_in(self, span: tuple[int, int]) -> tuple[int, int]:
        """The word positions [first, last) covering a character span of `text`."""
        first = next((i for i, s in enumerate(self._starts) if s + len(self.folded[i]) > span[0]), len(self.folded))
        last = next((i for i, s in enumerate(self._starts) if s >= span[1]), len(self.folded))
        return first, last


def words(text: str) -> list[str]:
    return [fold(w) for w in TOKEN.findall(unicodedata.normalize("NFKC", text))]


@dataclass(frozen=True)
class Match:
    kind: str
    name: str
    """The enum value as declared."""
    start: int
    end: int
    """Word positions in the question: [start, end)."""
    score: float


@dataclass(frozen=True)
class _Alias:
    kind: str
    name: str
    tokens: tuple[str, ...]
    full: bool


def _aliases(kind: str, name: str) -> list[_Alias]:
    shown = name.split(" / ")[-1]
    tokens = tuple(_singular(w) for w in words(shown))
    if not tokens:
        return []
    out = [_Alias(kind, name, tokens, True)]
    if len(tokens) > 1:
        for size in range(len(tokens) - 1, 0, -1):
            for i in range(len(tokens) - size + 1):
                part = tokens[i:i + size]
                if all(t in GENERIC or len(t) < 3 for t in part) or part[0] in FUNCTION_WORDS \
                        or part[-1] in FUNCTION_WORDS:
                    continue
                out.append(_Alias(kind, name, part, False))
    return out


class Names:
    """The declared names, ready to be found in questions."""

    def __init__(self, names: dict[str, Sequence[str]]):
        self.names = {kind: list(values) for kind, values in names.items()}
        self._aliases = [a for kind, values in self.names.items() for v in values for a in _aliases(kind, v)]
        # a partial alias shared by several names of one kind is ambiguous: keep only full names for it
        seen: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        for a in self._aliases:
            seen.setdefault((a.kind, a.tokens), set()).add(a.name)
        self._aliases = [a for a in self._aliases if a.full or len(seen[(a.kind, a.tokens)]) == 1]

    def find(self, question: Question, skip: Iterable[tuple[int, int]] = ()) -> list[Match]:
        """The names in the question, best first (a span of words may match several)."""
        original = question.original
        tokens = [_singular(w) for w in question.folded]
        blocked = {i for a, b in skip for i in range(a, b)}
        found: list[Match] = []
        for alias in self._aliases:
            n = len(alias.tokens)
            for i in range(len(tokens) - n + 1):
                if any(j in blocked for j in range(i, i + n)):
                    continue
                window = tuple(tokens[i:i + n])
                exact = window == alias.tokens
                close = (not exact and alias.full and sum(len(t) for t in alias.tokens) >= 5
                         and difflib.SequenceMatcher(None, " ".join(window), " ".join(alias.tokens)).ratio() >= 0.86)
                if not exact and not close:
                    continue
                if alias.kind == "merchant" and not self._merchant_ok(alias, original, tokens, i):
                    continue
                score = sum(len(t) for t in alias.tokens) + (3 if alias.full else 0) - (2 if close else 0)
                before = tokens[i - 1] if i else ""
                if alias.kind == "merchant" and before in CUES:
                    score += 2
                elif alias.kind == "category" and before in ("on", "for"):
                    score += 1
                found.append(Match(alias.kind, alias.name, i, i + n, score))
        found.sort(key=lambda m: (-m.score, m.start))
        return found

    @staticmethod
    def _merchant_ok(alias: _Alias, original: list[str], tokens: list[str], i: int) -> bool:
        everyday = len(alias.tokens) == 1 and (alias.tokens[0] in COMMON_WORDS or len(alias.tokens[0]) <= 2)
        if not everyday:
            return True
        cue = i > 0 and tokens[i - 1] in CUES
        written = original[i] if i < len(original) else ""
        capitalized = i > 0 and written[:1].isupper()
        return cue or capitalized

    def best(self, matches: Sequence[Match], kind: str) -> Match | None:
        return next((m for m in matches if m.kind == kind), None)


def resolve(matches: Sequence[Match]) -> dict[str, Match]:
    """One match per kind, no two overlapping (the better one keeps the words)."""
    taken: set[int] = set()
    chosen: dict[str, Match] = {}
    for m in matches:
        span = set(range(m.start, m.end))
        if m.kind in chosen or span & taken:
            continue
        chosen[m.kind] = m
        taken |= span
    return chosen
