"""The header vocabulary of metadata files: which column sets which member property.

Headers are case-sensitive and may come in any order and any subset; the first one names
the dimension. A header this module does not know fails the whole file (Oracle: "Unrecognized
column header value(s)"), with the near-miss spelled out when only the case differs.
Cloud-only columns that Oracle exports but Planning ignores (``UUID``, ``Old Name``, ...) and
per-cube columns we do not interpret yet (``Solve Order (<cube>)``, ...) are carried through
verbatim as *extras*.

Each property column gets a parser that turns the field's text into the property value or
raises :class:`Rejected` with the reason. ``<none>`` (any case) clears a property that may be
empty; the parser returns None for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from epmjobs.errors import MetadataFileError
from epmjobs.planning.application import name_key
from epmjobs.planning.outline.model import Dimension
from epmjobs.planning.outline.names import text_problem
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import (
    AccountType,
    DataStorage,
    DataType,
    DimensionType,
    ExchangeRateType,
    HierarchyType,
    Operator,
    SkipValue,
    TimeBalance,
    VarianceReporting,
    choices,
    parse_bool,
    parse_enum,
)

NONE = "<none>"
MAX_DESCRIPTION = 255
_PER_CUBE = re.compile(r"^(Plan Type|Aggregation|Solve Order|Data Storage|Formula) \((.+)\)$")

COMMON_EXTRAS = (
    "Valid For Consolidations", "Enable for Dynamic Children",
    "Number of Possible Dynamic Children", "Access Granted to Member Creator",
    "Allow Upper Level Entity Input", "Process Management Enabled", "UUID", "Data Id",
    "Old Name", "Old Unique Name",
)
TYPE_EXTRAS: dict[DimensionType, tuple[str, ...]] = {
    DimensionType.ACCOUNT: ("Use 445", "Use 544", "Use 554"),
    DimensionType.SCENARIO: ("Exchange Table", "Include BegBal", "Approvals Enabled"),
    DimensionType.VERSION: ("Version Type", "Approvals Enabled"),
    DimensionType.PERIOD: ("Type", "Start Period", "End Period"),
    DimensionType.CURRENCY: ("Symbol", "Scale", "Precision", "Triangulation Currency",
                             "Reporting Currency", "Thousands Separator", "Decimal Separator",
                             "Negative Style", "Negative Color"),
}


class Rejected(Exception):
    """A record cannot be applied; ``reason`` is the text of the rejection."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Parser = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Column:
    """A property column: where its value goes and how its text is read."""

    index: int
    header: str
    target: str  # "prop" | "valid" | "op" | "alias" | "attribute" | "extra"
    key: str | int  # property name, cube index, alias table, attribute dimension, header
    parse: Parser


@dataclass(frozen=True)
class Layout:
    """What the header of one file means."""

    dimension: Dimension
    header: list[str]
    parent: int | None
    operation: int | None
    storage: int | None
    columns: list[Column]


def is_none(text: str) -> bool:
    return len(text) == 6 and text.casefold() == NONE


def _enum_parser(kind: type[Enum], header: str, clearable: bool = False) -> Parser:
    def parse(text: str) -> object:
        if clearable and is_none(text):
            return None
        value = parse_enum(kind, text)
        if value is None:
            raise Rejected(f"Invalid value '{text}' for {header}: use {choices(kind)}.")
        return value
    return parse


parse_storage = _enum_parser(DataStorage, "Data Storage")


def _bool_parser(header: str) -> Parser:
    def parse(text: str) -> object:
        value = parse_bool(text)
        if value is None:
            raise Rejected(f"Invalid value '{text}' for {header}: use true or false.")
        return value
    return parse


def _text_parser(header: str, limit: int | None = None) -> Parser:
    def parse(text: str) -> object:
        if is_none(text):
            return None
        if limit is not None and len(text) > limit:
            raise Rejected(f"The {header} is {len(text)} characters long; the limit is {limit}.")
        return text
    return parse


def _alias_parser(header: str) -> Parser:
    def parse(text: str) -> object:
        if is_none(text):
            return None
        problem = text_problem(text, "alias")
        if problem:
            raise Rejected(problem)
        return text
    return parse


def _uda_parser(text: str) -> object:
    if is_none(text):
        return ()
    seen: dict[str, str] = {}
    for part in text.split(","):
        uda = part.strip()
        if uda and name_key(uda) not in seen:
            seen[name_key(uda)] = uda
    return tuple(seen.values())


def _member_parser(outline: Outline, header: str, dim_type: DimensionType,
                   level0: bool = False, exclude: tuple[str, ...] = ()) -> Parser:
    """A value that must name a member of the application's dimension of ``dim_type``."""
    dim = next((d for d in outline.dimensions if d.type is dim_type), None)

    def parse(text: str) -> object:
        if is_none(text):
            return None
        if dim is None:
            return text
        member = dim.member(text)
        if member is None or name_key(member.name) in exclude or (level0 and member.children):
            kind = "a level 0 member" if level0 else "a member"
            raise Rejected(f"Invalid value '{text}' for {header}: it is not {kind} of the "
                           f"{dim.name} dimension.")
        return member.name
    return parse


def _cube_parser(outline: Outline, header: str) -> Parser:
    def parse(text: str) -> object:
        if is_none(text):
            return None
        index = outline.cube_index(text)
        if index is None:
            names = ", ".join(c.name for c in outline.cubes)
            raise Rejected(f"Invalid value '{text}' for {header}: use one of the cubes {names}.")
        return outline.cubes[index].name
    return parse


