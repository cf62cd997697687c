"""`create_app(settings)`: the Starlette application, with its database opened in the lifespan."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from tortoise.context import TortoiseContext

from backend.api import Endpoint, build_routes, openapi_document
from backend.checkpoint import WalCheckpointer
from backend.db import open_database, pending_migrations, postgres_dsn
from backend.errors import AnbaoError, NotMigrated
from backend.events import EventBus
from backend.http import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    handle_anbao_error,
    handle_http_exception,
    handle_unexpected,
)
from backend.jobs import JOBS, JobRunner
from backend.routes import (
    audit,
    auth,
    bridge,
    devices,
    duty_log,
    equipment,
    gate,
    health,
    incidents,
    invites,
    media,
    notices,
    organizations,
    parcels,
    passes,
    patrol,
    pwa,
    sync,
    users,
    vehicles,
    visitors,
)
from backend.settings import Settings

ROUTERS = [
    health.router,
    auth.router,
    organizations.router,
    users.router,
    devices.router,
    audit.router,
    sync.router,
    duty_log.router,
    notices.router,
    parcels.router,
    patrol.router,
    media.router,
    incidents.router,
    bridge.router,
    equipment.router,
    gate.router,
    visitors.router,
    invites.router,
    vehicles.router,
    passes.router,
]


def all_endpoints() -> list[Endpoint]:
    return [e for r in ROUTERS for e in r.endpoints]


def create_app(settings: Settings, *, check_migrations: bool = True) -> Starlette:
    endpoints = all_endpoints()
    bus = EventBus()
    holder: dict[str, TortoiseContext | None] = {"ctx": None}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ctx = await open_database(settings)
        try:
            if check_migrations:
                pending = await pending_migrations(ctx)
                if pending:
                    raise NotMigrated(
                        f"the database is not migrated ({', '.join(pending)} pending): "
                        "run `anbao migrate` first"
                    )
            holder["ctx"] = ctx
            app.state.db = ctx
            if not settings.is_sqlite:
                await bus.relay_through(postgres_dsn(settings))
            runner = JobRunner(ctx, settings, JOBS if settings.jobs_enabled else [], bus)
            runner.start()
            checkpointer = None
            if settings.is_sqlite:
                checkpointer = WalCheckpointer(settings.sqlite_path)
                checkpointer.start()
            app.state.checkpointer = checkpointer
            try:
                yield
            finally:
                if checkpointer is not None:
                    await checkpointer.stop()
                await runner.stop()
                await bus.close()
        finally:
            holder["ctx"] = None
            await ctx.close_connections()

    routes: list[BaseRoute] = list(build_routes(endpoints))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestContextMiddleware, db_context=lambda: holder["ctx"]),
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                BodyLimitMiddleware,
                limit=settings.max_body_bytes,
                own_limit=(media.UPLOAD_PREFIX,),
            ),
        ],
        exception_handlers={
            AnbaoError: handle_anbao_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
    )
    # The web app answers whatever no API route matched (not a Mount, which would shadow the
    # router's 405 for a known path with a wrong method).
    static = pwa.pwa_app(settings.pwa_dir)
    app.router.default = static if static is not None else pwa.not_built
    app.state.settings = settings
    app.state.sealer = settings.sealer()
    app.state.bus = bus
    app.state.openapi = openapi_document(endpoints)
    app.state.endpoints = endpoints
    return app


# The collector's young-generation threshold for a serving process. A push of 500 mutations
# makes tens of thousands of short-lived objects; at Python's default (700) the collector runs
# dozens of times per push and walks the same survivors again and again. Our objects rarely
# form cycles, so collecting them less often costs little memory.
GC_THRESHOLDS = (100_000, 20, 100)


def prepare_to_serve() -> None:
    """Called once the app is built, just before serving (`anbao serve`, the bench server).

    Everything alive now (modules, the app, its routes) lives as long as the process: frozen,
    the collector's full passes skip it; and young objects are collected less often.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
