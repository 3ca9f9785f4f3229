"""The calc-script evaluator on Essbase semantics, against hand-computed values: #Missing
arithmetic, FIX scoping and blocks, IF in member blocks, cross-dimensional references,
formula order, AGG, data movement, functions, variables and prompts, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calc_support import DIMENSIONS, Cube, Named, changed
from cube_support import member
from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc import arithmetic

NAN = float("nan")
BASE: Named = {
    ("Units", "Jan", "NY", "Actual"): 10, ("Price", "Jan", "NY", "Actual"): 2,
    ("Units", "Feb", "NY", "Actual"): 5, ("Price", "Feb", "NY", "Actual"): 3,
    ("Units", "Jan", "SF", "Actual"): 4,
    ("Cost", "Jan", "NY", "Actual"): 7,
    ("Units", "Jan", "Boston", "Budget"): 1, ("Price", "Jan", "Boston", "Budget"): 0,
}


@pytest.fixture(scope="module")
def cube() -> Cube:
    return Cube()


def delta(cube: Cube, script: str, data: Named = BASE, **kwargs: object) -> Named:
    return changed(data, cube.run(data, script, **kwargs))


def same(a: Named, b: Named) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == pytest.approx(b[k]) for k in a)


# -- #Missing arithmetic (reference §6.3) ----------------------------------------------------

M = NAN


@pytest.mark.parametrize(("op", "a", "b", "expected"), [
    ("+", 5, M, 5), ("+", M, 5, 5), ("+", M, M, M), ("-", 5, M, 5), ("-", M, 5, -5),
    ("-", M, M, M), ("*", 5, M, M), ("*", M, M, M), ("/", 5, M, M), ("/", M, 5, M),
    ("/", 5, 0, M), ("/", 0, 5, 0), ("%", 1, 4, 25), ("%", 5, M, M), ("%", M, 5, M),
    ("%", 5, 0, M), ("==", 5, M, 0), ("==", M, M, 1), ("==", 0, M, 0), ("!=", 5, M, 1),
    ("!=", M, M, 0), ("<=", -1, M, 1), ("<=", 1, M, 0), (">=", 0, M, 1), (">=", M, M, 1),
    (">", 1, M, 1), (">", 0, M, 0), ("<", -1, M, 1), ("<", M, M, 0),
    ("AND", 3, M, M), ("AND", 0, M, 0), ("AND", M, M, M), ("AND", 2, 3, 1),
    ("OR", 3, M, 1), ("OR", 0, M, M), ("OR", M, M, M), ("OR", 0, 0, 0),
])
def test_missing_algebra_follows_the_reference_table(op: str, a: float, b: float,
                                                      expected: float) -> None:
    out = arithmetic.BINARY[op](np.array([a], dtype=float), np.array([b], dtype=float))[0]
    assert (math.isnan(out) and math.isnan(expected)) or out == expected


def test_not_and_negation_of_missing_stay_missing_and_if_missing_is_false() -> None:
    values = np.array([M, 0.0, 2.0])
    assert np.isnan(arithmetic.logical_not(values)[0])
    assert list(arithmetic.logical_not(values)[1:]) == [1.0, 0.0]
    assert np.isnan(arithmetic.negate(values)[0])
    assert list(arithmetic.truth(values)) == [False, False, True]


def test_round_is_half_away_from_zero_and_negative_digits_round_to_tens() -> None:
    values = np.array([2.5, -2.5, 1234.0, 0.125, M])
    assert list(arithmetic.round_half_away(values, 0)[:2]) == [3.0, -3.0]
    assert arithmetic.round_half_away(values, -2)[2] == 1200.0
    assert arithmetic.round_half_away(values, 2)[3] == 0.13
    assert np.isnan(arithmetic.round_half_away(values, 0)[4])


# -- assignments, blocks and FIX --------------------------------------------------------------

def test_units_times_price_inside_a_fix_writes_only_where_both_exist(cube: Cube) -> None:
    assert delta(cube, 'FIX ("Actual") "Revenue" = "Units" * "Price"; ENDFIX') == {
        ("Revenue", "Jan", "NY", "Actual"): 20.0, ("Revenue", "Feb", "NY", "Actual"): 15.0}


def test_division_by_zero_and_missing_operands_clear_the_target(cube: Cube) -> None:
    data = {**BASE, ("Revenue", "Jan", "Boston", "Budget"): 99.0}
    got = delta(cube, 'FIX ("Budget") "Revenue" = "Units" / "Price"; ENDFIX', data)
    assert same(got, {("Revenue", "Jan", "Boston", "Budget"): NAN})


def test_addition_and_subtraction_with_missing_operands(cube: Cube) -> None:
    got = delta(cube, 'FIX ("Actual", "Jan", "SF") "Revenue" = "Units" + "Price"; '
                      '"Cost" = "Price" - "Units"; ENDFIX')
    assert got == {("Revenue", "Jan", "SF", "Actual"): 4.0,
                   ("Cost", "Jan", "SF", "Actual"): -4.0}


def test_a_dense_target_fills_every_existing_block_in_scope_and_creates_none(
        cube: Cube) -> None:
    got = delta(cube, 'FIX ("Jan") "Rate" = 5; ENDFIX')
    assert got == {("Rate", "Jan", e, s): 5.0
                   for e, s in (("NY", "Actual"), ("SF", "Actual"), ("Boston", "Budget"))}


def test_a_sparse_target_runs_on_existing_blocks_only_unless_creation_is_on(
        cube: Cube) -> None:
    script = 'FIX ("Jan") "Units"->"Budget" = "Units"->"Actual" * 2; ENDFIX'
    assert same(delta(cube, script), {("Units", "Jan", "Boston", "Budget"): NAN})
    created = delta(cube, "SET CREATENONMISSINGBLK ON;\n" + script)
    assert same(created, {("Units", "Jan", "Boston", "Budget"): NAN,
                          ("Units", "Jan", "NY", "Budget"): 20.0,
                          ("Units", "Jan", "SF", "Budget"): 8.0})
    assert same(delta(cube, "SET CREATEBLOCKONEQ ON;\n" + script), created)


def test_if_elseif_else_in_a_member_block(cube: Cube) -> None:
    data = {**BASE, ("Cost", "Jan", "Boston", "Actual"): 1.0}
    script = '''FIX ("Actual", "Jan")
      "Revenue" (
        IF ("Units" > 8)
          "Revenue" = 1;
        ELSEIF ("Units" > 3 AND @ISMBR("SF"))
          "Revenue" = 2;
        ELSE
          "Revenue" = 3;
        ENDIF
      )
    ENDFIX'''
    assert delta(cube, script, data) == {("Revenue", "Jan", "NY", "Actual"): 1.0,
                                          ("Revenue", "Jan", "SF", "Actual"): 2.0,
                                          ("Revenue", "Jan", "Boston", "Actual"): 3.0}


def test_later_statements_of_a_block_see_earlier_ones(cube: Cube) -> None:
    script = ('FIX ("Actual", "Jan", "NY") "Revenue" ( "Revenue" = "Units" * "Price"; '
              '"Profit" = "Revenue" - "Cost"; ) ENDFIX')
    assert delta(cube, script) == {("Revenue", "Jan", "NY", "Actual"): 20.0,
                                   ("Profit", "Jan", "NY", "Actual"): 13.0}


def test_cross_dimensional_references_read_outside_the_fix(cube: Cube) -> None:
    data = {**BASE, ("Cost", "Jan", "NY", "Budget"): 1.0}
    script = ('FIX ("Budget", "Jan") "Revenue" = "Units"->"Actual"->"Feb" * '
              '"Price"->"Actual"; ENDFIX')
    assert delta(cube, script, data) == {("Revenue", "Jan", "NY", "Budget"): 10.0}


def test_nested_fix_intersects_and_exclude_takes_out(cube: Cube) -> None:
    nested = delta(cube, 'FIX (@CHILDREN("East")) FIX ("NY", "SF") "Rate" = 1; ENDFIX ENDFIX')
    assert nested == {("Rate", p, "NY", "Actual"): 1.0  # not the root: an implied share
                      for p in ("Q1", "Jan", "Feb", "Mar", "BegBalance")}
    excluded = delta(cube, 'FIX ("Actual") EXCLUDE ("Jan", "Feb") "Rate" = 1; ENDEXCLUDE ENDFIX')
    assert excluded == {("Rate", p, e, "Actual"): 1.0
                        for p in ("Q1", "Mar", "BegBalance") for e in ("NY", "SF")}


def test_fix_with_ranges_and_and_or(cube: Cube) -> None:
    script = 'FIX ("Jan":"Feb", "Actual", @DESCENDANTS("Total") AND @UDA("Entity", "Big")) ' \
             '"Rate" = 1; ENDFIX'
    assert delta(cube, script) == {("Rate", p, e, "Actual"): 1.0
                                   for p in ("Jan", "Feb") for e in ("NY", "SF")}


def test_empty_member_sets(cube: Cube) -> None:
    script = 'FIX (@CHILDREN("NY"), "Actual", "Jan") "Rate" = 1; ENDFIX'
    assert len(delta(cube, script)) == 2  # OFF: an empty list does not restrict
    assert delta(cube, "SET EMPTYMEMBERSETS ON;\n" + script) == {}


# -- consolidation and formulas -----------------------------------------------------------------

AGG_DATA: Named = {
    ("Revenue", "Jan", "NY", "Actual"): 10, ("Revenue", "Jan", "Boston", "Actual"): 5,
    ("Revenue", "Jan", "SF", "Actual"): 2, ("Cost", "Jan", "East", "Actual"): 100}


def test_agg_consolidates_sparse_parents_and_aggmissg_decides_stale_parents(
        cube: Cube) -> None:
    off = cube.run(AGG_DATA, 'AGG ("Entity");')
    for entity, value in (("East", 15), ("West", 2), ("Total", 17), ("Entity", 17)):
        assert off[("Revenue", "Jan", entity, "Actual")] == value
    assert off[("Cost", "Jan", "East", "Actual")] == 100
    assert off[("Cost", "Jan", "Total", "Actual")] == 100
    on = cube.run(AGG_DATA, 'SET AGGMISSG ON; AGG ("Entity");')
    assert ("Cost", "Jan", "East", "Actual") not in on
    assert ("Cost", "Jan", "Total", "Actual") not in on
    assert on[("Revenue", "Jan", "Total", "Actual")] == 17


def test_agg_inside_a_fix_computes_the_parents_the_fix_allows(cube: Cube) -> None:
    got = delta(cube, 'FIX (@IDESCENDANTS("East")) AGG ("Entity"); ENDFIX', AGG_DATA)
    assert got == {("Revenue", "Jan", "East", "Actual"): 15.0}


def test_agg_refuses_a_dense_dimension(cube: Cube) -> None:
    with pytest.raises(CalcScriptError, match=r"line 1, column 6: AGG works on sparse"):
        cube.run(BASE, 'AGG ("Account");')


FORMULA_ACCOUNTS = [
    member("Sum", "Account"), member("A", "Sum"),
    member("B", "Sum", formula='"A" * 2;'),
    member("Share", "Account", "~", formula='"B" / "Sum" * 100;'),
    member("P", "Account", "~", formula="100;"), member("X", "P"),
]


def formula_cube() -> Cube:
    from calc_support import DIMENSIONS
    return Cube([("Account", "Account", "Dense", FORMULA_ACCOUNTS), *DIMENSIONS[1:]])


def test_calc_dim_runs_formulas_in_outline_order_children_before_parents() -> None:
    cube = formula_cube()
    data = {("A", "Jan", "NY", "Actual"): 3.0, ("X", "Jan", "NY", "Actual"): 5.0}
    got = delta(cube, 'FIX ("Jan") CALC DIM ("Account"); ENDFIX', data)
    assert got == {("B", "Jan", "NY", "Actual"): 6.0, ("Sum", "Jan", "NY", "Actual"): 9.0,
                   ("Share", "Jan", "NY", "Actual"): pytest.approx(600 / 9),
                   ("P", "Jan", "NY", "Actual"): 100.0,
                   ("Account", "Jan", "NY", "Actual"): 9.0}  # the root consolidates too
    assert delta(cube, 'FIX ("Jan") AGG ("Entity"); ENDFIX', data)[
        ("A", "Jan", "Total", "Actual")] == 3.0  # AGG ignores formulas


def test_calc_all_and_calc_member() -> None:
    cube = formula_cube()
    data = {("A", "Jan", "NY", "Actual"): 3.0, ("A", "Jan", "SF", "Actual"): 1.0}
    everything = cube.run(data, 'FIX ("Jan") CALC ALL; ENDFIX')
    assert everything[("B", "Jan", "Total", "Actual")] == 8.0
    assert everything[("Sum", "Jan", "NY", "Actual")] == 9.0
    assert everything[("Sum", "Jan", "Total", "Actual")] == 12.0
    assert ("Sum", "Q1", "NY", "Actual") not in everything  # outside the FIX
    assert cube.run(data, "CALC ALL;")[("Sum", "Q1", "Total", "Actual")] == 12.0
    one = delta(cube, 'FIX ("Jan") "B"; ENDFIX', data)
    assert one == {("B", "Jan", "NY", "Actual"): 6.0, ("B", "Jan", "SF", "Actual"): 2.0}


def test_dynamic_calc_formulas_are_computed_when_read(cube: Cube) -> None:
    data = {("Revenue", "Jan", "NY", "Actual"): 20.0, ("Cost", "Jan", "NY", "Actual"): 5.0}
    got = delta(cube, 'FIX ("Jan", "Actual") "Rate" = "Ratio"; "Price" = "Margin"; ENDFIX',
                data)
    assert got == {("Rate", "Jan", "NY", "Actual"): 75.0,
                   ("Price", "Jan", "NY", "Actual"): 15.0}


def test_dynamic_parents_are_consolidated_when_read() -> None:
    from calc_support import DIMENSIONS
    entities = [member("Total", "Entity", "+", "Dynamic Calc"), member("NY", "Total"),
                member("SF", "Total"), member("Boston", "Entity", "~")]
    cube = Cube([*DIMENSIONS[:2], ("Entity", "Entity", "Sparse", entities), DIMENSIONS[3]])
    data = {("Units", "Jan", "NY", "Actual"): 3.0, ("Units", "Jan", "SF", "Actual"): 4.0,
            ("Price", "Jan", "Boston", "Actual"): 1.0}
    got = delta(cube, 'FIX ("Jan", "Boston") "Units" = "Units"->"Total" * 10; ENDFIX', data)
    assert got == {("Units", "Jan", "Boston", "Actual"): 70.0}


def test_runaway_recursion_in_formulas_is_a_clear_error() -> None:
    from calc_support import DIMENSIONS
    accounts = [*DIMENSIONS[0][3],
                member("Loop1", "Account", "~", "Dynamic Calc", formula='"Loop2" + 1;'),
                member("Loop2", "Account", "~", "Dynamic Calc", formula='"Loop1" * 2;')]
    cube = Cube([("Account", "Account", "Dense", accounts), *DIMENSIONS[1:]])
    with pytest.raises(CalcScriptError, match='runaway recursion in member formulas: '
                                              '"Loop1" -> "Loop2" -> "Loop1"'):
        cube.run(BASE, 'FIX ("Jan") "Rate" = "Loop1"; ENDFIX')


# -- data movement --------------------------------------------------------------------------------

def test_datacopy_replaces_target_blocks_whose_source_exists(cube: Cube) -> None:
    data = {**BASE, ("Cost", "Jan", "NY", "Budget"): 1.0, ("Rate", "Jan", "NY", "Budget"): 9.0}
    got = delta(cube, 'FIX ("Jan") DATACOPY "Actual" TO "Budget"; ENDFIX', data)
    assert same(got, {("Units", "Jan", "NY", "Budget"): 10.0,
                      ("Price", "Jan", "NY", "Budget"): 2.0,
                      ("Cost", "Jan", "NY", "Budget"): 7.0,
                      ("Rate", "Jan", "NY", "Budget"): NAN,
                      ("Units", "Jan", "SF", "Budget"): 4.0})


def test_cleardata_and_clearblock(cube: Cube) -> None:
    assert same(delta(cube, 'FIX ("Actual") CLEARDATA "Units"; ENDFIX'),
                {("Units", p, e, "Actual"): NAN for p, e in (("Jan", "NY"), ("Feb", "NY"),
                                                             ("Jan", "SF"))})
    upper = delta(cube, "CLEARBLOCK UPPER;", AGG_DATA)
    assert same(upper, {("Cost", "Jan", "East", "Actual"): NAN})
    budget = delta(cube, 'FIX ("Budget") CLEARBLOCK ALL; ENDFIX')
    assert set(budget) == {k for k in BASE if k[3] == "Budget"}
    with pytest.raises(CalcScriptError, match="NONINPUT is not supported"):
        cube.run(BASE, "CLEARBLOCK NONINPUT;")


# -- functions ---------------------------------------------------------------------------------

FUNCTION_DATA: Named = {**BASE, ("Revenue", "Jan", "NY", "Actual"): 10.0,
                        ("Revenue", "Jan", "Boston", "Actual"): 5.0,
                        ("Revenue", "Jan", "East", "Actual"): 50.0,
                        ("Revenue", "Jan", "Total", "Actual"): 70.0}


@pytest.mark.parametrize(("entity", "expr", "expected"), [
    ("SF", '@SUM(@CHILDREN("East"))', 15.0),
    ("SF", '@SUM("NY", "Boston", "SF")', 15.0),
    ("SF", '@AVG(SKIPMISSING, "NY", "Boston", "SF")', 7.5),
    ("SF", '@AVG(SKIPNONE, "NY", "Boston", "SF")', 5.0),
    ("SF", '@MAX("NY", "SF")', 10.0), ("SF", '@MIN("NY", "SF")', 0.0),
    ("SF", '@MIN("SF", "West")', NAN),
    ("SF", '@PARENTVAL("Entity", "Revenue")', NAN),
    ("NY", '@PARENTVAL("Entity", "Revenue")', 50.0),
    ("NY", '@ANCESTVAL("Entity", 2, "Revenue")', 70.0),
    ("NY", '@ANCESTVAL("Entity", -1)', 50.0),
    ("SF", '@ROUND("NY" / 3, 2)', 3.33), ("SF", '@ABS(0 - "NY")', 10.0),
    ("SF", '@AVGRANGE(SKIPMISSING, "Revenue", "NY":"SF")', 7.5),
    ("SF", '@ISUDA("Entity", "Big") + @ISLEV("Entity", 0) * 10 + @ISCHILD("West") * 100 '
           '+ @ISDESC("Total") * 1000 + @ISDESC("East") * 10000', 1111.0),
])
def test_value_functions(cube: Cube, entity: str, expr: str, expected: float) -> None:
    script = f'FIX ("Actual", "Jan", "{entity}") "Revenue" = {expr}; ENDFIX'
    got = cube.run(FUNCTION_DATA, script)
    value = got.get(("Revenue", "Jan", entity, "Actual"), NAN)
    assert (math.isnan(value) and math.isnan(expected)) or value == pytest.approx(expected)


def test_prior_and_next_move_along_level_zero_periods(cube: Cube) -> None:
    got = delta(cube, 'FIX ("Actual", "NY") "Rate" = @PRIOR("Units"); '
                      '"Cost" = @NEXT("Units", 1, "Jan":"Mar"); ENDFIX')
    assert same(got, {("Rate", "Feb", "NY", "Actual"): 10.0,
                      ("Rate", "Mar", "NY", "Actual"): 5.0,
                      ("Cost", "Jan", "NY", "Actual"): 5.0})


ROLL = {("Cost", "Jan", "NY", "Actual"): 7.0, ("Units", "Jan", "NY", "Actual"): 10.0,
        ("Units", "Feb", "NY", "Actual"): 5.0, ("Units", "Mar", "NY", "Actual"): 2.0,
        ("Cost", "Jan", "SF", "Actual"): 1.0, ("Units", "Mar", "SF", "Actual"): 4.0}


def test_a_statement_reading_its_own_prior_period_rolls_forward(cube: Cube) -> None:
    """Essbase calculates February after January, so March sees February's new value."""
    got = delta(cube, 'FIX ("Actual", "Feb":"Mar") "Cost" = @PRIOR("Cost") + "Units"; '
                      "ENDFIX", ROLL)
    assert same(got, {("Cost", "Feb", "NY", "Actual"): 12.0,
                      ("Cost", "Mar", "NY", "Actual"): 14.0,
                      ("Cost", "Feb", "SF", "Actual"): 1.0,
                      ("Cost", "Mar", "SF", "Actual"): 5.0})


