"""The typed per-request context: principal, loaders, resources, request origin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.auth.service import AuthConfig, Origin
from app.db import read_sessions
from app.errors import AuthError
from app.graphql.errors import Forbidden, Unauthenticated
from app.graphql.loaders import Loaders
from app.resources import Resources


@dataclass
class Context:
    resources: Resources
    principal: Principal | None = None
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    origin: Origin = field(default_factory=Origin)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(default_factory=Loaders)

    @property
    def settings(self) -> Any:
        return self.resources.settings

    def read_session(self) -> AsyncSession:
        """A session to read with, in autocommit (`app.db.read_sessions`): no BEGIN and ROLLBACK around the
        read. Never write with it; mutations use `unit_of_work`."""
        return read_sessions(self.resources.sessionmaker)()

    @property
    def auth_config(self) -> AuthConfig:
        return auth_config(self.resources)

    def viewer(self) -> Principal:
        """The caller, or a top-level UNAUTHENTICATED error."""
        if self.principal is None:
            raise Unauthenticated(self.auth_error or "Authentication required")
        return self.principal

    def writer(self) -> Principal:
        """The caller allowed to change data; a READ token gets a top-level FORBIDDEN."""
        principal = self.viewer()
        if not principal.can_write:
            raise Forbidden("This token may only read")
        return principal


Info = strawberry.Info[Context, None]


def auth_config(resources: Resources) -> AuthConfig:
    return AuthConfig.from_settings(resources.settings)


async def authenticate_bearer(resources: Resources, header: str | None) -> tuple[Principal | None, str | None]:
    """(principal, error message) from an `Authorization` value; (None, None) when none was sent."""
    from app.auth.service import authenticate

    if not header:
        return None, None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, "Authorization must be `Bearer <token>`"
    try:
        async with read_sessions(resources.sessionmaker)() as session:
            return await authenticate(session, secret=auth_config(resources).secret, token=token.strip()), None
    except AuthError as exc:
        return None, f"Invalid or expired token ({exc})"


async def build_context(resources: Resources, *, authorization: str | None = None,
                        principal: Principal | None = None, request: Any = None, response: Any = None,
                        origin: Origin | None = None) -> Context:
    """The one context builder, used by the view and by tests."""
    error = None
    if principal is None and authorization:
        principal, error = await authenticate_bearer(resources, authorization)
    return Context(resources=resources, principal=principal, auth_error=error, request=request,
                   response=response, origin=origin or Origin())
