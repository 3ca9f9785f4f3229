"""Member formulas (the outline's ``Formula`` property): parsed once per run, and a guard
against formulas that reach themselves again (a Dynamic Calc member whose formula reads a
member whose formula reads the first one...).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc import ast
from epmjobs.planning.calc.parser import parse_formula
from epmjobs.planning.calc.references import check_functions
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.selection import MemberResolver

#: Formulas evaluated inside one another deeper than this are a runaway recursion.
MAX_DEPTH = 32


class Formulas:
    def __init__(self, model: CubeModel, resolver: MemberResolver) -> None:
        self.model = model
        self.resolver = resolver
        self._parsed: dict[tuple[int, int], ast.Script | None] = {}
        self._active: list[tuple[int, int]] = []

    def name(self, position: int, node: int) -> str:
        return self.model.dimensions[position].names[node]

    def text(self, position: int, node: int) -> str | None:
        dim = self.model.dimensions[position]
        if not dim.has_formula[node]:
            return None
        member = self.resolver.facts(dim).members[node]
        formula = member.props.formula
        return formula if formula and formula.strip() else None

    def script(self, position: int, node: int) -> ast.Script | None:
        """The parsed formula of a member, None when it has none."""
        key = (position, node)
        if key in self._parsed:
            return self._parsed[key]
        text = self.text(position, node)
        parsed = None
        if text is not None:
            try:
                parsed = parse_formula(text)
                check_functions(parsed)
            except CalcScriptError as exc:
                raise CalcScriptError(f'in the formula of "{self.name(position, node)}": '
                                      f"{exc.reason}", exc.line, exc.column) from exc
        self._parsed[key] = parsed
        return parsed

    @contextmanager
    def evaluating(self, position: int, node: int) -> Iterator[None]:
        """Marks a formula as being evaluated; a formula that is reached again while it is
        (or a chain deeper than ``MAX_DEPTH``) is a runaway recursion."""
        key = (position, node)
        if key in self._active or len(self._active) >= MAX_DEPTH:
            chain = " -> ".join(f'"{self.name(*k)}"' for k in (*self._active, key))
            raise CalcScriptError(f"runaway recursion in member formulas: {chain}")
        self._active.append(key)
        try:
            yield
        finally:
            self._active.pop()