def test_an_opening_and_closing_block_rolls_forward_period_by_period(cube: Cube) -> None:
    script = ('FIX ("Actual", "NY", "Jan":"Mar") "Rate" ( "Rate" = @PRIOR("Cost"); '
              '"Cost" = "Rate" + "Units"; ) ENDFIX')
    got = delta(cube, script, ROLL)
    # Jan: no prior period, so Rate stays #Missing and Cost = Units
    assert same(got, {("Cost", "Jan", "NY", "Actual"): 10.0,
                      ("Rate", "Feb", "NY", "Actual"): 10.0,
                      ("Cost", "Feb", "NY", "Actual"): 15.0,
                      ("Rate", "Mar", "NY", "Actual"): 15.0,
                      ("Cost", "Mar", "NY", "Actual"): 17.0})


def test_next_reads_periods_not_yet_calculated(cube: Cube) -> None:
    got = delta(cube, 'FIX ("Actual", "NY", "Jan":"Feb") "Units" = @NEXT("Units") + 1; ENDFIX',
                ROLL)
    assert same(got, {("Units", "Jan", "NY", "Actual"): 6.0,
                      ("Units", "Feb", "NY", "Actual"): 3.0})


def test_a_roll_forward_over_a_sparse_period_dimension() -> None:
    dims = [(n, t, "Sparse" if n == "Period" else d, m) for n, t, d, m in DIMENSIONS]
    got = delta(Cube(dims), 'FIX ("Actual", "NY", "Feb":"Mar") '
                            '"Cost" = @PRIOR("Cost") + "Units"; ENDFIX', ROLL)
    assert same(got, {("Cost", "Feb", "NY", "Actual"): 12.0,
                      ("Cost", "Mar", "NY", "Actual"): 14.0})


