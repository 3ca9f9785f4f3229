"""Fuzz the evaluator: scripts assembled from statement and expression pieces of the test
cube's members and every function, valid or not, either run or raise CalcScriptError —
never another exception — and never change the cells they were given."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calc_support import Cube
from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc.engine import run_text

CUBE = Cube()
DATA = CUBE.grid.cells({
    ("Units", "Jan", "NY", "Actual"): 10, ("Price", "Jan", "NY", "Actual"): 2,
    ("Units", "Feb", "SF", "Actual"): 0, ("Revenue", "Jan", "East", "Budget"): 5,
    ("Cost", "Mar", "Boston", "Actual"): -3})
MEMBERS = ['"Units"', '"Price"', '"Revenue"', '"Cost"', '"Margin"', '"Ratio"', '"Jan"', '"Q1"',
           '"NY"', '"East"', '"Total"', '"Budget"', '"Actual"', '"Nope"', "&Yr", "{Who}",
           '"Units"->"Budget"', '"Jan":"Mar"', '"NY"->"Q1"', "@CURRMBR(Entity)"]
FUNCTIONS = ["@SUM", "@AVG", "@AVGRANGE", "@PRIOR", "@NEXT", "@ISMBR", "@ISLEV", "@ISCHILD",
             "@ISDESC", "@ISUDA", "@PARENTVAL", "@ANCESTVAL", "@ROUND", "@ABS", "@MAX", "@MIN",
             "@CURRMBR", "@RELATIVE", "@CHILDREN", "@DESCENDANTS", "@UDA", "@LIST"]
ATOMS = st.one_of(st.sampled_from(MEMBERS), st.sampled_from(["0", "1", "2.5", "-1", "#MI",
                                                             "SKIPMISSING", "Entity", "x"]))


def _calls(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(FUNCTIONS),
                     st.lists(inner, max_size=3))


EXPRESSIONS = st.recursive(ATOMS, lambda inner: st.one_of(
    _calls(inner),
    st.builds(lambda a, op, b: f"({a} {op} {b})", inner,
              st.sampled_from(["+", "-", "*", "/", "%", "==", "<>", "<", ">=", "AND", "OR"]),
              inner),
    st.builds(lambda e: f"-{e}", inner)), max_leaves=8)
TARGETS = st.sampled_from(['"Revenue"', '"Cost"', '"Units"->"Budget"', '"Budget"', "x",
                           '"Margin"', '"NY"'])
STATEMENTS = st.one_of(
    st.builds(lambda t, e: f"{t} = {e};", TARGETS, EXPRESSIONS),
    st.builds(lambda t, c, e: f"{t} ( IF ({c}) {t} = {e}; ELSE {t} = #MI; ENDIF )",
              TARGETS, EXPRESSIONS, EXPRESSIONS),
    st.builds(lambda n, t, e: f"LOOP ({n}) {t} = {e}; ENDLOOP", st.sampled_from(
        ["0", "2", "-1", "1.5", '"Units"']), TARGETS, EXPRESSIONS),
    st.sampled_from(['AGG ("Entity");', 'AGG ("Account");', "CALC ALL;",
                     'CALC DIM ("Account", "Entity");', 'DATACOPY "Actual" TO "Budget";',
                     'CLEARDATA "Units";', "CLEARBLOCK UPPER;", "SET AGGMISSG ON;",
                     "SET CREATENONMISSINGBLK ON;", "VAR x = 1;", '"Margin";',
                     'DATAEXPORT "File" "," "f.txt";',
                     "SET DATAEXPORTOPTIONS { DataExportColFormat OFF; };"]))


@st.composite
def scripts(draw: st.DrawFn) -> str:
    body = " ".join(draw(st.lists(STATEMENTS, min_size=1, max_size=4)))
    fix = draw(st.lists(st.sampled_from([*MEMBERS, "@RELATIVE(Entity, 0)"]), max_size=3))
    return f"FIX ({', '.join(fix)}) {body} ENDFIX" if fix else body


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scripts())
def test_fuzz_scripts_run_or_raise_calc_script_errors_only(script: str) -> None:
    keys, values = DATA.keys.copy(), DATA.values.copy()
    try:
        result = run_text(CUBE.model, DATA, script, variables={"Yr": "Jan"},
                          prompts={"Who": "NY"})
    except CalcScriptError as exc:
        assert exc.reason
    else:
        assert (np.diff(result.cells.keys) > 0).all()
        assert not np.isnan(result.cells.values).any()
    assert np.array_equal(DATA.keys, keys) and np.array_equal(DATA.values, values)
