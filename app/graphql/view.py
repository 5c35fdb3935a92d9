"""The GraphQL endpoint: HTTP, WebSocket (graphql-transport-ws) and the self-hosted GraphiQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from contextlib import suppress
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from app.auth.service import Origin
from app.graphql.context import Context, authenticate_bearer, build_context
from app.graphql.graphiql import render_graphiql
from app.logging import operation_var, request_id_var, user_id_var
from app.resources import Resources

log = logging.getLogger("florin.ws")


class AuthenticatingWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """Authenticates `connection_init` (`{"authorization": "Bearer …"}`), and closes with 4401 when the
    token is missing, invalid, or expires while the socket is open."""

    _expiry_task: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload") or {}
        context: Context = self.context
        if isinstance(payload, dict) and not self.connection_init_received:
            header = next((v for k, v in payload.items() if k.lower() == "authorization" and isinstance(v, str)),
                          None)
            principal, _error = await authenticate_bearer(context.resources, header)
            if principal is None:
                await self.websocket.close(code=4401, reason="Unauthorized")
                return
            context.principal = principal
            if principal.expires_at is not None:
                self._expiry_task = asyncio.create_task(self._close_at(principal.expires_at))
        await super().handle_connection_init(message)

    async def _close_at(self, when: dt.datetime) -> None:
        await asyncio.sleep(max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()))
        with suppress(Exception):
            await self.websocket.close(code=4401, reason="Token expired")

    async def shutdown(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        await super().shutdown()


class FlorinGraphQL(GraphQL):  # type: ignore[type-arg]
    graphql_transport_ws_handler_class = AuthenticatingWSHandler  # type: ignore[assignment]

    def __init__(self, schema: Any, resources: Resources):
        settings = resources.settings
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            multipart_uploads_enabled=True,
            keep_alive=True,
            keep_alive_interval=15,
            allowed_origins=settings.allowed_origins or (),
        )
        self.resources = resources

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:  # type: ignore[override]
        client = request.client.host if request.client else None
        origin = Origin(ip=client, user_agent=request.headers.get("user-agent"))
        if isinstance(request, WebSocket):
            return Context(resources=self.resources, request=request, response=response, origin=origin)
        context = await build_context(self.resources, authorization=request.headers.get("authorization"),
                                      request=request, response=response, origin=origin)
        request_id_var.set(request.headers.get("x-request-id") or context.request_id)
        user_id_var.set(str(context.principal.user_id) if context.principal else None)
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        if not self.resources.settings.graphiql_enabled:
            return PlainTextResponse("Not Found", status_code=404)
        return HTMLResponse(render_graphiql(request.url.path))

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:  # type: ignore[override]
        """Cross-origin sockets: development allows localhost pages (a React dev server); production, the
        allowlist only."""
        if self.resources.settings.allowed_origins:
            return origin in self.resources.settings.allowed_origins
        return not self.resources.settings.is_production and is_localhost(origin)


def is_localhost(origin: str) -> bool:
    from urllib.parse import urlparse

    host = urlparse(origin).hostname or ""
    return host in {"localhost", "127.0.0.1", "::1"} or host.endswith(".localhost")


__all__ = ["FlorinGraphQL", "operation_var"]
