"""Member selections: ``ILvl0Descendants(Total Entity), &CurYr, @REMOVE(@CHILDREN(Q1), Feb)``.

One parser and one evaluator for every place a job names members: CLEAR_CUBE's ``members``,
EXPORT_DATA's row/column/POV members, data maps' overrides and the calc-script engine's FIX
lists. Syntax and functions: ``docs/member-selection.md``.

The seams::

    select_members(cube, outline, text, variables={}) -> Selection     # text in, nodes out
        # Selection: dimension name -> int32 nodes (unique, outline order), in the order the
        # text names the dimensions; .base_nodes(dim) maps shared instances to base members
    parse_selection(text) -> [Term]              # Term = MemberRef | Variable | Call
    resolver = MemberResolver(cube, outline, variables)
    resolver.evaluate(term) -> Members(dimension, nodes)   # one term, one dimension
    resolver.select(terms) -> Selection                     # a whole list
    lookup(name) -> Function | None              # the catalogue, for the calc engine
    render(term) -> str                          # back to text that parses the same

Nodes are those of ``CompiledCube`` (``epmjobs.planning.outline.compiled``). Every problem —
malformed text, an unknown member, function or variable, a wrong argument — raises
``MemberSelectionError`` (an ``InvalidRequest``); unknown members get Oracle's text
``The member X does not exist for the specified cube or you do not have access to it.``
"""

from epmjobs.planning.selection.evaluate import MemberResolver, select_members
from epmjobs.planning.selection.functions import At, Function, Members, Param, lookup
from epmjobs.planning.selection.parse import parse_selection
from epmjobs.planning.selection.result import Selection
from epmjobs.planning.selection.terms import Call, MemberRef, Term, Variable, render, render_all

__all__ = [
    "At", "Call", "Function", "MemberRef", "MemberResolver", "Members", "Param", "Selection",
    "Term", "Variable", "lookup", "parse_selection", "render", "render_all", "select_members",
]
