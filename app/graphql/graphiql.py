"""Self-hosted GraphiQL for Florin.

The GraphiQL page must work on machines with no internet access, so every
asset it needs (React, ReactDOM, GraphiQL, the explorer plugin and their
stylesheets) is vendored in ``static/graphiql/`` (see ``VENDORED.md`` there)
and served by Florin itself under :data:`ASSET_PREFIX`.

Usage::

    routes = [*graphiql_routes(), ...]
    HTMLResponse(render_graphiql("/graphql"))

Headers typed in GraphiQL's *Headers* editor reach the server in two ways:

* HTTP queries and mutations: ``GraphiQL.createFetcher`` (from the bundled
  ``@graphiql/toolkit``) merges them into the ``fetch`` request headers.
* Subscriptions: the same fetcher opens a ``graphql-ws`` client
  (``graphql-transport-ws`` protocol, bundled inside ``graphiql.min.js``) per
  subscription with ``connectionParams = {...wsConnectionParams, ...headers}``,
  so ``{"Authorization": "Bearer ..."}`` arrives as the ``connection_init``
  payload.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from html import escape
from pathlib import Path

from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = [
    "ASSET_DIR",
    "ASSET_PREFIX",
    "DEFAULT_QUERY",
    "GraphiQLStaticFiles",
    "asset_version",
    "graphiql_routes",
    "render_graphiql",
]

ASSET_PREFIX = "/graphiql-assets"
ASSET_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

# Files the page loads, in load order (scripts depend on the ones before them).
_STYLESHEETS = ("graphiql.min.css", "graphiql-plugin-explorer.css")
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",  # exposes window.GraphiQL (+ createFetcher, graphql-ws)
    "graphiql-plugin-explorer.umd.js",  # exposes window.GraphiQLPluginExplorer
)

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}

# URLs carry ?v=<content hash>, so a long immutable cache is safe.
_CACHE_CONTROL = "public, max-age=31536000, immutable"

DEFAULT_QUERY = """\
# Welcome to Florin's GraphiQL.
#
# Most of the API needs a logged-in user.
#
# 1. Run the Login mutation below (the play
#    button, or Ctrl/Cmd + Enter). The demo
#    account is demo@florin.dev with the
#    password florin-demo-password.
#
# 2. Copy accessToken from the result into
#    the Headers tab at the bottom:
#
#    {"Authorization": "Bearer <accessToken>"}
#
# Headers are sent with every query and
# mutation, and as the connection_init
# payload of the WebSocket used for
# subscriptions. This browser remembers them.
#
# The GraphiQL Explorer (third icon on the
# left) builds queries by ticking fields.

mutation Login {
  authLogin(input: {
    email: "demo@florin.dev"
    password: "florin-demo-password"
  }) {
    accessToken
    errors { code message }
  }
}
"""


class GraphiQLStaticFiles(StaticFiles):
    """StaticFiles with long cache lifetimes and explicit JS/CSS types.

    The content type is set explicitly rather than guessed, because
    ``mimetypes`` answers differ between Python versions and hosts (and the
    responses carry ``X-Content-Type-Options: nosniff``).
    """

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        content_type = _CONTENT_TYPES.get(Path(str(full_path)).suffix)
        if content_type is not None:
            response.headers["content-type"] = content_type
        response.headers["cache-control"] = _CACHE_CONTROL
        response.headers["x-content-type-options"] = "nosniff"
        return response


@lru_cache(maxsize=1)
def asset_version() -> str:
    """Short hash of the vendored assets, used to bust browser caches."""
    digest = hashlib.sha256()
    for name in (*_STYLESHEETS, *_SCRIPTS):
        digest.update(name.encode())
        digest.update((ASSET_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


def graphiql_routes() -> list:
    """Starlette routes serving the vendored GraphiQL assets."""
    return [
        Mount(
            ASSET_PREFIX,
            app=GraphiQLStaticFiles(directory=str(ASSET_DIR)),
            name="graphiql-assets",
        )
    ]


def _asset_url(name: str) -> str:
    return f"{ASSET_PREFIX}/{name}?v={asset_version()}"


def _js_literal(value: object) -> str:
    """JSON for embedding inside an inline <script> element."""
    return (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_BOOT_SCRIPT = """\
(function () {
  "use strict";
  var mount = document.getElementById("graphiql");
  if (!window.React || !window.ReactDOM || !window.GraphiQL || !window.GraphiQLPluginExplorer) {
    mount.textContent = "GraphiQL assets failed to load from %(prefix)s.";
    return;
  }
  var httpUrl = new URL(%(endpoint)s, window.location.href);
  // Subscriptions go over a WebSocket to the same path (graphql-transport-ws).
  var wsUrl = new URL(httpUrl.href);
  wsUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";

  // GraphiQL.createFetcher (@graphiql/toolkit) sends the Headers editor's JSON
  // as HTTP request headers, and for subscriptions creates a graphql-ws client
  // whose connectionParams are those same headers, i.e. the payload of
  // connection_init.
  var fetcher = GraphiQL.createFetcher({
    url: httpUrl.href,
    subscriptionUrl: wsUrl.href
  });

  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  ReactDOM.createRoot(mount).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: %(default_query)s,
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers"
    })
  );
})();
"""


def render_graphiql(endpoint: str = "/graphql") -> str:
    """HTML page running GraphiQL against ``endpoint`` with local assets only."""
    styles = "\n".join(f'  <link rel="stylesheet" href="{escape(_asset_url(name))}">' for name in _STYLESHEETS)
    scripts = "\n".join(f'  <script src="{escape(_asset_url(name))}"></script>' for name in _SCRIPTS)
    boot = _BOOT_SCRIPT % {
        "endpoint": _js_literal(endpoint),
        "default_query": _js_literal(DEFAULT_QUERY),
        "prefix": escape(ASSET_PREFIX),
    }
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Florin GraphiQL</title>
{styles}
  <style>
    html, body {{ height: 100%; margin: 0; overflow: hidden; }}
    #graphiql {{ height: 100vh; }}
  </style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL&hellip;</div>
  <noscript>GraphiQL needs JavaScript.</noscript>
{scripts}
  <script>
{boot}  </script>
</body>
</html>
"""
