"""Job definitions: the saved jobs of an application's job library."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from epmjobs.errors import InvalidRequest
from epmjobs.jobs.types.catalog import lookup
from epmjobs.jobs.types.rule_definitions import check_definition
from epmjobs.planning.application import Cube, name_key


@dataclass(frozen=True)
class JobDefinition:
    job_type: str
    job_name: str
    plan_type: str | None
    parameters: dict[str, Any]


def parse_definition(raw: dict[str, Any], app_cubes: list[Cube]) -> JobDefinition:
    """One job definition from its JSON form, checked against the application's cubes."""
    job_type, job_name = raw.get("jobType"), raw.get("jobName")
    if not isinstance(job_type, str) or lookup(job_type) is None:
        raise InvalidRequest(f"Invalid job type in job definition: {job_type!r}.")
    if (not isinstance(job_name, str) or not job_name.strip() or len(job_name) > 200
            or any(ord(c) < 32 for c in job_name)):
        raise InvalidRequest("A job definition needs a jobName of 1-200 characters, without "
                             "control characters.")
    plan_type = raw.get("planType")
    if plan_type is not None:
        cube = next((c for c in app_cubes if isinstance(plan_type, str)
                     and name_key(c.name) == name_key(plan_type)), None)
        if cube is None:
            raise InvalidRequest(f"Unknown planType {str(plan_type)[:100]!r} in job definition "
                                 f"{job_name}.")
        plan_type = cube.name
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidRequest(f"parameters of job definition {job_name} must be an object.")
    spec = lookup(job_type)
    assert spec is not None
    definition = JobDefinition(spec.name, job_name.strip(), plan_type, params)
    check_definition(definition)  # a rule that could never run is refused, as on deploy
    return definition
