"""The ASGI application: explicit route list, one error mapping, the OpenAPI document."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from epmjobs.api.errors import HANDLERS
from epmjobs.api.fastpath import PollFastPath
from epmjobs.api.routes import control, extensions, interop, operations, planning, variables
from epmjobs.logs import configure as configure_logging
from epmjobs.processes import die_with_parent
from epmjobs.settings import Settings
from epmjobs.system import System

OPENAPI_FILE = Path(__file__).parent / "openapi.json"
CONTROL_OPENAPI_FILE = Path(__file__).parent / "openapi-control.json"
CONTROL_API_VARIABLE = "EPMJOBS_CONTROL_API"
log = logging.getLogger("epmjobs.api")


async def openapi(request: Request) -> Response:
    return Response(OPENAPI_FILE.read_bytes(), media_type="application/json")


def openapi_document(control_api: bool) -> bytes:
    """The served contract: ``openapi.json``, plus the control API's part when it is on
    (a server documents exactly what it serves)."""
    base = OPENAPI_FILE.read_bytes()
    if not control_api:
        return base
    document, extra = orjson.loads(base), orjson.loads(CONTROL_OPENAPI_FILE.read_bytes())
    document["tags"] += extra["tags"]
    document["paths"].update(extra["paths"])
    for kind, items in extra["components"].items():
        document["components"][kind].update(items)
    return orjson.dumps(document)


def create_app(system: System, control_api: bool = False) -> Starlette:
    """The app serving ``system``. ``control_api`` adds the test double's control API
    (``/epmjobs/v1/control``, docs/testing.md) with its faults and recorder; without it,
    those paths answer 404 and nothing of it runs."""
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        system.close()

    app = Starlette(routes=_routes(control_api), exception_handlers=HANDLERS,
                    lifespan=lifespan)
    if control_api:
        _with_control(app, system)
    else:
        app.add_middleware(PollFastPath)
    app.add_middleware(operations.PollTimer)  # after the fast path: it times it too
    app.router.redirect_slashes = False  # a 404 JSON answer, never an empty redirect
    app.state.system = system
    return app


def _routes(control_api: bool) -> list[BaseRoute]:
    routes: list[BaseRoute] = [*planning.routes, *variables.routes, *extensions.routes,
                               *interop.routes, *operations.routes]
    if not control_api:
        return [*routes, Route("/openapi.json", openapi, methods=["GET"]),
                *control.disabled_routes]
    document = openapi_document(True)

    async def openapi_with_control(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return [*routes, Route("/openapi.json", openapi_with_control, methods=["GET"]),
            *control.routes]


def _with_control(app: Starlette, system: System) -> None:
    from epmjobs.testing.control import Control
    from epmjobs.testing.middleware import ControlMiddleware

    state = Control(system)
    state.attach()
    app.state.control = state
    app.add_middleware(PollFastPath, handler=control.poll_job)
    # Outermost: faults and recordings cover the status poll's fast path too.
    app.add_middleware(ControlMiddleware, faults=state.faults, recorder=state.recorder,
                       control_root=control.ROOT)
    if system.settings.api_processes > 1:
        log.error("The control API keeps its rules in each API process: with %s API "
                  "processes they do not agree. Run it with --api-processes 1.",
                  system.settings.api_processes)


def control_api_from_env() -> bool:
    """``EPMJOBS_CONTROL_API``: what ``serve --control-api`` passes to its API processes."""
    return os.environ.get(CONTROL_API_VARIABLE, "").strip().lower() in {"1", "true", "yes",
                                                                       "on"}


def create_app_from_env() -> Starlette:
    """Factory for the ASGI server's worker processes (settings come from the env)."""
    if os.environ.get("EPMJOBS_DIE_WITH_PARENT") == "1":
        die_with_parent()
    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(System(settings), control_api=control_api_from_env())
