"""The one mapping from exceptions to HTTP answers, looked up by class."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from epmjobs.api import interop, wire
from epmjobs.api.http import JSONResponse, base_url, system_of
from epmjobs.api.interop import INTEROP_ROOT
from epmjobs.errors import (
    AuthenticationFailed,
    Conflict,
    EpmJobsError,
    InvalidJobParameter,
    InvalidRequest,
    JobNotFound,
    JobRejected,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    SchemaMismatch,
)
from epmjobs.jobs.status import JobStatus

log = logging.getLogger("epmjobs.api")

_HTTP_STATUS: list[tuple[type[EpmJobsError], int]] = [
    (PayloadTooLarge, 413),
    (NotFound, 404),
    (InvalidRequest, 400),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (Conflict, 409),
    (SchemaMismatch, 503),
]


def _status_for(exc: EpmJobsError, request: Request) -> int:
    if isinstance(exc, JobNotFound):
        return system_of(request).settings.unknown_job_http_status
    for cls, status in _HTTP_STATUS:
        if isinstance(exc, cls):
            return status
    return 400


async def on_epmjobs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EpmJobsError)
    if isinstance(exc, JobRejected):
        status = (JobStatus.INVALID_PARAMETER if isinstance(exc, InvalidJobParameter)
                  else JobStatus.ERROR)
        return JSONResponse(wire.rejected_job(exc.message, exc.job_name, status), 400)
    http_status = _status_for(exc, request)
    if request.url.path.startswith(INTEROP_ROOT) and http_status not in (401, 403):
        # Oracle's file API answers failures with HTTP 200 and status > 0 in the body.
        body = interop.envelope(base_url(request) + request.url.path, request.method,
                                status=1, details=exc.message)
        return JSONResponse(body, system_of(request).settings.interop_error_http_status)
    headers = None
    if isinstance(exc, AuthenticationFailed):
        headers = {"WWW-Authenticate": 'Basic realm="epmjobs", charset="UTF-8"'}
    return JSONResponse(wire.error_body(exc.message, http_status), http_status, headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {404: "The requested resource does not exist.",
              405: "The method is not allowed for this resource."}.get(
        exc.status_code, str(exc.detail))
    return JSONResponse(wire.error_body(detail, exc.status_code), exc.status_code, exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(wire.error_body("Internal server error.", 500), 500)


HANDLERS = {
    EpmJobsError: on_epmjobs_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
