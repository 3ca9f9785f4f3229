"""Parsing member-selection text into terms.

    selection := [term ("," term)*]          whitespace-only text is the empty selection
    term      := name | "&" variable | function "(" [term ("," term)*] ")"
    name      := bare | '"' quoted '"' | "[" bracketed "]" ("." "[" bracketed "]")*

A bare name runs to the next ``,`` ``(`` ``)`` or ``"`` and keeps its inner spaces
(``Total Entity``, ``100-10``); a bare name followed by ``(`` is a function, which must be in
the catalogue, with a fitting number of arguments. A quoted name may hold anything but ``"``;
a bracketed one anything, ``]]`` standing for ``]``. Every problem raises
``MemberSelectionError`` naming the character (1-based) where it is.
"""

from __future__ import annotations

from epmjobs.errors import MemberSelectionError
from epmjobs.planning.selection.functions import lookup
from epmjobs.planning.selection.terms import Call, MemberRef, Term, Variable

#: Deeper nesting than this is refused (and never needed): it keeps evaluation's recursion
#: far from Python's limit.
MAX_DEPTH = 32
_SHOWN = 200
_BARE_STOP = frozenset(',()"')


def parse_selection(text: str) -> list[Term]:
    """The terms of ``text``, in order; ``MemberSelectionError`` if it is malformed."""
    return _Parser(text).selection()


def shown(text: str) -> str:
    """``text`` for an error message: quoted, cut short when long."""
    return '"' + (text if len(text) <= _SHOWN else text[:_SHOWN] + "...") + '"'


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str, at: int | None = None) -> MemberSelectionError:
        where = self.pos if at is None else at
        return MemberSelectionError(
            f"Invalid member selection {shown(self.text)}: {what} at character {where + 1}.")

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    # -- grammar ----------------------------------------------------------------------------

    def selection(self) -> list[Term]:
        if not self.text.strip():
            return []
        terms = [self.term(0)]
        while self.peek() == ",":
            self.pos += 1
            terms.append(self.term(0))
        if self.peek() is not None:
            raise self.unexpected()
        return terms

    def unexpected(self) -> MemberSelectionError:
        char = self.peek()
        if char == ")":
            return self.fail('")" closes no "("')
        return self.fail(f'"{char}" is unexpected here')

    def term(self, depth: int, opened: int | None = None) -> Term:
        """One term; ``opened`` is where the "(" of the call it is an argument of is."""
        self.skip_space()
        start, char = self.pos, self.peek()
        term: Term
        if char is None and opened is not None:
            raise self.fail('the "(" is never closed', opened)
        if char is None or char in ",)":
            raise self.fail("a member name or function is missing")
        if char == "(":
            raise self.fail('"(" needs a function name before it')
        if char == '"':
            term = MemberRef(self.quoted(), (), start + 1)
        elif char == "[":
            parts = self.bracketed_path()
            term = MemberRef(parts[-1], tuple(parts[:-1]), start + 1)
        elif char == "&":
            term = Variable(self.variable(), start + 1)
        else:
            name = self.bare()
            self.skip_space()
            if self.peek() == "(":
                term = self.call(name, start, depth)
            elif name.startswith("@"):
                raise self.fail(f"{name} needs its arguments in parentheses", start)
            else:
                term = MemberRef(name, (), start + 1)
        self.skip_space()
        return term

    def bare(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _BARE_STOP:
            self.pos += 1
        return self.text[start:self.pos].strip()

    def quoted(self) -> str:
        start = self.pos
        end = self.text.find('"', start + 1)
        if end < 0:
            raise self.fail("the quoted name is never closed", start)
        self.pos = end + 1
        if not self.text[start + 1:end].strip():
            raise self.fail("the quoted name is empty", start)
        return self.text[start + 1:end]

    def bracketed_path(self) -> list[str]:
        parts = [self.bracketed()]
        while self.text.startswith(".[", self.pos):
            self.pos += 1
            parts.append(self.bracketed())
        return parts

    def bracketed(self) -> str:
        start, chars = self.pos, []
        self.pos += 1
        while True:
            end = self.text.find("]", self.pos)
            if end < 0:
                raise self.fail("the name in brackets is never closed", start)
            chars.append(self.text[self.pos:end])
            if self.text.startswith("]]", end):
                chars.append("]")
                self.pos = end + 2
                continue
            self.pos = end + 1
            name = "".join(chars)
            if not name.strip():
                raise self.fail("the name in brackets is empty", start)
            return name

    def variable(self) -> str:
        start = self.pos
        self.pos += 1
        while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                             or self.text[self.pos] == "_"):
            self.pos += 1
        if self.pos == start + 1:
            raise self.fail('"&" must be followed by the name of a substitution variable', start)
        return self.text[start + 1:self.pos]

    def call(self, name: str, start: int, depth: int) -> Call:
        function = lookup(name)
        if function is None:
            raise MemberSelectionError(
                f"Unknown member function {name} in {shown(self.text)} at character {start + 1}.")
        if depth >= MAX_DEPTH:
            raise self.fail(f"functions are nested more than {MAX_DEPTH} deep", start)
        opened = self.pos
        self.pos += 1
        args: list[Term] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
        else:
            args = self.arguments(opened, depth)
        problem = function.arity_problem(len(args))
        if problem:
            raise MemberSelectionError(f"{problem}, in {shown(self.text)} at character "
                                       f"{start + 1}.")
        return Call(function.name, tuple(args), start + 1)

    def arguments(self, opened: int, depth: int) -> list[Term]:
        args = [self.term(depth + 1, opened)]
        while True:
            char = self.peek()
            if char == ")":
                self.pos += 1
                return args
            if char == ",":
                self.pos += 1
                args.append(self.term(depth + 1, opened))
            elif char is None:
                raise self.fail('the "(" is never closed', opened)
            else:
                raise self.unexpected()
