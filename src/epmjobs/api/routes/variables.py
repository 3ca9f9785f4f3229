"""Oracle's substitution-variable resources (Planning REST "Getting and Setting / Deleting
Substitution Variables"), for the application and per plan type:

    GET    .../applications/{app}/substitutionvariables[/{name}]
    POST   .../applications/{app}/substitutionvariables            {"items": [...]} -> 204
    DELETE .../applications/{app}/substitutionvariables/{name}                      -> 204
    POST   .../applications/{app}/substitutionvariables:delete     {"items": [...]} -> 204
    and the same under .../applications/{app}/plantypes/{plantype}/, where GET takes
    q={"derivedValues":true}. PUT is accepted wherever POST creates or updates.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from epmjobs.api import wire
from epmjobs.api.http import (
    JSONResponse,
    base_url,
    caller,
    json_body,
    planning_version,
    system_of,
)
from epmjobs.api.query import parse_q
from epmjobs.errors import InvalidRequest
from epmjobs.planning.substitution import SubstitutionVariable
from epmjobs.variables import VariableService

APP = wire.PLANNING_ROOT + "/{version}/applications/{app}"
PLAN_TYPE = APP + "/plantypes/{plantype}"
_DERIVED = re.compile(r'derivedValues"?\s*[:=]\s*"?true', re.IGNORECASE)


def _service(request: Request) -> VariableService:
    state = request.app.state
    service: VariableService | None = getattr(state, "variables", None)
    if service is None:
        service = state.variables = VariableService(system_of(request))
    return service


def _derived(request: Request) -> bool:
    raw = request.query_params.get("q")
    if not raw:
        return False
    try:
        return parse_q(raw).get("derivedValues") in (True, "true", "TRUE", "True")
    except InvalidRequest:
        return bool(_DERIVED.search(raw))


def _item(variable: SubstitutionVariable) -> dict[str, Any]:
    return {"name": variable.name, "value": variable.value, "planType": variable.scope}


def _self(request: Request) -> list[dict[str, str]]:
    return [wire.link("self", base_url(request) + request.url.path)]


async def list_variables(request: Request) -> JSONResponse:
    principal = await caller(request)
    planning_version(request)
    params = request.path_params
    found = await run_in_threadpool(_service(request).listed, principal, params["app"],
                                    params.get("plantype"), _derived(request))
    return JSONResponse({"items": [_item(v) for v in found], "links": _self(request)})


async def get_variable(request: Request) -> JSONResponse:
    principal = await caller(request)
    planning_version(request)
    params = request.path_params
    found = await run_in_threadpool(_service(request).one, principal, params["app"],
                                    params.get("plantype"), params["name"], _derived(request))
    return JSONResponse({**_item(found), "links": _self(request)})


async def put_variables(request: Request) -> Response:
    principal = await caller(request)
    planning_version(request)
    body = await json_body(request)
    params = request.path_params
    await run_in_threadpool(_service(request).put, principal, params["app"],
                            params.get("plantype"), body)
    return Response(status_code=204)


async def delete_variable(request: Request) -> Response:
    principal = await caller(request)
    planning_version(request)
    params = request.path_params
    await run_in_threadpool(_service(request).delete, principal, params["app"],
                            params.get("plantype"), [params["name"]])
    return Response(status_code=204)


async def delete_variables(request: Request) -> Response:
    principal = await caller(request)
    planning_version(request)
    body = await json_body(request)
    params = request.path_params
    await run_in_threadpool(_service(request).delete, principal, params["app"],
                            params.get("plantype"), None, body)
    return Response(status_code=204)


routes = [
    Route(prefix + "/substitutionvariables:delete", delete_variables, methods=["POST"])
    for prefix in (APP, PLAN_TYPE)
] + [
    route for prefix in (APP, PLAN_TYPE) for route in (
        Route(prefix + "/substitutionvariables", list_variables, methods=["GET"]),
        Route(prefix + "/substitutionvariables", put_variables, methods=["POST", "PUT"]),
        Route(prefix + "/substitutionvariables/{name}", get_variable, methods=["GET"]),
        Route(prefix + "/substitutionvariables/{name}", delete_variable, methods=["DELETE"]),
    )
]
