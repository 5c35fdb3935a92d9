"""The local categorizer: a per-user text classifier (scikit-learn), pure machine learning, no database.

Features are built from a transaction's merchant and description, folded to plain lower-case ASCII (accents
removed, digits and punctuation dropped, a few words every bank line carries removed): word unigrams and
bigrams plus character 3-5-grams within words (so "REWE SAGT DANKE" and "REWE MARKT" share "rewe", and
a truncated "SEGU" still looks like "seguro"), TF-IDF weighted; and two tokens of the amount: its sign and
its order of magnitude. A multinomial logistic regression gives a probability per class; the confidence of
a prediction is the probability of the best class (among those still allowed).

`train(examples)` fits a model on labelled examples (labels are opaque strings: Florin uses category ids)
and, optionally, on the built-in seed (`seed_examples`, keywords of `app.ai.categorizer_seed` mapped by the
caller to its own labels) with a lower weight. With fewer than two classes there is nothing to learn: such
a model predicts no label. `dumps` / `loads` turn a model into signed bytes and back; `loads` refuses bytes
whose HMAC does not match the key (it never unpickles them) or that were written by another format or
scikit-learn version.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import pickle
import re
import unicodedata
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

import numpy as np
import sklearn
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from app.ai.categorizer_seed import SEED

FORMAT = f"florin-categorizer/1 sklearn/{sklearn.__version__}".encode()
SEED_WEIGHT = 0.3
"""The weight of one seed keyword next to one of the user's own labels (1.0)."""
C = 20.0
"""Inverse regularization: high, because a user's labels are few and mostly consistent."""
MAX_TEXT = 300
NOISE = frozenset({
    "card", "karte", "kartenzahlung", "visa", "mastercard", "maestro", "pos", "sepa", "ec",
    "lastschrift", "purchase", "payment", "paiement", "pago", "compra", "achat", "zahlung", "ref", "nr", "no",
    "txn", "trx", "www", "http", "https", "com", "the", "and", "der", "die", "das", "und", "de", "del", "la",
    "le", "les", "el", "en", "a", "y", "et", "du", "des", "to", "from", "by", "at", "per", "via",
})
_NOT_WORD = re.compile(r"[^a-z0-9&+]+")
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[a-z]")
_SPACES = re.compile(r"\s+")
_CONFIDENCE = Decimal("0.0001")


class ModelRefused(Exception):
    """Stored model bytes that must not be loaded: a bad signature, or another format or library version."""


@dataclass(frozen=True)
class Example:
    """One labelled transaction."""

    label: str
    description: str
    merchant: str
    amount: Decimal
    weight: float = 1.0


@dataclass(frozen=True)
class Item:
    """One transaction to categorize."""

    description: str
    merchant: str
    amount: Decimal


def fold(text: str) -> str:
    """Plain lower-case ASCII words: accents removed, punctuation dropped, numbers dropped (a word keeps at
    most two digits with its letters: "o2", "n26"), bank noise removed."""
    text = unicodedata.normalize("NFKD", text[:MAX_TEXT].replace("ß", "ss").replace("ẞ", "SS"))
    text = text.encode("ascii", "ignore").decode().casefold()
    return _SPACES.sub(" ", " ".join(w for w in _NOT_WORD.sub(" ", text).split() if _word(w))).strip()


def _word(word: str) -> bool:
    if word in NOISE:
        return False
    if word in {"&", "+"}:
        return True
    digits = len(_DIGIT.findall(word))
    return len(word) > 1 and (digits == 0 or (digits <= 2 and _LETTER.search(word) is not None))


def text_of(description: str, merchant: str) -> str:
    """The merchant, then the description when it says more than the merchant."""
    merchant_text, description_text = fold(merchant or ""), fold(description or "")
    if merchant_text and merchant_text in description_text:
        return description_text
    return f"{merchant_text} {description_text}".strip()


def amount_tokens(amount: Decimal) -> str:
    """'zzout zzmag2' for -12.50: the sign, and the order of magnitude (0 under 10, 1 under 100, ... 4+)."""
    sign = "zzin" if amount > 0 else "zzout" if amount < 0 else "zzzero"
    size = abs(float(amount))
    magnitude = min(4, int(math.log10(size))) if size >= 1 else 0
    return f"{sign} zzmag{magnitude}"


def seed_examples(labels: Mapping[str, str], *, weight: float = SEED_WEIGHT) -> list[Example]:
    """The seed as examples: `labels` maps a built-in category name (case-insensitive) to the label to
    learn; keywords of categories the mapping lacks are left out. A keyword of either sign is learned twice."""
    by_name = {name.casefold(): label for name, label in labels.items()}
    out: list[Example] = []
    for name, sign, keywords in SEED:
        label = by_name.get(name.casefold())
        if label is None:
            continue
        amounts = [Decimal(-20), Decimal(20)] if sign == 0 else [Decimal(20 * sign)]
        out += [Example(label, keyword, "", amount, weight) for keyword in keywords for amount in amounts]
    return out


