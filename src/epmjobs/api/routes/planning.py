"""Oracle's Planning REST routes (reference §1-2). Each handler: parse, call, render."""

from __future__ import annotations

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
    planning_version,
    system_of,
)
from epmjobs.api.query import parse_q
from epmjobs.errors import InvalidRequest, JobRejected, PayloadTooLarge
from epmjobs.jobs.model import MessageType
from epmjobs.jobs.service import Submission

ROOT = wire.PLANNING_ROOT
APP = ROOT + "/{version}/applications/{app}"


async def list_versions(request: Request) -> JSONResponse:
    await caller(request)
    return JSONResponse(wire.versions(base_url(request)))


async def get_version(request: Request) -> JSONResponse:
    await caller(request)
    version = planning_version(request)
    if version not in wire.PLANNING_VERSIONS:
        version = wire.CURRENT_VERSION
    return JSONResponse(wire.version_item(base_url(request), version))


async def list_applications(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    apps = await run_in_threadpool(system_of(request).job_service.applications, principal)
    return JSONResponse(wire.applications(apps, base_url(request), version))


async def get_application(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    app = system_of(request).job_service.application(principal, request.path_params["app"])
    return JSONResponse(wire.application(app, base_url(request), version))


async def job_definitions(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    job_type = parse_q(request.query_params.get("q")).get("jobType")
    app, defs = await run_in_threadpool(
        system_of(request).job_service.definitions, principal, request.path_params["app"],
        None if job_type is None else str(job_type))
    return JSONResponse(wire.job_definitions(defs, base_url(request), version, app.name))


async def submit_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    system = system_of(request)
    system.job_service.check_may_submit(principal)
    try:
        body = await json_body(request)
    except PayloadTooLarge:
        raise
    except InvalidRequest as exc:
        raise JobRejected(exc.message) from exc
    submission = Submission.from_body(body)
    job = await run_in_threadpool(system.job_service.submit, principal,
                                  request.path_params["app"], submission)
    return JSONResponse(wire.job_record(job, base_url(request), version),
                        status_code=system.settings.submit_http_status)


async def get_job(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    job = system_of(request).job_service.get(principal, request.path_params["app"],
                                             job_id_param(request))
    return JSONResponse(wire.job_record(job, base_url(request), version))


def _details_query(request: Request) -> tuple[list[MessageType], int, int | None, str]:
    q = parse_q(request.query_params.get("q"))
    raw = q.get("messageType", q.get("msgType"))
    types: list[MessageType] = []
    if raw is not None:
        for part in str(raw).split(","):
            try:
                types.append(MessageType(part.strip().upper()))
            except ValueError as exc:
                raise InvalidRequest(
                    f"Invalid messageType {part.strip()[:40]}: use ERROR, WARNING or INFO."
                ) from exc
    offset = int_query(request, "offset", 0, minimum=0)
    limit = int_query(request, "limit", 25)
    keep = {"q": request.query_params["q"]} if "q" in request.query_params else {}
    return types, offset, (limit if limit > 0 else None), urlencode(keep)


async def job_details(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    app, job_id = request.path_params["app"], job_id_param(request)
    types, offset, limit, query = _details_query(request)
    details = await run_in_threadpool(system_of(request).job_service.details, principal, app,
                                      job_id, types, offset, limit)
    url = wire.job_url(base_url(request), version, details.job.application, job_id)
    if details.children is not None:
        return JSONResponse(wire.children(details.children, url, f"{url}/details", query))
    assert details.messages is not None
    return JSONResponse(wire.messages(details.messages, f"{url}/details", query))


async def child_job_details(request: Request) -> JSONResponse:
    principal = await caller(request)
    version = planning_version(request)
    app, job_id = request.path_params["app"], job_id_param(request)
    child_id = job_id_param(request, "child_id")
    types, offset, limit, query = _details_query(request)
    details = await run_in_threadpool(system_of(request).job_service.child_details, principal,
                                      app, job_id, child_id, types, offset, limit)
    url = wire.job_url(base_url(request), version, details.job.application, job_id)
    assert details.messages is not None
    return JSONResponse(wire.messages(details.messages, f"{url}/childjobs/{child_id}/details",
                                      query))


routes = [
    # The status poll is the most frequent request: first, so routing tries it first.
    Route(APP + "/jobs/{job_id}", get_job, methods=["GET"]),
    Route(ROOT, list_versions, methods=["GET"]),
    Route(ROOT + "/", list_versions, methods=["GET"]),
    Route(ROOT + "/{version}", get_version, methods=["GET"]),
    Route(ROOT + "/{version}/", get_version, methods=["GET"]),
    Route(ROOT + "/{version}/applications", list_applications, methods=["GET"]),
    Route(ROOT + "/{version}/applications/", list_applications, methods=["GET"]),
    Route(APP, get_application, methods=["GET"]),
    Route(APP + "/jobdefinitions", job_definitions, methods=["GET"]),
    Route(APP + "/jobs", submit_job, methods=["POST"]),
    Route(APP + "/jobs/{job_id}/details", job_details, methods=["GET"]),
    Route(APP + "/jobs/{job_id}/childjobs/{child_id}/details", child_job_details,
          methods=["GET"]),
]
