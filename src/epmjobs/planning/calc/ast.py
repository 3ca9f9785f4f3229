"""The syntax tree of calc scripts and member formulas, as the evaluator will see it.

Every node is a frozen dataclass with ``line``/``column`` (1-based) of where it starts in
the script: a statement at its first word, a binary or unary expression at its operator, a
call at its ``@NAME``, a cross-dimensional reference at its first member. Positions are
keyword-only and take no part in equality, so two trees compare equal when they have the
same structure (what the tests and an evaluator's caches want).

Names are kept as written (members are matched case-insensitively later, by the outline);
keywords, ``SET`` commands and function names are upper-cased. ``<>`` is stored as ``!=``.
Substitution variables and runtime prompts stay nodes: the evaluator resolves them.

The tree is shallow by construction: the parser refuses scripts nested more than
``MAX_NESTING`` levels or with expressions deeper than ``MAX_EXPRESSION_DEPTH``, so code
that recurses over it cannot exhaust Python's stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields

#: Parentheses, function calls and blocks (FIX, EXCLUDE, LOOP, member blocks, IF) nested
#: into one another, counted together.
MAX_NESTING = 64
#: Depth of one expression's tree: a chain of N binary operators is N deep.
MAX_EXPRESSION_DEPTH = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


# --- expressions ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Number(Node):
    value: float


@dataclass(frozen=True, slots=True)
class Missing(Node):
    """The constant ``#MISSING`` (``#MI``)."""


@dataclass(frozen=True, slots=True)
class MemberRef(Node):
    """A member (or dimension) name, bare or quoted; also a string argument of a function
    such as the UDA of ``@UDA("Entity", "Big")`` — the function decides."""

    name: str


@dataclass(frozen=True, slots=True)
class VarRef(Node):
    """A bare name declared earlier in the script by ``VAR`` or ``ARRAY``."""

    name: str


@dataclass(frozen=True, slots=True)
class SubVar(Node):
    """A substitution variable, ``&CurYr``."""

    name: str


@dataclass(frozen=True, slots=True)
class Prompt(Node):
    """A runtime prompt, ``{Scenario}`` (or ``[[Scenario]]``)."""

    name: str


@dataclass(frozen=True, slots=True)
class CrossRef(Node):
    """``"Sales"->"Actual"->"Jan"``: members (or prompts, variables, member functions) of
    different dimensions; dimensions not named take the current cell's member."""

    members: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class MemberRange(Node):
    """``"Jan":"Mar"`` (operator ``:``) or ``"Jan"::"Mar"`` (operator ``::``)."""

    first: Expr
    last: Expr
    operator: str


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str                  # "-" or "NOT"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """``op`` is one of ``+ - * / %`` (``%``: left as a percentage of right, not modulo),
    ``== != < <= > >=`` (1 or 0), ``AND``, ``OR``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``@NAME(args)``; ``name`` upper-cased with its ``@``."""

    name: str
    args: tuple[Expr, ...]


# --- statements -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Fix(Node):
    """``FIX (members) body ENDFIX``; ``FIXPARALLEL (threads, members) ... ENDFIXPARALLEL``
    sets ``threads``. A member item may combine selections with ``AND``/``OR``."""

    members: tuple[Expr, ...]
    body: tuple[Statement, ...]
    threads: Expr | None = None


@dataclass(frozen=True, slots=True)
class Exclude(Node):
    members: tuple[Expr, ...]
    body: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Loop(Node):
    """``LOOP (count [, break_variable]) body ENDLOOP``."""

    count: Expr
    break_variable: str | None
    body: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class SetOption(Node):
    """One ``name value;`` line of a ``SET X { ... }`` block (``=`` before a value dropped)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Set(Node):
    """``SET COMMAND argument;`` with the command upper-cased and the argument as written
    (``"ON"``, ``"HIGH"``, ``"4"`` ...); ``SET X { ... }`` lists its lines in ``options``."""

    command: str
    argument: str
    options: tuple[SetOption, ...] = ()


