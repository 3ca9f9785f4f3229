"""The ASGI application: explicit route list, one error mapping, the OpenAPI document."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from epmjobs.api.errors import HANDLERS
from epmjobs.api.fastpath import PollFastPath
from epmjobs.api.routes import extensions, interop, planning
from epmjobs.processes import die_with_parent
from epmjobs.settings import Settings
from epmjobs.system import System

OPENAPI_FILE = Path(__file__).parent / "openapi.json"


async def openapi(request: Request) -> Response:
    return Response(OPENAPI_FILE.read_bytes(), media_type="application/json")


def create_app(system: System) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        system.close()

    app = Starlette(
        routes=[*planning.routes, *extensions.routes, *interop.routes,
                Route("/openapi.json", openapi, methods=["GET"])],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.add_middleware(PollFastPath)
    app.router.redirect_slashes = False  # a 404 JSON answer, never an empty redirect
    app.state.system = system
    return app


def create_app_from_env() -> Starlette:
    """Factory for the ASGI server's worker processes (settings come from the env)."""
    if os.environ.get("EPMJOBS_DIE_WITH_PARENT") == "1":
        die_with_parent()
    return create_app(System(Settings.from_env()))
