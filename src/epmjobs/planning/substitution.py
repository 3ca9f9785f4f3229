"""Substitution variables: named values (``CurYr`` = ``FY25``) that rules read as
``&CurYr``, defined for the whole application or for one cube (plan type).

A rule running on a cube sees the application's variables with the cube's own ones on
top (a cube-level variable wins over an application-level one of the same name), as
Oracle's "derived values" describe. Names are compared without regard to case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from epmjobs.errors import InvalidRequest
from epmjobs.planning.application import Cube, name_key

#: What Oracle's REST resource calls an application-wide variable's plan type.
ALL = "ALL"
MAX_VALUE = 256  # Essbase's limit on a value
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,79}$")


@dataclass(frozen=True)
class SubstitutionVariable:
    name: str
    value: str
    plan_type: str | None = None  # None: application-wide

    @property
    def scope(self) -> str:
        return self.plan_type or ALL


def checked(name: object, value: object, plan_type: object,
            cubes: Iterable[Cube]) -> SubstitutionVariable:
    """A variable from untrusted input: a name of letters, digits, ``_ . -`` (at most 80),
    a value of at most 256 characters without control characters, and ``ALL`` (or
    nothing) or a cube of the application as plan type."""
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise InvalidRequest(f"Invalid substitution variable name {str(name)[:100]!r}: use "
                             "1-80 letters, digits, underscores, dots or hyphens.")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidRequest(f"The substitution variable {name} needs a value (text).")
    text = str(value)
    if len(text) > MAX_VALUE or any(ord(c) < 32 for c in text):
        raise InvalidRequest(f"The value of the substitution variable {name} must have at "
                             f"most {MAX_VALUE} characters and no control characters.")
    return SubstitutionVariable(name.strip(), text, cube_of(plan_type, cubes))


def cube_of(plan_type: object, cubes: Iterable[Cube]) -> str | None:
    """The cube a plan type names (its own spelling), None for ``ALL`` or nothing."""
    if plan_type is None or (isinstance(plan_type, str) and
                             plan_type.strip().upper() in ("", ALL)):
        return None
    if isinstance(plan_type, str):
        for cube in cubes:
            if name_key(cube.name) == name_key(plan_type):
                return cube.name
    raise InvalidRequest(f"The plan type {str(plan_type)[:100]} does not exist in this "
                         "application.")


def effective(variables: Iterable[SubstitutionVariable], cube: str) -> dict[str, str]:
    """What a rule on ``cube`` sees: application-wide values, the cube's own on top."""
    out: dict[str, str] = {}
    names: dict[str, str] = {}
    ordered = sorted(variables, key=lambda v: v.plan_type is not None)
    for variable in ordered:
        if variable.plan_type is not None and name_key(variable.plan_type) != name_key(cube):
            continue
        key = name_key(variable.name)
        out.pop(names.get(key, ""), None)
        names[key] = variable.name
        out[variable.name] = variable.value
    return out
