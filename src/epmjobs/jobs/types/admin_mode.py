"""ADMINISTRATION_MODE: set the application's login level (reference §4.10)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext

ADMINISTRATORS = "Administrators"
ALL_USERS = "All Users"


class AdministrationMode:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        level = p.choice(parameters, "loginLevel", (ADMINISTRATORS, ALL_USERS))
        return {**parameters, "loginLevel": level}

    def run(self, ctx: JobContext) -> str | None:
        level = ctx.parameters["loginLevel"]
        admin_only = level == ADMINISTRATORS
        app = ctx.application

        def apply(conn: Connection) -> None:
            ctx.stores.apps.set_admin_mode(conn, app.application_id, admin_only)

        ctx.on_commit(apply)
        text = f"Application {app.name} login level set to {level}."
        ctx.info(text, category="Administration Mode")
        return text
