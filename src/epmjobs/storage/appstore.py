"""Named operations on applications, their cubes and their job definitions."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from epmjobs.errors import Conflict
from epmjobs.jobs.definitions import JobDefinition
from epmjobs.planning.application import Application, Cube, CubeKind, name_key
from epmjobs.storage.codec import dump_json, load_json
from epmjobs.storage.database import Database
from epmjobs.storage.schema import applications, cubes, job_definitions

_RAW_APP = ("SELECT application_id, name, app_type, admin_mode FROM applications"
            " WHERE name_key = ?")


class AppRef(NamedTuple):
    application_id: int
    name: str
    admin_mode: bool


def _lookable(name: str) -> bool:
    """A name that can exist at all: no stored name holds a NUL (PostgreSQL refuses it)."""
    return "\x00" not in name


class AppStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, conn: Connection, name: str, app_type: str,
               cube_list: list[Cube], now: float) -> int:
        seen: set[str] = set()
        for cube in cube_list:
            if name_key(cube.name) in seen:
                raise Conflict(f"The application {name} has two cubes named {cube.name}.")
            seen.add(name_key(cube.name))
        try:
            app_id = int(conn.execute(insert(applications).values(
                name=name, name_key=name_key(name), app_type=app_type, admin_mode=False,
                created_at=now).returning(applications.c.application_id)).scalar_one())
        except IntegrityError as exc:
            raise Conflict(f"An application named {name} already exists.") from exc
        if cube_list:
            conn.execute(insert(cubes), [
                {"application_id": app_id, "name": c.name, "name_key": name_key(c.name),
                 "kind": str(c.kind), "position": i} for i, c in enumerate(cube_list)])
        return app_id

    def delete(self, conn: Connection, application_id: int) -> None:
        conn.execute(delete(applications).where(
            applications.c.application_id == application_id))

    def get(self, name: str) -> Application | None:
        if not _lookable(name):
            return None
        with self.db.reading() as conn:
            row = conn.execute(select(applications).where(
                applications.c.name_key == name_key(name))).first()
            if row is None:
                return None
            return self._application(conn, row)

    def admin_mode(self, name: str) -> tuple[int, bool] | None:
        """(id, admin mode) of an application: the cheap check every request makes."""
        ref = self.ref(name)
        return None if ref is None else (ref.application_id, ref.admin_mode)

    def ref(self, name: str) -> AppRef | None:
        """An application's id, own spelling and login level, in one primary read."""
        if not _lookable(name):
            return None
        if self.db.is_sqlite:
            row = self.db.raw_sqlite().execute(_RAW_APP, (name_key(name),)).fetchone()
        else:
            with self.db.reading() as conn:
                row = conn.execute(select(
                    applications.c.application_id, applications.c.name,
                    applications.c.app_type, applications.c.admin_mode,
                ).where(applications.c.name_key == name_key(name))).first()
        return None if row is None else AppRef(int(row[0]), str(row[1]), bool(row[3]))

    def all(self) -> list[Application]:
        with self.db.reading() as conn:
            rows = conn.execute(select(applications).order_by(applications.c.name_key)).all()
            return [self._application(conn, r) for r in rows]

    def set_admin_mode(self, conn: Connection, application_id: int, admin_mode: bool) -> None:
        conn.execute(update(applications)
                     .where(applications.c.application_id == application_id)
                     .values(admin_mode=admin_mode))

    @staticmethod
    def _application(conn: Connection, row: Any) -> Application:
        cube_rows = conn.execute(
            select(cubes.c.name, cubes.c.kind)
            .where(cubes.c.application_id == row.application_id).order_by(cubes.c.position)
        ).all()
        return Application(
            application_id=row.application_id, name=row.name, app_type=row.app_type,
            admin_mode=bool(row.admin_mode),
            cubes=tuple(Cube(r.name, CubeKind(r.kind)) for r in cube_rows),
        )

    # -- job definitions (the job library) --------------------------------------------

    def put_definition(self, conn: Connection, application_id: int,
                       definition: JobDefinition, now: float) -> None:
        """Create or replace the definition with this type and name."""
        key = name_key(definition.job_name)
        conn.execute(delete(job_definitions).where(
            job_definitions.c.application_id == application_id,
            job_definitions.c.job_type == definition.job_type,
            job_definitions.c.name_key == key))
        conn.execute(insert(job_definitions).values(
            application_id=application_id, job_type=definition.job_type,
            job_name=definition.job_name, name_key=key, plan_type=definition.plan_type,
            parameters=dump_json(definition.parameters), created_at=now))

    def delete_definition(self, conn: Connection, application_id: int, job_type: str,
                          job_name: str) -> bool:
        if not _lookable(job_name):
            return False
        result = conn.execute(delete(job_definitions).where(
            job_definitions.c.application_id == application_id,
            job_definitions.c.job_type == job_type,
            job_definitions.c.name_key == name_key(job_name)))
        return result.rowcount > 0

    def definitions(self, application_id: int,
                    job_types: tuple[str, ...] = ()) -> list[JobDefinition]:
        query = select(job_definitions).where(
            job_definitions.c.application_id == application_id)
        if job_types:
            query = query.where(job_definitions.c.job_type.in_(job_types))
        query = query.order_by(job_definitions.c.job_type, job_definitions.c.name_key)
        with self.db.reading() as conn:
            rows = conn.execute(query).all()
        return [JobDefinition(r.job_type, r.job_name, r.plan_type, load_json(r.parameters))
                for r in rows]

    def definition(self, application_id: int, job_type: str,
                   job_name: str) -> JobDefinition | None:
        if not _lookable(job_name):
            return None
        with self.db.reading() as conn:
            r = conn.execute(select(job_definitions).where(
                job_definitions.c.application_id == application_id,
                job_definitions.c.job_type == job_type,
                job_definitions.c.name_key == name_key(job_name))).first()
        if r is None:
            return None
        return JobDefinition(r.job_type, r.job_name, r.plan_type, load_json(r.parameters))
