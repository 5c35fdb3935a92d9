"""The execution context that reads plain scalar attributes in place answers exactly as graphql-core does:
the same data, the same errors at the same paths, the same null propagation."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import pytest
import strawberry
from graphql import GraphQLObjectType

from app.graphql.executor import FlorinExecutionContext, field_plan
from app.graphql.schema import create_schema


@strawberry.enum
class Kind(enum.Enum):
    CHECKING = "checking"
    SAVINGS = "savings"


MONEY_CALLS: list[str] = []


@strawberry.type
class Money:
    amount: decimal.Decimal
    currency: str

    @strawberry.field
    def fails(self) -> str | None:
        MONEY_CALLS.append(self.currency)
        raise ValueError("money resolver failed")


@strawberry.type
class Row:
    id: strawberry.ID
    name: str
    note: str | None
    kind: Kind
    day: dt.date
    amount: Money
    count: int
    must: str  # some rows break it: None where null is not allowed
    odd: int  # some rows hold a value Int refuses
    maybe: Money | None  # row 3's Money is broken: null in its non-null amount nulls `maybe`
    sure: Money  # row 2's is broken: the error propagates to the row

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError("resolver failed")


def rows() -> list[Row]:
    made = []
    for i in range(6):
        made.append(Row(
            id=strawberry.ID(f"r{i}"), name=f"row {i}", note=None if i % 2 else f"note {i}",
            kind=Kind.SAVINGS if i % 3 else Kind.CHECKING, day=dt.date(2026, 1, 1 + i),
            amount=Money(amount=decimal.Decimal(f"{i}.10"), currency="EUR"), count=i,
            must=None if i == 4 else "ok",  # type: ignore[arg-type]
            odd="x" if i == 5 else i,  # type: ignore[arg-type]
            maybe=None if i == 1 else Money(amount=None if i == 3 else decimal.Decimal(i),  # type: ignore[arg-type]
                                            currency="USD"),
            sure=Money(amount=None if i == 2 else decimal.Decimal(-i), currency="JPY"),  # type: ignore[arg-type]
        ))
    return made


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return rows()

    @strawberry.field
    def safe_rows(self) -> list[Row | None]:
        return rows()


fast = strawberry.Schema(query=Query, execution_context_class=FlorinExecutionContext)
plain = strawberry.Schema(query=Query)

QUERIES = [
    "{ rows { id name note kind day count amount { amount currency } shout } }",
    "{ rows { a: name b: name name ...F } } fragment F on Row { note count kind }",
    "query ($yes: Boolean!) { rows { id name @include(if: $yes) note @skip(if: $yes) } }",
    "{ safeRows { id must } }",  # row 4: null in a non-null field nulls that row, with an error at its path
    "{ safeRows { id odd } }",  # row 5: Int refuses "x"
    "{ rows { id fails } }",
    "{ rows { id must } }",  # the error propagates to the root field
    "{ rows { __typename id } }",
    "{ safeRows { id maybe { amount currency } } }",
    "{ safeRows { id sure { amount currency } maybe { currency } } }",
    "{ rows { id sure { amount } } }",
    # row 2: a nullable error below the object, then its non-null null: each error once, as graphql-core
    "{ safeRows { id sure { fails amount } } }",
    "{ safeRows { id sure { amount fails } } }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_same_answer_as_graphql_core(query: str) -> None:
    ours = fast.execute_sync(query, variable_values={"yes": True})
    theirs = plain.execute_sync(query, variable_values={"yes": True})
    assert ours.data == theirs.data
    assert [(e.message, e.path) for e in ours.errors or []] == [(e.message, e.path) for e in theirs.errors or []]


def test_errors_keep_their_paths() -> None:
    result = fast.execute_sync("{ safeRows { id must odd } }")
    assert result.data is not None
    assert result.data["safeRows"][4] is None and result.data["safeRows"][5] is None
    assert result.data["safeRows"][0] == {"id": "r0", "must": "ok", "odd": 0}
    assert sorted(tuple(e.path) for e in result.errors or []) == [("safeRows", 4, "must"), ("safeRows", 5, "odd")]


def test_plans_cover_plain_leaves_only() -> None:
    """The fast path applies where it should (else the tests above could not tell the paths apart)."""
    graphql_schema = fast._schema
    row = graphql_schema.type_map["Row"]
    assert isinstance(row, GraphQLObjectType)

    def plan(name: str) -> object:
        from graphql.execution.collect_fields import FieldDetails
        from graphql.language import parse

        node = parse(f"{{ {name} }}").definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
        return field_plan(graphql_schema, row, [FieldDetails(node, None)])

    for leaf in ("id", "name", "note", "kind", "day", "count", "must"):
        assert plan(leaf) is not None, leaf
    assert plan("amount") is not None  # an object read in place, its sub-selection executed as usual
    for other in ("shout", "fails", "__typename"):
        assert plan(other) is None, other


def test_florin_schema_uses_it() -> None:
    schema = create_schema()
    assert schema.execution_context_class is FlorinExecutionContext
    transaction = schema._schema.type_map["Transaction"]
    from graphql.execution.collect_fields import FieldDetails
    from graphql.language import parse

    def plan(name: str) -> object:
        node = parse(f"{{ {name} }}").definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
        return field_plan(schema._schema, transaction, [FieldDetails(node, None)])

    assert plan("description") is not None and plan("account") is not None
    assert plan("splits") is None and plan("transferPeer") is None  # resolvers: graphql-core's path


def test_leaves_skip_graphql_cores_field_execution() -> None:
    """Six rows of three plain leaves: graphql-core executes the root field only, not the 18 leaves."""
    calls: list[str] = []

    class Counting(FlorinExecutionContext):
        def execute_field(self, parent_type, source, field_details_list, path, position_context):  # type: ignore[no-untyped-def]
            calls.append(field_details_list[0].node.name.value)
            return super().execute_field(parent_type, source, field_details_list, path, position_context)

    counted = strawberry.Schema(query=Query, execution_context_class=Counting)
    result = counted.execute_sync("{ rows { id name note shout } }")
    assert result.errors is None and len(result.data["rows"]) == 6  # type: ignore[index]
    assert calls == ["rows"] + ["shout"] * 6


def test_sub_selection_runs_once_when_it_fails() -> None:
    """An error that propagates out of an object read in place is not retried through graphql-core: each
    resolver below runs once per object, as with graphql-core alone."""
    query = "{ safeRows { id sure { fails amount } } }"
    MONEY_CALLS.clear()
    ours = fast.execute_sync(query)
    ours_calls = len(MONEY_CALLS)
    MONEY_CALLS.clear()
    theirs = plain.execute_sync(query)
    assert ours_calls == len(MONEY_CALLS) == 6
    assert ours.data == theirs.data and ours.data is not None and ours.data["safeRows"][2] is None
