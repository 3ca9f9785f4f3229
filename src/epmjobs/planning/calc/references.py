"""What a parsed script refers to by name: functions, runtime prompts, substitution
variables. A RULES job asks these before it runs anything, so that an unknown function or
a prompt without a value fails the job up front, cube untouched."""

from __future__ import annotations

import difflib

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc.ast import Call, Node, Prompt, SubVar, walk

#: Functions that compute or test a value for the current cell.
VALUE_FUNCTIONS = frozenset({
    "@ABS", "@ANCESTVAL", "@AVG", "@AVGRANGE", "@CURRMBR", "@ISCHILD", "@ISDESC", "@ISLEV",
    "@ISMBR", "@ISUDA", "@MAX", "@MIN", "@NEXT", "@PARENTVAL", "@PRIOR", "@ROUND", "@SUM",
})
#: Functions that select members (FIX lists, @ISMBR, @SUM ranges ...): the ``@`` functions
#: of the member-selection catalogue (``epmjobs.planning.selection``), which evaluates them.
SELECTION_FUNCTIONS = frozenset({
    "@ALLANCESTORS", "@ANCESTORS", "@ATTRIBUTE", "@CHILDREN", "@DESCENDANTS", "@GENMBRS",
    "@IALLANCESTORS", "@IANCESTORS", "@ICHILDREN", "@IDESCENDANTS", "@ILSIBLINGS",
    "@IRSIBLINGS", "@ISIBLINGS", "@LEVMBRS", "@LIST", "@LSIBLINGS", "@MATCH", "@MEMBER",
    "@PARENT", "@RELATIVE", "@REMOVE", "@RSIBLINGS", "@SIBLINGS", "@UDA", "@WITHATTR",
})
#: Every function a script may call; ``check_functions`` refuses the others.
KNOWN_FUNCTIONS = VALUE_FUNCTIONS | SELECTION_FUNCTIONS


def check_functions(script: Node) -> None:
    """Raise ``CalcScriptError`` at the first call (in script order) of a function not in
    ``KNOWN_FUNCTIONS``, naming it."""
    unknown = [node for node in walk(script)
               if isinstance(node, Call) and node.name not in KNOWN_FUNCTIONS]
    if not unknown:
        return
    first = min(unknown, key=lambda call: (call.line, call.column))
    close = difflib.get_close_matches(first.name, sorted(KNOWN_FUNCTIONS), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise CalcScriptError(f"unknown function {first.name}{hint}", first.line, first.column)


def prompt_names(script: Node) -> tuple[str, ...]:
    """The runtime prompts (``{Name}``) a script uses, each once, in order of first use.
    Names are compared exactly, as Oracle matches prompt names to job parameters."""
    return _names(script, Prompt)


def variable_names(script: Node) -> tuple[str, ...]:
    """The substitution variables (``&Name``) a script uses, each once, in order of first
    use."""
    return _names(script, SubVar)


def _names(script: Node, kind: type[Prompt] | type[SubVar]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for node in walk(script):
        if isinstance(node, kind):
            found.setdefault(node.name, None)
    return tuple(found)
