"""A Fi-compatible MCP server for the tests, written with the same `mcp` SDK as Florin's client.

It speaks what shared/FI_MCP.md describes: MCP over streamable HTTP at `/mcp/stream` (POST answers JSON),
tools without arguments that answer one text block of JSON, and the login flow: until the session (its
`Mcp-Session-Id`) has logged in, every tool answers `{"status": "login_required", "login_url":
"http://127.0.0.1:PORT/mockWebPage?sessionId=…", "message": …}`; the page posts `sessionId` and
`phoneNumber` to `/login` (tests post there directly), and from then on the same session gets the data.
Sessions and logins live in memory, as on the real server: `restart()` forgets them.

The data is the JSON in tests/fixtures/fi_mcp/, written for Florin in the documented shapes (see the
README there); tests may replace a tool's answer (`server.data[...]`) or make a tool fail (`server.fail`).
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

FIXTURES = Path(__file__).parent / "fixtures" / "fi_mcp"
TOOLS = ("fetch_net_worth", "fetch_bank_transactions", "fetch_credit_report", "fetch_epf_details",
         "fetch_mf_transactions", "fetch_stock_transactions")
PHONE = "9990001234"


def load_fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


class FiServer:
    """The server on 127.0.0.1:`port` in a thread (uvicorn); `url` is the MCP endpoint Florin connects to."""

    def __init__(self, port: int | None = None):
        self.port = port or _free_port()
        self.data: dict[str, dict[str, Any]] = {name: load_fixture(name) for name in TOOLS}
        self.fail: dict[str, str] = {}
        """Tool name -> message: that tool raises (the client sees a tool error)."""
        self.logged_in: dict[str, str] = {}
        self.calls: list[tuple[str, str | None]] = []
        """(tool, session id) of every tool call, in order."""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/mcp/stream"

    # --- what a user does in the browser ----------------------------------------------------------------

    def login(self, session_id: str, phone: str = PHONE) -> httpx.Response:
        """What the login page posts."""
        return httpx.post(f"{self.base_url}/login", data={"sessionId": session_id, "phoneNumber": phone})

    def login_at(self, login_url: str, phone: str = PHONE) -> httpx.Response:
        """Open the login URL (as a browser would) and submit the phone number."""
        page = httpx.get(login_url)
        assert page.status_code == 200, page.text
        session_id = httpx.URL(login_url).params["sessionId"]
        return self.login(session_id, phone)

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FiServer:
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"fi-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Fi test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        self._server = self._thread = None

    def restart(self) -> None:
        """Stop and start again on the same port: every session and login is forgotten."""
        self.stop()
        self.logged_in.clear()
        self.start()

    def __enter__(self) -> FiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the app ----------------------------------------------------------------------------------------

    def _app(self) -> Any:
        mcp = MCPServer("fi-mcp-for-florin-tests", version="0.1.0")
        for name in TOOLS:
            mcp.tool(name=name, description=f"{name} (no arguments)", structured_output=False)(self._tool(name))

        @mcp.custom_route("/mockWebPage", methods=["GET"])
        async def page(request: Request) -> Response:
            session_id = request.query_params.get("sessionId", "")
            return HTMLResponse(f"""<!doctype html><title>Fi login</title><form method="post" action="/login">
<input type="hidden" name="sessionId" value="{session_id}"><input name="phoneNumber"><input name="otp">
<button>Log in</button></form>""")

        @mcp.custom_route("/login", methods=["POST"])
        async def login(request: Request) -> Response:
            form = await request.form()
            session_id = str(form.get("sessionId") or "")
            phone = str(form.get("phoneNumber") or "")
            if not session_id or not (phone.isdigit() and len(phone) == 10):
                return JSONResponse({"error": "sessionId and a 10-digit phoneNumber are required"}, status_code=400)
            self.logged_in[session_id] = phone
            return HTMLResponse("<!doctype html><title>Fi login</title><p>Login successful</p>")

        return mcp.streamable_http_app(streamable_http_path="/mcp/stream", json_response=True)

    def _tool(self, name: str) -> Any:
        async def tool(ctx: Context) -> str:
            session_id = (ctx.headers or {}).get("mcp-session-id")
            self.calls.append((name, session_id))
            if name in self.fail:
                raise RuntimeError(self.fail[name])
            if session_id is None or session_id not in self.logged_in:
                return json.dumps({"status": "login_required",
                                   "login_url": f"{self.base_url}/mockWebPage?sessionId={session_id}",
                                   "message": "Needs to login first by going to the login url.\n"
                                              "Show the login url as clickable link if client supports it."})
            return json.dumps(copy.deepcopy(self.data.get(name) or {}))

        tool.__name__ = name
        return tool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- helpers for tests that sync through GraphQL ------------------------------------------------------------

CONNECTION_FIELDS = """id provider name url status loginUrl lastSyncedAt lastError
  accounts { id name kind classification currency institution mask balance { amount currency }
             openingBalance { amount } openingDate }
  lastRun { id state added updated duplicates errors error windowStart windowEnd }"""
CONNECTION_CREATE = ("mutation($input: ConnectionCreateInput!) { connectionCreate(input: $input) { connection { "
                     + CONNECTION_FIELDS + " } errors { field message code } } }")
CONNECTION_SYNC = """mutation($input: ConnectionSyncInput!) { connectionSync(input: $input) {
  run { id state kind connectionId windowStart windowEnd } connection { id status }
  errors { field message code } } }"""
CONNECTION_DELETE = """mutation($input: ConnectionDeleteInput!) { connectionDelete(input: $input) {
  deletedId errors { field message code } } }"""
CONNECTION = "query($id: ID!) { connection(id: $id) { " + CONNECTION_FIELDS + " } }"
RUN = """query($id: ID!) { node(id: $id) { ... on SyncRun { id state added updated duplicates errors error
  windowStart windowEnd attempts } } }"""


async def create_connection(gql: Any, token: str, url: str, **extra: Any) -> dict[str, Any]:
    payload = (await gql(CONNECTION_CREATE, {"input": {"provider": "FI_MCP", "url": url, **extra}},
                         token=token)).ok()["connectionCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["connection"]  # type: ignore[no-any-return]


async def request_sync(gql: Any, token: str, connection_id: str, **extra: Any) -> dict[str, Any]:
    payload = (await gql(CONNECTION_SYNC, {"input": {"connectionId": connection_id, **extra}},
                         token=token)).ok()["connectionSync"]
    assert payload["errors"] == [], payload["errors"]
    return payload["run"]  # type: ignore[no-any-return]


async def run_jobs(resources: Any, connection_id: str) -> None:
    """What the worker does for the connection's queued job: the `sync_connection` job body."""
    from app.graphql.node import from_global_id
    from worker.sync_jobs import sync_connection

    decoded = from_global_id(connection_id)
    assert decoded is not None and decoded[0] == "Connection"
    await sync_connection({"resources": resources, "job_try": 1}, str(decoded[1]))


async def sync(gql: Any, resources: Any, token: str, connection_id: str, **window: Any) -> dict[str, Any]:
    """connectionSync, then the job; the run as it ended."""
    run = await request_sync(gql, token, connection_id, **window)
    await run_jobs(resources, connection_id)
    return (await gql(RUN, {"id": run["id"]}, token=token)).ok()["node"]  # type: ignore[no-any-return]


async def connection(gql: Any, token: str, connection_id: str) -> dict[str, Any]:
    return (await gql(CONNECTION, {"id": connection_id}, token=token)).ok()["connection"]  # type: ignore[no-any-return]
