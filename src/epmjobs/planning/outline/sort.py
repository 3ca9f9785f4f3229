"""SORT_MEMBERS: put the children (or all descendants) of a member in name order.

Parameters as Oracle's job takes them (oracle-jobs-api §4.19): ``member`` (the parent whose
children are sorted), ``order`` ``ascending`` (default) | ``descending``, ``type``
``children`` (default) | ``descendants``. Not for Period, Years or Currency dimensions. Names
compare case-insensitively (``name_key``), ties in their original case; shared instances sort
among their siblings by name. Ids do not change; a cube refresh makes the order visible.
"""

from __future__ import annotations

from epmjobs.errors import OutlineError
from epmjobs.planning.application import name_key
from epmjobs.planning.outline.model import Member
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import UNSORTABLE_TYPES


def sort_members(outline: Outline, member: str, order: str = "ascending",
                 sort_type: str = "children") -> Outline:
    """A copy of ``outline`` with the members sorted; OutlineError for bad parameters."""
    descending = _choice(order, "order", ("ascending", "descending")) == "descending"
    scope = _choice(sort_type, "type", ("children", "descendants"))
    dim = outline.owner(member) if member.strip() else None
    if dim is None:
        raise OutlineError(f"The member {member} does not exist in this application.")
    if dim.type in UNSORTABLE_TYPES:
        raise OutlineError(f"Members of the {dim.name} dimension ({dim.type}) cannot be sorted.")
    new = outline.copy(only=[dim.name])
    edited = new.require(dim.name)
    parent = edited.member(member)
    assert parent is not None
    targets = list(edited.walk(parent)) if scope == "descendants" else [parent]
    for node in targets:
        if len(node.children) > 1:
            node.children.sort(key=_sort_key, reverse=descending)
    return new


def _sort_key(member: Member) -> tuple[str, str]:
    return name_key(member.name), member.name


def _choice(value: str, parameter: str, allowed: tuple[str, str]) -> str:
    chosen = (value or allowed[0]).strip().casefold()
    if chosen not in allowed:
        raise OutlineError(f"Invalid value '{value}' for {parameter}: use {allowed[0]} or "
                           f"{allowed[1]}.")
    return chosen
