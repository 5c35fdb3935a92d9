"""The learned stages of categorization, run by the `categorize` job after imports and syncs: the per-user
local model (source MODEL) and then a language model (source AI). A guess at or above the threshold sets
the category; a weaker one leaves it empty and is stored as the suggestion. The user's choice is never
touched; running the job twice changes nothing more; the model retrains after enough new labels; a stored
model whose signature does not match is refused (and replaced); the statements do not grow with the rows;
`meDelete` erases the stored model."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.ai.model import CategorizeItem, CategoryGuess, ChatError
from app.resources import Resources
from app.rules import learned
from app.rules import repository as repo
from app.transactions.models import Transaction
from tests import ledger
from tests.importing import db_id, drain, statement_import
from tests.support import PASSWORD, GraphQLClient, count_queries
from tests.test_budget_alerts import alerts, setup, today
from worker.categorize_jobs import categorize, train_categorizer

STATE = ("SELECT description, category_id, category_source, category_confidence, suggested_category_id, "
         "suggested_source, suggested_confidence, updated_at FROM transactions WHERE user_id = :u "
         "ORDER BY description")


async def sql(resources: Resources, statement: str, **params: Any) -> list[dict[str, Any]]:
    async with resources.sessionmaker() as session, session.begin():
        result = await session.execute(sa.text(statement), params)
        return [dict(r._mapping) for r in result] if result.returns_rows else []


async def a_user(gql: GraphQLClient, resources: Resources) -> dict[str, Any]:
    """A registered user with a checking account and their categories by name."""
    user = await gql.register()
    account = await ledger.account(gql, user["token"])
    user_id = db_id(user["user_id"])
    names = {r["name"]: r["id"] for r in await sql(resources, "SELECT name, id FROM categories WHERE user_id = :u",
                                                    u=user_id)}
    return {**user, "id": user_id, "account": db_id(account["id"]), "categories": names}


async def add(resources: Resources, user: dict[str, Any], rows: Sequence[tuple[str, str, str | None, str | None]],
              run_id: uuid.UUID | None = None, day: dt.date = dt.date(2026, 11, 2)) -> list[uuid.UUID]:
    """Insert (description, amount, category name, source) rows straight into the ledger (as an import would
    have left them: the run's id, merchant = description)."""
    made = [Transaction(user_id=user["id"], account_id=user["account"], booked_on=day,
                        amount=Decimal(amount), currency="EUR", description=description, merchant=description,
                        category_id=user["categories"][name] if name else None, category_source=source,
                        sync_run_id=run_id) for description, amount, name, source in rows]
    async with resources.sessionmaker() as session, session.begin():
        session.add_all(made)
    return [t.id for t in made]


def labels(merchant: str, category: str, count: int, start: int = 0) -> list[tuple[str, str, str | None, str | None]]:
    return [(f"{merchant} {100 + start + i}", f"-{5 + i % 40}.{i % 10}0", category, "USER") for i in range(count)]


async def run_job(resources: Resources, user: dict[str, Any], run_id: uuid.UUID | None) -> dict[str, Any]:
    return dict(await categorize({"resources": resources}, str(user["id"]), str(run_id) if run_id else None))


async def state(resources: Resources, user: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    return {r["description"]: r for r in await sql(resources, STATE, u=user["id"])
            if r["description"].startswith(prefix)}


async def test_the_model_learns_a_users_labels_and_a_weak_guess_is_only_suggested(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: a merchant the built-in seed cannot know, not yet labelled by the user
    user = await a_user(gql, resources)
    groceries = user["categories"]["Groceries"]
    before = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 123", "-23.40", None, None)], before)
    # when
    result = await run_job(resources, user, before)
    # then: no category; the model's best guess is recorded as a suggestion below the threshold
    row = (await state(resources, user))["ZORBLAX KRUNT 123"]
    assert (row["category_id"], row["category_source"], row["category_confidence"]) == (None, None, None)
    assert row["suggested_source"] == "MODEL" and row["suggested_category_id"] is not None
    assert Decimal("0") < row["suggested_confidence"] < Decimal("0.6")
    assert result["rows"] == 1 and result["applied"] == {} and result["suggested"] == 1 and result["trained"]

    # given: the user labels 25 rows of that merchant as groceries (more than the retraining step of 20)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    run = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 9917", "-41.00", None, None)], run)
    # when
    result = await run_job(resources, user, run)
    # then: the new row is MODEL groceries with the model's confidence, and no suggestion
    row = (await state(resources, user))["ZORBLAX KRUNT 9917"]
    assert (row["category_id"], row["category_source"]) == (groceries, "MODEL")
    assert Decimal("0.6") <= row["category_confidence"] <= 1
    assert (row["suggested_category_id"], row["suggested_source"], row["suggested_confidence"]) == (None, None, None)
    assert result == {"rows": 1, "trained": True, "applied": {"MODEL": 1}, "suggested": 0, "aiFailed": False}
    # and: the stored model counts the 25 labels and can predict groceries
    stored = await sql(resources, "SELECT label_count, classes FROM category_models WHERE user_id = :u", u=user["id"])
    assert stored[0]["label_count"] == 25 and str(groceries) in stored[0]["classes"]


async def test_the_users_choice_is_never_overwritten(gql: GraphQLClient, resources: Resources) -> None:
    # given: a run with a row the user categorized, one the user cleared (USER without category), a split row
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    run = uuid.uuid4()
    ids = await add(resources, user, [("ZORBLAX KRUNT 1", "-9.00", "Restaurants", "USER"),
                                      ("ZORBLAX KRUNT 2", "-9.00", None, "USER"),
                                      ("ZORBLAX KRUNT 3", "-9.00", None, None)], run)
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text("UPDATE transactions SET has_splits = true WHERE id = :id"), {"id": ids[2]})
    before = await state(resources, user, "ZORBLAX KRUNT ")
    # when
    result = await run_job(resources, user, run)
    # then: none of them changed at all
    assert result["rows"] == 0
    assert await state(resources, user, "ZORBLAX KRUNT ") == before
    # and: a write racing with the user's choice keeps the choice (the update re-checks under the lock)
    async with resources.sessionmaker() as session, session.begin():
        written = await repo.write_guesses(session, user["id"], [
            (ids[0], user["categories"]["Groceries"], "MODEL", Decimal("0.9"), True),
            (ids[1], user["categories"]["Groceries"], "MODEL", Decimal("0.3"), False)])
    assert written == []
    assert await state(resources, user, "ZORBLAX KRUNT ") == before


async def test_running_the_job_twice_changes_nothing_more(gql: GraphQLClient, resources: Resources) -> None:
    # given: a run with a row the model knows and one it does not
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    run = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 77", "-12.00", None, None), ("QWERTY PLOK 5", "-3.00", None, None)],
              run)
    # when: the job runs twice
    first = await run_job(resources, user, run)
    after_first = await state(resources, user)
    second = await run_job(resources, user, run)
    # then: the second run found only the suggested row, wrote nothing, and trained nothing
    assert first["applied"] == {"MODEL": 1} and first["suggested"] == 1
    assert second == {"rows": 1, "trained": False, "applied": {}, "suggested": 0, "aiFailed": False}
    assert await state(resources, user) == after_first


async def test_enough_new_labels_retrain_the_model_and_change_its_guess(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: a model trained on 25 labels, which files "PLIMBO" under groceries
    user = await a_user(gql, resources)
    await add(resources, user, labels("PLIMBO", "Groceries", 25))
    assert (await train_categorizer({"resources": resources}, str(user["id"]))) == {"trained": True}
    run = uuid.uuid4()
    await add(resources, user, [("PLIMBO 5", "-30.00", None, None)], run)
    await run_job(resources, user, run)
    assert (await state(resources, user))["PLIMBO 5"]["category_id"] == user["categories"]["Groceries"]
    # when: the user corrects 10 of them to restaurants (the label count does not grow): no retraining
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(sa.text(
            "UPDATE transactions SET category_id = :c WHERE user_id = :u AND category_source = 'USER' "
            "AND description IN (SELECT description FROM transactions WHERE user_id = :u "
            "AND category_source = 'USER' ORDER BY description LIMIT 10)"),
            {"c": user["categories"]["Restaurants"], "u": user["id"]})
    assert (await train_categorizer({"resources": resources}, str(user["id"]))) == {"trained": False}
    # when: 40 more labels say restaurants (65 labels: grown by 40 >= 20): the job retrains
    await add(resources, user, labels("PLIMBO", "Restaurants", 40, start=100))
    assert (await train_categorizer({"resources": resources}, str(user["id"]))) == {"trained": True}
    again = uuid.uuid4()
    await add(resources, user, [("PLIMBO 6", "-31.00", None, None)], again)
    await run_job(resources, user, again)
    # then: the new row is a restaurant; the earlier one keeps its category
    rows = await state(resources, user)
    assert (rows["PLIMBO 6"]["category_id"], rows["PLIMBO 6"]["category_source"]) == (
        user["categories"]["Restaurants"], "MODEL")
    assert rows["PLIMBO 5"]["category_id"] == user["categories"]["Groceries"]
    stored = await sql(resources, "SELECT label_count FROM category_models WHERE user_id = :u", u=user["id"])
    assert stored == [{"label_count": 65}]


async def test_a_tampered_model_is_refused_and_trained_again(gql: GraphQLClient, resources: Resources) -> None:
    # given: a stored model whose bytes were changed in the database
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    await train_categorizer({"resources": resources}, str(user["id"]))
    original = (await sql(resources, "SELECT model, signature, trained_at FROM category_models WHERE user_id = :u",
                          u=user["id"]))[0]
    tampered = bytes(original["model"][:-1]) + bytes([original["model"][-1] ^ 1])
    await sql(resources, "UPDATE category_models SET model = :m WHERE user_id = :u", m=tampered, u=user["id"])
    # when: the model is needed
    assert (await train_categorizer({"resources": resources}, str(user["id"]))) == {"trained": True}
    # then: it was trained again and stored with a matching signature, and it works
    stored = (await sql(resources, "SELECT model, signature, trained_at FROM category_models WHERE user_id = :u",
                        u=user["id"]))[0]
    assert bytes(stored["model"]) != tampered and stored["trained_at"] > original["trained_at"]
    from app.ai import categorizer

    categorizer.loads(bytes(stored["model"]), bytes(stored["signature"]), learned.key_of(resources.settings))
    run = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 5", "-30.00", None, None)], run)
    assert (await run_job(resources, user, run))["applied"] == {"MODEL": 1}


async def test_statements_do_not_grow_with_the_rows(gql: GraphQLClient, resources: Resources) -> None:
    # given: a trained model, and two runs of 10 and 200 rows, half of them known to the model
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    await train_categorizer({"resources": resources}, str(user["id"]))
    counts = []
    for size in (10, 200):
        run = uuid.uuid4()
        await add(resources, user, [(f"ZORBLAX KRUNT {i}" if i % 2 else f"QWERTY {i}", "-5.00", None, None)
                                    for i in range(size)], run)
        # when
        with count_queries(resources.engine) as counter:
            result = await run_job(resources, user, run)
        # then
        assert result["applied"] == {"MODEL": size // 2} and result["rows"] == size
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


async def test_me_delete_erases_the_stored_model(gql: GraphQLClient, resources: Resources) -> None:
    # given: two users with a trained model each
    alice, bob = await a_user(gql, resources), await a_user(gql, resources)
    for user in (alice, bob):
        await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 3))
        await train_categorizer({"resources": resources}, str(user["id"]))
    # when: alice erases her account
    payload = (await gql("""mutation($input: MeDeleteInput!) { meDelete(input: $input) { errors { code } } }""",
                         {"input": {"password": PASSWORD}}, token=alice["token"])).ok()["meDelete"]
    assert payload["errors"] == []
    # then: her model is gone, bob's is kept; training for an erased user stores nothing
    models = await sql(resources, "SELECT user_id FROM category_models")
    assert models == [{"user_id": bob["id"]}]
    await learned.ensure_model(resources, alice["id"], force=True)
    assert await sql(resources, "SELECT user_id FROM category_models") == [{"user_id": bob["id"]}]


async def test_an_imported_statement_ends_categorized_by_the_job(gql: GraphQLClient, resources: Resources) -> None:
    # given: a user who labelled a merchant, and a statement with that merchant and an unknown one
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    account = await ledger.account(gql, user["token"], name="Giro")
    data = b"Date,Description,Amount\n2026-11-03,ZORBLAX KRUNT 4711,-18.20\n2026-11-04,QWERTY PLOK,-7.00\n"
    # when: it is imported and the worker runs every queued job
    payload = await statement_import(gql, user["token"], data, "nov.csv", accountId=account["id"])
    assert payload["errors"] == []
    worker = await drain(resources)
    # then: the import job and the categorize job ran
    assert worker.jobs_failed == 0 and worker.jobs_complete >= 2
    rows = await state(resources, user)
    assert (rows["ZORBLAX KRUNT 4711"]["category_id"], rows["ZORBLAX KRUNT 4711"]["category_source"]) == (
        user["categories"]["Groceries"], "MODEL")
    assert rows["QWERTY PLOK"]["category_id"] is None and rows["QWERTY PLOK"]["suggested_source"] == "MODEL"


class FakeLanguageModel:
    """Stands in for Gemini (whose protocol is tested against tests/gemini_server.py): answers by keyword."""

    name = "fake"

    def __init__(self, answers: dict[str, tuple[str | None, str]], fail: bool = False):
        self.answers = answers
        self.fail = fail
        self.calls: list[tuple[list[str], list[CategorizeItem]]] = []

    async def categorize(self, *, categories: Sequence[str], items: Sequence[CategorizeItem]) -> list[CategoryGuess]:
        self.calls.append((list(categories), list(items)))
        if self.fail:
            raise ChatError("UNAVAILABLE", "the model is down")
        out = []
        for item in items:
            for word, (category, confidence) in self.answers.items():
                if word in item.description:
                    out.append(CategoryGuess(item.key, category, Decimal(confidence)))
        return out


async def test_the_language_model_gets_what_the_local_model_left_and_the_users_names(
        gql: GraphQLClient, resources: Resources) -> None:
    # given: a language model configured, a run with a row the local model knows and three it does not
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    fake = FakeLanguageModel({"ALPHA": ("Restaurants", "0.9"), "BRAVO": (None, "0.8"),
                              "CHARLIE": ("Coffee", "0.3")})
    resources.category_model = fake
    run = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 1", "-9.00", None, None), ("QWERTY ALPHA", "-30.00", None, None),
                                ("QWERTY BRAVO", "-2.00", None, None), ("QWERTY CHARLIE", "-3.50", None, None)], run)
    # when
    result = await run_job(resources, user, run)
    # then: one call, offering exactly the user's category names, with the three rows the model left open
    assert len(fake.calls) == 1
    offered, items = fake.calls[0]
    assert sorted(offered) == sorted(user["categories"])
    assert sorted(i.description for i in items) == ["QWERTY ALPHA", "QWERTY BRAVO", "QWERTY CHARLIE"]
    assert {(i.amount, i.currency, i.booked_on) for i in items} >= {("-30.00", "EUR", "2026-11-02")}
    rows = await state(resources, user)
    assert (rows["ZORBLAX KRUNT 1"]["category_id"], rows["ZORBLAX KRUNT 1"]["category_source"]) == (
        user["categories"]["Groceries"], "MODEL")
    # a confident answer sets the category (AI); "none" and a weak answer leave it empty, suggested by AI
    alpha, bravo, charlie = rows["QWERTY ALPHA"], rows["QWERTY BRAVO"], rows["QWERTY CHARLIE"]
    assert (alpha["category_id"], alpha["category_source"], alpha["category_confidence"]) == (
        user["categories"]["Restaurants"], "AI", Decimal("0.9000"))
    assert alpha["suggested_source"] is None
    assert (bravo["category_id"], bravo["suggested_category_id"], bravo["suggested_source"],
            bravo["suggested_confidence"]) == (None, None, "AI", Decimal("0.8000"))
    assert (charlie["category_id"], charlie["suggested_category_id"], charlie["suggested_source"],
            charlie["suggested_confidence"]) == (None, user["categories"]["Coffee"], "AI", Decimal("0.3000"))
    assert result["applied"] == {"MODEL": 1, "AI": 1} and result["suggested"] == 2


