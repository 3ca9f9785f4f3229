"""CUBE_REFRESH: validate the working outline, compile every cube, deploy it (reference §4.8).

The refreshed outline is what data jobs read; it changes only here (or with IMPORT_METADATA's
``refreshCube``), in the job's final transaction. An outline with errors is refused: the job
ends with status 1, each problem an ERROR message, and nothing changes.

Parameters (all optional): ``allowedUsersDuringCubeRefresh`` and
``allowedUsersAfterCubeRefresh`` (``Administrators`` | ``All Users``),
``terminateActiveRequestsBeforeCubeRefresh`` and ``logOffAllUsersBeforeCubeRefresh``
(booleans). The refresh itself is one transaction, so there is no moment in which users see
a half-refreshed application and "during" needs no window of its own; the login level after
the refresh is set with it (decision D34).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection

from epmjobs.errors import JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import JobMessage, MessageType
from epmjobs.jobs.types.admin_mode import ADMINISTRATORS, ALL_USERS
from epmjobs.planning.outline import Outline, Problem, compile_cubes, validate
from epmjobs.planning.outline.vocabulary import Severity

CATEGORY = "Cube Refresh"
MAX_PROBLEM_MESSAGES = 1000
_LEVELS = (ADMINISTRATORS, ALL_USERS)


def problem_text(problem: Problem) -> str:
    where = f"{problem.dimension}" + (f" ({problem.cube})" if problem.cube else "")
    return f"{where}: {problem.message}"


def check(outline: Outline) -> tuple[list[Problem], list[JobMessage]]:
    """The outline's errors, and a message per problem (errors first, capped)."""
    problems = validate(outline)
    found = [x for x in problems if x.severity is Severity.ERROR]
    ordered = found + [x for x in problems if x.severity is not Severity.ERROR]
    messages = [JobMessage(MessageType(str(x.severity)), CATEGORY, problem_text(x))
                for x in ordered[:MAX_PROBLEM_MESSAGES]]
    if len(ordered) > MAX_PROBLEM_MESSAGES:
        messages.append(JobMessage(MessageType.WARNING, CATEGORY, (
            f"{len(ordered) - MAX_PROBLEM_MESSAGES} more problems are not listed.")))
    return found, messages


def failure_text(found: list[Problem]) -> str:
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"the outline has {len(found)} error{'s' if len(found) > 1 else ''}: " \
           f"{problem_text(found[0])}{more}"


def compile_summary(outline: Outline) -> list[JobMessage]:
    """Compile every cube (what the cell store and aggregation use) and describe each."""
    return [JobMessage(MessageType.INFO, CATEGORY, (
        f"Cube {c.cube.name}: {len(c.dimensions)} dimensions, "
        f"{sum(len(d) for d in c.dimensions)} members."))
        for c in compile_cubes(outline)]


class CubeRefresh:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params = dict(parameters)
        for name in ("allowedUsersDuringCubeRefresh", "allowedUsersAfterCubeRefresh"):
            if p.optional_str(parameters, name) is not None:
                params[name] = p.choice(parameters, name, _LEVELS)
        for name in ("terminateActiveRequestsBeforeCubeRefresh",
                     "logOffAllUsersBeforeCubeRefresh"):
            if parameters.get(name) is not None:
                params[name] = p.boolean(parameters, name, False)
        return params

    def run(self, ctx: JobContext) -> str | None:
        app = ctx.application
        outlines = ctx.stores.outlines
        stored = outlines.working(app)
        found, messages = check(stored.outline)
        ctx.messages.extend(messages)
        if found:
            raise JobFailed(f"The cube refresh failed: {failure_text(found)}")
        ctx.check_cancelled()
        ctx.messages.extend(compile_summary(stored.outline))
        pending = outlines.pending_dimensions(app.application_id)
        ctx.info("Dimensions changed since the last refresh: " + (", ".join(pending) or "none")
                 + ".", CATEGORY)
        after = ctx.parameters.get("allowedUsersAfterCubeRefresh")

        def deploy(conn: Connection) -> None:
            outlines.refresh(conn, app.application_id, stored.revision, time.time())
            if after is not None:
                ctx.stores.apps.set_admin_mode(conn, app.application_id,
                                               after == ADMINISTRATORS)

        ctx.on_commit(deploy)
        if after is not None:
            ctx.info(f"Application {app.name} login level after the refresh: {after}.",
                     CATEGORY)
        return "Cube refresh completed successfully."
