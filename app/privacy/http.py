"""`GET /exports/{id}?token=…`: the one download of a ready data export.

The signed link is the credential (a browser follows it without an `Authorization` header). Only the path is
logged, never the query string that carries the token.
"""

from __future__ import annotations

import base64
import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.auth.service import Origin
from app.db import unit_of_work
from app.privacy import service

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


async def export_download(request: Request) -> Response:
    if request.method != "GET":  # a HEAD (link previews, checkers) must not use up the one download
        return PlainTextResponse("Method not allowed", status_code=405, headers={**NO_STORE, "Allow": "GET"})
    try:
        export_id = uuid.UUID(request.path_params["export_id"])
    except ValueError:
        return _refused(service.NOT_FOUND)
    resources = request.app.state.resources
    origin = Origin(ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent"))
    async with unit_of_work(resources) as uow:
        result = await service.download(uow, secret=resources.settings.secret_key.get_secret_value(),
                                        export_id=export_id, token=request.query_params.get("token") or "",
                                        origin=origin)
    if isinstance(result, service.Refused):
        return _refused(result)
    digest = base64.b64encode(bytes.fromhex(result.sha256)).decode()
    name = f"florin-export-{result.created_at:%Y-%m-%d}.zip"
    return Response(result.content, media_type="application/zip", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="{name}"', "Repr-Digest": f"sha-256=:{digest}:"})


def _refused(refused: service.Refused) -> Response:
    return PlainTextResponse(refused.message, status_code=refused.status, headers=NO_STORE)
