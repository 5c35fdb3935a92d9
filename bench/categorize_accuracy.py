"""How well the local categorizer (app/ai/categorizer.py) predicts categories, measured honestly.

    .venv/bin/python -m bench.categorize_accuracy            # print the tables (markdown)

Evidence: the statement fixtures whose rows carry the bank's (or the user's previous software's) own category:
the Mint and ING CSV exports and the quiffen QIF files, read with Florin's own parsers. Each file is
measured by leave-one-out: train on every other row of the same file, predict the held-out one. Two label
spaces:

- the file's own labels (as written, and their top level before ':'), without the seed (the seed speaks
  Florin's category names, not the bank's);
- the file's labels mapped by hand to Florin's built-in categories (`MAPPING`, a judgement written down
  before looking at predictions), with the seed, without it, and the seed alone (a new user's first import).

A prediction counts when its confidence reaches the threshold (`categorize_min_confidence`); "accuracy" is
over all rows (a missing or below-threshold prediction is not a right answer), "covered" the share of rows
with a confident prediction, "precision" the accuracy among those. The majority baseline predicts the most
frequent label of the training rows. The samples are tiny (4 to 10 rows per file): read them as such.

Generated data (bench/data/catalog.py merchants, a history of one household) is reported separately and
is not evidence: the same merchant strings repeat, and several of its merchants are also seed keywords.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from app.ai import categorizer
from app.ai.categorizer_seed import SEED
from app.config import Settings
from app.sync.providers import detect

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "statements"
FILES = ("csv/csv2ofx_mint.csv", "csv/csv2ofx_ingesp.csv", "qif/quiffen_test.qif",
         "qif/quiffen_test_category_override.qif")
THRESHOLD = Decimal(str(Settings.model_fields["categorize_min_confidence"].default))

MAPPING: dict[str, str] = {
    # Mint: transfers between the user's accounts, labelled with the other account
    "Checking": "Transfer",
    "Savings": "Savings",
    # ING (Spain)
    "Ventajas ING:Otras Ventajas ING": "Other income",
    "Compras:Compras (otros)": "Shopping",
    "Nómina y otras prestaciones:Nómina o Pensión": "Salary",
    "Ocio y viajes:Cafeterías y restaurantes": "Restaurants",
    "Vehículo y transporte:Seguro de coche y moto": "Insurance",
    "Otros gastos:Cajeros": "Transfer",
    "Otros gastos:Gasto Bizum": "Transfer",
    "Otros gastos:Transferencias": "Transfer",
    "Movimiento sin categoría:Transacción entre cuentas de ahorro": "Transfer",
    # quiffen QIF files
    "Bills:Cell Phone": "Internet & phone",
    "Miscellaneous": "Other income",
    "Food:Groceries": "Groceries",
    "Income:Available next month": "Other income",
    "Income:Available this month": "Other income",
    "Everyday Expenses:Food Budget": "Groceries",
    "Everyday Expenses:Gousto": "Groceries",
}
"""The file's label -> a built-in category name (ATM and person-to-person payments count as transfers, as in
the seed: the built-in set has no cash category)."""


@dataclass(frozen=True)
class Row:
    description: str
    merchant: str
    amount: Decimal
    label: str


@dataclass
class Score:
    rows: int = 0
    right: int = 0
    covered: int = 0
    covered_right: int = 0
    baseline_right: int = 0

    def add(self, other: Score) -> None:
        for name in ("rows", "right", "covered", "covered_right", "baseline_right"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def cells(self) -> list[str]:
        def share(part: int, whole: int) -> str:
            return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "–"

        return [str(self.rows), share(self.right, self.rows), share(self.covered, self.rows),
                share(self.covered_right, self.covered), share(self.baseline_right, self.rows)]


def read_file(relative: str) -> list[Row]:
    """The rows of a fixture that carry a category, parsed by Florin's own statement parsers."""
    path = FIXTURES / relative
    statement = detect.parse(path.read_bytes(), filename=path.name)
    return [Row(t.description or "", t.payee or "", t.amount, t.category)
            for account in statement.accounts for t in account.transactions if t.category]


def top_level(label: str) -> str:
    return label.split(":")[0]


def seed_labels() -> dict[str, str]:
    return {name: name for name, _sign, _words in SEED}


def leave_one_out(rows: Sequence[Row], label_of: Callable[[Row], str], *, seed: bool,
                  own: bool = True) -> Score:
    """Each row predicted by a model trained on the other rows (`own`) and/or the seed."""
    score = Score()
    for index, held in enumerate(rows):
        rest = [r for i, r in enumerate(rows) if i != index]
        examples = [categorizer.Example(label_of(r), r.description, r.merchant, r.amount) for r in rest] if own else []
        if seed:
            examples += categorizer.seed_examples(seed_labels())
        model = categorizer.train(examples)
        label, confidence = model.predict([categorizer.Item(held.description, held.merchant, held.amount)])[0]
        truth = label_of(held)
        score.rows += 1
        score.right += label == truth
        if label is not None and confidence >= THRESHOLD:
            score.covered += 1
            score.covered_right += label == truth
        majority = Counter(label_of(r) for r in rest).most_common(1)
        score.baseline_right += bool(majority) and majority[0][0] == truth
    return score