async def test_a_failing_language_model_leaves_the_local_models_work(gql: GraphQLClient,
                                                                       resources: Resources) -> None:
    # given: a language model that fails
    user = await a_user(gql, resources)
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25))
    fake = FakeLanguageModel({}, fail=True)
    resources.category_model = fake
    run = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 1", "-9.00", None, None), ("QWERTY ALPHA", "-30.00", None, None)],
              run)
    # when
    result = await run_job(resources, user, run)
    # then: the job succeeded; the known row is MODEL groceries, the other keeps the model's suggestion
    assert result["aiFailed"] is True and len(fake.calls) == 1
    rows = await state(resources, user)
    assert (rows["ZORBLAX KRUNT 1"]["category_id"], rows["ZORBLAX KRUNT 1"]["category_source"]) == (
        user["categories"]["Groceries"], "MODEL")
    assert rows["QWERTY ALPHA"]["category_id"] is None and rows["QWERTY ALPHA"]["suggested_source"] == "MODEL"


async def test_a_category_set_by_the_model_moves_the_budget(gql: GraphQLClient, resources: Resources) -> None:
    # given: groceries limited to 100 this year, labels of a merchant from two years ago (outside the budget)
    s = await setup(gql, limit="100")
    user_id = db_id(s["user_id"])
    names = {r["name"]: r["id"] for r in await sql(resources, "SELECT name, id FROM categories WHERE user_id = :u",
                                                    u=user_id)}
    user = {"id": user_id, "account": db_id(s["account"]), "categories": names}
    await add(resources, user, labels("ZORBLAX KRUNT", "Groceries", 25), day=today().replace(year=today().year - 2))
    run = uuid.uuid4()
    await add(resources, user, [("ZORBLAX KRUNT 1", "-60.00", None, None)], run, day=today())
    assert await alerts(resources) == []
    # when: the job files today's 60.00 under groceries
    result = await run_job(resources, user, run)
    # then: the 50 % alert fired, with 60 spent
    assert result["applied"] == {"MODEL": 1}
    assert await alerts(resources) == [(50, "60.00", s["start"])]
