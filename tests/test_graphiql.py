"""The self-hosted GraphiQL page: local assets only, all of them served."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import graphql
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.graphql.graphiql import (
    ASSET_DIR,
    ASSET_PREFIX,
    DEFAULT_QUERY,
    graphiql_routes,
    render_graphiql,
)


class _AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.scripts.append(attrs["src"])
            else:
                self._in_inline_script = True
                self.inline_scripts.append("")
        elif tag == "link" and attrs.get("href"):
            self.stylesheets.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def _page_app(endpoint: str = "/graphql") -> Starlette:
    async def page(request):
        return HTMLResponse(render_graphiql(endpoint))

    return Starlette(routes=[*graphiql_routes(), Route("/graphiql", page)])


@pytest.fixture(scope="module")
def client():
    with TestClient(_page_app()) as c:
        yield c


@pytest.fixture(scope="module")
def page(client) -> str:
    response = client.get("/graphiql")
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="module")
def assets(page) -> _AssetCollector:
    collector = _AssetCollector()
    collector.feed(page)
    return collector


def test_page_uses_no_remote_urls(page):
    assert "http://" not in page
    assert "https://" not in page
    for cdn in ("unpkg", "jsdelivr", "cdnjs", "esm.sh", "googleapis"):
        assert cdn not in page.lower()


def test_page_loads_the_expected_assets_in_order(assets):
    names = [urlsplit(u).path.rsplit("/", 1)[-1] for u in assets.scripts]
    assert names == [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql-plugin-explorer.umd.js",
    ]
    styles = [urlsplit(u).path.rsplit("/", 1)[-1] for u in assets.stylesheets]
    assert styles == ["graphiql.min.css", "graphiql-plugin-explorer.css"]
    for url in [*assets.scripts, *assets.stylesheets]:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
        assert parts.path.startswith(ASSET_PREFIX + "/"), url


def test_every_asset_is_served(client, assets):
    expected = [(u, "javascript") for u in assets.scripts]
    expected += [(u, "text/css") for u in assets.stylesheets]
    assert len(expected) == 6
    for url, kind in expected:
        response = client.get(url)
        assert response.status_code == 200, url
        assert kind in response.headers["content-type"], (url, response.headers["content-type"])
        assert len(response.content) > 1000, url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "max-age=" in response.headers["cache-control"]


def test_asset_urls_change_with_content(assets):
    versions = {urlsplit(u).query for u in [*assets.scripts, *assets.stylesheets]}
    assert len(versions) == 1
    (version,) = versions
    assert re.fullmatch(r"v=[0-9a-f]{12}", version)


def test_missing_asset_is_404(client):
    assert client.get(f"{ASSET_PREFIX}/nope.js").status_code == 404
    assert client.get(f"{ASSET_PREFIX}/../graphiql.py").status_code == 404


def test_boot_script_configuration(assets):
    (boot,) = assets.inline_scripts
    assert 'new URL("/graphql", window.location.href)' in boot
    assert '"wss:" : "ws:"' in boot
    assert "GraphiQL.createFetcher(" in boot
    assert "subscriptionUrl: wsUrl.href" in boot
    assert "GraphiQLPluginExplorer.explorerPlugin()" in boot
    assert "plugins: [explorer]" in boot
    assert "shouldPersistHeaders: true" in boot
    assert "ReactDOM.createRoot(" in boot


def test_default_query_explains_login():
    assert '{"Authorization": "Bearer <accessToken>"}' in DEFAULT_QUERY
    assert "Headers" in DEFAULT_QUERY
    # The runnable part (everything that is not a comment) is the login mutation.
    lines = [line.strip() for line in DEFAULT_QUERY.splitlines()]
    code = " ".join(line for line in lines if line and not line.startswith("#"))
    assert code == (
        'mutation Login { authLogin(input: { email: "demo@florin.dev" password: "florin-demo-password" }) '
        "{ accessToken errors { code message } } }"
    )
    document = graphql.parse(DEFAULT_QUERY)
    assert [d.operation.value for d in document.definitions] == ["mutation"]
    # Narrow enough for GraphiQL's editor pane at common window sizes.
    assert max(len(line) for line in DEFAULT_QUERY.splitlines()) <= 50


def test_endpoint_is_escaped_for_inline_script():
    html = render_graphiql('/x"</script><script>alert(1)</script>')
    collector = _AssetCollector()
    collector.feed(html)
    assert len(collector.inline_scripts) == 1
    assert "alert(1)</script>" not in html
    assert "\\u003c/script\\u003e" in html


def test_custom_endpoint():
    with TestClient(_page_app("/api/graphql")) as c:
        body = c.get("/graphiql").text
    assert 'new URL("/api/graphql", window.location.href)' in body


def test_vendored_graphiql_sends_editor_headers_as_connection_params():
    """Guard for upgrades: the page relies on the bundled @graphiql/toolkit
    (createFetcher) passing the Headers editor's JSON both as fetch headers and
    as graphql-ws connectionParams, and on graphql-ws being bundled."""
    bundle = (ASSET_DIR / "graphiql.min.js").read_text(encoding="utf-8")
    assert "graphql-transport-ws" in bundle
    assert "createFetcher=" in bundle
    # createWebsocketsFetcherFromUrl(subscriptionUrl, {...wsConnectionParams, ...fetcherOpts.headers})
    assert re.search(r"createClient:\w+\}=await[^;]*;return \w+=\w+\(\{url:\w+,connectionParams:\w+\}\)", bundle)
    assert re.search(
        r"\(\w+\.subscriptionUrl,\w+\(\w+\(\{\},\w+\.wsConnectionParams\),null==\w+\?void 0:\w+\.headers\)\)",
        bundle,
    )
    # HTTP: {"content-type": ..., ...options.headers, ...fetcherOpts.headers}
    assert re.search(
        r'headers:\w+\(\w+\(\{"content-type":"application/json"\},\w+\.headers\),'
        r"null==\w+\?void 0:\w+\.headers\)",
        bundle,
    )


def test_vendored_md_lists_every_asset_with_hash():
    doc = (ASSET_DIR / "VENDORED.md").read_text(encoding="utf-8")
    files = sorted(p for p in ASSET_DIR.iterdir() if p.is_file() and p.name != "VENDORED.md")
    assert {p.name for p in files} == {
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "graphiql-plugin-explorer.umd.js",
        "graphiql-plugin-explorer.css",
    }
    for path in files:
        assert f"`{path.name}`" in doc, path.name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"{digest}  {path.name}" in doc, path.name
    for licence in ("react", "react-dom", "graphiql", "graphiql-explorer"):
        text = (ASSET_DIR / "licenses" / f"{licence}.LICENSE").read_text(encoding="utf-8")
        assert "MIT License" in text
        assert f"licenses/{licence}.LICENSE" in doc
    total = sum(p.stat().st_size for p in ASSET_DIR.rglob("*") if p.is_file())
    assert total < 2_500_000