HEADER = ("| file | rows | accuracy | covered (conf ≥ {t}) | precision when covered | majority baseline |\n"
          "|---|---|---|---|---|---|")


def table(title: str, scores: dict[str, Score], *, total: bool = True) -> str:
    overall = Score()
    lines = [f"**{title}**", "", HEADER.format(t=THRESHOLD)]
    for name, score in scores.items():
        overall.add(score)
        lines.append("| " + " | ".join([name, *score.cells()]) + " |")
    if total:
        lines.append("| " + " | ".join(["**all files**", *overall.cells()]) + " |")
    return "\n".join(lines)


def real_tables() -> str:
    files = {name: read_file(name) for name in FILES}
    parts = []
    for title, label_of in (("Bank labels as written, no seed", lambda r: r.label),
                            ("Bank labels, top level only, no seed", lambda r: top_level(r.label))):
        parts.append(table(title, {n.split("/")[-1]: leave_one_out(rows, label_of, seed=False)
                                   for n, rows in files.items()}))

    def mapped(r: Row) -> str:
        return MAPPING[r.label]

    for title, seed, own in (("Mapped to Florin's categories, user's rows + seed", True, True),
                             ("Mapped to Florin's categories, user's rows only", False, True),
                             ("Mapped to Florin's categories, seed only (a new user)", True, False)):
        parts.append(table(title, {n.split("/")[-1]: leave_one_out(rows, mapped, seed=seed, own=own)
                                   for n, rows in files.items()}))
    pooled = [r for rows in files.values() for r in rows]
    parts.append(table("All real rows pooled (one user), mapped, leave-one-out",
                       {"pooled, rows + seed": leave_one_out(pooled, mapped, seed=True),
                        "pooled, rows only": leave_one_out(pooled, mapped, seed=False)}, total=False))
    return "\n\n".join(parts)


def seed_overlap() -> str:
    """Which seed keywords occur in the fixture texts and in the generated catalog (computed, not curated)."""
    from bench.data.catalog import BILLS, MERCHANTS, RENT

    fixture_text = " | ".join(categorizer.text_of(r.description, r.merchant)
                              for name in FILES for r in read_file(name))
    catalog_text = " | ".join(categorizer.text_of(m.description, m.name) for m in MERCHANTS) + " | " + \
        " | ".join(categorizer.text_of(text, merchant) for merchant, text, _c, _a in (*BILLS, RENT))

    def found(text: str) -> list[str]:
        padded = f" {text} "
        return sorted({w for _n, _s, words in SEED for w in words
                       if (folded := categorizer.fold(w)) and f" {folded} " in padded})

    return (f"- seed keywords in the fixture rows: {', '.join(found(fixture_text)) or 'none'}\n"
            f"- seed keywords in the generated catalog: {', '.join(found(catalog_text)) or 'none'}")


def generated_tables(seed_value: int = 7, train_rows: int = 1500, test_rows: int = 500) -> str:
    """A generated household's spending: train on the first rows, predict the later ones."""
    from bench.data.catalog import CITIES, MERCHANTS

    rng = random.Random(seed_value)
    weights = [m.weight for m in MERCHANTS]
    rows = []
    for _ in range(train_rows + test_rows):
        merchant = rng.choices(MERCHANTS, weights)[0]
        text = merchant.description.replace("{n}", str(rng.randint(1000, 99999))).replace("{city}", rng.choice(CITIES))
        amount = Decimal(str(round(rng.uniform(merchant.low, merchant.high), 2)))
        rows.append(Row(text, merchant.name, -amount, merchant.category[1] or merchant.category[0]))
    train, test = rows[:train_rows], rows[train_rows:]
    out = []
    for name, seed, own in (("history + seed", True, True), ("history only", False, True), ("seed only", True, False)):
        examples = [categorizer.Example(r.label, r.description, r.merchant, r.amount) for r in train] if own else []
        if seed:
            examples += categorizer.seed_examples(seed_labels())
        model = categorizer.train(examples)
        score = Score()
        predictions = model.predict([categorizer.Item(r.description, r.merchant, r.amount) for r in test])
        majority = Counter(r.label for r in train).most_common(1)[0][0]
        for row, (label, confidence) in zip(test, predictions, strict=True):
            score.rows += 1
            score.right += label == row.label
            if label is not None and confidence >= THRESHOLD:
                score.covered += 1
                score.covered_right += label == row.label
            score.baseline_right += majority == row.label
        out.append("| " + " | ".join([name, *score.cells()]) + " |")
    return "\n".join([f"**GENERATED data (not evidence): {train_rows} rows to train, the next {test_rows} to test**",
                      "", HEADER.format(t=THRESHOLD).replace("| file |", "| model |"), *out])


def main() -> None:
    print(real_tables())
    print()
    print(seed_overlap())
    print()
    print(generated_tables())


if __name__ == "__main__":
    main()
