"""The status poll, answered before Starlette's route scan.

Polling ``GET …/applications/{app}/jobs/{id}`` is most of the traffic a jobs API sees,
so this middleware recognises it by one regular expression and calls its handler
directly. Errors render through the same one mapping as everywhere else. The handler is
Oracle's poll (``planning.get_job``), or, while the test double's control API is on, the
poll its progression rules govern.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from epmjobs.api.errors import on_epmjobs_error
from epmjobs.api.routes import planning
from epmjobs.errors import EpmJobsError

_POLL = re.compile(r"/HyperionPlanning/rest/([^/]+)/applications/([^/]+)/jobs/([^/]+)")
Handler = Callable[[Request], Awaitable[Response]]


class PollFastPath:
    def __init__(self, app: ASGIApp, handler: Handler = planning.get_job) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _POLL.fullmatch(scope["path"])
            if match is not None:
                version, app_name, job_id = match.groups()
                scope["path_params"] = {"version": version, "app": app_name, "job_id": job_id}
                request = Request(scope, receive)
                response: Response
                try:
                    response = await self.handler(request)
                except EpmJobsError as exc:
                    response = await on_epmjobs_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
