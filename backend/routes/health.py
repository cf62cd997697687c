"""Health and the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from backend import __version__
from backend.api import Call, Router
from backend.db import pending_migrations, ping
from backend.errors import AnbaoError

router = Router("meta")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unreachable"]
    migrations: Literal["current", "pending", "unknown"]
    pending: list[str]


@router.get(
    "/api/health",
    summary="Database reachable, migrations current, version",
    auth="public",
    response=Health,
)
async def health(call: Call) -> Response:
    ctx = call.request.app.state.db
    database, migrations, pending = "ok", "unknown", []
    try:
        await ping(ctx)
        pending = await pending_migrations(ctx)
        migrations = "pending" if pending else "current"
    except AnbaoError:
        database = "unreachable"
    ok = database == "ok" and migrations == "current"
    body = Health(
        status="ok" if ok else "degraded",
        version=__version__,
        database=database,
        migrations=migrations,
        pending=pending,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/api/openapi.json", summary="This API as OpenAPI 3.1", auth="public", response=dict)
async def openapi(call: Call) -> Response:
    return JSONResponse(call.request.app.state.openapi)
