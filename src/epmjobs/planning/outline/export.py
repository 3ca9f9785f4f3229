"""EXPORT_METADATA: one CSV per dimension, re-importable into an empty outline as is.

The header is the full property list of the dimension's type, with one ``Plan Type (<cube>)``
and ``Aggregation (<cube>)`` pair per cube of the application, then the attribute dimensions
that tag it and the carried-through extra columns its members have. Rows are in hierarchy
order (parents before children, siblings in order); a shared instance that would come before
its base member (an outline CUBE_REFRESH refuses) is written at the end instead.

Values are written as Oracle's exports write them: enumerations in lower case (``never
share``, ``unspecified``), booleans ``true``/``false``, ``<none>`` for an empty formula and for
the empty value of a property a new member would otherwise inherit (so the import does not
inherit it). The dimension member itself is written (first, without parent) only when its
properties differ from those of a new dimension.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from enum import Enum

from epmjobs.planning.outline.headers import NONE
from epmjobs.planning.outline.model import Dimension, Member, default_properties, hierarchy_order
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import DimensionType

RowBuilder = Callable[[Member], list[str]]
_ACCOUNT = ["Account Type", "Time Balance", "Skip Value", "Exchange Rate Type",
            "Variance Reporting", "Source Plan Type"]
_SCENARIO = ["Start Year", "Start Period", "End Year", "End Period"]


def _low(value: Enum | None) -> str:
    return "" if value is None else str(value.value).lower()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def export_header(outline: Outline, dim: Dimension, extras: list[str] | None = None) -> list[str]:
    """The header of ``dim``'s export file."""
    header = [dim.name, "Parent", *(f"Alias: {t}" for t in outline.alias_tables), "Description",
              "Data Storage", "Two Pass Calculation", "Formula", "Formula Description", "UDA",
              "Smart List", "Data Type", "Hierarchy Type", "Operation"]
    for cube in outline.cubes:
        header += [f"Plan Type ({cube.name})", f"Aggregation ({cube.name})"]
    header += _type_headers(dim.type)
    header += [a.name for a in outline.attribute_dimensions(dim)]
    return header + (_extra_headers(dim) if extras is None else extras)


def _type_headers(kind: DimensionType) -> list[str]:
    if kind is DimensionType.ACCOUNT:
        return list(_ACCOUNT)
    if kind is DimensionType.ENTITY:
        return ["Base Currency"]
    return list(_SCENARIO) if kind is DimensionType.SCENARIO else []


def _extra_headers(dim: Dimension) -> list[str]:
    seen: dict[str, None] = {}
    for member in dim.walk():
        for key in member.props.extras:
            seen.setdefault(key, None)
    return list(seen)


def _row_builder(outline: Outline, dim: Dimension, width: int, extras: list[str]) -> RowBuilder:
    tables = outline.alias_tables
    cubes = range(len(outline.cubes))
    kind = dim.type
    attributes = [a.name for a in outline.attribute_dimensions(dim)]

    def row(m: Member) -> list[str]:
        p = m.props
        parent = m.parent.name if m.parent is not None else ""
        if m.base is not None:
            out = [m.name, parent] + [""] * (len(tables) + 1) + ["shared"] + [""] * 8
            for i in cubes:
                out += [_bool(p.valid[i]), p.ops[i].value]
            return out + [""] * (width - len(out))
        out = [m.name, parent, *(p.aliases.get(t, "") for t in tables), p.description or "",
               _low(p.storage), _bool(p.two_pass), p.formula or NONE,
               p.formula_description or "", ",".join(p.udas), p.smart_list or "",
               _low(p.data_type), _low(p.hierarchy_type), ""]
        for i in cubes:
            out += [_bool(p.valid[i]), p.ops[i].value]
        if kind is DimensionType.ACCOUNT:
            out += [_low(p.account_type), _low(p.time_balance), _low(p.skip_value),
                    _low(p.exchange_rate_type), _low(p.variance_reporting),
                    p.source_plan_type or NONE]
        elif kind is DimensionType.ENTITY:
            out.append(p.base_currency or NONE)
        elif kind is DimensionType.SCENARIO:
            out += [p.start_year or "", p.start_period or "", p.end_year or "",
                    p.end_period or ""]
        out += [p.attributes.get(a, "") for a in attributes]
        return out + [p.extras.get(e, "") for e in extras]
    return row


def export_dimension(outline: Outline, name: str) -> str:
    """The metadata file of one dimension, as CSV text."""
    dim = outline.require(name)
    extras = _extra_headers(dim)
    header = export_header(outline, dim, extras)
    row = _row_builder(outline, dim, len(header), extras)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    if dim.root.props != default_properties(dim.type, len(outline.cubes)):
        writer.writerow(row(dim.root))
    writer.writerows(row(m) for m in hierarchy_order(dim))
    return out.getvalue()


def load_order(outline: Outline) -> list[str]:
    """Dimension names in the order their files should be imported: attribute dimensions
    first (members of the dimensions they tag refer to their members), then the others."""
    attributes = [d.name for d in outline.dimensions if d.type is DimensionType.ATTRIBUTE]
    return attributes + [d.name for d in outline.dimensions if d.name not in attributes]


def export_metadata(outline: Outline, dimensions: list[str] | None = None) -> dict[str, str]:
    """CSV text per dimension, keyed by name, in ``load_order`` (all dimensions by default)."""
    names = dimensions if dimensions is not None else load_order(outline)
    return {outline.require(n).name: export_dimension(outline, n) for n in names}
