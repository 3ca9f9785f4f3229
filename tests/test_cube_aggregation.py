"""Consolidation against hand-computed values (reference §6) and, on random outlines and
data, against the slow reference in cube_support."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cube_support import Grid, member, outline, reference_consolidate
from epmjobs.planning.cube.cells import Cells, LoadMode
from epmjobs.planning.cube.consolidate import Consolidator, calc_order

ACCOUNTS = [
    member("Profit", "Account"),
    member("Sales", "Profit"),
    member("COGS", "Profit", "-"),
    member("Units", "Account", "~"),
    member("Price", "Account", "~"),
    member("Stock", "Account", "~", accountType="Asset", timeBalance="Balance",
           skipValue="Missing"),
    member("Opening", "Account", "~", accountType="Saved Assumption", timeBalance="First"),
    member("AvgHead", "Account", "~", accountType="Saved Assumption", timeBalance="Average",
           skipValue="Missing and Zeros"),
]
PERIODS = [member("Q1", "Period"), member("Jan", "Q1"), member("Feb", "Q1"),
           member("Mar", "Q1"), member("BegBalance", "Period", "~")]
ENTITIES = [member("Total", "Entity"), member("East", "Total"), member("NY", "East"),
            member("Boston", "East"), member("West", "Total"), member("SF", "West"),
            member("Label", "Entity", "~", "Label Only"), member("L1", "Label", "+"),
            member("L2", "Label", "+"),
            member("Dyn", "Entity", "~", "Dynamic Calc"), member("D1", "Dyn"),
            member("D2", "Dyn", "-"),
            member("Only", "Entity", "~"), member("Child", "Only", "-"),
            member("Alt", "Entity", "~"), {"name": "NY", "parent": "Alt", "shared": True},
            {"name": "SF", "parent": "Alt", "shared": True}]


def grid() -> Grid:
    return Grid(outline(("Account", "Account", "Dense", ACCOUNTS),
                        ("Period", "Period", "Dense", PERIODS),
                        ("Entity", "Entity", "Sparse", ENTITIES)))


def aggregate(g: Grid, data: dict[tuple[str, ...], float], **kw: bool) -> dict[
        tuple[str, ...], float]:
    c = Consolidator(g.cube, g.layout)
    return g.named(c.aggregate(g.cells(data), calc_order(g.cube), **kw))


def test_plus_and_minus_roll_up_every_dimension() -> None:
    g = grid()
    out = aggregate(g, {("Sales", "Jan", "NY"): 10, ("Sales", "Feb", "NY"): 20,
                        ("COGS", "Jan", "NY"): 4, ("Sales", "Jan", "SF"): 7})
    assert out["Profit", "Jan", "NY"] == 6
    assert out["Profit", "Q1", "NY"] == 26
    assert out["Sales", "Q1", "East"] == 30
    assert out["Profit", "Q1", "Total"] == 33
    assert out["COGS", "Jan", "Total"] == 4
    assert ("Sales", "Mar", "NY") not in out  # a parent's missing child stays missing


def test_missing_children_leave_the_parent_missing_not_zero() -> None:
    g = grid()
    out = aggregate(g, {("Sales", "Jan", "NY"): 0.0})
    assert out["Sales", "Q1", "Total"] == 0.0
    assert ("Sales", "Q1", "West") not in out


def test_time_balance_first_last_average_with_skip() -> None:
    g = grid()
    out = aggregate(g, {("Stock", "Jan", "NY"): 100, ("Stock", "Feb", "NY"): 110,
                        ("Opening", "Feb", "NY"): 7, ("Opening", "Mar", "NY"): 8,
                        ("AvgHead", "Jan", "NY"): 3, ("AvgHead", "Feb", "NY"): 0,
                        ("AvgHead", "Mar", "NY"): 5})
    assert out["Stock", "Q1", "NY"] == 110  # Balance, skip missing: Feb (Mar is missing)
    assert ("Opening", "Q1", "NY") not in out  # First, no skip: Jan is missing
    assert out["AvgHead", "Q1", "NY"] == 4  # Average skipping missing and zeros: (3+5)/2
    assert out["Stock", "Q1", "East"] == 110  # other dimensions add up as usual


def test_label_only_is_its_first_child_and_is_not_stored() -> None:
    g = grid()
    c = Consolidator(g.cube, g.layout)
    cells = g.cells({("Sales", "Jan", "L1"): 5, ("Sales", "Jan", "L2"): 6})
    assert ("Sales", "Jan", "Label") not in g.named(c.aggregate(cells, ["Entity"]))
    assert g.named(c.evaluate_dynamic(cells, ["Entity"]))["Sales", "Jan", "Label"] == 5


def test_dynamic_parents_are_computed_on_read_only() -> None:
    g = grid()
    c = Consolidator(g.cube, g.layout)
    cells = g.cells({("Sales", "Jan", "D1"): 5, ("Sales", "Jan", "D2"): 2})
    assert ("Sales", "Jan", "Dyn") not in g.named(c.aggregate(cells, ["Entity"]))
    assert g.named(c.evaluate_dynamic(cells, ["Entity"]))["Sales", "Jan", "Dyn"] == 3


def test_implied_share_parent_is_its_only_consolidating_child() -> None:
    g = grid()
    out = aggregate(g, {("Sales", "Jan", "Child"): 9})
    assert out["Sales", "Jan", "Only"] == 9  # not -9: the parent *is* the child


def test_shared_members_consolidate_their_base_value() -> None:
    g = grid()
    out = aggregate(g, {("Sales", "Jan", "NY"): 10, ("Sales", "Jan", "SF"): 7})
    assert out["Sales", "Jan", "Alt"] == 17
    assert out["Sales", "Jan", "Total"] == 17  # Alt is ~: not counted twice


def test_multiplicative_operators_fold_in_sibling_order() -> None:
    g = Grid(outline(("Account", "Account", "Dense", [
        member("R", "Account"), member("A", "R"), member("B", "R"), member("C", "R", "*"),
        member("D", "R", "/"), member("P", "Account", "~"), member("X", "P"),
        member("Y", "P", "%")])))
    c = Consolidator(g.cube, g.layout)
    out = g.named(c.aggregate(g.cells({("A",): 2, ("B",): 3, ("C",): 4, ("D",): 5,
                                       ("X",): 1, ("Y",): 4}), ["Account"]))
    assert out["R",] == pytest.approx((2 + 3) * 4 / 5)
    assert out["P",] == pytest.approx(25.0)
    no_divisor = g.named(c.aggregate(g.cells({("A",): 2, ("C",): 4}), ["Account"]))
    assert ("R",) not in no_divisor  # X / #Missing is #Missing
    by_zero = g.named(c.aggregate(g.cells({("A",): 2, ("C",): 4, ("D",): 0}), ["Account"]))
    assert ("R",) not in by_zero


def test_never_members_do_not_consolidate_in_any_dimension() -> None:
    g = Grid(outline(("Account", "Account", "Dense", [
        member("T", "Account"), member("A", "T"), member("N", "T", "^")]),
        ("Entity", "Entity", "Sparse", [member("E", "Entity"), member("E1", "E")])))
    out = aggregate(g, {("A", "E1"): 1, ("N", "E1"): 5})
    assert out["T", "E1"] == 1
    assert out["A", "E"] == 1
    assert ("N", "E") not in out


def test_aggmissg_decides_whether_a_loaded_parent_survives_missing_children() -> None:
    g = grid()
    data = {("Sales", "Jan", "East"): 50.0, ("Sales", "Jan", "SF"): 1.0}
    assert aggregate(g, data)["Sales", "Jan", "East"] == 50
    assert ("Sales", "Jan", "East") not in aggregate(g, data, aggmissg=True)


# -- random outlines against the reference -------------------------------------------------

OPS = ["+", "+", "+", "-", "~", "*", "/", "%", "^"]


@st.composite
def random_case(draw: st.DrawFn) -> tuple[Grid, dict[tuple[str, ...], float], bool]:
    dims = []
    for d, (dname, dtype) in enumerate([("Account", "Account"), ("Period", "Period"),
                                        ("Entity", "Entity")][:draw(st.integers(1, 3))]):
        members: list[dict[str, object]] = []
        names = [dname]
        for i in range(draw(st.integers(1, 7))):
            name = f"{dname[0]}{i}"
            props: dict[str, object] = {}
            if dtype == "Account":
                props = {"accountType": "Saved Assumption", "timeBalance": draw(
                    st.sampled_from(["Flow", "First", "Balance", "Average"])),
                    "skipValue": draw(st.sampled_from(
                        ["None", "Missing", "Zeros", "Missing and Zeros"]))}
            members.append(member(name, draw(st.sampled_from(names)), draw(st.sampled_from(OPS)),
                                  draw(st.sampled_from(["Store", "Store", "Dynamic Calc",
                                                        "Never Share", "Label Only"])), **props))
            names.append(name)
        dims.append((dname, dtype, "Dense" if d < 2 else "Sparse", members))
    g = Grid(outline(*dims))
    leaves = [[n for i, n in enumerate(d.names) if d.level[i] == 0 and d.base[i] == i]
              for d in g.cube.dimensions]
    data = {}
    for _ in range(draw(st.integers(0, 12))):
        k = tuple(draw(st.sampled_from(ls)) for ls in leaves)
        data[k] = float(draw(st.sampled_from([0, 1, 2, -3, 5, 10])))
    return g, data, draw(st.booleans())


def _by_nodes(g: Grid, cells: Cells) -> dict[tuple[int, ...], float]:
    coords = g.layout.unpack(cells.keys)
    return {tuple(int(c[i]) for c in coords): v for i, v in enumerate(cells.values.tolist())}


def _same(a: dict[tuple[int, ...], float], b: dict[tuple[int, ...], float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-9)
                                        for k in a)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_aggregation_matches_the_slow_reference(case: tuple[Grid, dict[
        tuple[str, ...], float], bool]) -> None:
    g, data, aggmissg = case
    c = Consolidator(g.cube, g.layout)
    account = "Account"
    fast = g.cells(data)
    slow = _by_nodes(g, fast)
    for name in calc_order(g.cube):
        t = c.stored_targets(name)
        fast = c.dimension(fast, name, t, aggmissg=aggmissg)
        slow = reference_consolidate(g, slow, name, t.compute, t.keep, aggmissg, account)
        assert _same(_by_nodes(g, fast), slow), name


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_dynamic_reads_match_the_slow_reference(case: tuple[Grid, dict[
        tuple[str, ...], float], bool]) -> None:
    g, data, _ = case
    c = Consolidator(g.cube, g.layout)
    fast = g.cells(data)
    slow = _by_nodes(g, fast)
    for name in calc_order(g.cube):
        t = c.dynamic_targets(name)
        fast = c.dimension(fast, name, t, aggmissg=True)
        slow = reference_consolidate(g, slow, name, t.compute, t.keep, True, "Account")
        assert _same(_by_nodes(g, fast), slow), name


def test_cells_keep_missing_distinct_from_zero() -> None:
    cells = Cells.build(np.array([3, 1, 2]), np.array([0.0, np.nan, 5.0]))
    assert cells.keys.tolist() == [2, 3] and cells.values.tolist() == [5.0, 0.0]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 40), st.sampled_from([0.0, 1.5, -2.0, 7.0]), max_size=25),
       st.dictionaries(st.integers(0, 40), st.sampled_from([0.0, 3.0, -1.0, float("nan")]),
                       max_size=25),
       st.sampled_from(list(LoadMode)))
def test_merge_matches_a_dictionary_model(old: dict[int, float], new: dict[int, float],
                                          mode: LoadMode) -> None:
    def cells(d: dict[int, float]) -> Cells:
        keys = np.array(sorted(d), dtype=np.int64)
        return Cells(keys, np.array([d[k] for k in sorted(d)], dtype=np.float64))

    expected = dict(old)
    for k, v in new.items():
        if mode is LoadMode.REPLACE:
            if math.isnan(v):
                expected.pop(k, None)
            else:
                expected[k] = v
        elif not math.isnan(v):
            expected[k] = expected.get(k, 0.0) + (v if mode is LoadMode.ACCUMULATE else -v)
    base = Cells.build(cells(old).keys, cells(old).values)
    merged = base.merge(cells(new), mode)
    assert dict(zip(merged.keys.tolist(), merged.values.tolist(), strict=True)) == expected
    assert (np.diff(merged.keys) > 0).all()
