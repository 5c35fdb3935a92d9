"""The local categorizer on its own (no database): text folding, learning from labels, the seed, fewer than
two classes, signed storage that refuses tampered bytes without unpickling them, and the accuracy script's
core on one real fixture file."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import pytest

from app.ai import categorizer
from app.ai.categorizer import Example, Item, ModelRefused
from app.ai.categorizer_seed import SEED
from app.categories.builtin import BUILTIN_CATEGORIES
from bench import categorize_accuracy

KEY = categorizer.signing_key("a-test-secret-key-that-is-long-enough")
BUILTIN_NAMES = {name for root in BUILTIN_CATEGORIES for name in (root.name, *(c for c, _icon in root.children))}


def seed_only() -> categorizer.CategorizerModel:
    return categorizer.train(categorizer.seed_examples({name: name for name, _s, _w in SEED}))


def test_text_is_folded_to_plain_words_without_numbers_or_noise() -> None:
    assert categorizer.fold("Pago en CAFETERÍA Müller-Straße 12345 VISA") == "cafeteria muller strasse"
    assert categorizer.fold("CARD 4711 O2 Germany N26 DE1234567 REWE-Markt") == "o2 germany n26 rewe markt"
    assert categorizer.text_of("REWE SAGT DANKE 123", "Rewe") == "rewe sagt danke"
    assert categorizer.amount_tokens(Decimal("-12.50")) == "zzout zzmag1"
    assert categorizer.amount_tokens(Decimal("2500")) == "zzin zzmag3"


def test_every_seed_category_is_a_builtin_name_and_every_keyword_keeps_a_word() -> None:
    assert {name for name, _sign, _words in SEED} <= BUILTIN_NAMES
    assert all(categorizer.fold(word) for _name, _sign, words in SEED for word in words)


def test_fewer_than_two_classes_predict_nothing() -> None:
    # given: no examples, and examples of one class only
    for examples in ([], [Example("groceries", "REWE", "", Decimal("-5"))] * 3):
        model = categorizer.train(examples)
        # then: no label, confidence 0
        assert model.predict([Item("REWE 42", "", Decimal("-9"))]) == [(None, Decimal(0))]


def test_the_model_learns_labels_and_the_users_outweigh_the_seed() -> None:
    # given: the seed says LIDL is groceries; this user files it (and an unknown merchant) elsewhere
    seed = categorizer.seed_examples({name: name for name, _s, _w in SEED})
    own = [Example("Household", f"LIDL FILIALE {n}", "Lidl", Decimal(f"-{10 + n}")) for n in range(12)]
    own += [Example("Groceries", f"ZORBLAX KRUNT {n}", "Zorblax Krunt", Decimal(f"-{5 + n}")) for n in range(12)]
    model = categorizer.train(seed + own)
    # when
    (lidl, lidl_confidence), (zorblax, zorblax_confidence), (rewe, _c) = model.predict([
        Item("LIDL FILIALE 999 BERLIN", "Lidl", Decimal("-33.10")), Item("ZORBLAX KRUNT 77", "", Decimal("-8")),
        Item("REWE SAGT DANKE", "Rewe", Decimal("-20"))])
    # then: the user's labels win, confidently; the seed still knows what the user never labelled
    assert (lidl, zorblax, rewe) == ("Household", "Groceries", "Groceries")
    assert lidl_confidence >= Decimal("0.6") and zorblax_confidence >= Decimal("0.6")
    assert model.label_count == 24
    # and: `allowed` restricts the answer to known categories (a deleted one is never predicted)
    assert model.predict([Item("LIDL FILIALE 1", "Lidl", Decimal("-3"))], allowed=["Groceries"])[0][0] == "Groceries"
    assert model.predict([Item("LIDL", "", Decimal("-3"))], allowed=["Gone"]) == [(None, Decimal(0))]


def test_the_seed_alone_knows_common_merchants_and_is_unsure_of_unknown_text() -> None:
    model = seed_only()
    guesses = model.predict([Item("CARD 1234 TESCO STORES LONDON", "", Decimal("-23.10")),
                             Item("NETFLIX.COM 866-579-7172", "", Decimal("-13.99")),
                             Item("QWERTY PLOK 5", "", Decimal("-3"))])
    assert [g[0] for g in guesses[:2]] == ["Groceries", "Streaming"]
    assert guesses[2][1] < Decimal("0.6")


def test_stored_bytes_round_trip_and_tampered_or_foreign_bytes_are_refused(tmp_path: Path) -> None:
    # given: a model and its signed bytes
    model = categorizer.train([Example("a", "ALPHA SHOP", "", Decimal("-1")), Example("b", "BETA BAR", "", Decimal("-2"))])
    blob = categorizer.dumps(model)
    signature = categorizer.sign(blob, KEY)
    items = [Item("ALPHA SHOP 2", "", Decimal("-4")), Item("BETA BAR 9", "", Decimal("-1"))]
    # then: loaded back, it predicts the same
    assert categorizer.loads(blob, signature, KEY).predict(items) == model.predict(items)
    # a changed byte, another key, or another format version are refused
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ModelRefused):
        categorizer.loads(flipped, signature, KEY)
    with pytest.raises(ModelRefused):
        categorizer.loads(blob, signature, categorizer.signing_key("another-secret"))
    foreign = b"florin-categorizer/0 sklearn/0.1\n" + blob.partition(b"\n")[2]
    with pytest.raises(ModelRefused):
        categorizer.loads(foreign, categorizer.sign(foreign, KEY), KEY)


class Exploit:
    """A pickle that, when loaded, would create a file: the attack a tampered row could carry."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.target), "w"))


def test_a_malicious_pickle_in_the_row_is_never_executed(tmp_path: Path) -> None:
    # given: bytes in the stored format whose payload would run code, with a signature made without the key
    import zlib

    target = tmp_path / "pwned"
    blob = categorizer.FORMAT + b"\n" + zlib.compress(pickle.dumps(Exploit(target)))
    # when / then: refused before anything is unpickled
    with pytest.raises(ModelRefused):
        categorizer.loads(blob, b"\x00" * 32, KEY)
    assert not target.exists()


def test_the_accuracy_script_beats_the_majority_baseline_on_the_ing_file() -> None:
    # given: the ING (Spain) export with the bank's own categories, read by Florin's CSV parser
    rows = categorize_accuracy.read_file("csv/csv2ofx_ingesp.csv")
    assert len(rows) == 10 and rows[3].label == "Nómina y otras prestaciones:Nómina o Pensión"
    # when: leave-one-out on the bank's top-level labels, no seed
    score = categorize_accuracy.leave_one_out(rows, lambda r: categorize_accuracy.top_level(r.label), seed=False)
    # then: every row was predicted once, and the model beats the majority baseline (tiny sample: 10 rows)
    assert score.rows == 10
    assert score.right > score.baseline_right
