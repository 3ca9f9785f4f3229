"""Named operations on cube data: read a cube's cells, write them back in a transaction.

A cube's cells are stored as chunks of sorted packed keys and values (``planning.cube``),
each chunk a row holding two little-endian arrays, so a 10-million-cell cube is a few
hundred rows that read and write at disk speed on SQLite and PostgreSQL alike (decision
D48). A header row records the layout the keys were packed with (dimension names and each
node's member id) and a revision that counts the writes.

Reads map cells stored under an older layout (before a cube refresh) onto the current one,
dropping cells of members that are gone. Writes run inside the caller's transaction (a
job's final one, with its terminal status) and rewrite only the chunks that changed; a
write whose cube changed since it was read is refused (``Conflict``), so a job never
overwrites a change it did not see.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import ColumnElement, Connection, Table, delete, insert, select, update

from epmjobs.errors import Conflict
from epmjobs.planning.application import name_key
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.layout import CubeLayout
from epmjobs.storage.database import Database
from epmjobs.storage.schema import cube_chunks, cube_data

CHUNK_CELLS = 1 << 19  # ~8 MiB of keys and values per row


@dataclass(frozen=True, eq=False)
class StoredCells:
    """A cube's cells as read, in the layout asked for; ``revision`` 0: never written."""

    cells: Cells
    revision: int
    chunk_keys: tuple[int, ...] = ()  # first key of each chunk as stored (current layout)


class CellStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, application_id: int, cube: str, layout: CubeLayout) -> StoredCells:
        with self.db.reading() as conn:
            return self.load_in(conn, application_id, cube, layout)

    def load_in(self, conn: Connection, application_id: int, cube: str,
                layout: CubeLayout) -> StoredCells:
        where = _where(cube_data, application_id, cube)
        header = conn.execute(select(
            cube_data.c.revision, cube_data.c.dimensions, cube_data.c.member_ids,
            cube_data.c.fingerprint).where(*where)).first()
        if header is None:
            return StoredCells(Cells.empty(), 0)
        rows = conn.execute(select(
            cube_chunks.c.first_key, cube_chunks.c.cell_keys, cube_chunks.c.cell_values)
            .where(*_where(cube_chunks, application_id, cube))
            .order_by(cube_chunks.c.first_key)).all()
        keys = _concat([np.frombuffer(r.cell_keys, dtype="<i8") for r in rows], np.int64)
        values = _concat([np.frombuffer(r.cell_values, dtype="<f8") for r in rows], np.float64)
        if header.fingerprint == layout.fingerprint:
            return StoredCells(Cells(keys, values), header.revision,
                               tuple(r.first_key for r in rows))
        stored = _layout(header.dimensions, bytes(header.member_ids))
        new_keys, alive = stored.remap(keys, layout)
        return StoredCells(Cells.build(new_keys, values[alive]), header.revision)

    def save(self, conn: Connection, application_id: int, cube: str, layout: CubeLayout,
             cells: Cells, *, read: StoredCells, rechunk: bool = False) -> int:
        """Write ``cells`` as the cube's data if it is still at ``read``'s revision; return
        the number of chunks written. ``rechunk`` rewrites every chunk at the target size
        instead of only the changed ones (a restructure)."""
        where = _where(cube_data, application_id, cube)
        current = conn.execute(select(cube_data.c.revision).where(*where)).scalar()
        if (current or 0) != read.revision:
            raise Conflict(f"The data of cube {cube} changed while the job ran.")
        header = {"dimensions": orjson.dumps([[n, s] for n, s in zip(
                      layout.dimensions, layout.sizes, strict=True)]).decode(),
                  "member_ids": b"".join(np.ascontiguousarray(ids, dtype="<i8").tobytes()
                                         for ids in layout.member_ids),
                  "fingerprint": layout.fingerprint, "cell_count": len(cells),
                  "saved_at": time.time(), "revision": read.revision + 1}
        if current is None:
            conn.execute(insert(cube_data).values(
                application_id=application_id, cube=name_key(cube), **header))
        else:
            conn.execute(update(cube_data).where(*where).values(**header))
        if rechunk:
            read = StoredCells(read.cells, read.revision)
        return self._write_chunks(conn, application_id, cube, cells, read)

    def _write_chunks(self, conn: Connection, application_id: int, cube: str, cells: Cells,
                      read: StoredCells) -> int:
        chunk_where = _where(cube_chunks, application_id, cube)
        old = dict(zip(read.chunk_keys, _split(read.cells, read.chunk_keys), strict=True)) \
            if read.chunk_keys else {}
        new = _split(cells, read.chunk_keys)
        unchanged = {c.keys[0] for c in new if len(c) and (o := old.get(int(c.keys[0])))
                     is not None and np.array_equal(o.keys, c.keys)
                     and np.array_equal(o.values, c.values)}
        gone = [k for k in old if k not in unchanged]
        if not read.chunk_keys:
            conn.execute(delete(cube_chunks).where(*chunk_where))
        elif gone:
            conn.execute(delete(cube_chunks).where(*chunk_where,
                                                   cube_chunks.c.first_key.in_(gone)))
        rows = [{"application_id": application_id, "cube": name_key(cube),
                 "first_key": int(c.keys[0]), "cell_count": len(c),
                 "cell_keys": c.keys.astype("<i8").tobytes(),
                 "cell_values": c.values.astype("<f8").tobytes()}
                for c in new if len(c) and int(c.keys[0]) not in unchanged]
        for row in rows:
            conn.execute(insert(cube_chunks).values(**row))
        return len(rows)

    def drop(self, conn: Connection, application_id: int, cube: str) -> None:
        conn.execute(delete(cube_chunks).where(*_where(cube_chunks, application_id, cube)))
        conn.execute(delete(cube_data).where(*_where(cube_data, application_id, cube)))

    def chunk_count(self, application_id: int, cube: str) -> int:
        with self.db.reading() as conn:
            rows = conn.execute(select(cube_chunks.c.first_key).where(
                *_where(cube_chunks, application_id, cube))).all()
        return len(rows)

    def cell_count(self, application_id: int, cube: str) -> int:
        with self.db.reading() as conn:
            count = conn.execute(select(cube_data.c.cell_count).where(
                *_where(cube_data, application_id, cube))).scalar()
        return int(count or 0)


