"""SORT_MEMBERS semantics, and the application definition file's outline section."""

from __future__ import annotations

from typing import Any

import pytest

from epmjobs.errors import OutlineError
from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.outline import (
    Outline,
    load_metadata,
    outline_from_json,
    outline_to_json,
    sort_members,
)
from epmjobs.planning.outline.vocabulary import DimensionType

CUBES = (Cube("Plan1", CubeKind.BSO),)


def outline() -> Outline:
    o = Outline(CUBES)
    o.add_dimension("Product", DimensionType.CUSTOM)
    o.add_dimension("Period", DimensionType.PERIOD)
    o = load_metadata(o, b"Product,Parent,Data Storage\nTotal,\nzeta,Total\nAlpha,Total\n"
                         b"beta,Total\nz2,zeta\nA1,zeta\nb9,Alpha\nb1,Alpha\nOther,\nbeta,Other,"
                         b"Shared\nalpha2,Other\n").outline
    return load_metadata(o, b"Period\nQ2\nQ1\n").outline


def children(o: Outline, name: str) -> list[str]:
    member = o.require("Product").member(name)
    assert member is not None
    return [c.name for c in member.children]


def test_children_ascending_is_the_default_and_case_insensitive() -> None:
    before = outline()
    after = sort_members(before, "total")
    assert children(after, "Total") == ["Alpha", "beta", "zeta"]
    assert children(after, "zeta") == ["z2", "A1"]  # grandchildren untouched
    assert children(before, "Total") == ["zeta", "Alpha", "beta"]  # the input is unchanged
    ids = {m.name: m.id for m in after.require("Product").walk() if m.base is None}
    assert ids == {m.name: m.id for m in before.require("Product").walk() if m.base is None}


def test_descendants_descending_sorts_every_level_shared_instances_included() -> None:
    after = sort_members(outline(), "Product", order="Descending", sort_type="descendants")
    assert children(after, "Product") == ["Total", "Other"]
    assert children(after, "Total") == ["zeta", "beta", "Alpha"]
    assert children(after, "zeta") == ["z2", "A1"]
    assert children(after, "Alpha") == ["b9", "b1"]
    assert children(after, "Other") == ["beta", "alpha2"]


@pytest.mark.parametrize(("args", "message"), [
    (("Nope",), "The member Nope does not exist in this application."),
    (("Q1",), "Members of the Period dimension (Period) cannot be sorted."),
    (("Total", "up"), "Invalid value 'up' for order: use ascending or descending."),
    (("Total", "ascending", "siblings"), "Invalid value 'siblings' for type: use children or "
                                         "descendants."),
])
def test_bad_sort_parameters(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(OutlineError) as caught:
        sort_members(outline(), *args)
    assert caught.value.message == message


# -- the definition file ------------------------------------------------------------------------

def test_definition_json_shape() -> None:
    doc = outline_to_json(outline())
    assert doc["aliasTables"] == ["Default"]
    product = doc["dimensions"][0]
    assert (product["name"], product["type"], product["cubes"]) == (
        "Product", "Custom", {"Plan1": "Sparse"})
    assert product["members"][:2] == [{"name": "Total", "parent": "Product"},
                                      {"name": "zeta", "parent": "Total"}]
    assert {"name": "beta", "parent": "Other", "shared": True} in product["members"]
    store = {"name": "Q2", "parent": "Period"}
    assert doc["dimensions"][1]["members"][0] == store


@pytest.mark.parametrize(("member", "message"), [
    ({"name": "X", "parent": "Nope"}, "Member X of Product: the parent Nope does not exist "
                                      "(yet)."),
    ({"name": "X", "colour": "red"}, "Member X of Product: unknown property 'colour'."),
    ({"name": "X", "dataStorage": "Stored"}, "Member X of Product: invalid value 'Stored' for "
                                             "dataStorage."),
    ({"name": "X", "aggregation": {"Plan9": "+"}}, "Member X of Product: the cube Plan9 does "
                                                   "not exist."),
    ({"name": "X", "shared": True}, "Member X of Product: a shared member needs an earlier base "
                                    "member."),
    ({"name": "a/b"}, "Member a/b of Product: The member name 'a/b' contains the character '/'"
                      ", which is not allowed in member names."),
])
def test_bad_definition_members(member: dict[str, Any], message: str) -> None:
    doc = {"dimensions": [{"name": "Product", "type": "Custom", "members": [member]}]}
    with pytest.raises(OutlineError) as caught:
        outline_from_json(CUBES, doc)
    assert caught.value.message == message


def test_bad_definition_dimensions() -> None:
    with pytest.raises(OutlineError) as caught:
        outline_from_json(CUBES, {"dimensions": [{"name": "P", "type": "Planet"}]})
    assert caught.value.message == "The dimension P has an invalid type 'Planet'."
    with pytest.raises(OutlineError) as caught:
        outline_from_json(CUBES, {"dimensions": [{"name": "P", "cubes": {"Plan9": "dense"}}]})
    assert caught.value.message == "The cube Plan9 does not exist in this application."
