"""Running a calc script against a cube's cells.

    result = run_script(model, cells, script, variables={"CurYr": "FY25"},
                        prompts={"Entity": "E110"})
    result.cells          # the cube's cells after the script (the input is not changed)

Every problem — a member the cube does not have, a function used wrongly, a runaway
recursion in formulas — raises ``CalcScriptError`` with the line and column of the
statement or expression at fault, and no result: a caller that keeps the cells it passed
in keeps the cube as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc import ast
from epmjobs.planning.calc.dataexport import DataExportFile
from epmjobs.planning.calc.machine import Machine, Options
from epmjobs.planning.calc.parser import parse_script
from epmjobs.planning.calc.references import check_functions
from epmjobs.planning.calc.statements import ScriptRun
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.model import CubeModel


@dataclass(frozen=True, eq=False)
class CalcResult:
    cells: Cells
    statements: int       # statements run (those inside FIX blocks included)
    cells_written: int    # cell writes, a cell counted once per statement that set it
    exports: tuple[DataExportFile, ...] = ()  # DATAEXPORT files, for the caller to write


def run_script(model: CubeModel, cells: Cells, script: ast.Script, *,
               variables: Mapping[str, str] | None = None,
               prompts: Mapping[str, str] | None = None,
               options: Options | None = None,
               check: Callable[[], None] | None = None,
               shortcuts: bool = True) -> CalcResult:
    """Run a parsed script; ``check`` is called between statements (it may raise to stop,
    e.g. when a job is cancelled). ``shortcuts=False`` runs every statement by the general
    path (``fastpath`` gives the same results; the tests compare them)."""
    machine = Machine(model, cells, variables or {}, prompts or {}, options or Options(),
                      check or (lambda: None))
    try:
        ScriptRun(machine, shortcuts).run(script)
    except RecursionError:
        raise CalcScriptError("the calculation nests too deeply (formulas referring to "
                              "formulas)") from None
    except MemoryError:
        raise CalcScriptError("the calculation needs more memory than is available: narrow "
                              "it with FIX") from None
    return CalcResult(machine.cells, machine.counters.statements,
                      machine.counters.cells_written, tuple(machine.exports))


def run_text(model: CubeModel, cells: Cells, text: str, **kwargs: object) -> CalcResult:
    """Parse, check and run a script's text (see ``run_script`` for the keywords)."""
    script = parse_script(text)
    check_functions(script)
    return run_script(model, cells, script, **kwargs)  # type: ignore[arg-type]