@dataclass(frozen=True, slots=True)
class Agg(Node):
    dimensions: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class CalcDim(Node):
    dimensions: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class CalcAll(Node):
    """``CALC ALL [EXCEPT DIM (...) | EXCEPT MBR (...)]``; ``except_kind`` is ``DIM``/``MBR``."""

    except_kind: str | None = None
    excepted: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class CalcTwoPass(Node):
    pass


@dataclass(frozen=True, slots=True)
class CalcTimeBalance(Node):
    """``CALC FIRST``, ``CALC LAST`` or ``CALC AVERAGE``."""

    kind: str


@dataclass(frozen=True, slots=True)
class CalcMember(Node):
    """``"Margin";`` at statement level: calculate that member's outline formula."""

    member: Expr


@dataclass(frozen=True, slots=True)
class DataCopy(Node):
    source: Expr
    target: Expr


@dataclass(frozen=True, slots=True)
class ClearData(Node):
    target: Expr


@dataclass(frozen=True, slots=True)
class ClearBlock(Node):
    kind: str                # ALL, UPPER, NONINPUT, DYNAMIC or EMPTY


@dataclass(frozen=True, slots=True)
class DataExport(Node):
    """``DATAEXPORT "File" "," "out.txt" "#MI";`` (parsed, not executed yet): ``kind`` is
    ``FILE``, ``BINFILE`` or ``DSN``; ``args`` the other strings as written."""

    kind: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VarDecl(Node):
    name: str
    initial: Expr | None = None


@dataclass(frozen=True, slots=True)
class ArrayDecl(Node):
    """``ARRAY name[dimension] = {values};`` (parsed, not executed yet)."""

    name: str
    dimension: str
    initial: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberBlock(Node):
    """``"Member" ( statements )``: formulas anchored on a member; the only place in a
    script (besides a member formula) where ``IF`` may appear."""

    target: Expr
    body: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Assignment(Node):
    """``target = expr;`` — target a member, a cross-dimensional reference, a variable,
    a substitution variable or a runtime prompt."""

    target: Expr
    expr: Expr


@dataclass(frozen=True, slots=True)
class ExprStatement(Node):
    """An expression on its own inside a member block or formula: ``"Units" * "Price";``
    (in a member formula its value is the member's value)."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class IfBranch(Node):
    condition: Expr
    body: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class If(Node):
    """``IF (c) ... ELSEIF (c) ... ELSE ... ENDIF``; ``else_body`` is None without ELSE."""

    branches: tuple[IfBranch, ...]
    else_body: tuple[Statement, ...] | None = None


@dataclass(frozen=True, slots=True)
class Script(Node):
    """A whole calc script, or a member formula (``parse_formula``)."""

    statements: tuple[Statement, ...]


Expr = (Number | Missing | MemberRef | VarRef | SubVar | Prompt | CrossRef | MemberRange
        | Unary | Binary | Call)
Statement = (Fix | Exclude | Loop | Set | Agg | CalcDim | CalcAll | CalcTwoPass
             | CalcTimeBalance | CalcMember | DataCopy | ClearData | ClearBlock | DataExport
             | VarDecl | ArrayDecl | MemberBlock | Assignment | ExprStatement | If)

_CHILD_FIELDS: dict[type[Node], tuple[str, ...]] = {}


def walk(node: Node) -> Iterator[Node]:
    """Every node under ``node`` (itself first), depth-first in source order, without
    recursion."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        children: list[Node] = []
        for name in _child_fields(type(current)):
            value = getattr(current, name)
            if isinstance(value, Node):
                children.append(value)
            elif isinstance(value, tuple):
                children.extend(item for item in value if isinstance(item, Node))
        stack.extend(reversed(children))


def _child_fields(cls: type[Node]) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if f.name not in ("line", "column"))
        _CHILD_FIELDS[cls] = names
    return names
