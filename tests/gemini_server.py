"""A local server speaking the Gemini (Vertex AI) REST protocol, for the tests of `app/ai/gemini.py`.

It answers `POST /v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent` (one JSON
`GenerateContentResponse`) and `:streamGenerateContent?alt=sse` (one `data: {GenerateContentResponse}` event
per chunk), in the real format: `candidates[].content.parts` (text or `functionCall {name, args}` with a
`thoughtSignature`), `finishReason`, `usageMetadata`.

Before answering it checks the request as Gemini does (see `tests/gemini_validation.py`) and refuses a
malformed one with HTTP 400 and Google's error body, so a test passes only if the client sent what a real
endpoint accepts. The answers are scripted per test: `server.script` is a queue of `Reply`, `Status` (an
HTTP error such as 429) and `Stall` (no answer for a while: the client times out); every request, accepted
or not, is recorded in `server.received`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.gemini_validation import call_key, check_request

TOKEN = "test-token"
PROJECT = "florin-test"
LOCATION = "europe-west1"
MODEL = "gemini-2.5-flash"
PREFIX = "/v1beta1/projects/{project}/locations/{location}/publishers/google/models/"


@dataclass
class Reply:
    """One model answer: `chunks` are lists of parts, one list per streamed chunk (merged when not streamed);
    the last chunk carries `finish` and the token counts."""

    chunks: list[list[dict[str, Any]]]
    prompt_tokens: int = 12
    output_tokens: int = 7
    finish: str = "STOP"
    stall_after: int | None = None
    """Stop sending for `stall_seconds` after this many chunks (a stream that hangs midway)."""
    stall_seconds: float = 3.0


@dataclass
class Status:
    """An HTTP error in Google's format; 429 RESOURCE_EXHAUSTED by default."""

    code: int = 429
    status: str = "RESOURCE_EXHAUSTED"
    message: str = "Resource exhausted. Please try again later."


@dataclass
class Stall:
    """Send nothing for `seconds`, then a short text answer (the client gave up long before)."""

    seconds: float = 3.0


@dataclass
class Raw:
    """A body sent as it is, e.g. a malformed response."""

    body: str
    status: int = 200
    content_type: str = "application/json"


def text(*chunks: str, prompt_tokens: int = 12, output_tokens: int = 7) -> Reply:
    return Reply([[{"text": chunk}] for chunk in chunks], prompt_tokens, output_tokens)


def json_reply(value: Any, prompt_tokens: int = 40, output_tokens: int = 25) -> Reply:
    """A structured-output answer: the JSON text of `value` in one text part (what Gemini sends for a request
    with `responseMimeType: application/json`)."""
    return Reply([[{"text": json.dumps(value)}]], prompt_tokens, output_tokens)


def calls(*wanted: tuple[str, dict[str, Any]], before: str | None = None, prompt_tokens: int = 20,
          output_tokens: int = 9) -> Reply:
    """A round asking for function calls (all in one chunk, as Gemini sends them), after an optional text."""
    chunks: list[list[dict[str, Any]]] = [[{"text": before}]] if before else []
    chunks.append([{"functionCall": {"name": name, "args": args}} for name, args in wanted])
    return Reply(chunks, prompt_tokens, output_tokens)


@dataclass
class Received:
    path: str
    model: str
    stream: bool
    headers: dict[str, str]
    body: Any
    status: int = 200
    error: str | None = None


