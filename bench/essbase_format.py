"""The Essbase-format data file reader and writer on generated files, in process.

    .venv/bin/python bench/essbase_format.py [--rows 100000] [--repeat 3]

Files (7 dimensions, Period as the column dimension, 20% of the cells #Mi):
- columns: a header of 12 months, then ``--rows`` lines of 6 quoted members and 12 values;
- cells: one quoted cell a line (3 x ``--rows`` lines), the same unquoted, and the same
  written with carry-forward (a line leaves out the members it shares with the line before).

Each reading goes from the file's bytes (``text_lines``) to the last EssbaseRecord. Figures
are the best of ``--repeat`` runs, in wall and CPU seconds (the machine is shared: CPU time is
what the code costs), as values/s. References in the same run on the same files: the floor of
any Python reader (decode, ``str.split``, ``float`` on the value tokens, nothing else) and
DuckDB's ``read_csv`` summing the column file. The issue's target: >= 300,000 values/s.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from epmjobs.planning.data.essbase_format import (
    read_essbase,
    text_lines,
    write_essbase,
)

DIMS = ("Period", "Account", "Entity", "Product", "Scenario", "Version", "Years")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MEMBERS = {"Period": MONTHS, "Account": [f"A{i:05d}" for i in range(400)],
           "Entity": [f"E{i:04d}" for i in range(100)], "Product": [f"P-{i}" for i in range(50)],
           "Scenario": ["Actual"], "Version": ["Final"], "Years": ["FY24"]}
DIMENSION_OF = {m: d for d, ms in MEMBERS.items() for m in ms}


def best(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    walls, cpus, count = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        count = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), count


def read(path: Path) -> int:
    with path.open("rb") as stream:
        reader = read_essbase(text_lines(stream, path.name), dimensions=DIMS,
                              dimension_of=DIMENSION_OF.get)
        return sum(1 for _ in reader)


def floor(path: Path) -> int:
    count = 0
    with path.open("rb") as stream:
        for raw in stream:
            tokens = raw.decode().split()
            for token in tokens[-12:] if len(tokens) > 12 else tokens[-1:]:
                if token[0] != "#" and token[0] != '"':
                    float(token)
                count += 1
    return count


def duckdb_sum(path: Path) -> int:
    import duckdb  # the reference only: a dev dependency
    values = ", ".join(f"column{i + 6:02d}" for i in range(12))
    rows = duckdb.sql(f"select count(*), sum(v) from (select unnest([{values}]) as v from "
                      f"read_csv('{path}', delim=' ', quote='\"', header=false, skip=1, "
                      f"nullstr='#Mi', columns={{{_columns()}}}))").fetchall()
    return int(rows[0][0])


def _columns() -> str:
    names = [f"'column{i:02d}': 'VARCHAR'" for i in range(6)]
    return ", ".join(names + [f"'column{i + 6:02d}': 'DOUBLE'" for i in range(12)])


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    rnd = random.Random(7)
    keys = itertools.islice(itertools.product(MEMBERS["Account"], MEMBERS["Entity"],
                                              MEMBERS["Product"]), rows)
    table = [((a, e, p, "Actual", "Final", "FY24"),
              [None if rnd.random() < 0.2 else round(rnd.uniform(-1e6, 1e6), 2)
               for _ in MONTHS]) for a, e, p in keys]
    cells = [((m, *key), [v]) for key, values in table[:rows // 4]
             for m, v in zip(MONTHS, values, strict=True)]
    paths = {name: folder / f"{name}.txt" for name in
             ("columns", "cells", "cells unquoted", "cells carry-forward")}
    paths["columns"].write_text("".join(write_essbase(
        table, dimensions=DIMS, column_dimension="Period", column_members=MONTHS)))
    quoted = "".join(write_essbase(cells, dimensions=DIMS))
    paths["cells"].write_text(quoted)
    paths["cells unquoted"].write_text(quoted.replace('"', ""))
    paths["cells carry-forward"].write_text("".join(write_essbase(
        cells, dimensions=DIMS, carry_forward=True)))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_files(Path(scratch), args.rows)
        lines = [((("a",) * 6), [1.5] * 12)] * args.rows
        print(f"{'what':38} {'values':>9} {'wall s':>7} {'cpu s':>7} {'values/s (cpu)':>15}")
        runs = [("write columns", lambda: sum(1 for _ in write_essbase(
            lines, dimensions=DIMS, column_dimension="Period", column_members=MONTHS)) * 12)]
        runs += [(f"read {name}", lambda p=path: read(p)) for name, path in paths.items()]
        runs += [("reference: split+float floor, columns", lambda: floor(paths["columns"])),
                 ("reference: split+float floor, cells", lambda: floor(paths["cells"])),
                 ("reference: duckdb read_csv, columns", lambda: duckdb_sum(paths["columns"]))]
        for label, fn in runs:
            wall, cpu, count = best(fn, args.repeat)
            print(f"{label:38} {count:>9} {wall:>7.2f} {cpu:>7.2f} {count / cpu:>15,.0f}")


if __name__ == "__main__":
    main()
