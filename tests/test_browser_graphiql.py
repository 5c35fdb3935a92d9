"""Florin's offline GraphiQL in a real browser: headless Chromium opens `GET /graphql` on the API run by
uvicorn, a person's steps are replayed through the Chrome DevTools Protocol (clicks, typing, Ctrl+Enter),
and the results are read from the page's response pane.

Skips when no Chromium is installed (Debian: `apt-get install chromium`; .ci/run installs it when it can).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from tests.conftest import clone_database, drop_database
from tests.servers import ApiServer, api_process, kill_group
from tests.support import PASSWORD
from tests.test_processes import register

pytestmark = pytest.mark.slow

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
STEP = 20.0  # seconds any one browser step may take

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .CodeMirror"  # the visible one of Variables and Headers
RESPONSE = ".graphiql-response .CodeMirror"
RUN_BUTTON = ".graphiql-execute-button"


def find_chromium() -> str | None:
    explicit = os.environ.get("FLORIN_TEST_CHROMIUM")
    if explicit:
        return explicit
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def visible(selector: str) -> str:
    """JavaScript for the first element matching `selector` that is on screen (GraphiQL moves a hidden editor
    far off screen)."""
    return (f"Array.from(document.querySelectorAll({json.dumps(selector)})).find(e => {{ "
            "const r = e.getBoundingClientRect(); return r.width > 0 && r.right > 0 && r.bottom > 0; })")


class BrowserError(AssertionError):
    pass


class Page:
    """One page of a Chromium driven over the DevTools Protocol: commands, and the events seen so far."""

    def __init__(self, ws: Any):
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._ws:
            message = json.loads(raw)
            future = self._pending.pop(message.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(message)
            elif "method" in message:
                self.events.append(message)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        message = await asyncio.wait_for(future, STEP)
        if "error" in message:
            raise BrowserError(f"{method}: {message['error']}")
        return dict(message.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, within: float = STEP, *, show: str = "null") -> Any:
        """Poll `expression` in the page until it is truthy; its value. On time-out, says what `show` gave."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise BrowserError(f"no {what} within {within:.0f} s; the page shows {await self.evaluate(show)!r}")
            await asyncio.sleep(0.1)

    async def click(self, selector: str) -> None:
        box = await self.evaluate(f"""(() => {{
            const r = {visible(selector)}.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + Math.min(r.height / 2, 12)]; }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    async def key(self, key: str, code: str, key_code: int, *, ctrl: bool = False,
                  commands: list[str] | None = None) -> None:
        modifiers = 2 if ctrl else 0
        for kind in ("rawKeyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code, modifiers=modifiers,
                            windowsVirtualKeyCode=key_code, commands=commands or [] if kind == "rawKeyDown" else [])

    async def type_into(self, selector: str, text: str, *, stored_as: str) -> None:
        """Click into an editor, select all (Ctrl+A) and type `text` over it; return once GraphiQL has taken
        the edit in (it parses and saves an editor's text to localStorage `stored_as` 100 ms after a change)."""
        await self.click(selector)
        await self.key("a", "KeyA", 65, ctrl=True, commands=["selectAll"])
        await self.send("Input.insertText", text=text)
        typed = await self.editor_text(selector)
        assert typed == text, f"the editor holds {typed!r}, not what was typed"
        await self.wait_for(f"localStorage.getItem({json.dumps(stored_as)}) === {json.dumps(text)}",
                            f"{stored_as} saved", show=f"localStorage.getItem({json.dumps(stored_as)})")

    async def editor_text(self, selector: str) -> str:
        return str(await self.evaluate(f"{visible(selector)}.CodeMirror.getValue()"))

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


def launch_chromium(binary: str, workdir: Path) -> subprocess.Popen[bytes]:
    """Headless Chromium with a fresh profile in `workdir`, its output in workdir/chromium.log, in its own
    process group; it writes its DevTools port to profile/DevToolsActivePort."""
    profile = workdir / "profile"
    profile.mkdir()
    args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--no-proxy-server", "--disable-quic",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-breakpad",
            "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile}",
            "--window-size=1280,900", "about:blank"]
    with open(workdir / "chromium.log", "wb") as log:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


@contextlib.asynccontextmanager
async def chromium_page(binary: str, workdir: Path) -> AsyncIterator[Page]:
    """A headless Chromium and its first tab; stopped (its process group killed) afterwards."""
    process = await asyncio.to_thread(launch_chromium, binary, workdir)
    profile = workdir / "profile"
    page: Page | None = None
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):  # 30 s
            if port_file.is_file() and port_file.read_text().strip():
                break
            if process.poll() is not None:
                raise BrowserError(f"chromium exited with {process.returncode}:\n{_tail(workdir)}")
            await asyncio.sleep(0.1)
        else:
            raise BrowserError(f"chromium wrote no DevToolsActivePort within 30 s:\n{_tail(workdir)}")
        port = int(port_file.read_text().splitlines()[0])
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        tab = next(t for t in targets if t["type"] == "page")
        async with websockets.connect(tab["webSocketDebuggerUrl"], max_size=None, proxy=None,  # type: ignore[arg-type]
                                      open_timeout=10, close_timeout=2) as ws:
            page = Page(ws)
            for domain in ("Page", "Runtime", "Network", "Log"):
                await page.send(f"{domain}.enable")
            try:
                yield page
            except BaseException:  # keep what the page showed, beside chromium.log, in the test's tmp_path
                with contextlib.suppress(Exception):
                    await page.screenshot(workdir / "failure.png")
                raise
    except BaseException:
        print(f"chromium's log and the page at the failure are in {workdir}:\n{_tail(workdir)}")
        raise
    finally:
        if page is not None:
            await page.close()
        await asyncio.to_thread(kill_group, process, 5)


