"""HTTP plumbing: request ids, the one error body, body limit, security headers, JSON logs."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db import bound
from backend.errors import (
    AnbaoError,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
)
from backend.i18n import negotiate, translate
from backend.schemas.common import UUID_PATTERN

log = logging.getLogger("anbao")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What services may know about the request that caused them (for audit and throttling)."""

    request_id: str
    address: str
    user_agent: str
    language: str
    is_https: bool


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        request_id=request.state.request_id if hasattr(request.state, "request_id") else "-",
        address=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", "")[:255],
        language=negotiate(request.headers.get("accept-language")),
        is_https=request.url.scheme == "https",
    )


def error_response(request: Request, exc: AnbaoError) -> JSONResponse:
    language = negotiate(request.headers.get("accept-language"))
    details = dict(exc.details)
    if isinstance(details.get("fields"), list):
        # Services name a field and a code; the message is chosen here, in the caller's language.
        details["fields"] = [
            {**f, "message": f.get("message") or translate(language, f"field.{f['code']}")}
            for f in details["fields"]
        ]
    message = translate(language, f"error.{exc.code}", **details)
    headers = {}
    if "retry_after" in details:
        headers["Retry-After"] = str(details["retry_after"])
    body = {"error": {"code": exc.code, "message": message, "details": details}}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def field_errors(exc: ValidationError, language: str) -> list[dict[str, Any]]:
    """Pydantic's errors as one localized entry per bad field."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        code = str(err["type"])
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | float | str)}
        if code == "string_pattern_mismatch" and ctx.get("pattern") == UUID_PATTERN:
            code = "uuid_parsing"  # a ClientUuid: the same error as a uuid.UUID field's
            ctx = {}
        elif code == "value_error" and "error" in (err.get("ctx") or {}):
            # Our own validators raise ValueError("<code>: text") to pick a catalog entry.
            raw = str(err["ctx"]["error"])
            code = raw.split(":", 1)[0] if ":" in raw else "invalid"
        key = f"field.{code}"
        message = translate(language, key, **ctx)
        if message == key:
            message = translate(language, "field.invalid")
        out.append(
            {
                "field": ".".join(str(p) for p in err["loc"]) or "body",
                "code": code,
                "message": message,
            }
        )
    return out


async def handle_anbao_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AnbaoError)
    if exc.status >= 500:
        log.error("request failed: %s", exc)
    return error_response(request, exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    mapped: AnbaoError
    if exc.status_code == 404:
        mapped = RouteNotFound()
    elif exc.status_code == 405:
        mapped = MethodNotAllowed()
    else:
        mapped = AnbaoError(str(exc.detail))
    return error_response(request, mapped)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(request, AnbaoError("unhandled"))


class RequestContextMiddleware:
    """Gives each request an id and binds the app's database context for its duration."""

    def __init__(self, app: ASGIApp, db_context: Any) -> None:
        self.app = app
        self.db_context = db_context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        ctx = self.db_context()
        try:
            if ctx is None:
                await self.app(scope, receive, send_with_id)
            else:
                with bound(ctx):
                    await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413 before they are read whole. Routes under
    `own_limit` (photo uploads) stream their body and enforce a limit of their own."""

    def __init__(self, app: ASGIApp, limit: int, own_limit: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.own_limit = own_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.own_limit):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(limit=self.limit)
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(Request(scope), PayloadTooLarge(limit=self.limit))
        await response(scope, receive, send)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_STATIC_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"camera=(self), geolocation=(self), microphone=(), payment=(), usb=()",
    ),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _STATIC_HEADERS if k not in present]
                if https:
                    headers.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str, as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
