"""DATAEXPORT's layout on the small calc cube, against hand-written files: the default
column format with Dynamic Calc values, dimension headers, levels, rounding, EXCLUDE, the
cell list, and the options' errors."""

from __future__ import annotations

import pytest

from calc_support import Cube
from epmjobs.errors import CalcScriptError
from test_calc_engine import BASE


@pytest.fixture(scope="module")
def cube() -> Cube:
    return Cube()


def exported(cube: Cube, script: str) -> list[str]:
    [found] = cube.result(BASE, script).exports
    return "".join(found.lines()).splitlines()


def test_the_default_layout_has_the_first_dense_dimension_across_and_dynamic_values(
        cube: Cube) -> None:
    assert exported(cube, 'FIX ("Actual") DATAEXPORT "File" "," "out.txt"; ENDFIX') == [
        '"Profit","Revenue","Cost","Units","Price","Rate","Margin","Ratio"',
        '"Jan","NY","Actual",#MI,#MI,7,10,2,#MI,-7,#MI',
        '"Feb","NY","Actual",#MI,#MI,#MI,5,3,#MI,#MI,#MI',
        '"Jan","SF","Actual",#MI,#MI,#MI,4,#MI,#MI,#MI,#MI']


def test_headers_rounding_and_an_empty_missing_text_in_block_order(cube: Cube) -> None:
    """Blocks in outline order of the sparse dimensions (NY, Boston, SF), then dense."""
    script = ('SET DATAEXPORTOPTIONS { DataExportColHeader "Period"; DataExportDimHeader ON; '
              'DataExportDynamicCalc OFF; DataExportDecimal 1; }; FIX ("Units", "Price") '
              'DATAEXPORT "File" ";" "out.txt" "NULL"; ENDFIX')
    assert exported(cube, script) == [
        '"Account";"Entity";"Scenario";"Q1";"Jan";"Feb";"Mar";"BegBalance"',
        '"Units";"NY";"Actual";;10;5;;', '"Price";"NY";"Actual";;2;3;;',
        '"Units";"Boston";"Budget";;1;;;', '"Price";"Boston";"Budget";;0;;;',
        '"Units";"SF";"Actual";;4;;;']


def test_level0_drops_upper_blocks_and_exclude_cuts_cells(cube: Cube) -> None:
    data_script = ('AGG ("Entity"); SET DATAEXPORTOPTIONS { DataExportLevel LEVEL0; '
                   "DataExportColFormat OFF; }; FIX (\"Units\") EXCLUDE (\"Feb\") "
                   'DATAEXPORT "File" " " "out.txt"; ENDEXCLUDE ENDFIX')
    assert exported(cube, data_script) == [
        '"Units" "Jan" "NY" "Actual" 10', '"Units" "Jan" "Boston" "Budget" 1',
        '"Units" "Jan" "SF" "Actual" 4']


def test_the_file_holds_the_values_of_its_statement_not_later_ones(cube: Cube) -> None:
    result = cube.result(BASE, 'SET DATAEXPORTOPTIONS { DataExportColFormat OFF; }; '
                               'FIX ("Units", "SF") DATAEXPORT "File" "," "a.txt"; '
                               '"Units" = 99; ENDFIX')
    assert "".join(result.exports[0].lines()) == '"Units","Jan","SF","Actual",4\n'


@pytest.mark.parametrize(("script", "message"), [
    ('SET DATAEXPORTOPTIONS { DataExportColFormat MAYBE; };', "takes ON or OFF"),
    ('SET DATAEXPORTOPTIONS { DataExportDecimal -1; };', "takes a whole number"),
    ('SET DATAEXPORTOPTIONS { DataExportNonExistingBlocks ON; };', "is not supported"),
    ('DATAEXPORT "DSN" "db" "t" "u" "p";', 'DATAEXPORT "Dsn" is not supported'),
    ('DATAEXPORT "File" ",";', "takes a delimiter, a file name"),
    ('DATAEXPORT "File" "," "a.txt" "a,b";', "the DATAEXPORT missing text"),
])
def test_bad_options_and_statements_are_errors(cube: Cube, script: str, message: str) -> None:
    with pytest.raises(CalcScriptError) as caught:
        cube.result(BASE, script)
    assert message in str(caught.value)


@pytest.mark.parametrize(("option", "written"), [
    ("DataExportDecimal 1", "1234.6"), ("DataExportPrecision 3", "1230"),
    ("DataExportDecimal 0", "1235")])
def test_decimal_and_precision_round_the_values(cube: Cube, option: str, written: str) -> None:
    data = {("Units", "Jan", "NY", "Actual"): 1234.5678}
    script = (f"SET DATAEXPORTOPTIONS {{ {option}; DataExportColFormat OFF; }}; "
              'DATAEXPORT "File" "," "a.txt";')
    [found] = cube.result(data, script).exports
    assert "".join(found.lines()) == f'"Units","Jan","NY","Actual",{written}\n'