@dataclass
class GeminiServer:
    """The server on 127.0.0.1 in a thread (uvicorn); point the SDK's `base_url` at `base_url`."""

    token: str = TOKEN
    project: str = PROJECT
    location: str = LOCATION
    models: tuple[str, ...] = (MODEL,)
    require_system: bool = False
    """Refuse a request without `systemInstruction` (what the assistant must always send)."""
    require_signatures: bool = True
    """Refuse a function call of the current turn sent back without the thought signature it was given
    (Gemini 3 does; Gemini 2.5 only recommends it)."""
    script: deque[Reply | Status | Stall | Raw] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> list[Received]:
        return [item for item in self.received if item.status == 200]

    def reset(self) -> None:
        self.script.clear()
        self.received.clear()
        self.signatures.clear()
        self.require_system = False
        self.require_signatures = True

    def start(self) -> GeminiServer:
        self.port = self.port or _free_port()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"gemini-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Gemini test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        self._server = self._thread = None

    def __enter__(self) -> GeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the protocol ---------------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        prefix = PREFIX.format(project=self.project, location=self.location)
        raw = await request.body()
        record = Received(path=path, model="", stream=False, headers=dict(request.headers), body=None)
        self.received.append(record)
        if request.method != "POST" or not path.startswith(prefix) or ":" not in path[len(prefix):]:
            return self._error(record, 404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")
        record.model, method = path[len(prefix):].rsplit(":", 1)
        if method not in ("generateContent", "streamGenerateContent"):
            return self._error(record, 404, "NOT_FOUND", f"Method {method} not found.")
        record.stream = method == "streamGenerateContent"
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(record, 401, "UNAUTHENTICATED",
                               "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                               "login cookie or other valid authentication credential.")
        if record.model not in self.models:
            return self._error(record, 404, "NOT_FOUND",
                               f"Publisher Model `{path[len('/v1beta1/'):].rsplit(':', 1)[0]}` was not found "
                               "or your project does not have access to it.")
        if record.stream and request.query_params.get("alt") != "sse":
            return self._error(record, 400, "INVALID_ARGUMENT", "streamGenerateContent is served as SSE (alt=sse).")
        try:
            record.body = json.loads(raw)
        except ValueError:
            return self._error(record, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem = check_request(record.body, require_system=self.require_system,
                                signatures=self.signatures if self.require_signatures else None)
        if problem is not None:
            return self._error(record, 400, "INVALID_ARGUMENT", problem)
        if not self.script:
            return self._error(record, 500, "INTERNAL", "the test script has no answer left")
        return await self._answer(record, self.script.popleft())

    async def _answer(self, record: Received, item: Reply | Status | Stall | Raw) -> Response:
        if isinstance(item, Status):
            return self._error(record, item.code, item.status, item.message)
        if isinstance(item, Raw):
            record.status = item.status
            return Response(item.body, status_code=item.status, media_type=item.content_type)
        if isinstance(item, Stall):
            await asyncio.sleep(item.seconds)
            item = text("late")
        chunks = [self._chunk(record, parts, item, last=index == len(item.chunks) - 1)
                  for index, parts in enumerate(item.chunks)]
        if not record.stream:
            merged = chunks[-1]
            merged["candidates"][0]["content"]["parts"] = [part for chunk in chunks
                                                           for part in chunk["candidates"][0]["content"]["parts"]]
            return JSONResponse(merged)

        async def events() -> Any:
            for index, chunk in enumerate(chunks):
                if item.stall_after is not None and index == item.stall_after:
                    await asyncio.sleep(item.stall_seconds)
                yield f"data: {json.dumps(chunk)}\r\n\r\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def _chunk(self, record: Received, parts: list[dict[str, Any]], reply: Reply, *, last: bool) -> dict[str, Any]:
        sent = []
        for part in parts:
            part = dict(part)
            if "functionCall" in part:
                # "++//" in standard base64, "--__" in the URL-safe one the SDK sends back: both must do
                signature = base64.b64encode(b"\xfb\xef\xff" + secrets.token_bytes(15)).decode()
                self.signatures[call_key(part["functionCall"])] = signature
                part["thoughtSignature"] = signature
            sent.append(part)
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": sent}}
        chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": record.model,
                                 "createTime": "2026-11-21T10:00:00.000000Z", "responseId": secrets.token_hex(8)}
        if last:
            candidate["finishReason"] = reply.finish
            chunk["usageMetadata"] = {"promptTokenCount": reply.prompt_tokens,
                                      "candidatesTokenCount": reply.output_tokens,
                                      "totalTokenCount": reply.prompt_tokens + reply.output_tokens,
                                      "trafficType": "ON_DEMAND"}
        else:
            chunk["usageMetadata"] = {"trafficType": "ON_DEMAND"}
        return chunk

    @staticmethod
    def _error(record: Received, code: int, status: str, message: str) -> Response:
        record.status, record.error = code, message
        return JSONResponse({"error": {"code": code, "message": message, "status": status}}, status_code=code)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
