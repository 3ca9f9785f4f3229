"""Oracle's predefined roles, and the caller as the rest of the code sees it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from epmjobs.errors import InvalidRequest


class Role(StrEnum):
    SERVICE_ADMINISTRATOR = "Service Administrator"
    POWER_USER = "Power User"
    USER = "User"
    VIEWER = "Viewer"

    @classmethod
    def parse(cls, text: str) -> Role:
        """Accept the display name or a short form: admin, service_admin, power_user..."""
        key = text.strip().lower().replace("_", " ").replace("-", " ")
        aliases = {"admin": cls.SERVICE_ADMINISTRATOR, "service admin": cls.SERVICE_ADMINISTRATOR,
                   "administrator": cls.SERVICE_ADMINISTRATOR, "power": cls.POWER_USER}
        for role in cls:
            if role.value.lower() == key:
                return role
        if key in aliases:
            return aliases[key]
        raise InvalidRequest(
            f"Unknown role '{text}'. Roles: " + ", ".join(r.value for r in cls) + "."
        )


class Grant(StrEnum):
    """Oracle's granular application roles that we honour on top of a predefined role."""

    MIGRATIONS_ADMINISTER = "Migrations - Administer"

    @classmethod
    def parse(cls, text: str) -> Grant:
        key = text.strip().lower().replace("_", " ").replace("-", " ").split()
        for grant in cls:
            if grant.value.lower().replace("-", " ").split() == key:
                return grant
        raise InvalidRequest(f"Unknown grant '{text}'. Grants: "
                             + ", ".join(g.value for g in cls) + ".")


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    grants: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.SERVICE_ADMINISTRATOR
