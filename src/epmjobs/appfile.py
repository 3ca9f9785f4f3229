"""Application definition files: a versioned JSON document that creates an application.

Format ``epmjobs-application/1`` (docs/application-files.md)::

    {"format": "epmjobs-application/1", "name": "Vision", "appType": "PBCS",
     "cubes": [{"name": "Plan1", "kind": "BSO"}, ...],
     "jobDefinitions": [{"jobType": "CUBE_REFRESH", "jobName": "RefreshDB",
                         "planType": null, "parameters": {}}, ...],
     "substitutionVariables": [{"name": "CurYr", "value": "FY25", "planType": "ALL"}, ...],
     "outline": {"aliasTables": [...], "dimensions": [...]}}

``substitutionVariables`` (optional): ``planType`` ``ALL`` (or absent) for the whole
application, else a cube's name.

``outline`` (optional) is ``planning.outline.outline_to_json``'s document. Creating an
application stores it as the working outline and, when it passes validation, as the
refreshed one too (the application starts deployed); exporting writes the working outline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from epmjobs.errors import InvalidRequest
from epmjobs.jobs.definitions import parse_definition
from epmjobs.jobs.types.rule_definitions import check_definition
from epmjobs.planning.application import Cube, CubeKind, validate_application_name
from epmjobs.planning.outline import Outline, errors, outline_from_json, outline_to_json, validate
from epmjobs.planning.substitution import ALL, SubstitutionVariable, checked
from epmjobs.system import System

FORMAT = "epmjobs-application/1"


def _cubes(raw: Any) -> list[Cube]:
    if not isinstance(raw, list):
        raise InvalidRequest("cubes must be a list.")
    cubes = []
    for item in raw:
        try:
            cubes.append(Cube(str(item["name"]), CubeKind(str(item.get("kind", "BSO")).upper())))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequest(f"Invalid cube entry: {item!r}.") from exc
    return cubes


def _variables(raw: Any, cubes: list[Cube]) -> list[SubstitutionVariable]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InvalidRequest("substitutionVariables must be a list of objects.")
    return [checked(item.get("name"), item.get("value"), item.get("planType"), cubes)
            for item in raw]


def load_file(path: Path) -> dict[str, Any]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidRequest(f"Cannot read application file {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidRequest(f"{path} is not an application file (format {FORMAT}).")
    return doc


def create_application(system: System, doc: dict[str, Any]) -> str:
    """Create the application a definition document describes, in one transaction."""
    name = validate_application_name(str(doc.get("name", "")))
    cubes = _cubes(doc.get("cubes", []))
    definitions = [parse_definition(d, cubes) for d in doc.get("jobDefinitions", [])]
    for definition in definitions:
        check_definition(definition)
    variables = _variables(doc.get("substitutionVariables"), cubes)
    outline = outline_from_json(cubes, doc["outline"]) if "outline" in doc else None
    now = time.time()
    apps = system.stores.apps
    with system.db.transaction() as conn:
        app_id = apps.create(conn, name, str(doc.get("appType", "PBCS")), cubes, now)
        for definition in definitions:
            apps.put_definition(conn, app_id, definition, now)
        system.stores.variables.put(conn, app_id, variables, now)
        if outline is not None:
            _store_outline(system, conn, app_id, outline, now)
    return name


def _store_outline(system: System, conn: Connection, app_id: int, outline: Outline,
                   now: float) -> None:
    """The working outline, and the refreshed one when it would pass a cube refresh."""
    outlines = system.stores.outlines
    revision = outlines.save(conn, app_id, outline, now=now)
    if not errors(validate(outline)):
        outlines.refresh(conn, app_id, revision, now)


def export_application(system: System, name: str) -> dict[str, Any]:
    app = system.stores.apps.get(name)
    if app is None:
        raise InvalidRequest(f"The application {name} does not exist.")
    doc: dict[str, Any] = {
        "format": FORMAT, "name": app.name, "appType": app.app_type,
        "cubes": [{"name": c.name, "kind": str(c.kind)} for c in app.cubes],
        "jobDefinitions": [
            {"jobType": d.job_type, "jobName": d.job_name, "planType": d.plan_type,
             "parameters": d.parameters}
            for d in system.stores.apps.definitions(app.application_id)
        ],
    }
    variables = system.stores.variables.all(app.application_id)
    if variables:
        doc["substitutionVariables"] = [{"name": v.name, "value": v.value,
                                         "planType": v.plan_type or ALL} for v in variables]
    stored = system.stores.outlines.working(app)
    if stored.revision:
        doc["outline"] = outline_to_json(stored.outline)
    return doc


def put_definition(system: System, app_name: str, raw: dict[str, Any]) -> None:
    """Create or replace one job definition of an existing application."""
    app = system.stores.apps.get(app_name)
    if app is None:
        raise InvalidRequest(f"The application {app_name} does not exist.")
    definition = parse_definition(raw, list(app.cubes))
    check_definition(definition)
    with system.db.transaction() as conn:
        system.stores.apps.put_definition(conn, app.application_id, definition, time.time())
