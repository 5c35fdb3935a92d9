"""The committed `schema.graphql` is the schema the code builds, and `make schema` regenerates it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from graphql import GraphQLObjectType, GraphQLSchema, is_introspection_type, is_specified_scalar_type

from app.graphql.schema import schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"
STAMP = ".venv/.florin-installed"


def _normalized(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def test_committed_schema_matches_the_code() -> None:
    # given
    assert SCHEMA_FILE.is_file(), "schema.graphql is missing: run `make schema` and commit it"
    # when
    committed = _normalized(SCHEMA_FILE.read_text(encoding="utf-8"))
    built = _normalized(str(schema))
    # then
    assert committed == built, "schema.graphql is out of date with the code: run `make schema` and commit it"


def _make_schema_command() -> list[str]:
    """The recipe of the Makefile's `schema` target, as make would run it (without rebuilding the venv)."""
    make = shutil.which("make")
    assert make, "make is needed for `make schema`"
    out = subprocess.run([make, "-s", "-n", "-o", STAMP, "schema"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"`make schema` should run exactly one command, it runs: {lines}"
    return shlex.split(lines[0])


def test_make_schema_target_regenerates_the_file(tmp_path: Path) -> None:
    # given: the target's command is the documented export into schema.graphql
    command = _make_schema_command()
    assert command == [".venv/bin/strawberry", "export-schema", "app.graphql.schema:schema", "--output",
                       "schema.graphql"]
    strawberry_bin = ROOT / command[0]
    assert strawberry_bin.is_file(), f"{strawberry_bin} is missing: run `make install`"
    target = tmp_path / "schema.graphql"
    # when: the same command, writing to a temporary file instead of the committed one
    done = subprocess.run([str(strawberry_bin), *command[1:-1], str(target)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    # then
    assert done.returncode == 0, done.stderr
    assert target.is_file()
    assert _normalized(target.read_text(encoding="utf-8")) == _normalized(str(schema))


def _roots(graphql_schema: GraphQLSchema) -> list[GraphQLObjectType]:
    return [t for t in (graphql_schema.query_type, graphql_schema.mutation_type, graphql_schema.subscription_type)
            if t is not None]


def test_root_types_and_their_fields_are_described() -> None:
    # given
    graphql_schema = schema._schema
    roots = _roots(graphql_schema)
    assert {t.name for t in roots} == {"Query", "Mutation", "Subscription"}
    # when
    missing = [t.name for t in roots if not (t.description or "").strip()]
    missing += [f"{t.name}.{name}" for t in roots for name, f in t.fields.items() if not (f.description or "").strip()]
    # then
    assert missing == [], f"root types and fields without a description: {missing}"


def test_other_types_and_their_fields_are_described() -> None:
    # given
    graphql_schema = schema._schema
    root_names = {t.name for t in _roots(graphql_schema)}
    # when
    missing: list[str] = []
    for name, type_ in sorted(graphql_schema.type_map.items()):
        if name in root_names or is_introspection_type(type_) or is_specified_scalar_type(type_):
            continue
        if not (type_.description or "").strip():
            missing.append(name)
        for field_name, field in (getattr(type_, "fields", None) or {}).items():
            if not (field.description or "").strip():
                missing.append(f"{name}.{field_name}")
    # then
    assert missing == [], f"{len(missing)} non-root types/fields have no description: {', '.join(missing)}"
