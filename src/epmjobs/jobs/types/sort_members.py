"""SORT_MEMBERS: sort the children (or all descendants) of a member by name (reference §4.19).

Parameters: ``member`` (required: the parent whose children are sorted), ``order``
(``ascending`` default | ``descending``), ``type`` (``children`` default | ``descendants``).
Not for Period, Years or Currency members. The new order is saved in the working outline
with the job's end; as in Oracle, a cube refresh makes it visible to data jobs.

A sort that would leave the outline with a problem a cube refresh refuses (a shared member
sorted before its base member) is refused and changes nothing (decision D36).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection

from epmjobs.errors import JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.cube_refresh import problem_text
from epmjobs.planning.outline import Outline, errors, sort_members, validate

CATEGORY = "Sort Members"


class SortMembers:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {
            "member": p.required_str(parameters, "member"),
            "order": p.choice(parameters, "order", ("ascending", "descending"),
                              default="ascending"),
            "type": p.choice(parameters, "type", ("children", "descendants"),
                             default="children"),
        }

    def run(self, ctx: JobContext) -> str | None:
        params = ctx.parameters
        outlines = ctx.stores.outlines
        app_id = ctx.application.application_id
        stored = outlines.working(ctx.application)
        sorted_outline = sort_members(stored.outline, params["member"], params["order"],
                                      params["type"])
        _refuse_new_problems(stored.outline, sorted_outline)

        def save(conn: Connection) -> None:
            outlines.save(conn, app_id, sorted_outline, base=stored, now=time.time())

        ctx.on_commit(save)
        member = sorted_outline.owner(params["member"])
        found = member.member(params["member"]) if member is not None else None
        name = found.name if found is not None else params["member"]
        text = f"The {params['type']} of {name} were sorted in {params['order']} order."
        ctx.info(text, CATEGORY)
        return text


def _refuse_new_problems(before: Outline, after: Outline) -> None:
    known = {(p.dimension, p.message) for p in errors(validate(before))}
    new = [p for p in errors(validate(after)) if (p.dimension, p.message) not in known]
    if new:
        raise JobFailed("The sort was not saved: a cube refresh would refuse the result. "
                        f"{problem_text(new[0])}")
