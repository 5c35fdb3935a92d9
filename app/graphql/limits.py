"""Limits on what one GraphQL document may ask, beyond depth, aliases and tokens (Strawberry's own):

- directives: at most `max_directives` in the document and `MAX_DIRECTIVES_PER_LOCATION` on one field,
  fragment or operation;
- duplicate fields: one response key at most `max_duplicate_fields` times in one selection set;
- cost: an estimate of the fields the answer holds, with a ceiling.

The first two are counted on the parsed document before validation, so a document built to make validation
slow is refused before it runs. The cost is estimated after validation (fragments are then known to be
acyclic) with the request's variables: every field costs 1 plus the cost of its selections, and a field
returning a connection multiplies the cost of its subtree by its page size (`first` or `last`, else the
default page of 20, never more than the maximum page size); a plain list multiplies by `LIST_SIZE`.
Introspection fields are free (their depth is limited by graphql-core, and production turns them off).

`DocumentCache` keeps, per schema and per document text (a bounded LRU), what depends on the text alone: the
parsed document, whether it passed these limits and validation, and its cost for each shape of the variables
the cost reads (page sizes, `@skip`/`@include` conditions, the length of `ids` lists). A document that fails
a check is never remembered, so it is checked (and refused) again every time.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType

from app.graphql.pagination import DEFAULT_PAGE, MAX_PAGE

MAX_DIRECTIVES_PER_LOCATION = 3
LIST_SIZE = 10
INVALID = "GRAPHQL_VALIDATION_FAILED"
CACHED_DOCUMENTS = 256
MAX_CACHED_TEXT = 20_000  # characters; a longer document is parsed and checked on every request
CACHED_COSTS = 16  # variable shapes remembered per document


def _error(message: str, node: Any = None, **extra: object) -> GraphQLError:
    return GraphQLError(message, nodes=[node] if node is not None else None, extensions={"code": INVALID, **extra})


class _Counts(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.directives = 0
        self.crowded: DirectiveNode | None = None
        self.duplicate: tuple[str, int, FieldNode] | None = None

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.directives += 1

    def enter(self, node: Any, *_: Any) -> None:
        directives = getattr(node, "directives", None)
        if directives and len(directives) > MAX_DIRECTIVES_PER_LOCATION and self.crowded is None:
            self.crowded = directives[MAX_DIRECTIVES_PER_LOCATION]

    def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
        keys = Counter((s.alias or s.name).value for s in node.selections if isinstance(s, FieldNode))
        if keys:
            key, count = keys.most_common(1)[0]
            if self.duplicate is None or count > self.duplicate[1]:
                fields = (s for s in node.selections if isinstance(s, FieldNode))
                self.duplicate = (key, count, next(f for f in fields if (f.alias or f.name).value == key))


def document_errors(document: DocumentNode, *, max_directives: int, max_duplicate_fields: int) -> list[GraphQLError]:
    """Errors for directive and duplicate-field overloading (empty when the document is within limits)."""
    counts = _Counts()
    visit(document, counts)
    errors = []
    if counts.directives > max_directives:
        errors.append(_error(f"{counts.directives} directives found. Allowed: {max_directives}"))
    if counts.crowded is not None:
        errors.append(_error(f"More than {MAX_DIRECTIVES_PER_LOCATION} directives in one place",
                             counts.crowded))
    if counts.duplicate is not None and counts.duplicate[1] > max_duplicate_fields:
        key, count, node = counts.duplicate
        errors.append(_error(f"'{key}' is selected {count} times in one selection set. "
                             f"Allowed: {max_duplicate_fields}", node))
    return errors


@dataclass
class _Entry:
    document: DocumentNode
    valid_for: Hashable = None  # the validation rules the document passed, with these limits
    costs: dict[Hashable, int] = field(default_factory=dict)


class DocumentCache:
    """What one schema learned about document texts: a bounded LRU shared by all its requests."""

    def __init__(self, maxsize: int = CACHED_DOCUMENTS):
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()

    @staticmethod
    def key(context: Any) -> Hashable | None:
        """The text and parse options of the request; None when it is not to be cached."""
        text = context.query
        if not isinstance(text, str) or len(text) > MAX_CACHED_TEXT:
            return None
        options = context.parse_options
        return (text, tuple(sorted(options.items()))) if options else text

    def get(self, key: Hashable | None) -> _Entry | None:
        if key is None:
            return None
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, document: DocumentNode) -> _Entry:
        entry = self._entries[key] = _Entry(document)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._entries)


class CachedDocuments(SchemaExtension):
    """Parses a document text once, and skips the checks of a text that already passed them (listed before
    `DocumentLimits`; validation rules are fixed per schema, so a text valid once stays valid)."""

    def __init__(self, cache: DocumentCache):
        self.cache = cache
        self.entry: _Entry | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        key = self.cache.key(context) if context.graphql_document is None else None
        self.entry = self.cache.get(key)
        if self.entry is not None:
            context.graphql_document = self.entry.document
        yield
        if key is not None and self.entry is None and context.graphql_document is not None:
            self.entry = self.cache.put(key, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry, rules = self.entry, context.validation_rules
        if entry is not None and entry.valid_for is not None and entry.valid_for == rules \
                and context.pre_execution_errors is None:
            context.pre_execution_errors = []  # checked before: Strawberry and DocumentLimits skip it
            yield
            return
        yield
        if entry is not None and context.pre_execution_errors == []:  # validated, without errors
            entry.valid_for = rules


def _shape(variables: Mapping[str, Any] | None) -> Hashable:
    """What the cost estimate can read of the variables: integers and booleans as they are, lists by their
    length; other values only by their name (`_Cost.value` reads a variable only where an argument is that
    variable)."""
    out: list[tuple[str, str, int | None]] = []
    for name, value in sorted((variables or {}).items()):
        if isinstance(value, bool):
            out.append((name, "b", value))
        elif isinstance(value, int):
            out.append((name, "i", value))
        elif isinstance(value, list):
            out.append((name, "l", len(value)))
        else:
            out.append((name, "", None))
    return tuple(out)


class DocumentLimits(SchemaExtension):
    """Refuses directive and duplicate-field overloading before validation runs."""

    def __init__(self, *, max_directives: int, max_duplicate_fields: int):
        self.max_directives = max_directives
        self.max_duplicate_fields = max_duplicate_fields

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            errors = document_errors(context.graphql_document, max_directives=self.max_directives,
                                     max_duplicate_fields=self.max_duplicate_fields)
            if errors:
                context.pre_execution_errors = errors  # Strawberry then skips validation and answers these
        yield


# --- cost --------------------------------------------------------------------------------------------------


class _Cost:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None,
                 max_page: int):
        self.schema = schema
        self.variables = variables or {}
        self.max_page = max_page
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def value(self, node: ValueNode | None) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        if isinstance(node, BooleanValueNode):
            return node.value
        return None

    def argument(self, node: FieldNode | DirectiveNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self.value(argument.value)
        return None

    def included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name in ("skip", "include"):
                condition = self.argument(directive, "if")
                if condition is (name == "skip"):
                    return False
        return True

    def page(self, field: FieldNode) -> int:
        size = None
        for name in ("first", "last"):
            value = self.argument(field, name)
            if isinstance(value, int) and not isinstance(value, bool):
                size = value if size is None else max(size, value)
        return max(0, min(DEFAULT_PAGE if size is None else size, self.max_page))

    def multiplier(self, field: FieldNode, field_type: GraphQLOutputType, parent: GraphQLNamedType) -> int:
        named = get_named_type(field_type)
        if _is_connection(named):
            return self.page(field)
        if _is_list(field_type):
            if _is_connection(parent) and field.name.value == "edges":
                return 1  # the connection already counted its page
            ids = self.argument(field, "ids")
            return len(ids) if isinstance(ids, list) else LIST_SIZE
        return 1

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, target or parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selections(fragment.selection_set, target or parent)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        inner = self.selections(node.selection_set, get_named_type(definition.type))
        return 1 + self.multiplier(node, definition.type, parent) * inner


def _is_list(field_type: GraphQLOutputType) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _is_connection(named: GraphQLNamedType | None) -> bool:
    return isinstance(named, GraphQLObjectType) and "edges" in named.fields and "pageInfo" in named.fields


def estimate_cost(schema: GraphQLSchema, document: DocumentNode, *, operation_name: str | None = None,
                  variables: Mapping[str, Any] | None = None, max_page: int = MAX_PAGE) -> int:
    """The estimated cost of the operation to run (a valid document is assumed)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if not operations:
        return 0
    operation = operations[0]
    root = {OperationType.QUERY: schema.query_type, OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type}[operation.operation]
    if root is None:
        return 0
    return _Cost(schema, document, variables, max_page).selections(operation.selection_set, root)