def test_a_stored_member_formula_with_prior_rolls_forward_in_calc_dim() -> None:
    accounts = [m for m in DIMENSIONS[0][3] if m["name"] != "Rate"]
    accounts.append(member("Rate", "Account", "~", formula='@PRIOR("Rate") + "Units";'))
    dims = [("Account", "Account", "Dense", accounts), *DIMENSIONS[1:]]
    got = delta(Cube(dims), 'FIX ("Actual", "NY", "Jan":"Mar") CALC DIM ("Account"); ENDFIX',
                ROLL)
    assert {k: v for k, v in got.items() if k[0] == "Rate"} == {
        ("Rate", "Jan", "NY", "Actual"): 10.0, ("Rate", "Feb", "NY", "Actual"): 15.0,
        ("Rate", "Mar", "NY", "Actual"): 17.0}


def test_a_loop_solves_interdependent_formulas(cube: Cube) -> None:
    """Essbase's own LOOP example: commission and profit each need the other."""
    got = cube.run(BASE, 'FIX ("Actual", "NY", "Jan") LOOP (30) "Rate" = "Cost" * .15; '
                         '"Cost" = "Units" - "Rate"; ENDLOOP ENDFIX')
    assert got[("Cost", "Jan", "NY", "Actual")] == pytest.approx(10 / 1.15)
    assert got[("Rate", "Jan", "NY", "Actual")] == pytest.approx(10 / 1.15 * .15)


