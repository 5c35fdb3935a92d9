"""UserError for payloads, top-level error codes, and masking of unexpected errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

from app.errors import AuthError, DomainError, DomainErrors, PermissionDenied
from app.errors import ErrorCode as DomainErrorCode
from app.resources import UNAVAILABLE_RETRY_AFTER, unavailable

log = logging.getLogger("florin.graphql")

ErrorCode = strawberry.enum(DomainErrorCode, name="ErrorCode", description="Why a mutation input was refused.")

# Descriptions shared by the inputs and payloads of every domain.
IDEMPOTENCY_KEY = "Optional key for safe retries: the same key with the same input returns the first result and " \
                  "writes nothing; with another input it is CONFLICT."
ERRORS = "Why the input was refused; empty on success."


@strawberry.type(description="An expected failure of a mutation: bad input, not found, conflict.")
class UserError:
    field: str | None = strawberry.field(description="camelCase path of the input field, e.g. `lines.2.limit`.")
    message: str = strawberry.field(description="A human-readable explanation.")
    code: ErrorCode = strawberry.field(description="A stable machine-readable code.")  # type: ignore[valid-type]


def user_errors(exc: DomainError | DomainErrors) -> list[UserError]:
    items = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return [UserError(field=e.field, message=e.message, code=e.code) for e in items]


class TopLevelError(Exception):
    """An error with a stable `extensions.code` that is shown to clients as is."""

    code = "INTERNAL"

    def __init__(self, message: str, **extra: object):
        super().__init__(message)
        self.extensions = {"code": self.code, **extra}


class Unauthenticated(TopLevelError):
    code = "UNAUTHENTICATED"


class Forbidden(TopLevelError):
    code = "FORBIDDEN"


class BadUserInput(TopLevelError):
    code = "BAD_USER_INPUT"


class RateLimited(TopLevelError):
    code = "RATE_LIMITED"


_SHOWN = (TopLevelError,)

UNAVAILABLE_MESSAGE = f"Service temporarily unavailable; retry in {UNAVAILABLE_RETRY_AFTER} s"


def unavailable_error() -> dict[str, Any]:
    """The top-level error of an operation that could not run because Postgres or Redis is down (the same
    shape as a resolver's UNAVAILABLE error)."""
    return {"message": UNAVAILABLE_MESSAGE,
            "extensions": {"code": "UNAVAILABLE", "retryAfter": UNAVAILABLE_RETRY_AFTER}}


SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Strawberry's message for an explicit null where `Maybe[T]` wants a value or nothing names Python types
MAYBE_NULL = re.compile(r"Expected value of type '.*?', found null\. (Argument|Field) '(\w+)' of type 'Maybe\[.*?\]' "
                        r"cannot be explicitly set to null\. Use 'Maybe\[.*?\]' if you need to allow null values\.")


def _client_message(message: str) -> str:
    return MAYBE_NULL.sub(r"\1 '\2' cannot be null: leave it out to keep the current value.", message)


class FlorinErrors(SchemaExtension):
    """Give every error an `extensions.code`; mask unexpected ones as INTERNAL and log them. With
    `hide_suggestions` (production), "Did you mean …?" hints, which leak the schema, are cut from messages."""

    def __init__(self, *, hide_suggestions: bool = False):
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        self._process_result(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:  # type: ignore[override]
        """Each result of a stream (subscriptions and operations over WebSocket) before it is sent."""
        self._process_result(result)
        yield

    def _process_result(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [self._process(error) for error in errors]
            for error in result.errors:
                error.message = _client_message(error.message)
            if self.hide_suggestions:
                for error in result.errors:
                    error.message = SUGGESTION.sub("", error.message)

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            return error
        if isinstance(original, _SHOWN):
            return error
        if isinstance(original, AuthError):
            return _with_code(error, "Authentication required", "UNAUTHENTICATED")
        if isinstance(original, PermissionDenied):
            return _with_code(error, str(original) or "Forbidden", "FORBIDDEN")
        if isinstance(original, GraphQLError):  # graphql-core's own (variable values that do not coerce)
            return _with_code(error, error.message, "BAD_USER_INPUT")
        if isinstance(original, StrawberryInputCoercionError):
            return _with_code(error, str(original), "BAD_USER_INPUT")
        if isinstance(original, DomainError | DomainErrors):
            # A domain error that escaped a payload is still the user's doing, never a masked bug.
            return _with_code(error, str(original), "BAD_USER_INPUT")
        path = ".".join(map(str, error.path or []))
        if (server := unavailable(original)) is not None:  # not a bug: a server is down or restarting
            log.warning("%s unavailable in %s: %s", server, path, type(original).__name__)
            return _with_code(error, UNAVAILABLE_MESSAGE, "UNAVAILABLE", retryAfter=UNAVAILABLE_RETRY_AFTER)
        log.error("unexpected error in %s", path, exc_info=original)
        return _with_code(error, "Internal server error", "INTERNAL")


def _with_code(error: GraphQLError, message: str, code: str, **extra: Any) -> GraphQLError:
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None, extensions={"code": code, **extra})