def _tail(workdir: Path, lines: int = 40) -> str:
    with contextlib.suppress(OSError):
        text = (workdir / "chromium.log").read_text(errors="replace")
        return "\n".join([line for line in text.splitlines() if "dbus/" not in line][-lines:])
    return "(no chromium log)"


@pytest.fixture
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium to drive: install Debian's `chromium` package (or set FLORIN_TEST_CHROMIUM)")
    return binary


@pytest.fixture
async def api(servers: dict[str, str], template_url: str, tmp_path: Path) -> AsyncIterator[ApiServer]:
    url = await clone_database(servers)
    (tmp_path / "api").mkdir()
    try:
        async with api_process(url, servers["redis"], log_dir=tmp_path / "api", env="development") as server:
            yield server
    finally:
        await drop_database(servers, url)


async def run_in_graphiql(page: Page, query: str, *, until: str) -> dict[str, Any]:
    """Type `query` into the editor, run it with the toolbar's play button, and read the response pane once
    the operation is over (the button turns from "Stop" back to "Execute"; a subscription ends when the
    server completes it)."""
    await page.type_into(QUERY_EDITOR, query, stored_as="graphiql:query")
    before = await page.editor_text(RESPONSE)
    await page.click(RUN_BUTTON)
    shown = await page.wait_for(
        f"""(() => {{ const text = {visible(RESPONSE)}.CodeMirror.getValue();
            const idle = document.querySelector({json.dumps(RUN_BUTTON)}).getAttribute("aria-label")
                .startsWith("Execute");
            return idle && text && text !== {json.dumps(before)} && text.includes({json.dumps(until)}) ? text : null;
            }})()""",
        f"response to {query!r}", show=f"{visible(RESPONSE)}.CodeMirror.getValue()")
    return dict(json.loads(shown))


async def test_graphiql_signs_in_and_queries_in_a_real_browser(chromium: str, api: ApiServer, tmp_path: Path) -> None:
    # given: a user, and GraphiQL open in Chromium with a fresh profile
    user = await register(api)
    workdir = tmp_path / "browser"
    workdir.mkdir()
    async with chromium_page(chromium, workdir) as page:
        await page.send("Page.navigate", url=api.graphql_url)
        await page.wait_for(f"!!(document.querySelector({json.dumps(RUN_BUTTON)}) && "
                            f"document.querySelector({json.dumps(QUERY_EDITOR)}))", "GraphiQL rendered")
        # then: the welcome text with the Login mutation is in the editor
        assert "mutation Login" in await page.editor_text(QUERY_EDITOR)

        # when: signing in with a mutation typed into the editor
        sign_in = (f"mutation {{ authLogin(input: {{email: {json.dumps(user['email'])}, "
                   f"password: {json.dumps(PASSWORD)}}}) {{ accessToken errors {{ code }} }} }}")
        login = await run_in_graphiql(page, sign_in, until="authLogin")
        # then: the response pane shows the token
        payload = login["data"]["authLogin"]
        assert payload["errors"] == [] and payload["accessToken"].count(".") == 2, login

        # when: `me` without a header, then with the token in the Headers editor
        anonymous = await run_in_graphiql(page, "{ me { email } }", until="errors")
        await page.type_into(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {payload['accessToken']}"}),
                             stored_as="graphiql:headers")
        me = await run_in_graphiql(page, "query Me { me { email } }", until="data")
        # then
        assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"], anonymous
        assert me == {"data": {"me": {"email": user["email"]}}}

        # when: a subscription, which GraphiQL runs over graphql-ws with the headers as connection_init payload
        pongs = await run_in_graphiql(page, "subscription { heartbeat(count: 2, interval: 0.2) }",
                                      until="pong")
        # then: the socket was accepted (a bad token closes it with 4401), the last event is shown, and the
        # subscription ended when the server completed it
        assert pongs == {"data": {"heartbeat": "pong"}}
        await page.screenshot(workdir / "graphiql.png")

        # then: the page used nothing but Florin's own origin (it works offline), and threw nothing
        origin = urlsplit(api.base_url).netloc
        urls = {event["params"]["request"]["url"] for event in page.events
                if event["method"] == "Network.requestWillBeSent"}
        foreign = sorted(u for u in urls if urlsplit(u).scheme not in ("data", "blob")
                         and urlsplit(u).netloc != origin)
        assert urls and foreign == [], urls
        sockets = [event["params"]["url"] for event in page.events
                   if event["method"] == "Network.webSocketCreated"]
        assert sockets and {urlsplit(u).netloc for u in sockets} == {origin}, sockets
        thrown = [event["params"] for event in page.events if event["method"] == "Runtime.exceptionThrown"]
        assert thrown == []
        if os.environ.get("FLORIN_TEST_SCREENSHOT"):
            shutil.copy(workdir / "graphiql.png", os.environ["FLORIN_TEST_SCREENSHOT"])
