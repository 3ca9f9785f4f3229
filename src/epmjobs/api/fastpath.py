"""The status poll, answered before Starlette's route scan.

Polling ``GET …/applications/{app}/jobs/{id}`` is most of the traffic a jobs API sees,
so this middleware recognises it by one regular expression and calls its handler
directly. Errors render through the same one mapping as everywhere else.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from epmjobs.api.errors import on_epmjobs_error
from epmjobs.api.routes import planning
from epmjobs.errors import EpmJobsError

_POLL = re.compile(r"/HyperionPlanning/rest/([^/]+)/applications/([^/]+)/jobs/([^/]+)")


class PollFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _POLL.fullmatch(scope["path"])
            if match is not None:
                version, app_name, job_id = match.groups()
                scope["path_params"] = {"version": version, "app": app_name, "job_id": job_id}
                request = Request(scope, receive)
                response: Response
                try:
                    response = await planning.get_job(request)
                except EpmJobsError as exc:
                    response = await on_epmjobs_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