def _where(table: Table, application_id: int, cube: str) -> list[ColumnElement[bool]]:
    return [table.c.application_id == application_id, table.c.cube == name_key(cube)]


def _concat(parts: list[npt.NDArray[Any]], dtype: type[np.generic]) -> npt.NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def _layout(dimensions: str, member_ids: bytes) -> CubeLayout:
    names_sizes = orjson.loads(dimensions)
    ids = np.frombuffer(member_ids, dtype="<i8").astype(np.int64)
    parts, start = [], 0
    for _, size in names_sizes:
        parts.append(ids[start:start + size])
        start += size
    return CubeLayout(tuple(n for n, _ in names_sizes), tuple(parts))


def _split(cells: Cells, boundaries: tuple[int, ...]) -> list[Cells]:
    """Cells cut at the given first keys (so unchanged chunks compare equal), and chunks
    over twice the target size cut again; empty pieces are dropped."""
    cuts = np.searchsorted(cells.keys, np.asarray(boundaries[1:], dtype=np.int64)) \
        if boundaries else np.zeros(0, dtype=np.int64)
    edges = [0, *cuts.tolist(), len(cells)]
    pieces = []
    for lo, hi in itertools.pairwise(edges):
        size = hi - lo
        step = CHUNK_CELLS if size > 2 * CHUNK_CELLS else max(size, 1)
        for start in range(lo, hi, step):
            stop = min(start + step, hi)
            pieces.append(Cells(cells.keys[start:stop], cells.values[start:stop]))
    return pieces
