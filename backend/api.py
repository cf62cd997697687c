"""Declared endpoints: one place that parses, authenticates, validates, calls and renders.

Route modules declare endpoints on a `Router` with their schemas; the same declarations build
the Starlette routes, the OpenAPI document and the permission-matrix test's list of routes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend import __version__
from backend.errors import (
    AnbaoError,
    Forbidden,
    MalformedJson,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from backend.http import client_info, field_errors, log
from backend.i18n import negotiate
from backend.services.permissions import Actor

Auth = Literal["public", "user", "any"]
_PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
_MAX_DB_INT = 2**31 - 1


@dataclass(slots=True)
class Call:
    """What a handler gets: the parsed request, never the raw one for services to see."""

    request: Request
    actor: Actor
    body: Any
    query: Any
    path: dict[str, Any]

    @property
    def settings(self) -> Any:
        return self.request.app.state.settings

    @property
    def info(self) -> Any:
        return client_info(self.request)


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth = "user"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    description: str = ""
    media_type: str = "application/json"
    # Validates the decoded body instead of `body.model_validate` (which still documents it):
    # a hot path may parse into plain dicts under the same rules.
    validate_body: Callable[[Any], Any] | None = field(default=None, repr=False)
    # Tried first on the raw bytes: a hot path may parse and check a whole body in one pass.
    # Whatever it refuses goes the usual way, which says what is wrong.
    read_body: Callable[[bytes], Any] | None = field(default=None, repr=False)
    _adapter: TypeAdapter[Any] | None = field(default=None, repr=False)

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def key(self) -> str:
        return f"{self.method} {self.openapi_path}"


class Router:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        auth: Auth = "user",
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        media_type: str = "application/json",
        validate_body: Callable[[Any], Any] | None = None,
        read_body: Callable[[bytes], Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=self.tag,
                    auth=auth,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    description=(handler.__doc__ or "").strip(),
                    media_type=media_type,
                    validate_body=validate_body,
                    read_body=read_body,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


async def _parse_body(
    request: Request,
    model: type[BaseModel],
    validate: Callable[[Any], Any] | None = None,
    read: Callable[[bytes], Any] | None = None,
) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type != "application/json":
        raise UnsupportedMediaType(f"content-type {content_type!r}")
    if read is not None:
        try:
            return read(raw)
        except ValidationError:
            pass  # the usual way below finds what is wrong and says it
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(str(exc)) from exc
    try:
        return (validate or model.model_validate)(data)
    except ValidationError as exc:
        raise ValidationFailed(
            str(exc), fields=field_errors(exc, negotiate(request.headers.get("accept-language")))
        ) from exc


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ValidationFailed(
            str(exc), fields=field_errors(exc, negotiate(request.headers.get("accept-language")))
        ) from exc


def _render(endpoint: Endpoint, result: Any) -> Response:
    if result is None:
        return Response(status_code=204 if endpoint.status == 200 else endpoint.status)
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        content = result.model_dump_json().encode()
    else:
        if endpoint._adapter is None:
            endpoint._adapter = TypeAdapter(endpoint.response or Any)
        content = endpoint._adapter.dump_json(result)
    return Response(content, status_code=endpoint.status, media_type="application/json")


def _make_view(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    from backend.credentials import authenticate_request

    async def view(request: Request) -> Response:
        path = dict(request.path_params)
        for value in path.values():
            # An id past the database's integer range can name nothing.
            if isinstance(value, int) and value > _MAX_DB_INT:
                raise NotFound("id out of range")
        actor = Actor.anonymous()
        if endpoint.auth != "public":
            actor = await authenticate_request(request)
            if endpoint.auth == "user" and not actor.is_authenticated:
                raise Forbidden("a device token cannot do this")
        body = (
            await _parse_body(request, endpoint.body, endpoint.validate_body, endpoint.read_body)
            if endpoint.body
            else None
        )
        query = _parse_query(request, endpoint.query) if endpoint.query else None
        try:
            result = await endpoint.handler(Call(request, actor, body, query, path))
        except AnbaoError:
            raise
        except Exception as exc:
            # Rendered inside the middleware stack, so even a bug's answer has its request id.
            log.exception("unhandled error in %s", endpoint.key)
            raise AnbaoError("unhandled") from exc
        return _render(endpoint, result)

    view.__name__ = endpoint.handler.__name__
    return view


def build_routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    return [Route(e.path, _make_view(e), methods=[e.method]) for e in endpoints]


# --- OpenAPI -------------------------------------------------------------------------------

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def openapi_document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    inputs: list[tuple[Any, Literal["validation", "serialization"]]] = []
    outputs: list[Any] = []
    for e in endpoints:
        if e.body is not None:
            inputs.append((e.body, "validation"))
        if (
            e.response is not None
            and isinstance(e.response, type)
            and issubclass(e.response, BaseModel)
        ):
            outputs.append(e.response)
    pairs = inputs + [(m, "serialization") for m in outputs]
    refs, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["Error"] = _ERROR_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "operationId": f"{e.tag}_{e.handler.__name__}",
            "summary": e.summary,
            "tags": [e.tag],
            "responses": {
                "default": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        }
        if e.description:
            op["description"] = e.description
        params: list[dict[str, Any]] = []
        for name, converter in _PATH_PARAM.findall(e.path):
            schema: dict[str, str] = (
                {"type": "integer"} if converter == "int" else {"type": "string"}
            )
            if converter == "uuid":
                schema["format"] = "uuid"
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        if e.query is not None:
            q = e.query.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(q.pop("$defs", {}))
            required = set(q.get("required", []))
            for name, prop in q.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
            }
        if e.auth != "public":
            op["security"] = [{"session": []}, {"bearer": []}]
        if e.media_type != "application/json":
            op["responses"][str(e.status)] = {
                "description": "A stream",
                "content": {e.media_type: {"schema": {"type": "string"}}},
            }
        elif e.response is None:
            op["responses"]["204"] = {"description": "No content"}
        else:
            response_schema: dict[str, Any]
            if (e.response, "serialization") in refs:
                response_schema = dict(refs[(e.response, "serialization")])
            else:
                response_schema = TypeAdapter(e.response).json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                schemas.update(response_schema.pop("$defs", {}))
            op["responses"][str(e.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": response_schema}},
            }
        paths.setdefault(e.openapi_path, {})[e.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Anbao API",
            "version": __version__,
            "description": "See docs/api.md for authentication, CSRF, errors and permissions.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "anbao_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
