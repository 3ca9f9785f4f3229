"""Naming restrictions for members (Oracle's "Naming Restrictions for Dimensions, Members,
and Aliases"), returned as the reason a record is rejected.

- at most 80 characters (after trimming);
- never ``"``, ``\\``, ``/``, a tab or another control character;
- never a comma: data files list a cell's point of view as a comma-separated string;
- not starting with ``@ & \\ [ ] , - = < ( ) . + ' _ |``;
- no HTML tags.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 80
_FORBIDDEN = re.compile(r'["\\/,\x00-\x1f\x7f]')
_FORBIDDEN_FIRST = frozenset("@&\\[],-=<().+'_|")
_HTML_TAG = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shown(char: str) -> str:
    return {"\t": "tab", "\n": "newline", "\r": "carriage return"}.get(char, char) if (
        char >= " " or char in "\t\n\r") else f"U+{ord(char):04X}"


def name_problem(name: str, what: str = "member name") -> str | None:
    """Why ``name`` cannot name a member, or None when it can."""
    if not name:
        return f"The {what} is empty."
    if len(name) > MAX_NAME_LENGTH:
        return (f"The {what} {name!r} is {len(name)} characters long; "
                f"the limit is {MAX_NAME_LENGTH}.")
    bad = _FORBIDDEN.search(name)
    if bad:
        return f"The {what} {name!r} contains the character '{_shown(bad.group())}', " \
               "which is not allowed in member names."
    if name[0] in _FORBIDDEN_FIRST:
        return f"The {what} {name!r} starts with '{name[0]}', which names cannot start with."
    if _HTML_TAG.search(name):
        return f"The {what} {name!r} contains an HTML tag."
    return None


def text_problem(value: str, what: str) -> str | None:
    """Why an alias value cannot be used (length and control characters only)."""
    if len(value) > MAX_NAME_LENGTH:
        return f"The {what} {value!r} is {len(value)} characters long; the limit is 80."
    bad = _CONTROL.search(value)
    if bad:
        return f"The {what} {value!r} contains the character '{_shown(bad.group())}'."
    return None
