"""Generated outlines of any size, for benchmarks and large round-trip tests.

Deterministic for a seed: 8 dimensions (Account, Entity, Period, Years, Scenario, Version,
Product, Customer) over the Vision cubes, the members spread over Account, Entity, Product
and Customer in ragged trees up to 8 levels deep, with aliases in two tables, descriptions,
UDAs, some formulas, mixed storage and operators, and about 1% shared instances.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from epmjobs.planning.outline.model import Dimension, Member, Properties, gc_paused, inherit
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vision import CUBES, MONTHS
from epmjobs.planning.outline.vocabulary import (
    AccountType,
    DataStorage,
    Density,
    DimensionType,
    Operator,
)

_SHARES = {"Account": 0.15, "Entity": 0.2, "Product": 0.4, "Customer": 0.25}
_STORAGE = (DataStorage.STORE, DataStorage.NEVER_SHARE, DataStorage.DYNAMIC_CALC)
_OPS = (Operator.ADD, Operator.ADD, Operator.ADD, Operator.SUBTRACT, Operator.IGNORE)


def synthetic_outline(members: int = 200_000, seed: int = 7) -> Outline:
    """An outline of about ``members`` members across 8 dimensions."""
    with gc_paused():
        return _synthetic(members, seed)


def _synthetic(members: int, seed: int) -> Outline:
    rng = random.Random(seed)
    outline = Outline(CUBES, ["Default", "English"])
    all_cubes = {c.name: Density.SPARSE for c in CUBES}
    for name, kind in (("Account", DimensionType.ACCOUNT), ("Period", DimensionType.PERIOD),
                       ("Years", DimensionType.YEARS), ("Scenario", DimensionType.SCENARIO),
                       ("Version", DimensionType.VERSION), ("Entity", DimensionType.ENTITY),
                       ("Product", DimensionType.CUSTOM), ("Customer", DimensionType.CUSTOM)):
        dense = kind in (DimensionType.ACCOUNT, DimensionType.PERIOD)
        outline.add_dimension(name, kind, {c: Density.DENSE if dense else d
                                           for c, d in all_cubes.items()})
    _fixed(outline)
    budget = members - outline.member_count()
    for name, share in _SHARES.items():
        _grow(outline, outline.require(name), int(budget * share), rng)
    return outline


def _fixed(outline: Outline) -> None:
    period = outline.require("Period")
    _add(outline, period, "BegBalance", period.root)
    total = _add(outline, period, "YearTotal", period.root)
    for q in range(4):
        quarter = _add(outline, period, f"Q{q + 1}", total)
        for month in MONTHS[3 * q:3 * q + 3]:
            _add(outline, period, month, quarter)
    for dim, names in (("Years", [f"FY{y}" for y in range(20, 30)] + ["No Year"]),
                       ("Scenario", ["Actual", "Plan", "Forecast"]),
                       ("Version", ["Working", "Final"])):
        d = outline.require(dim)
        for n in names:
            _add(outline, d, n, d.root)


def _add(outline: Outline, dim: Dimension, name: str, parent: Member,
         props: Properties | None = None) -> Member:
    return outline.add_member(dim, name, parent, props or inherit(parent, parent is dim.root))


def _grow(outline: Outline, dim: Dimension, count: int, rng: random.Random) -> None:
    prefix = dim.name[:3].upper()
    parents: list[tuple[Member, int]] = [(dim.root, 0)]
    created: list[Member] = []
    for i in range(count):
        parent, depth = parents[rng.randrange(len(parents))] if i % 4 else parents[-1]
        member = _add(outline, dim, f"{prefix}_{i:06d}", parent, _properties(dim, parent, i, rng))
        created.append(member)
        if depth < 7 and rng.random() < 0.3:
            parents.append((member, depth + 1))
    order: dict[int, int] = {}
    for member in dim.walk():
        order[member.id] = len(order)
    end = _subtree_ends(dim, order)
    for _ in range(count // 100):
        _share(outline, dim, created, rng, lambda base, parent: order[base.id] < end[parent.id])


def _properties(dim: Dimension, parent: Member, i: int, rng: random.Random) -> Properties:
    props = inherit(parent, parent is dim.root)
    n = len(props.ops)
    updates: dict[str, object] = {
        "storage": _STORAGE[i % 3],
        "ops": tuple(_OPS[(i + c) % len(_OPS)] if c < 3 else Operator.ADD for c in range(n)),
        "aliases": {"Default": f"{dim.name} member {i}", "English": f"Item {i}"},
    }
    if i % 5 == 0:
        updates["description"] = f"Generated member {i}, level {rng.randrange(8)}"
    if i % 7 == 0:
        updates["udas"] = (f"Group{i % 13}", "Synthetic")
    if i % 50 == 0:
        updates["formula"] = f'"{parent.name}" * 1.05;'
    if dim.type is DimensionType.ACCOUNT and parent is dim.root:
        updates["account_type"] = list(AccountType)[i % 6]
    return props._replace(**updates)  # type: ignore[arg-type]


def _subtree_ends(dim: Dimension, order: dict[int, int]) -> dict[int, int]:
    """For each member, the outline-order index just past its subtree."""
    end: dict[int, int] = {}
    for member in reversed(list(dim.walk())):
        end[member.id] = end[member.children[-1].id] if member.children else order[member.id] + 1
    return end


def _share(outline: Outline, dim: Dimension, created: list[Member], rng: random.Random,
           precedes: Callable[[Member, Member], bool]) -> None:
    """A shared instance of an early member under a later one, if the outline allows it."""
    base = created[rng.randrange(len(created) // 2)]
    parent = created[rng.randrange(len(created) // 2, len(created))]
    if parent is base.parent or parent is base or parent.is_descendant_of(base):
        return
    if not precedes(base, parent):
        return
    if any(s.parent is parent for s in base.instances or ()):
        return
    n = len(base.props.ops)
    outline.add_shared(dim, base, parent, Properties(
        DataStorage.SHARED, base.props.valid, (Operator.IGNORE,) * n))
