"""The GraphQL endpoint: HTTP, WebSocket (graphql-transport-ws) and the self-hosted GraphiQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from contextlib import suppress
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage

from app import metrics
from app.auth.service import Origin
from app.graphql.context import Context, authenticate_bearer, build_context
from app.graphql.errors import unavailable_error
from app.graphql.graphiql import render_graphiql
from app.logging import operation_var, request_id_var, user_id_var
from app.ratelimit import Decision, RateLimiter
from app.resources import UNAVAILABLE_RETRY_AFTER, Resources, unavailable

log = logging.getLogger("florin.ws")

# A multipart POST is a "simple" request a foreign page can send with the user's cookies; one that carries a
# custom header cannot be sent without a CORS preflight, which only allowed origins pass.
PREFLIGHT_HEADERS = ("graphql-require-preflight", "apollo-require-preflight", "x-apollo-operation-name")


class TooManyRequests(Exception):
    """Raised while building the context of a user over their operation limit."""

    def __init__(self, decision: Decision):
        super().__init__("Too many requests")
        self.decision = decision


def rate_limited_error(decision: Decision) -> dict[str, Any]:
    """The top-level error of a refused operation (the same shape as `RateLimited` in a result)."""
    return {"message": f"Too many requests; retry in {decision.retry_after} s",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": decision.retry_after}}


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
            try:
                principal, _error = await authenticate_bearer(context.resources, header)
            except Exception as exc:
                if (server := unavailable(exc)) is None:
                    raise
                log.warning("%s unavailable at connection_init: %s", server, type(exc).__name__)
                await self.websocket.close(code=1013, reason="Try again later")  # RFC 6455: try again later
                return
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

    async def handle_subscribe(self, message: Any) -> None:
        """Every operation over the socket counts against its user's rate limit."""
        context: Context = self.context
        if self.connection_acknowledged and context.principal is not None and isinstance(message, dict) \
                and isinstance(message.get("id"), str) and message["id"] not in self.operations:
            decision = await RateLimiter.for_resources(context.resources).hit_user(context.principal.user_id)
            if not decision.allowed:
                refusal: ErrorMessage = {"id": message["id"], "type": "error",
                                         "payload": [rate_limited_error(decision)]}  # type: ignore[list-item]
                await self.send_message(refusal)
                return
        await super().handle_subscribe(message)

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
        self.limiter = RateLimiter.for_resources(resources)  # built once (it registers its Lua script)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HTTP: the strawberry view, plus request metrics, the 429 answer of a user over their limit, and the 503
        answer (UNAVAILABLE) when Postgres or Redis is down before the operation could run."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        stats = metrics.RequestStats()
        token = metrics.request_stats.set(stats)
        response: Response
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            stats.outcome = f"http_{exc.status_code}"
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        except TooManyRequests as exc:
            stats.outcome = "rate_limited"
            response = JSONResponse({"errors": [rate_limited_error(exc.decision)]}, status_code=429,
                                    headers={"Retry-After": str(exc.decision.retry_after)})
        except Exception as exc:  # Postgres or Redis down before the operation ran (authenticating its token)
            if (server := unavailable(exc)) is None:
                raise
            log.warning("%s unavailable: %s", server, type(exc).__name__)
            stats.outcome = "unavailable"
            response = JSONResponse({"errors": [unavailable_error()]}, status_code=503,
                                    headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})
        finally:
            metrics.request_stats.reset(token)
        if isinstance(response, HTMLResponse):  # the GraphiQL page is no operation
            stats.outcome = "ide"
        metrics.observe_request(stats, time.perf_counter() - stats.started)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """JSON of a response or a WebSocket message, with orjson (about ten times faster than `json.dumps`).
        A string, so WebSocket messages stay text frames; what orjson refuses (an integer over 64 bits, a key
        that is no string) goes through `json.dumps` as before."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:  # type: ignore[override]
        client = request.client.host if request.client else None
        origin = Origin(ip=client, user_agent=request.headers.get("user-agent"))
        if isinstance(request, WebSocket):
            return Context(resources=self.resources, request=request, response=response, origin=origin)
        context = await build_context(self.resources, authorization=request.headers.get("authorization"),
                                      request=request, response=response, origin=origin)
        context.request_id = request_id_var.get() or context.request_id  # the id the middleware logs and echoes
        request_id_var.set(context.request_id)
        user_id_var.set(str(context.principal.user_id) if context.principal else None)
        if context.principal is not None:
            decision = await self.limiter.hit_user(context.principal.user_id)
            if not decision.allowed:
                raise TooManyRequests(decision)
        return context

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        """JSON bodies, and multipart ones only with a preflight header (CSRF); form-encoded and text/plain
        bodies are refused by Strawberry itself."""
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and content_type == "multipart/form-data" and not any(
                request.headers.get(name) for name in PREFLIGHT_HEADERS):
            raise HTTPException(400, "Multipart requests need a `GraphQL-Require-Preflight` header")
        return await super().parse_http_body(request)

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
