"""Reading a request's credential (session cookie or bearer token) and the CSRF check."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from backend.errors import CsrfFailed, NotAuthenticated
from backend.inline_sqlite import inline as inline_sqlite
from backend.services.auth import authenticate, csrf_token, token_hash
from backend.services.permissions import Actor

SESSION_COOKIE = "anbao_session"
CSRF_COOKIE = "anbao_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def authenticate_request(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        actor = await _authenticate(header[7:].strip())
        actor.via = "bearer"
        return actor
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated("no credential")
    actor = await _authenticate(token)
    actor.via = "cookie"
    if request.method not in SAFE_METHODS:
        # A browser attaches cookies to cross-site requests; only our own page knows this value.
        expected = csrf_token(request.app.state.settings, token_hash(token))
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), expected):
            raise CsrfFailed()
    return actor


async def _authenticate(token: str) -> Actor:
    # Two or three lookups by key, paid by every request: on SQLite they run on this thread
    # instead of a hop to the database's thread each (backend/inline_sqlite.py).
    with inline_sqlite():
        return await authenticate(token)


def same_origin(request: Request) -> bool:
    """False when a browser says the request comes from another site (login CSRF)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin != "null"
    return origin == f"{request.url.scheme}://{request.url.netloc}"