def test_a_loop_in_a_block_stops_each_cell_at_its_break_variable(cube: Cube) -> None:
    data = {**BASE, ("Rate", "Feb", "NY", "Actual"): 5.0}
    script = ('FIX ("Actual", "NY", "Jan":"Feb") "Rate" ( VAR done = 0; '
              'LOOP (10, done) "Rate" = "Rate" + 1; IF ("Rate" >= 3) done = 1; ENDIF '
              "ENDLOOP ) ENDFIX")
    got = delta(cube, script, data)
    assert got == {("Rate", "Jan", "NY", "Actual"): 3.0, ("Rate", "Feb", "NY", "Actual"): 6.0}


def test_a_script_level_break_variable_ends_the_loop(cube: Cube) -> None:
    script = ('VAR stop = 0; FIX ("Actual", "NY", "Jan") LOOP (5, stop) '
              '"Units" = "Units" + 1; stop = 1; ENDLOOP LOOP (0) "Units" = 0; ENDLOOP ENDFIX')
    assert delta(cube, script) == {("Units", "Jan", "NY", "Actual"): 11.0}


@pytest.mark.parametrize(("command", "account", "q1"), [
    ("CALC FIRST", "Units", 10.0), ("CALC LAST", "Price", 3.0),
    ("CALC AVERAGE", "Rate", 3.0)])
