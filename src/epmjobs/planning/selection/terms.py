"""The parsed form of a member selection: a list of terms, each a member name, a substitution
variable or a function call whose arguments are terms again.

Terms are frozen values. ``position`` (the 1-based character where the term starts in the text
it was parsed from, 0 when built by hand) is left out of equality, so a term built by hand
equals the parsed one. ``render`` writes a term back as text that parses to an equal term.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MemberRef:
    """A member named by its name (``Jan``, ``"Total Entity"``, ``[Total Entity]``).

    ``qualifiers`` are the leading parts of an MDX-style qualified name
    (``[Entity].[Total Entity]``): the dimension or ancestors the member must sit under.
    Arguments that are numbers or text (``@RELATIVE(X, 0)``, ``@UDA(Entity, "Big")``) parse
    as member references too; the function that receives one reads its ``name``.
    """

    name: str
    qualifiers: tuple[str, ...] = ()
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Variable:
    """A substitution variable, ``&CurYr``; ``name`` is without the ``&``."""

    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    """A member function applied to its arguments; ``function`` is the catalogue's spelling
    (``Children``, ``@RELATIVE``), whatever case the text used."""

    function: str
    args: tuple[Term, ...]
    position: int = field(default=0, compare=False)


Term = MemberRef | Variable | Call


def render(term: Term) -> str:
    """Selection text for ``term``: names quoted (bracketed when they hold a ``"``)."""
    if isinstance(term, Variable):
        return "&" + term.name
    if isinstance(term, Call):
        return f"{term.function}({', '.join(render(a) for a in term.args)})"
    parts = (*term.qualifiers, term.name)
    if term.qualifiers or any('"' in p for p in parts):
        return ".".join("[" + p.replace("]", "]]") + "]" for p in parts)
    return f'"{term.name}"'


def render_all(terms: list[Term] | tuple[Term, ...]) -> str:
    return ", ".join(render(t) for t in terms)