class CategorizerModel:
    """A fitted classifier (or, with fewer than two classes, one that predicts nothing)."""

    def __init__(self, words: TfidfVectorizer | None, chars: TfidfVectorizer | None,
                 classifier: LogisticRegression | None, labels: Sequence[str], label_count: int):
        self.words = words
        self.chars = chars
        self.classifier = classifier
        self.labels = list(labels)
        """Every class the model knows (its own labels and the seed's)."""
        self.label_count = label_count
        """How many examples of the user (not the seed) it was trained on."""

    def _matrix(self, texts: Sequence[str], amounts: Sequence[Decimal]) -> Any:
        assert self.words is not None and self.chars is not None
        meta = [f"{text} {amount_tokens(amount)}" for text, amount in zip(texts, amounts, strict=True)]
        return sparse.hstack([self.words.transform(meta), self.chars.transform(texts)]).tocsr()

    def predict(self, items: Sequence[Item], *, allowed: Iterable[str] | None = None
                ) -> list[tuple[str | None, Decimal]]:
        """(label, confidence 0..1 at 4 places) per item; the label is None when the model knows no class (or
        none of `allowed`). With `allowed`, the best class among those (its probability is not renormalized)."""
        if self.classifier is None or not items:
            return [(None, Decimal(0)) for _ in items]
        texts = [text_of(item.description, item.merchant) for item in items]
        probabilities = self.classifier.predict_proba(self._matrix(texts, [item.amount for item in items]))
        classes = [str(c) for c in self.classifier.classes_]
        if allowed is not None:
            keep = set(allowed)
            mask = np.array([c in keep for c in classes])
            if not mask.any():
                return [(None, Decimal(0)) for _ in items]
            probabilities = np.where(mask, probabilities, -1.0)
        best = probabilities.argmax(axis=1)
        out: list[tuple[str | None, Decimal]] = []
        for row, index in enumerate(best):
            value = min(1.0, max(0.0, float(probabilities[row, index])))
            out.append((classes[index], Decimal(repr(value)).quantize(_CONFIDENCE, rounding=ROUND_DOWN)))
        return out


def train(examples: Sequence[Example]) -> CategorizerModel:
    """Fit a model on `examples` (the user's and any seed ones); deterministic for the same input."""
    own = sum(1 for e in examples if e.weight >= 1.0)
    labels = sorted({e.label for e in examples})
    if len(labels) < 2:
        return CategorizerModel(None, None, None, labels, own)
    texts = [text_of(e.description, e.merchant) for e in examples]
    meta = [f"{text} {amount_tokens(e.amount)}" for text, e in zip(texts, examples, strict=True)]
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z0-9&+]{2,}",
                            sublinear_tf=True, dtype=np.float32)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1,
                            max_features=60000, dtype=np.float32)
    matrix = sparse.hstack([words.fit_transform(meta), chars.fit_transform(texts)]).tocsr()
    classifier = LogisticRegression(C=C, max_iter=500, tol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a convergence warning on a tiny set is not an error
        classifier.fit(matrix, [e.label for e in examples], sample_weight=[e.weight for e in examples])
    classifier.coef_ = classifier.coef_.astype(np.float32)
    return CategorizerModel(words, chars, classifier, labels, own)


def signing_key(secret: str) -> bytes:
    """The HMAC key of stored models, derived from the application's secret key."""
    return hashlib.sha256(b"florin categorizer model\x00" + secret.encode()).digest()


def dumps(model: CategorizerModel) -> bytes:
    """The model as compressed bytes, prefixed with the format and scikit-learn version."""
    return FORMAT + b"\n" + zlib.compress(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), 6)


def sign(blob: bytes, key: bytes) -> bytes:
    return hmac.new(key, blob, hashlib.sha256).digest()


def loads(blob: bytes, signature: bytes, key: bytes) -> CategorizerModel:
    """The model stored as `blob`; `ModelRefused` unless `signature` is its HMAC under `key` (checked before
    anything is unpickled) and it was written by this format and scikit-learn version."""
    if not hmac.compare_digest(sign(blob, key), bytes(signature)):
        raise ModelRefused("the stored model's signature does not match")
    header, _, body = blob.partition(b"\n")
    if header != FORMAT:
        raise ModelRefused(f"the stored model was written by {header[:80]!r}, not {FORMAT!r}")
    model = pickle.loads(zlib.decompress(body))  # noqa: S301 - signed by this application, verified above
    if not isinstance(model, CategorizerModel):
        raise ModelRefused("the stored bytes are not a categorizer model")
    return model