def test_calc_first_last_average_consolidate_periods_of_their_accounts_only(
        command: str, account: str, q1: float) -> None:
    tagged = {"Units": "First", "Price": "Balance", "Rate": "Average"}
    accounts = [m for m in DIMENSIONS[0][3] if m["name"] not in tagged]
    accounts += [member(n, "Account", "~", accountType="Saved Assumption", timeBalance=t,
                        skipValue="Missing") for n, t in tagged.items()]
    cube = Cube([("Account", "Account", "Dense", accounts), *DIMENSIONS[1:]])
    data = {**BASE, ("Rate", "Jan", "NY", "Actual"): 2.0, ("Rate", "Feb", "NY", "Actual"): 4.0}
    got = delta(cube, f'FIX ("Actual", "NY") {command}; ENDFIX', data)
    # the tagged accounts' periods only (Cost has a value in Jan, and no Q1 after)
    assert got == {(account, "Q1", "NY", "Actual"): q1, (account, "Period", "NY", "Actual"): q1}


def test_parentval_without_a_member_reads_the_cell_being_calculated(cube: Cube) -> None:
    data = {**FUNCTION_DATA, ("Price", "Jan", "East", "Actual"): 4.0}
    got = delta(cube, 'FIX ("Actual", "Jan", "NY") "Price" = @PARENTVAL("Entity"); ENDFIX',
                data)
    assert got == {("Price", "Jan", "NY", "Actual"): 4.0}


