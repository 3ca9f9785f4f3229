"""Reading job parameters the way Oracle's clients send them.

Values arrive as strings (``"true"``), JSON booleans (``true``) or nested objects; names
are case-sensitive (Oracle's rule). Every reader raises InvalidJobParameter, which ends
a submission with status 4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from epmjobs.errors import InvalidJobParameter


def shown(value: object, limit: int = 100) -> str:
    """A value quoted back in a message, clipped so a hostile value cannot bloat it."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def optional_str(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidJobParameter(f"Parameter {name} must be a string.")
    text = str(value).strip()
    return text or None


def required_str(params: Mapping[str, Any], name: str) -> str:
    value = optional_str(params, name)
    if value is None:
        raise InvalidJobParameter(f"Parameter {name} is required.")
    return value


def choice(params: Mapping[str, Any], name: str, allowed: Sequence[str],
           default: str | None = None) -> str:
    """A value from a fixed vocabulary, matched case-insensitively, returned canonical."""
    value = optional_str(params, name)
    if value is None:
        if default is None:
            raise InvalidJobParameter(
                f"Parameter {name} is required; allowed values: {', '.join(allowed)}."
            )
        return default
    for option in allowed:
        if option.lower() == value.lower():
            return option
    raise InvalidJobParameter(
        f"Invalid value '{shown(value)}' for parameter {name}; allowed values: "
        f"{', '.join(allowed)}."
    )


def boolean(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise InvalidJobParameter(
        f"Invalid value '{shown(value)}' for parameter {name}; use true or false.")