class QueryCost(SchemaExtension):
    """Refuses a query or mutation whose estimated cost is over `max_cost`, before anything resolves."""

    def __init__(self, *, max_cost: int, max_page: int = MAX_PAGE, cache: DocumentCache | None = None):
        self.max_cost = max_cost
        self.max_page = max_page
        self.cache = cache

    def on_execute(self) -> Iterator[None]:
        from graphql import ExecutionResult as GraphQLExecutionResult

        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None and self.max_cost > 0 \
                and context.operation_type is not StrawberryOperationType.SUBSCRIPTION:
            cost = self._cost(context, document)
            if cost > self.max_cost:
                context.result = GraphQLExecutionResult(data=None, errors=[_error(
                    f"Query cost {cost} exceeds the maximum of {self.max_cost}: ask for smaller pages "
                    f"(`first`/`last`) or fewer nested lists", cost=cost, maxCost=self.max_cost)])
        yield

    def _cost(self, context: Any, document: DocumentNode) -> int:
        entry = self.cache.get(self.cache.key(context)) if self.cache is not None else None
        key = (context.operation_name, _shape(context.variables)) if entry is not None else None
        cost = entry.costs.get(key) if entry is not None and entry.document is document else None
        if cost is None:
            cost = estimate_cost(context.schema._schema, document, operation_name=context.operation_name,
                                 variables=context.variables, max_page=self.max_page)
            if entry is not None and entry.document is document and len(entry.costs) < CACHED_COSTS:
                entry.costs[key] = cost
        return cost
