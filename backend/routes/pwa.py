"""Serving the built PWA: hashed assets cached for ever, the shell and worker always fresh."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from backend.i18n import translate

_IMMUTABLE = "public, max-age=31536000, immutable"
_FRESH = "no-cache"


class PwaFiles(StaticFiles):
    """StaticFiles with the app-shell fallback for client routes (`/home`, `/n?e=…`)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path == "api" or path.startswith("api/"):
            raise HTTPException(status_code=404)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            # A file name has a dot; so has a pass link's code (/pass/p1.<payload>.<mac>).
            if exc.status_code != 404 or ("." in Path(path).name and not path.startswith("pass/")):
                raise
            response = await super().get_response("index.html", scope)
        if response.status_code == 404 and "." not in Path(path).name:
            response = await super().get_response("index.html", scope)
        name = Path(path).name
        if path.startswith("assets/") and response.status_code in (200, 304):
            response.headers["cache-control"] = _IMMUTABLE
        else:
            # index.html, sw.js and the manifest must be revalidated so updates are seen.
            response.headers["cache-control"] = _FRESH
        if name == "sw.js":
            response.headers["service-worker-allowed"] = "/"
        return response


def pwa_app(directory: Path) -> PwaFiles | None:
    if not (directory / "index.html").is_file():
        return None
    return PwaFiles(directory=os.fspath(directory), html=True)


async def not_built(scope: Scope, receive: object, send: object) -> None:
    if scope["path"].startswith("/api"):
        raise HTTPException(status_code=404)
    text = f"{translate('en', 'page.not_built')}\n{translate('zh-CN', 'page.not_built')}\n"
    response = PlainTextResponse(text, status_code=503)
    await response(scope, receive, send)  # type: ignore[arg-type]
