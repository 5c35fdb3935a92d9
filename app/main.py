"""create_app(settings) -> Starlette. The lifespan owns the engine, Redis, the arq pool and the event hub."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app import metrics
from app.config import Settings, get_settings
from app.graphql.graphiql import graphiql_routes
from app.logging import configure_logging, operation_var, request_id_var, user_id_var
from app.privacy.http import export_download
from app.resources import Resources, build_resources

log = logging.getLogger("florin.api")
access_log = logging.getLogger("florin.access")

REQUEST_ID = re.compile(r"[^A-Za-z0-9._:-]")
LOCALHOST_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\]|[a-z0-9-]+\.localhost)(:\d+)?"


class RequestIdMiddleware:
    """Gives every HTTP request an id (from `X-Request-Id` or new), logged and echoed back."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = REQUEST_ID.sub("", (headers.get(b"x-request-id") or b"").decode("latin-1"))[:64]
        request_id = given or uuid.uuid4().hex
        request_id_var.set(request_id)
        user_id_var.set(None)
        operation_var.set(None)

        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info("%s %s %s", scope.get("method"), scope.get("path"), status, extra={"fields": {
                "status": status, "ms": round((time.perf_counter() - started) * 1000, 1)}})


async def start_embedded(settings: Settings, stack: AsyncExitStack) -> Settings:
    """Fill in missing URLs by starting embedded Postgres and/or Redis under `data_dir`."""
    from app.embedded import EmbeddedPostgres, EmbeddedRedis

    updates: dict[str, Any] = {}
    if not settings.database_url:
        pg = EmbeddedPostgres(settings.data_dir / "pg")
        updates["database_url"] = pg.start()
        stack.callback(pg.stop)
    if not settings.redis_url:
        redis = EmbeddedRedis(settings.data_dir / "redis")
        updates["redis_url"] = redis.start()
        stack.callback(redis.stop)
    return settings.model_copy(update=updates) if updates else settings


async def _recover_chat(resources: Resources) -> None:
    """Chat replies cut off when an API process died become FAILED now (see `app.chat.service`)."""
    from app.chat.service import recover

    try:
        await recover(resources)
    except Exception:  # noqa: BLE001 - the next chatSend of each user retries; never block the start
        log.exception("could not mark interrupted chat replies as failed")


def create_app(settings: Settings | None = None, *, resources: Resources | None = None) -> Starlette:
    """The ASGI app. Given `resources`, the app uses them and leaves closing them to the caller."""
    settings = settings or (resources.settings if resources else get_settings())
    from app.graphql.schema import schema_for
    from app.graphql.view import FlorinGraphQL

    schema = schema_for(settings)
    state: dict[str, Any] = {}

    class LazyGraphQL:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await state["graphql"](scope, receive, send)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            res = resources
            if res is None:
                resolved = await start_embedded(settings, stack)
                res = await build_resources(resolved)
                stack.push_async_callback(res.close)
                await _recover_chat(res)
            app.state.resources = res
            metrics.instrument_engine(res.engine)
            state["graphql"] = FlorinGraphQL(schema, res)
            log.info("api ready")
            yield

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> JSONResponse:
        res: Resources = request.app.state.resources
        checks: dict[str, str] = {}
        try:
            async with res.engine.connect() as conn:
                await conn.execute(sa.text("select 1"))
            checks["postgres"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["postgres"] = f"error: {type(exc).__name__}"
        try:
            await res.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = await metrics.render(request.app.state.resources)
        return Response(body, headers={"Content-Type": content_type})

    graphql = LazyGraphQL()
    if resources is not None:  # ready at once: tests can drive the app without running its lifespan
        metrics.instrument_engine(resources.engine)
        state["graphql"] = FlorinGraphQL(schema, resources)
    cors: dict[str, Any] = {"allow_methods": ["GET", "POST", "OPTIONS"], "allow_headers": ["*"],
                            "allow_credentials": True, "max_age": 600}
    if settings.allowed_origins:
        cors["allow_origins"] = settings.allowed_origins
    elif not settings.is_production:
        cors["allow_origin_regex"] = LOCALHOST_ORIGINS
    starlette = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST", "OPTIONS"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/exports/{export_id}", export_download, methods=["GET"]),
            *(graphiql_routes() if settings.graphiql_enabled else []),
        ],
        middleware=[Middleware(RequestIdMiddleware), Middleware(CORSMiddleware, **cors)],
        lifespan=lifespan,
    )
    if resources is not None:
        starlette.state.resources = resources
    return starlette


def app() -> Starlette:
    """Factory for `uvicorn --factory app.main:app`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