# -- variables and prompts -----------------------------------------------------------------

def test_substitution_variables_and_runtime_prompts(cube: Cube) -> None:
    got = delta(cube, 'FIX (&Scn, {Ent}, "Jan") "Rate" = {Val} + &Bump; ENDFIX',
                variables={"Scn": "Actual", "Bump": "1"},
                prompts={"Ent": "@LIST(NY, SF)", "Val": "7"})
    assert got == {("Rate", "Jan", e, "Actual"): 8.0 for e in ("NY", "SF")}


def test_script_variables_outside_and_inside_blocks(cube: Cube) -> None:
    script = ('VAR Factor = 3; FIX ("Actual", "Jan", "NY") "Rate" ( VAR Double = "Units" * 2; '
              '"Rate" = Double * Factor; ) ENDFIX')
    assert delta(cube, script) == {("Rate", "Jan", "NY", "Actual"): 60.0}


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("script", "message"), [
    ('FIX ("Nope") "Rate" = 1; ENDFIX',
     "line 1, column 6: The member Nope does not exist for the specified cube or you do not "
     "have access to it."),
    ('"Rate" = @CHILDREN("East");', "line 1, column 10: @CHILDREN returns members, not a value"),
    ('"Rate" = "Units" + "Gone";', "line 1, column 20: The member Gone does not exist"),
    ('FIX ({Ent}) "Rate" = 1; ENDFIX',
     "line 1, column 6: Value is missing for the runtime prompt: Ent."),
    ('FIX (&Nope) "Rate" = 1; ENDFIX',
     "line 1, column 6: The substitution variable &Nope is not defined."),
    ('"Rate" = @ROUND("Units", "Price");',
     "line 1, column 26: expected a whole number for the number of decimals"),
    ('"Units"->"Price" = 1;', '"Units"->"Price" names two members of the dimension Account'),
    ("ARRAY a[Period];", "ARRAY is parsed but not executed"),
    ("LOOP (-1) ENDLOOP", "line 1, column 7: the LOOP count must be a whole number"),
    ('LOOP ("Units") ENDLOOP', "line 1, column 7: the LOOP count takes a constant value"),
    ("LOOP (2, nope) ENDLOOP", "the break variable nope is not declared by VAR"),
    ('"Rate" = @FOO(1);', "unknown function @FOO"),
    ("SET AGGMISSG MAYBE;", "SET AGGMISSG takes ON or OFF"),
])
def test_errors_name_the_position_and_leave_the_cells_alone(cube: Cube, script: str,
                                                            message: str) -> None:
    cells = cube.grid.cells(BASE)
    keys, values = cells.keys.copy(), cells.values.copy()
    from epmjobs.planning.calc.engine import run_text
    with pytest.raises(CalcScriptError) as caught:
        run_text(cube.model, cells, script)
    assert message in str(caught.value)
    assert np.array_equal(cells.keys, keys) and np.array_equal(cells.values, values)


