"""The Fi Money MCP client: tool calls over streamable HTTP with the `mcp` SDK (2.x).

Fi keeps a user's login in server memory, keyed by the MCP session id (`Mcp-Session-Id`, issued by
`initialize`): a tool call on a session that has not logged in answers `{"status": "login_required",
"login_url": …}`, and after the user logs in at that URL the same session returns data. So Florin keeps
the session across syncs:

- A new session runs the `initialize` handshake; the session id is read from the HTTP response headers (an
  `httpx2` response hook) and kept with the server's `InitializeResult` in a `FiSession`, which the sync
  stores encrypted in `connections.credentials`.
- The next sync resumes it without a new handshake (a handshake would open a new, logged-out session): the
  HTTP client sends the stored `Mcp-Session-Id` on every request and `ClientSession.adopt()` installs the
  stored `InitializeResult`. The transport is closed with `terminate_on_close=False`, so the session is
  never deleted by Florin.
- When the server no longer knows the session (it restarted, or it expired: a JSON-RPC error about the
  session, or HTTP 404), one new session is opened; the user then sees NEEDS_LOGIN with the new URL.

Tools take no arguments and answer one text block of JSON. Errors are `LoginRequired` (with the URL and the
session to keep), `ProviderUnavailable` (network, timeout, a server error: worth retrying later) and
`ProviderFailed` (an answer that is not what Fi documents).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

log = logging.getLogger("florin.sync.fi_mcp")

FETCH_NET_WORTH = "fetch_net_worth"
FETCH_BANK_TRANSACTIONS = "fetch_bank_transactions"
SYNC_TOOLS = (FETCH_NET_WORTH, FETCH_BANK_TRANSACTIONS)
MAX_MESSAGE = 500


class FiError(Exception):
    """A sync with Fi that could not finish."""


class ProviderUnavailable(FiError):
    """The server could not be reached or failed on its side; a later try may succeed."""


class ProviderFailed(FiError):
    """The server answered something Florin cannot use (a tool error, text that is not JSON)."""


@dataclass(frozen=True)
class FiSession:
    """What resumes a provider session: its id and the server's answer to `initialize`."""

    session_id: str
    initialize: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "initialize": self.initialize}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FiSession | None:
        session_id, initialize = value.get("session_id"), value.get("initialize")
        if isinstance(session_id, str) and session_id and isinstance(initialize, dict):
            return cls(session_id, initialize)
        return None


class LoginRequired(FiError):
    """The session has not logged in: the user must open `login_url`; keep `session` for the next sync."""

    def __init__(self, login_url: str, message: str, session: FiSession):
        self.login_url = login_url
        self.session = session
        super().__init__(message or "Log in to Fi Money to continue")


class _SessionLost(Exception):
    pass


@dataclass(frozen=True)
class FiReply:
    session: FiSession
    """The session used (a new one when the stored one was lost): store it again."""
    results: dict[str, dict[str, Any]]
    """Each tool's JSON answer by tool name."""


async def fetch(url: str, tools: Sequence[str] = SYNC_TOOLS, *, session: FiSession | None = None,
                call_timeout: float = 60.0) -> FiReply:
    """Call each tool (no arguments) on the stored session, or on a new one when there is none or it was lost."""
    if session is not None:
        try:
            return await _fetch_on(url, tools, session, call_timeout)
        except _SessionLost:
            log.info("the Fi session is no longer known to the server; opening a new one")
    return await _fetch_on(url, tools, None, call_timeout)


async def _fetch_on(url: str, tools: Sequence[str], session: FiSession | None, call_timeout: float) -> FiReply:
    seen: dict[str, str] = {}

    async def remember(response: httpx2.Response) -> None:
        value = response.headers.get(MCP_SESSION_ID)
        if value:
            seen.setdefault("id", value)

    headers = {MCP_SESSION_ID: session.session_id} if session is not None else {}
    outcome: FiReply | BaseException | None = None
    try:
        with anyio.fail_after(call_timeout * (len(tools) + 2)):
            async with (
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(call_timeout),
                                   event_hooks={"response": [remember]}) as http,
                streamable_http_client(url, http_client=http, terminate_on_close=False) as (read, write),
                ClientSession(read, write, read_timeout_seconds=call_timeout) as client,
            ):
                # errors are kept and raised outside the SDK's task groups, which would wrap them in groups
                try:
                    outcome = await _calls(client, tools, session, seen)
                except Exception as exc:
                    outcome = exc
    except Exception as exc:
        if outcome is None:
            outcome = _leaf(exc)
    if isinstance(outcome, FiReply):
        return outcome
    raise _classify(outcome, resumed=session is not None)


async def _calls(client: ClientSession, tools: Sequence[str], session: FiSession | None,
                 seen: dict[str, str]) -> FiReply:
    if session is None:
        result = await client.initialize()
        if "id" not in seen:
            raise ProviderFailed("The Fi server opened no session (no Mcp-Session-Id header).")
        session = FiSession(seen["id"], result.model_dump(mode="json", by_alias=True, exclude_none=True))
    else:
        try:
            client.adopt(types.InitializeResult.model_validate(session.initialize))
        except ValidationError as exc:
            raise _SessionLost() from exc
    results: dict[str, dict[str, Any]] = {}
    for name in tools:
        payload = _payload(name, await client.call_tool(name, {}))
        if payload.get("status") == "login_required":
            login_url = str(payload.get("login_url") or "")
            if not login_url.startswith(("http://", "https://")):
                raise ProviderFailed(f"{name}: login_required without a usable login_url")
            raise LoginRequired(login_url[:1000], str(payload.get("message") or "")[:MAX_MESSAGE], session)
        results[name] = payload
    return FiReply(session, results)


def _payload(name: str, result: types.CallToolResult) -> dict[str, Any]:
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    if result.is_error:
        raise ProviderFailed(f"{name} failed: {' '.join(texts)[:MAX_MESSAGE] or 'no message'}")
    if len(texts) != 1:
        raise ProviderFailed(f"{name} answered {len(texts)} text blocks; one block of JSON is expected")
    try:
        payload = json.loads(texts[0])
    except ValueError as exc:
        raise ProviderFailed(f"{name} answered text that is not JSON: {texts[0][:80]!r}") from exc
    if not isinstance(payload, dict):
        raise ProviderFailed(f"{name} answered JSON that is not an object")
    return payload


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _classify(error: BaseException | None, *, resumed: bool) -> BaseException:
    error = _leaf(error) if error is not None else ProviderFailed("The Fi server gave no answer.")
    if isinstance(error, FiError | _SessionLost):
        return error
    if isinstance(error, MCPError):
        if resumed and (error.code == types.INVALID_REQUEST or "session" in error.message.lower()):
            return _SessionLost()
        if error.code == types.INTERNAL_ERROR or "connection closed" in error.message.lower():
            return ProviderUnavailable(f"The Fi server failed: {error.message[:MAX_MESSAGE]}")
        return ProviderFailed(f"The Fi server refused the request: {error.message[:MAX_MESSAGE]}")
    if isinstance(error, TimeoutError | httpx2.TransportError | OSError):
        return ProviderUnavailable(f"The Fi server could not be reached: {type(error).__name__} {error}"[:MAX_MESSAGE])
    if isinstance(error, ValidationError):
        return ProviderFailed("The Fi server answered outside the MCP protocol.")
    return error
