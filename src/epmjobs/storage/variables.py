"""Named operations on substitution variables (``planning.substitution``)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from epmjobs.planning.application import name_key
from epmjobs.planning.substitution import SubstitutionVariable, effective
from epmjobs.storage.database import Database
from epmjobs.storage.schema import substitution_variables as table

_APPLICATION = ""  # the plan_type_key of application-wide variables


def _scope_key(plan_type: str | None) -> str:
    return _APPLICATION if plan_type is None else name_key(plan_type)


class VariableStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self, application_id: int) -> list[SubstitutionVariable]:
        """Every variable: application-wide ones first, then per cube; by name."""
        query = select(table.c.name, table.c.value, table.c.plan_type, table.c.plan_type_key)\
            .where(table.c.application_id == application_id)\
            .order_by(table.c.plan_type_key, table.c.name_key)
        with self.db.reading() as conn:
            rows = conn.execute(query).all()
        return [SubstitutionVariable(r.name, r.value, r.plan_type if r.plan_type_key else None)
                for r in rows]

    def scoped(self, application_id: int, plan_type: str | None) -> list[SubstitutionVariable]:
        """The variables defined at one level: the application's (None) or one cube's."""
        key = _scope_key(plan_type)
        return [v for v in self.all(application_id) if _scope_key(v.plan_type) == key]

    def effective(self, application_id: int, cube: str) -> dict[str, str]:
        return effective(self.all(application_id), cube)

    def put(self, conn: Connection, application_id: int,
            variables: list[SubstitutionVariable], now: float) -> None:
        """Create or update each variable at its level."""
        for variable in variables:
            self.delete(conn, application_id, variable.plan_type, variable.name)
            conn.execute(insert(table).values(
                application_id=application_id, plan_type_key=_scope_key(variable.plan_type),
                name_key=name_key(variable.name), plan_type=variable.plan_type or "",
                name=variable.name, value=variable.value, updated_at=now))

    def delete(self, conn: Connection, application_id: int, plan_type: str | None,
               name: str) -> bool:
        result = conn.execute(delete(table).where(
            table.c.application_id == application_id,
            table.c.plan_type_key == _scope_key(plan_type),
            table.c.name_key == name_key(name)))
        return result.rowcount > 0