def _attribute_parser(dim: Dimension) -> Parser:
    def parse(text: str) -> object:
        if is_none(text):
            return None
        member = dim.member(text)
        if member is None or member is dim.root or member.children:
            raise Rejected(f"Invalid value '{text}' for {dim.name}: it is not a level 0 member "
                           f"of the attribute dimension {dim.name}.")
        return member.name
    return parse


def _type_columns(outline: Outline, kind: DimensionType) -> dict[str, tuple[str, Parser]]:
    """Property headers that only a dimension of ``kind`` has: header -> (property, parser)."""
    if kind is DimensionType.ACCOUNT:
        return {
            "Account Type": ("account_type", _enum_parser(AccountType, "Account Type")),
            "Time Balance": ("time_balance", _enum_parser(TimeBalance, "Time Balance")),
            "Skip Value": ("skip_value", _enum_parser(SkipValue, "Skip Value")),
            "Exchange Rate Type": ("exchange_rate_type",
                                   _enum_parser(ExchangeRateType, "Exchange Rate Type")),
            "Variance Reporting": ("variance_reporting",
                                   _enum_parser(VarianceReporting, "Variance Reporting")),
            "Source Plan Type": ("source_plan_type", _cube_parser(outline, "Source Plan Type")),
        }
    if kind is DimensionType.ENTITY:
        return {"Base Currency": ("base_currency", _member_parser(
            outline, "Base Currency", DimensionType.CURRENCY))}
    if kind is DimensionType.SCENARIO:
        years = (DimensionType.YEARS, False, ("no year",))
        periods = (DimensionType.PERIOD, True, ("begbalance",))
        return {h: (h.lower().replace(" ", "_"), _member_parser(outline, h, *spec))
                for h, spec in (("Start Year", years), ("End Year", years),
                                ("Start Period", periods), ("End Period", periods))}
    return {}


def _common_columns() -> dict[str, tuple[str, Parser]]:
    return {
        "Description": ("description", _text_parser("Description", MAX_DESCRIPTION)),
        "Two Pass Calculation": ("two_pass", _bool_parser("Two Pass Calculation")),
        "Formula": ("formula", _text_parser("Formula")),
        "Formula Description": ("formula_description", _text_parser("Formula Description")),
        "UDA": ("udas", _uda_parser),
        "Smart List": ("smart_list", _text_parser("Smart List")),
        "Data Type": ("data_type", _enum_parser(DataType, "Data Type")),
        "Hierarchy Type": ("hierarchy_type", _enum_parser(HierarchyType, "Hierarchy Type", True)),
    }


def build_layout(outline: Outline, header: list[str], expected: str | None = None) -> Layout:
    """Read a file's header; raise MetadataFileError if the file cannot be loaded with it."""
    header = [h.strip() for h in header]
    dim = outline.dimension(header[0]) if header[0] else None
    if dim is None:
        raise MetadataFileError(
            f"The first column header '{header[0]}' does not name a dimension of the "
            "application: the header record must start with the dimension name.")
    if expected is not None and name_key(expected) != name_key(dim.name):
        raise MetadataFileError(f"The file is for the dimension {dim.name}, not {expected}.")
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise MetadataFileError(f"The column header '{h}' appears more than once.")
        seen.add(h)
    known = {**_common_columns(), **_type_columns(outline, dim.type)}
    extras = set(COMMON_EXTRAS) | set(TYPE_EXTRAS.get(dim.type, ()))
    attributes = {a.name: a for a in outline.attribute_dimensions(dim)}
    slots: dict[str, int] = {}
    columns: list[Column] = []
    unknown: list[str] = []
    for index, h in enumerate(header[1:], start=1):
        if h in ("Parent", "Operation", "Data Storage"):
            slots[h] = index
            continue
        column = _column(outline, index, h, known, extras, attributes)
        if column is None:
            unknown.append(h)
        else:
            columns.append(column)
    if unknown:
        raise MetadataFileError(
            _unknown_message(unknown, [*known, "Parent", "Operation", "Data Storage"]))
    return Layout(dim, header, slots.get("Parent"), slots.get("Operation"),
                  slots.get("Data Storage"), columns)


def _column(outline: Outline, index: int, h: str, known: dict[str, tuple[str, Parser]],
            extras: set[str], attributes: dict[str, Dimension]) -> Column | None:
    if h in known:
        prop, parse = known[h]
        return Column(index, h, "prop", prop, parse)
    if h in extras:
        return Column(index, h, "extra", h, _text_parser(h))
    if h in attributes:
        return Column(index, h, "attribute", h, _attribute_parser(attributes[h]))
    if h.startswith("Alias: "):
        table = outline.alias_table(h[len("Alias: "):])
        return None if table is None else Column(index, h, "alias", table, _alias_parser(h))
    match = _PER_CUBE.match(h)
    cube = outline.cube_index(match.group(2)) if match else None
    if match is None or cube is None:
        return None
    if match.group(1) == "Plan Type":
        return Column(index, h, "valid", cube, _bool_parser(h))
    if match.group(1) == "Aggregation":
        return Column(index, h, "op", cube, _enum_parser(Operator, h))
    return Column(index, h, "extra", h, _text_parser(h))


def _unknown_message(unknown: list[str], known: list[str]) -> str:
    by_key = {k.casefold(): k for k in known}
    parts = []
    for h in unknown:
        hint = by_key.get(h.casefold())
        parts.append(f"'{h}' (did you mean '{hint}'?)" if hint else f"'{h}'")
    return ("Unrecognized column header value(s): " + ", ".join(parts) + ". Column headers are "
            "case sensitive; alias tables, cubes and attribute dimensions must exist.")
