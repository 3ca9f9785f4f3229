"""The outline in the application definition file (shape documented in the package docstring).

Members are listed in hierarchy order with their parent's name, so a file reads like a
metadata load; properties are complete (``codec``): nothing is inherited. Ids are not part of
the file: loading it numbers the members in file order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from epmjobs.errors import OutlineError
from epmjobs.planning.application import Cube
from epmjobs.planning.outline import codec
from epmjobs.planning.outline.model import (
    Dimension,
    Properties,
    default_properties,
    hierarchy_order,
)
from epmjobs.planning.outline.names import name_problem
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import Density, DimensionType, parse_enum


def outline_to_json(outline: Outline) -> dict[str, Any]:
    return {"aliasTables": list(outline.alias_tables),
            "dimensions": [_dimension_json(outline, d) for d in outline.dimensions]}


def _dimension_json(outline: Outline, dim: Dimension) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": dim.name, "type": dim.type.value,
                           "cubes": {c: d.value for c, d in dim.cubes.items()}}
    if dim.base_dimension:
        doc["baseDimension"] = dim.base_dimension
    if dim.root.props != default_properties(dim.type, len(outline.cubes)):
        doc["root"] = codec.encode(dim.root.props, outline.cubes)
    members = []
    encoder = codec.Encoder(outline.cubes)
    for m in hierarchy_order(dim):
        assert m.parent is not None
        item: dict[str, Any] = {"name": m.name, "parent": m.parent.name}
        if m.base is not None:
            item["shared"] = True
            encoded = encoder.encode(m.props, storage=False)
            item.update({k: v for k, v in encoded.items() if k in ("planType", "aggregation")})
        else:
            item.update(encoder.encode(m.props))
        members.append(item)
    doc["members"] = members
    return doc


def outline_from_json(cubes: Sequence[Cube], doc: Mapping[str, Any]) -> Outline:
    """The outline a definition file describes; OutlineError says what is wrong with it."""
    if not isinstance(doc, Mapping):
        raise OutlineError("The outline must be an object with 'dimensions'.")
    outline = Outline(cubes, [str(t) for t in doc.get("aliasTables", ["Default"])])
    dims = doc.get("dimensions", [])
    if not isinstance(dims, list):
        raise OutlineError("'dimensions' must be a list.")
    for item in dims:
        _read_dimension(outline, item)
    return outline


def _read_dimension(outline: Outline, item: Any) -> None:
    if not isinstance(item, Mapping) or "name" not in item:
        raise OutlineError(f"Invalid dimension entry: {item!r}.")
    kind = parse_enum(DimensionType, str(item.get("type", "Custom")))
    if kind is None:
        raise OutlineError(f"The dimension {item['name']} has an invalid type {item['type']!r}.")
    cubes = item.get("cubes")
    usage = None if cubes is None else {
        str(c): Density(str(d).capitalize()) for c, d in dict(cubes).items()}
    dim = outline.add_dimension(str(item["name"]), kind, usage, item.get("baseDimension"))
    if "root" in item:
        dim.root.props = codec.decode(item["root"], outline.cubes, f"Dimension {dim.name}")
    for member in item.get("members", []):
        _read_member(outline, dim, member)


def _read_member(outline: Outline, dim: Dimension, item: Any) -> None:
    if not isinstance(item, Mapping) or not str(item.get("name", "")).strip():
        raise OutlineError(f"Invalid member entry in {dim.name}: {item!r}.")
    name = str(item["name"]).strip()
    where = f"Member {name} of {dim.name}"
    parent_name = str(item.get("parent") or dim.name)
    parent = dim.member(parent_name)
    if parent is None:
        raise OutlineError(f"{where}: the parent {parent_name} does not exist (yet).")
    props = codec.decode({k: v for k, v in item.items() if k not in ("name", "parent", "shared")},
                         outline.cubes, where)
    if item.get("shared"):
        base = dim.member(name)
        if base is None or base is dim.root:
            raise OutlineError(f"{where}: a shared member needs an earlier base member.")
        outline.add_shared(dim, base, parent, Properties(props.storage, props.valid, props.ops))
        return
    problem = name_problem(name)
    if problem:
        raise OutlineError(f"{where}: {problem}")
    if outline.owner(name) is not None:
        raise OutlineError(f"{where}: the name is already used in this application.")
    outline.add_member(dim, name, parent, props)
