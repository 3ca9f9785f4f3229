"""The test double's control API under ``/epmjobs/v1/control`` (docs/testing.md).

Served only when ``create_app(..., control_api=True)``; otherwise every path under it
answers 404 saying how to turn it on. Every operation is for Service Administrators.
Handlers parse (``api/controlwire.py``), call :class:`~epmjobs.testing.control.Control`,
render.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from epmjobs.api import controlwire, wire
from epmjobs.api.http import (
    JSONResponse,
    base_url,
    caller,
    job_id_param,
    json_body,
    planning_version,
    system_of,
)
from epmjobs.errors import NotFound
from epmjobs.security.roles import Principal
from epmjobs.testing.control import Control
from epmjobs.testing.state import SnapshotInfo

ROOT = wire.EXTENSION_ROOT + "/control"
DISABLED_TEXT = ("The control API is disabled on this server: start it with --control-api "
                 "(EPMJOBS_CONTROL_API=1).")


async def _control(request: Request) -> Control:
    """The control of this app, once the caller is known to be a Service Administrator."""
    return (await _admin(request))[0]


async def _admin(request: Request) -> tuple[Control, Principal]:
    principal = await caller(request)
    control: Control = request.app.state.control
    control.check(principal)
    return control, principal


async def _body(request: Request) -> Any:
    """The JSON body; none at all (curl -X POST) is an empty object."""
    headers = request.headers
    if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return {}
    return await json_body(request)


def _snapshot_json(info: SnapshotInfo) -> dict[str, Any]:
    return {"name": info.name, "createdAt": wire.iso(info.created_at)}


async def poll_job(request: Request) -> JSONResponse:
    """Oracle's status poll, as the progression rules let it answer (the fast path's
    handler while the control API is on)."""
    principal = await caller(request)
    version = planning_version(request)
    job = await system_of(request).job_service.poll(principal, request.path_params["app"],
                                                    job_id_param(request))
    return JSONResponse(wire.job_record(job, base_url(request), version))


async def state(request: Request) -> JSONResponse:
    control = await _control(request)
    return JSONResponse({
        "progression": [controlwire.rule_json(r) for r in control.jobs.progression.rules()],
        "heldJobs": control.jobs.progression.held_jobs(),
        "outcomes": [controlwire.outcome_json(o, n) for o, n in control.jobs.scripted()],
        "faults": [controlwire.fault_json(f, n) for f, n in control.faults.pending()],
        "recorder": {"recording": control.recorder.on, "entries": control.recorder.count()},
    })


async def reset(request: Request) -> JSONResponse:
    control = await _control(request)
    applications = controlwire.reset_applications(await _body(request))
    names = await run_in_threadpool(control.reset, applications)
    return JSONResponse({"applications": names})


async def list_snapshots(request: Request) -> JSONResponse:
    control = await _control(request)
    found = await run_in_threadpool(control.state.snapshots)
    return JSONResponse({"items": [_snapshot_json(s) for s in found]})


async def take_snapshot(request: Request) -> JSONResponse:
    control = await _control(request)
    name = controlwire.snapshot_name(await _body(request))
    info = await run_in_threadpool(control.snapshot, name)
    return JSONResponse(_snapshot_json(info), status_code=201)


async def restore_snapshot(request: Request) -> JSONResponse:
    control = await _control(request)
    name = request.path_params["name"]
    await run_in_threadpool(control.restore, name)
    return JSONResponse({"restored": name})


async def delete_snapshot(request: Request) -> JSONResponse:
    control = await _control(request)
    await run_in_threadpool(control.state.delete_snapshot, request.path_params["name"])
    return JSONResponse({"deleted": True})


async def add_progression(request: Request) -> JSONResponse:
    control = await _control(request)
    rule = controlwire.progression_rule(await _body(request))
    control.progress(rule)
    return JSONResponse(controlwire.rule_json(rule), status_code=201)


async def clear_progression(request: Request) -> JSONResponse:
    control = await _control(request)
    control.jobs.progression.clear()
    return JSONResponse({"deleted": True})


async def add_outcome(request: Request) -> JSONResponse:
    control = await _control(request)
    outcome, times = controlwire.scripted_outcome(await _body(request))
    control.script(outcome, times)
    return JSONResponse(controlwire.outcome_json(outcome, times), status_code=201)


async def clear_outcomes(request: Request) -> JSONResponse:
    control = await _control(request)
    control.jobs.clear_scripts()
    return JSONResponse({"deleted": True})


async def advance_job(request: Request) -> JSONResponse:
    control, principal = await _admin(request)
    job = control.advance(principal, job_id_param(request))
    return JSONResponse(wire.extended_job(job, base_url(request)))


async def add_fault(request: Request) -> JSONResponse:
    control = await _control(request)
    fault = controlwire.fault(await _body(request))
    control.add_fault(fault)
    return JSONResponse(controlwire.fault_json(fault, fault.count), status_code=201)


async def clear_faults(request: Request) -> JSONResponse:
    control = await _control(request)
    control.faults.clear()
    return JSONResponse({"deleted": True})


async def start_recording(request: Request) -> JSONResponse:
    control = await _control(request)
    control.recorder.start()
    return JSONResponse({"recording": True})


async def stop_recording(request: Request) -> JSONResponse:
    control = await _control(request)
    control.recorder.stop()
    return JSONResponse({"recording": False})


async def recording(request: Request) -> JSONResponse:
    control = await _control(request)
    return JSONResponse(control.recorder.document())


async def disabled(request: Request) -> JSONResponse:
    raise NotFound(DISABLED_TEXT)


routes = [
    Route(ROOT, state, methods=["GET"]),
    Route(ROOT + "/reset", reset, methods=["POST"]),
    Route(ROOT + "/snapshots", list_snapshots, methods=["GET"]),
    Route(ROOT + "/snapshots", take_snapshot, methods=["POST"]),
    Route(ROOT + "/snapshots/{name}/restore", restore_snapshot, methods=["POST"]),
    Route(ROOT + "/snapshots/{name}", delete_snapshot, methods=["DELETE"]),
    Route(ROOT + "/progression", add_progression, methods=["POST"]),
    Route(ROOT + "/progression", clear_progression, methods=["DELETE"]),
    Route(ROOT + "/outcomes", add_outcome, methods=["POST"]),
    Route(ROOT + "/outcomes", clear_outcomes, methods=["DELETE"]),
    Route(ROOT + "/jobs/{job_id}/advance", advance_job, methods=["POST"]),
    Route(ROOT + "/faults", add_fault, methods=["POST"]),
    Route(ROOT + "/faults", clear_faults, methods=["DELETE"]),
    Route(ROOT + "/recorder/start", start_recording, methods=["POST"]),
    Route(ROOT + "/recorder/stop", stop_recording, methods=["POST"]),
    Route(ROOT + "/recorder", recording, methods=["GET"]),
]
# While the control API is off: last in the route list, so only requests no other route
# took ever reach it, and none of the product's own traffic pays for it.
disabled_routes = [
    Route(ROOT, disabled, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    Route(ROOT + "/{rest:path}", disabled, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