def test_a_statement_too_large_is_refused_before_it_allocates(cube: Cube,
                                                               monkeypatch) -> None:
    from epmjobs.planning.calc import scope
    monkeypatch.setattr(scope, "MAX_TARGET_CELLS", 3)
    with pytest.raises(CalcScriptError, match="narrow it with FIX"):
        cube.run(BASE, '"Rate" = 1;')


# -- the shortcut for strict statements gives the general path's results -------------------------

ACCOUNT_NAMES = ("Revenue", "Cost", "Units", "Price", "Rate")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.dictionaries(
    st.tuples(st.sampled_from(ACCOUNT_NAMES), st.sampled_from(("Q1", "Jan", "Feb")),
              st.sampled_from(("NY", "SF", "East")), st.sampled_from(("Actual", "Budget"))),
    st.one_of(st.just(0.0), st.floats(-100, 100, allow_nan=False)), max_size=25),
    script=st.sampled_from([
        '"Revenue" = "Units" * "Price";',
        'FIX ("Actual", @CHILDREN("East")) "Revenue" = "Units" / "Price"; ENDFIX',
        'FIX ("Jan") "Cost" = -"Units" - "Price" % "Rate"; ENDFIX',
        '"Revenue"->"Feb" = @ROUND("Units" * 1.5, 1) + "Price";',
        '"Rate" = #MISSING * "Units";',
        'FIX ("Budget") EXCLUDE ("SF") "Revenue" = @ABS("Cost"); ENDEXCLUDE ENDFIX',
    ]))
