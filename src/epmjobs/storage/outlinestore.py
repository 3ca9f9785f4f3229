"""Named operations on outlines: the working outline that metadata jobs edit, and the
refreshed outline that data jobs read.

An application's outline is kept as rows (``planning.outline.to_rows``) in two *stages*:
``WORKING`` (what IMPORT_METADATA and SORT_MEMBERS change) and ``REFRESHED`` (what the last
CUBE_REFRESH deployed). Metadata changes reach data jobs only through a refresh, as in
Oracle. Each stage has a header row with a revision (saves so far) and a token unique to
each save; each dimension row records the working revision that last wrote it, so a save
rewrites only the dimensions a job changed and a refresh copies only the dimensions that
changed since the previous one (inside the database, ``INSERT ... SELECT``).

Writes run inside the caller's transaction (a job's final one). Reads check the header's
token before and after reading the rows, so they never mix two saves, and outlines read
once are kept in a small in-process cache keyed by that token: outlines are values (the
planning code never changes one in place), so the cached object is shared safely.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, literal, select, update

from epmjobs.errors import Conflict
from epmjobs.planning.application import Application
from epmjobs.planning.outline import (
    DimensionRow,
    MemberRow,
    Outline,
    OutlineRows,
    from_rows,
    to_rows,
)
from epmjobs.planning.outline.model import gc_paused
from epmjobs.storage.codec import dump_json, load_json
from epmjobs.storage.database import Database
from epmjobs.storage.schema import outline_dimensions, outline_members, outlines

WORKING = 0
REFRESHED = 1
_CACHE_SIZE = 4
_READ_ATTEMPTS = 3
_MEMBER_COLUMNS = ("application_id", "stage", "dimension", "member_id", "name", "parent_id",
                   "position", "storage", "base_id", "properties")
_COPIED = [outline_members.c[name] for name in _MEMBER_COLUMNS[2:]]


@dataclass(frozen=True)
class StoredOutline:
    """An outline as read from one stage; ``revision`` 0 means nothing was saved yet."""

    outline: Outline
    revision: int = 0
    token: str | None = None
    saved_at: float | None = None


@dataclass(frozen=True)
class _Header:
    revision: int
    token: str
    alias_tables: list[str]
    next_id: int
    saved_at: float


class OutlineStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: OrderedDict[str, Outline] = OrderedDict()
        self._lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------

    def working(self, app: Application) -> StoredOutline:
        return self.load(app, WORKING)

    def refreshed(self, app: Application) -> StoredOutline:
        """The outline data jobs use: the working outline as of the last cube refresh."""
        return self.load(app, REFRESHED)

    def revision(self, application_id: int, stage: int = WORKING) -> int:
        with self.db.reading() as conn:
            header = _header(conn, application_id, stage)
        return header.revision if header else 0

    def pending_dimensions(self, application_id: int) -> list[str]:
        """The working dimensions changed since the last refresh (all before the first)."""
        with self.db.reading() as conn:
            working = _dimension_rows(conn, application_id, WORKING)
            refreshed = _dimension_rows(conn, application_id, REFRESHED)
        return [r.name for position, r in sorted(working.items())
                if refreshed.get(position) != r]

    def load(self, app: Application, stage: int = WORKING) -> StoredOutline:
        for _ in range(_READ_ATTEMPTS):
            with self.db.reading() as conn:
                header = _header(conn, app.application_id, stage)
                if header is None:
                    return StoredOutline(Outline(app.cubes))
                outline = self._cached(header.token)
                if outline is None:
                    with gc_paused():
                        rows = _read_rows(conn, app.application_id, stage, header)
                    again = _header(conn, app.application_id, stage)
                    if again is None or again.token != header.token:
                        continue  # a save committed while we read: read again
                    outline = from_rows(app.cubes, rows)
                    self._remember(header.token, outline)
            return StoredOutline(outline, header.revision, header.token, header.saved_at)
        raise Conflict(f"The outline of {app.name} kept changing while it was read; try again.")

    def _cached(self, token: str) -> Outline | None:
        with self._lock:
            found = self._cache.get(token)
            if found is not None:
                self._cache.move_to_end(token)
            return found

    def _remember(self, token: str, outline: Outline) -> None:
        with self._lock:
            self._cache[token] = outline
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)

    # -- writing (inside the caller's transaction) --------------------------------------

    def save(self, conn: Connection, application_id: int, outline: Outline, *,
             base: StoredOutline | None = None, now: float) -> int:
        """Store ``outline`` as the working outline; returns its new revision.

        With ``base`` (the stored outline it was derived from), only the dimensions that are
        not the very objects of ``base`` are rewritten, and the save is refused (Conflict) if
        the working outline changed since ``base`` was read.
        """
        header = _header(conn, application_id, WORKING, for_update=True)
        current = header.revision if header else 0
        if base is not None and current != base.revision:
            raise Conflict("The outline changed while the job ran (revision "
                           f"{base.revision} became {current}); nothing was saved.")
        revision = current + 1
        stored = _dimension_rows(conn, application_id, WORKING)
        changed = _changed_positions(outline, base, stored)
        _delete_dimensions(conn, application_id, WORKING, changed)
        names = [outline.dimensions[p].name for p in changed if p < len(outline.dimensions)]
        with gc_paused():  # hundreds of thousands of new containers; no garbage among them
            rows = to_rows(outline, only=names)
            if rows.dimensions:
                conn.execute(insert(outline_dimensions), [
                    _dimension_values(application_id, WORKING, d, revision)
                    for d in rows.dimensions])
            _insert_members(conn, application_id, rows.members)
        token = uuid.uuid4().hex
        _put_header(conn, application_id, WORKING, header is not None, revision, token,
                    list(outline.alias_tables), outline.next_id, now)
        # Safe before the commit: a token is unique to this save, so if the transaction rolls
        # back no header will ever carry it and the entry is never used.
        self._remember(token, outline)
        return revision

    def refresh(self, conn: Connection, application_id: int, revision: int,
                now: float) -> list[str]:
        """Make working ``revision`` the refreshed outline; returns the names of the
        dimensions that were copied (those changed since the previous refresh)."""
        header = _header(conn, application_id, WORKING, for_update=True)
        if header is None:
            return []
        if header.revision != revision:
            raise Conflict(f"The outline changed while the refresh ran (revision {revision} "
                           f"became {header.revision}); nothing was refreshed.")
        working = _dimension_rows(conn, application_id, WORKING)
        current = _dimension_rows(conn, application_id, REFRESHED)
        same_shape = {p: (r.name, r.type) for p, r in working.items()} == {
            p: (r.name, r.type) for p, r in current.items()}
        copy = sorted(p for p, r in working.items()
                      if not same_shape or current[p].revision != r.revision)
        stale = sorted(set(current) - set(working))
        _delete_dimensions(conn, application_id, REFRESHED, copy + stale)
        for position in copy:
            _copy_dimension(conn, application_id, position)
        old = _header(conn, application_id, REFRESHED)
        _put_header(conn, application_id, REFRESHED, old is not None, header.revision,
                    header.token, header.alias_tables, header.next_id, now)
        return [working[p].name for p in copy]


# -- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DimensionRecord:
    name: str
    type: str
    revision: int


def _header(conn: Connection, application_id: int, stage: int,
            for_update: bool = False) -> _Header | None:
    query = select(outlines).where(outlines.c.application_id == application_id,
                                   outlines.c.stage == stage)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    return _Header(row.revision, row.token, load_json(row.alias_tables), row.next_id,
                   row.saved_at)


def _put_header(conn: Connection, application_id: int, stage: int, exists: bool,
                revision: int, token: str, alias_tables: list[str], next_id: int,
                now: float) -> None:
    values = {"revision": revision, "token": token, "alias_tables": dump_json(alias_tables),
              "next_id": next_id, "saved_at": now}
    if exists:
        conn.execute(update(outlines).where(outlines.c.application_id == application_id,
                                            outlines.c.stage == stage).values(**values))
    else:
        conn.execute(insert(outlines).values(application_id=application_id, stage=stage,
                                             **values))


def _dimension_rows(conn: Connection, application_id: int,
                    stage: int) -> dict[int, _DimensionRecord]:
    rows = conn.execute(select(outline_dimensions.c.position, outline_dimensions.c.name,
                               outline_dimensions.c.type, outline_dimensions.c.revision)
                        .where(outline_dimensions.c.application_id == application_id,
                               outline_dimensions.c.stage == stage)).all()
    return {r.position: _DimensionRecord(r.name, r.type, r.revision) for r in rows}


def _changed_positions(outline: Outline, base: StoredOutline | None,
                       stored: dict[int, _DimensionRecord]) -> list[int]:
    """Positions to rewrite: those whose dimension is not the base's very object, every
    position when the dimensions themselves differ, and stored positions now gone."""
    count = len(outline.dimensions)
    gone = [p for p in stored if p >= count]
    if base is None or len(base.outline.dimensions) != count or any(
            stored.get(i) is None or stored[i].name != d.name or stored[i].type != d.type.value
            for i, d in enumerate(outline.dimensions)):
        return sorted(set(range(count)) | set(gone))
    return [i for i, (new, old) in enumerate(zip(outline.dimensions, base.outline.dimensions,
                                                 strict=True)) if new is not old] + gone


def _delete_dimensions(conn: Connection, application_id: int, stage: int,
                       positions: Sequence[int]) -> None:
    if not positions:
        return
    for table, column in ((outline_members, outline_members.c.dimension),
                          (outline_dimensions, outline_dimensions.c.position)):
        conn.execute(delete(table).where(table.c.application_id == application_id,
                                         table.c.stage == stage, column.in_(positions)))


def _dimension_values(application_id: int, stage: int, d: DimensionRow,
                      revision: int) -> dict[str, Any]:
    return {"application_id": application_id, "stage": stage, "position": d.position,
            "name": d.name, "type": d.type, "root_id": d.root_id, "cubes": dump_json(d.cubes),
            "base_dimension": d.base_dimension, "revision": revision}


def _insert_members(conn: Connection, application_id: int, members: list[MemberRow]) -> None:
    """The bulk path: one executemany on SQLite, COPY on PostgreSQL, same transaction."""
    if not members:
        return
    rows = [(application_id, WORKING, m.dimension, m.member_id, m.name, m.parent_id, m.position,
             m.storage, m.base_id, orjson.dumps(m.properties).decode()) for m in members]
    columns = ", ".join(_MEMBER_COLUMNS)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(
                f"COPY outline_members ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(_MEMBER_COLUMNS))
    conn.exec_driver_sql(f"INSERT INTO outline_members ({columns}) VALUES ({marks})", rows)


def _copy_dimension(conn: Connection, application_id: int, position: int) -> None:
    source = (outline_members.c.application_id == application_id,
              outline_members.c.stage == WORKING, outline_members.c.dimension == position)
    conn.execute(insert(outline_members).from_select(
        list(_MEMBER_COLUMNS),
        select(literal(application_id), literal(REFRESHED), *_COPIED).where(*source)))
    dims = outline_dimensions.c
    conn.execute(insert(outline_dimensions).from_select(
        [c.name for c in outline_dimensions.columns],
        select(literal(application_id), literal(REFRESHED), dims.position, dims.name,
               dims.type, dims.root_id, dims.cubes, dims.base_dimension, dims.revision)
        .where(dims.application_id == application_id, dims.stage == WORKING,
               dims.position == position)))


def _read_rows(conn: Connection, application_id: int, stage: int,
               header: _Header) -> OutlineRows:
    d = outline_dimensions.c
    dims = [DimensionRow(r.position, r.name, r.type, r.root_id, load_json(r.cubes),
                         r.base_dimension)
            for r in conn.execute(select(d.position, d.name, d.type, d.root_id, d.cubes,
                                         d.base_dimension)
                                  .where(d.application_id == application_id, d.stage == stage)
                                  .order_by(d.position))]
    members = [MemberRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], orjson.loads(r[7]))
               for r in _member_tuples(conn, application_id, stage)]
    return OutlineRows(header.alias_tables, header.next_id, dims, members)


def _member_tuples(conn: Connection, application_id: int, stage: int) -> list[tuple[Any, ...]]:
    """The members of a stage as plain tuples, through the driver's own cursor (SQLAlchemy's
    rows cost as much again on 200,000 members)."""
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = ("SELECT member_id, dimension, name, parent_id, position, storage, base_id, properties"
           f" FROM outline_members WHERE application_id = {mark} AND stage = {mark}"
           " ORDER BY dimension, member_id")
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(sql, (application_id, stage))
        return list(cursor.fetchall())
    finally:
        cursor.close()
