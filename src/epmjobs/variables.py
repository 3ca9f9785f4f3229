"""Substitution variables as the REST API asks for them, with the access rules applied.

Reading is for Service Administrators and Power Users with launch access to a rule of the
application; changing is for Service Administrators (Oracle's roles for these resources).
A level is ``None`` (the application: every variable, whatever its plan type) or a cube
(the variables defined on it; with ``derived``, what a rule on it sees: the cube's own and
the application's it does not redefine).
"""

from __future__ import annotations

import time
from typing import Any

from epmjobs.errors import InvalidRequest, NotFound, PermissionDenied
from epmjobs.planning.application import Application, name_key
from epmjobs.planning.substitution import (
    SubstitutionVariable,
    checked,
    cube_of,
)
from epmjobs.security import policy
from epmjobs.security.roles import Principal
from epmjobs.security.rule_access import launches_rules
from epmjobs.system import System

MAX_ITEMS = 10_000


class VariableService:
    def __init__(self, system: System) -> None:
        self.system = system
        self.store = system.stores.variables

    def _application(self, principal: Principal, name: str, *, write: bool) -> Application:
        app = self.system.job_service.application(principal, name)
        if write:
            policy.require_admin(principal)
        elif not launches_rules(principal, app.name):
            raise PermissionDenied(f"User {principal.username} needs the Service "
                                   "Administrator role or launch access to a rule of "
                                   f"{app.name} to read its substitution variables.")
        return app

    def listed(self, principal: Principal, app_name: str, plan_type: str | None,
               derived: bool = False) -> list[SubstitutionVariable]:
        app = self._application(principal, app_name, write=False)
        everything = self.store.all(app.application_id)
        if plan_type is None:
            return everything
        cube = self._cube(app, plan_type)
        own = [v for v in everything if v.plan_type is not None
               and name_key(v.plan_type) == name_key(cube)]
        if not derived:
            return own
        mine = {name_key(v.name) for v in own}
        return own + [v for v in everything if v.plan_type is None
                      and name_key(v.name) not in mine]

    def one(self, principal: Principal, app_name: str, plan_type: str | None, name: str,
            derived: bool = False) -> SubstitutionVariable:
        if plan_type is None:
            found = [v for v in self.listed(principal, app_name, None) if v.plan_type is None]
        else:
            found = self.listed(principal, app_name, plan_type, derived)
        for variable in found:
            if name_key(variable.name) == name_key(name):
                return variable
        raise _unknown(name, plan_type)

    def put(self, principal: Principal, app_name: str, plan_type: str | None,
            body: Any) -> None:
        app = self._application(principal, app_name, write=True)
        if plan_type is not None:
            self._cube(app, plan_type)
        variables = [self._item(app, plan_type, raw) for raw in _items(body)]
        with self.system.db.transaction() as conn:
            self.store.put(conn, app.application_id, variables, time.time())

    def delete(self, principal: Principal, app_name: str, plan_type: str | None,
               names: list[str] | None = None, body: Any = None) -> None:
        """Delete one variable (``names``) or those a ``:delete`` body lists."""
        app = self._application(principal, app_name, write=True)
        targets = [(self._cube(app, plan_type) if plan_type else None, n)
                   for n in (names or [])]
        for raw in _items(body) if body is not None else []:
            variable = self._item(app, plan_type, {**raw, "value": raw.get("value", "")})
            targets.append((variable.plan_type, variable.name))
        with self.system.db.transaction() as conn:
            gone = [self.store.delete(conn, app.application_id, level, name)
                    for level, name in targets]
            if names and not all(gone):
                raise _unknown(names[0], plan_type)

    def _cube(self, app: Application, plan_type: str) -> str:
        cube = cube_of(plan_type, app.cubes)
        if cube is None:
            raise InvalidRequest(f"The plan type {plan_type[:100]} does not exist in this "
                                 "application.")
        return cube

    def _item(self, app: Application, plan_type: str | None, raw: Any) -> SubstitutionVariable:
        if not isinstance(raw, dict):
            raise InvalidRequest("Each item must be an object with name, value and planType.")
        given = raw.get("planType")
        if plan_type is not None:
            cube = self._cube(app, plan_type)
            if given is not None and cube_of(given, app.cubes) != cube:
                raise InvalidRequest(f"The item {str(raw.get('name'))[:100]} names the plan "
                                     f"type {str(given)[:100]}, not {cube}.")
            given = cube
        return checked(raw.get("name"), raw.get("value"), given, app.cubes)


def _unknown(name: str, plan_type: str | None) -> NotFound:
    where = f"the plan type {plan_type[:100]}" if plan_type else "the application"
    return NotFound(f"The substitution variable {name[:100]} is not defined for {where}.")


def _items(body: Any) -> list[Any]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InvalidRequest('The request body must be {"items": [{"name": ..., "value": ..., '
                             '"planType": ...}, ...]}.')
    if len(items) > MAX_ITEMS:
        raise InvalidRequest(f"At most {MAX_ITEMS} substitution variables per request.")
    return items