def test_the_shortcut_gives_the_general_paths_results(cube: Cube, cells: Named,
                                                     script: str) -> None:
    from epmjobs.planning.calc.engine import run_text
    data = cube.grid.cells(cells)
    fast = run_text(cube.model, data, script).cells
    slow = run_text(cube.model, data, script, shortcuts=False).cells
    assert np.array_equal(fast.keys, slow.keys)
    assert np.array_equal(fast.values, slow.values)


def test_consolidating_in_parts_gives_the_same_cells(cube: Cube, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from epmjobs.planning.calc import consolidation
    from epmjobs.planning.calc.engine import run_text
    data = cube.grid.cells({**AGG_DATA, **FUNCTION_DATA, ("Units", "Feb", "SF", "Budget"): 3.0})
    script = 'AGG ("Entity"); CALC DIM ("Scenario");'
    whole = run_text(cube.model, data, script).cells
    monkeypatch.setattr(consolidation, "PART_CELLS", 2)
    parts = run_text(cube.model, data, script).cells
    assert np.array_equal(whole.keys, parts.keys)
    assert np.array_equal(whole.values, parts.values)
    assert len(whole) > len(data)


@settings(max_examples=200, deadline=None)
@given(old=st.dictionaries(st.integers(0, 60), st.floats(-5, 5, allow_nan=False), max_size=30),
       new=st.dictionaries(st.integers(0, 60), st.one_of(st.just(float("nan")),
                                                         st.floats(-5, 5, allow_nan=False)),
                           max_size=30))
def test_merging_sorted_writes_matches_the_cell_stores_merge(old: dict[int, float],
                                                             new: dict[int, float]) -> None:
    from epmjobs.planning.calc.cellops import merge_sorted
    from epmjobs.planning.cube.cells import Cells
    base = Cells.build(np.array(list(old), dtype=np.int64), np.array(list(old.values())))
    keys = np.array(sorted(new), dtype=np.int64)
    values = np.array([new[k] for k in sorted(new)], dtype=np.float64)
    got = merge_sorted(base, keys, values)
    expected = base.merge((keys, values))
    assert np.array_equal(got.keys, expected.keys)
    assert np.array_equal(got.values, expected.values)
