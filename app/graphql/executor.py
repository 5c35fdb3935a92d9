"""Field execution without graphql-core's per-field machinery for the fields that need none of it.

Most fields of a Florin answer are plain attributes (a transaction's id, amount, description, account,
...): Strawberry marks their resolver as the default one (no resolver, no extensions, no permission
classes), and resolving one is `getattr`. graphql-core still builds a resolve-info object, a response
path, an argument dict and two awaitable checks for each, which was the largest single cost of a 50-row
page (bench/PERF_NOTES.md).

`FlorinExecutionContext.execute_fields` plans each selection set once per request: for every such field of
a scalar, enum or object type it keeps the attribute name and the types. A scalar or enum is read and
coerced in place; an object is read and its sub-selection executed, with graphql-core's own error handling
(`handle_field_error`). Anything else — a resolver, a list, an interface or union, an argument — and any
value that is missing, null where null is not allowed, refused by its scalar or of the wrong type goes
through graphql-core's `execute_field`, so errors, their paths and null propagation are what they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# (attribute, the field's type, its leaf or object type, is an object) of a field read in place (nullable when
# the two types are the same); None: through graphql-core.
Plan = tuple[str, Any, Any, bool] | None
_MISSING = object()


def field_plan(schema: Any, parent_type: GraphQLObjectType, field_details_list: Any) -> Plan:
    """How a field is read in place, or None when graphql-core must execute it."""
    node = field_details_list[0].node
    if any(details.node.arguments for details in field_details_list):
        return None
    field_def = schema.get_field(parent_type, node.name.value)
    if field_def is None or not getattr(field_def.resolve, "_is_default", False):
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.base_resolver is not None or definition.extensions:
        return None
    if definition.default_resolver is not getattr:
        return None
    field_type = field_def.type
    nullable = not is_non_null_type(field_type)
    inner = field_type if nullable else field_type.of_type
    if is_leaf_type(inner):
        return definition.python_name, field_type, inner, False
    if isinstance(inner, GraphQLObjectType) and _plain_type_check(inner):
        return definition.python_name, field_type, inner, True
    return None  # lists, interfaces and unions


def _plain_type_check(object_type: GraphQLObjectType) -> bool:
    """True when the type has no `is_type_of`, or Strawberry's own (an isinstance check that never reads the
    resolve info); a type's own `is_type_of` may read it, so such fields keep graphql-core's path."""
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return object_type.is_type_of is None or (definition is not None and definition.is_type_of is None)


class FlorinExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with plain attributes read in place (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (the set, kept alive so its id stays unique; its steps)
        self._florin_plans: dict[int, tuple[Mapping[str, Any], tuple[tuple[str, Any, Plan], ...]]] = {}

    def _steps(self, parent_type: GraphQLObjectType,
               grouped_field_set: Mapping[str, Any]) -> tuple[tuple[str, Any, Plan], ...]:
        cached = self._florin_plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        steps = tuple((name, details, field_plan(self.schema, parent_type, details))
                      for name, details in grouped_field_set.items())
        self._florin_plans[id(grouped_field_set)] = (grouped_field_set, steps)
        return steps

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None,
                       grouped_field_set: Any, position_context: Any) -> Any:
        manager = self.middleware_manager  # Strawberry always passes one; it wraps resolvers only with middleware
        if manager is not None and getattr(manager, "middlewares", True):
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        steps = self._steps(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, plan in steps:
                fast = False
                if plan is not None:
                    attribute, field_type, of_type, is_object = plan
                    try:  # only reading and checking: anything raised here is raised again by graphql-core below
                        value = getattr(source_value, attribute, _MISSING)
                        if value is None:
                            fast = field_type is of_type  # nullable
                        elif value is _MISSING:
                            pass
                        elif is_object:
                            fast = of_type.is_type_of is None or bool(of_type.is_type_of(value, None))
                        else:
                            value = of_type.coerce_output_value(value)
                            fast = value is not None and value is not Undefined
                    except Exception:  # noqa: BLE001
                        fast = False
                if not fast:
                    result = self.execute_field(parent_type, source_value, details,
                                                Path(path, response_name, parent_type.name), position_context)
                elif value is None or not is_object:
                    results[response_name] = value
                    continue
                else:  # its sub-selection, once, with the error handling graphql-core's execute_field gives it
                    result = self._object(field_type, of_type, details, value,
                                          Path(path, response_name, parent_type.name), position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        pending.append(response_name)
        except Exception:
            if pending:
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results
        return self._gather(results, pending)

    def _object(self, field_type: Any, object_type: GraphQLObjectType, details: Any, value: Any, path: Path,
                position_context: Any) -> Any:
        """An object value's sub-selection, with the error handling graphql-core's `execute_field` gives it: an
        error below a nullable field nulls the field; below a non-null one it propagates."""
        try:
            completed = self.collect_and_execute_subfields(object_type, details, path, value, position_context)
        except Exception as error:
            self.handle_field_error(error, field_type, details, path)
            return None
        if self.is_awaitable(completed):
            return self._await_object(completed, field_type, details, path)
        return completed

    async def _await_object(self, completed: Any, field_type: Any, details: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, field_type, details, path)
            return None

    async def _gather(self, results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
        if len(pending) == 1:
            results[pending[0]] = await results[pending[0]]
            return results
        # graphql-core's gather: the first failure cancels the others
        values = await gather_with_cancel(*(results[name] for name in pending))
        results.update(zip(pending, values, strict=True))
        return results
