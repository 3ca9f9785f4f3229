"""Member selections on generated outlines: how long a selection takes to evaluate.

    .venv/bin/python bench/selection.py [--members 25000,200000] [--repeat 5] [--nice -10]

For each outline size, a few selections on the generated Entity and Product dimensions
(about 20% and 40% of the members) are evaluated twice: *cold*, ``select_members`` from
the text as a job does it (parse, a new resolver, the dimension's hierarchy index built),
and *warm*, the parsed terms on a resolver that has seen the dimension before (as the calc
engine will keep it). The reference, in the same run, is the obvious Python code over the
outline's member objects (``Dimension.walk`` and ``Member.children``) computing the same
set of members. Figures are the best of ``--repeat`` runs, in milliseconds of CPU time
(the machine is shared); the results are also saved as JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from epmjobs.planning.outline import compile_cube, synthetic_outline  # noqa: E402
from epmjobs.planning.outline.model import Dimension, Member  # noqa: E402
from epmjobs.planning.selection import (  # noqa: E402
    MemberResolver,
    parse_selection,
    select_members,
)


def best_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best * 1000, result


def leaves(dim: Dimension, top: Member) -> list[int]:
    return [m.id for m in dim.walk(top) if not m.children]


def descendants(dim: Dimension, top: Member) -> list[int]:
    return [m.id for m in dim.walk(top)]


def with_uda(dim: Dimension, top: Member, uda: str) -> list[int]:
    return [m.id for m in dim.walk() if m.base is None and uda in m.props.udas]


def removed(dim: Dimension, top: Member, gone: Member) -> list[int]:
    """Members under ``top`` but not under ``gone``; a shared instance is its base member."""
    drop = {(m.base or m).id for m in dim.walk(gone)}
    return [m.id for m in dim.walk(top) if (m.base or m).id not in drop]


def cases(dim: Dimension) -> list[tuple[str, Callable[[], list[int]]]]:
    """(selection text, the reference computing the same members' ids) for ``dim``."""
    root = dim.root
    first = max(root.children, key=lambda m: sum(1 for _ in dim.walk(m)))
    name, child = dim.name, first.name
    return [
        (f"ILvl0Descendants({name})", lambda: leaves(dim, root)),
        (f'IDescendants("{child}")', lambda: descendants(dim, first)),
        (f"@RELATIVE({name}, 0)", lambda: leaves(dim, root)),
        (f"Children({name})", lambda: [m.id for m in root.children]),
        (f"@UDA({name}, Synthetic)", lambda: with_uda(dim, root, "Synthetic")),
        (f'@REMOVE(@IDESCENDANTS({name}), @IDESCENDANTS("{child}"))',
         lambda: removed(dim, root, first)),
    ]


def run_size(members: int, repeat: int) -> list[dict[str, Any]]:
    outline = synthetic_outline(members)
    cube = compile_cube(outline, "Plan1")
    rows = []
    print(f"\n{outline.member_count():,} members; CPU ms, best of {repeat}")
    print(f"{'selection':<58}{'nodes':>8}{'cold':>9}{'warm':>9}{'walk ref':>10}{'x ref':>8}")
    for dim_name in ("Entity", "Product"):
        dim = outline.require(dim_name)
        compiled = cube.dimension(dim_name)
        assert compiled is not None
        resolver = MemberResolver(cube, outline)
        for text, reference in cases(dim):
            terms = parse_selection(text)
            resolver.select(terms)  # the dimension's indexes exist from here on
            cold, found = best_ms(partial(select_members, cube, outline, text), repeat)
            warm, _ = best_ms(partial(resolver.select, terms), repeat)
            ref, expected = best_ms(reference, repeat)
            got = {int(compiled.ids[n]) for n in found.base_nodes(dim_name).tolist()}
            assert got == {(dim.by_id[i].base or dim.by_id[i]).id for i in expected}, text
            row = {"dimension": dim_name, "members": len(dim), "selection": text,
                   "nodes": len(found[dim_name]), "cold_ms": round(cold, 3),
                   "warm_ms": round(warm, 3), "reference_ms": round(ref, 3),
                   "x_reference_warm": round(ref / warm, 1) if warm else None}
            rows.append(row)
            shown = f"{dim_name} ({len(dim):,}): {text}"[:57]
            print(f"{shown:<58}{row['nodes']:>8,}{cold:>9.2f}{warm:>9.2f}{ref:>10.2f}"
                  f"{(ref / warm if warm else float('inf')):>7.1f}x", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", default="25000,200000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nice", type=int, default=0, help="renice first (negative: root)")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    results: dict[str, Any] = {"args": vars(args), "sizes": {}}
    for size in (int(s) for s in args.members.split(",")):
        results["sizes"][size] = run_size(size, args.repeat)
    out = BENCH_DIR / "results" / f"selection-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nsaved {out.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
