"""Job definitions: the saved jobs of an application's job library."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from epmjobs.errors import InvalidRequest
from epmjobs.jobs.types.catalog import lookup
from epmjobs.planning.application import Cube


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
    if not isinstance(job_name, str) or not job_name.strip() or len(job_name) > 200:
        raise InvalidRequest("A job definition needs a jobName of 1-200 characters.")
    plan_type = raw.get("planType")
    if plan_type is not None and (not isinstance(plan_type, str) or not any(
            c.name.casefold() == plan_type.casefold() for c in app_cubes)):
        raise InvalidRequest(f"Unknown planType {plan_type!r} in job definition {job_name}.")
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidRequest(f"parameters of job definition {job_name} must be an object.")
    spec = lookup(job_type)
    assert spec is not None
    return JobDefinition(spec.name, job_name.strip(), plan_type, params)
