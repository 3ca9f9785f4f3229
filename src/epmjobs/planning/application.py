"""An application and its cubes (plan types)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from epmjobs.errors import InvalidRequest

# Oracle: application names up to 8 characters in classic Planning; cloud allows more.
# We allow 1-80 of letters, digits and underscore, starting with a letter.
_APP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


class CubeKind(StrEnum):
    BSO = "BSO"
    ASO = "ASO"


@dataclass(frozen=True)
class Cube:
    name: str
    kind: CubeKind


@dataclass(frozen=True)
class Application:
    application_id: int
    name: str
    app_type: str
    admin_mode: bool
    cubes: tuple[Cube, ...]

    def cube(self, name: str) -> Cube | None:
        key = name_key(name)
        return next((c for c in self.cubes if name_key(c.name) == key), None)


def name_key(name: str) -> str:
    """The one rule for when two names are the same name: case-insensitive, trimmed."""
    return name.strip().casefold()


def validate_application_name(name: str) -> str:
    if not _APP_NAME.match(name):
        raise InvalidRequest(
            f"Invalid application name '{name}': use 1-80 letters, digits or underscores, "
            "starting with a letter."
        )
    return name
