"""Essbase calc scripts: the lexer, the parser and the syntax tree (``ast``) that the
evaluator will run. ``parse_script`` for business rules, ``parse_formula`` for member
formulas; every error is a ``CalcScriptError`` with a line and column."""

from epmjobs.planning.calc.parser import parse_formula, parse_script
from epmjobs.planning.calc.references import (
    KNOWN_FUNCTIONS,
    check_functions,
    prompt_names,
    variable_names,
)

__all__ = ["KNOWN_FUNCTIONS", "check_functions", "parse_formula", "parse_script",
           "prompt_names", "variable_names"]
