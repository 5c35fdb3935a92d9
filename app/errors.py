"""Domain errors. No GraphQL imports here: `app/graphql/errors.py` maps these to `UserError`s."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """The one shared list of user-error codes (DESIGN §5), extended as features arrive."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    MALFORMED_FILE = "MALFORMED_FILE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"


class DomainError(Exception):
    """An expected failure a user can act on: bad input, not found, conflict.

    `field` is the camelCase path of the input field (``"amount"``, ``"lines.2.limit"``) or None.
    Several errors can travel together through `DomainErrors`.
    """

    code: ErrorCode = ErrorCode.INVALID

    def __init__(self, code: ErrorCode | str | None = None, message: str = "", field: str | None = None):
        if code is not None:
            self.code = ErrorCode(code)
        self.message = message or self.code.value.replace("_", " ").lower()
        self.field = field
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r}, field={self.field!r})"


class DomainErrors(Exception):
    """Several `DomainError`s found while validating one input."""

    def __init__(self, errors: list[DomainError]):
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class InvalidInput(DomainError):
    code = ErrorCode.INVALID


class Required(DomainError):
    code = ErrorCode.REQUIRED


class CurrencyMismatch(DomainError):
    code = ErrorCode.CURRENCY_MISMATCH


class AuthError(Exception):
    """Top-level authentication failure (UNAUTHENTICATED); never a user error in a payload."""


class PermissionDenied(Exception):
    """Top-level FORBIDDEN (a READ token mutating)."""


class Collector:
    """Collects validation errors so one response names every bad field."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, code: ErrorCode | str, message: str, field: str | None = None) -> None:
        self.errors.append(DomainError(code, message, field))

    def extend(self, error: DomainError | DomainErrors) -> None:
        if isinstance(error, DomainErrors):
            self.errors.extend(error.errors)
        else:
            self.errors.append(error)

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise DomainErrors(self.errors)
