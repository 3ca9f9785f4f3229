"""Our additive extensions under ``/epmjobs/v1``: list, cancel, wait, job library admin."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from epmjobs.api import wire
from epmjobs.api.http import (
    JSONResponse,
    base_url,
    caller,
    int_query,
    job_id_param,
    json_body,
    system_of,
)
from epmjobs.errors import InvalidRequest

ROOT = wire.EXTENSION_ROOT
_MAX_PAGE = 1000


def _since(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise InvalidRequest(f"Invalid since: {raw[:60]}; use ISO 8601 or epoch seconds.") from exc


def _csv(request: Request, name: str) -> list[str]:
    return [p.strip() for v in request.query_params.getlist(name) for p in v.split(",")
            if p.strip()]


async def list_jobs(request: Request) -> JSONResponse:
    principal = await caller(request)
    raw_statuses = _csv(request, "status")
    if not all(re.fullmatch(r"-?[0-9]{1,10}", s) for s in raw_statuses):
        raise InvalidRequest("status must be a comma-separated list of integers.")
    statuses = [int(s) for s in raw_statuses]
    offset = int_query(request, "offset", 0, minimum=0)
    limit = min(int_query(request, "limit", 25, minimum=1), _MAX_PAGE)
    page = await run_in_threadpool(
        system_of(request).job_service.list, principal, request.query_params.get("application"),
        _csv(request, "jobType"), statuses, _since(request.query_params.get("since")),
        offset, limit)
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("offset", "limit")]
    return JSONResponse(wire.job_list(page, base_url(request), urlencode(keep)))


async def get_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    job = system_of(request).job_service.get(principal, None, job_id_param(request))
    return JSONResponse(wire.extended_job(job, base_url(request)))


async def cancel_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    job = await run_in_threadpool(system_of(request).job_service.cancel, principal,
                                  job_id_param(request))
    return JSONResponse(wire.extended_job(job, base_url(request)), status_code=202)


async def wait_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    raw = request.query_params.get("timeout", "30")
    try:
        timeout = float(raw)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid timeout: {raw[:40]}.") from exc
    job = await system_of(request).job_service.wait(principal, job_id_param(request), timeout)
    return JSONResponse(wire.extended_job(job, base_url(request)))


async def put_definition(request: Request) -> JSONResponse:
    principal = await caller(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    definition = await run_in_threadpool(system_of(request).job_service.put_definition,
                                         principal, request.path_params["app"], body)
    return JSONResponse({"jobType": definition.job_type, "jobName": definition.job_name,
                         "planTypeName": definition.plan_type,
                         "parameters": definition.parameters}, status_code=201)


async def delete_definition(request: Request) -> JSONResponse:
    principal = await caller(request)
    params = request.path_params
    await run_in_threadpool(system_of(request).job_service.delete_definition, principal,
                            params["app"], params["job_type"], params["job_name"])
    return JSONResponse({"deleted": True})


routes = [
    Route(ROOT + "/jobs", list_jobs, methods=["GET"]),
    Route(ROOT + "/jobs/{job_id}", get_job, methods=["GET"]),
    Route(ROOT + "/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route(ROOT + "/jobs/{job_id}/wait", wait_job, methods=["GET"]),
    Route(ROOT + "/applications/{app}/jobdefinitions", put_definition, methods=["POST"]),
    Route(ROOT + "/applications/{app}/jobdefinitions/{job_type}/{job_name:path}",
          delete_definition, methods=["DELETE"]),
]
