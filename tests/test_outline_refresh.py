"""CUBE_REFRESH's domain side: validation problems and the compiled arrays of a cube."""

from __future__ import annotations

from dataclasses import replace

from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.outline import (
    Outline,
    compile_cube,
    errors,
    export_dimension,
    from_rows,
    load_metadata,
    to_rows,
    validate,
    vision_outline,
)
from epmjobs.planning.outline.compiled import compile_cubes
from epmjobs.planning.outline.vocabulary import DataStorage, DimensionType, Operator, Severity

CUBES = (Cube("Plan1", CubeKind.BSO), Cube("Rep", CubeKind.ASO))


def outline_with(entity_file: str, account_file: str = "Account\nSales\n") -> Outline:
    outline = Outline(CUBES)
    outline.add_dimension("Account", DimensionType.ACCOUNT, {"Plan1": "Dense", "Rep": "Dense"})  # type: ignore[dict-item]
    outline.add_dimension("Entity", DimensionType.ENTITY)
    for text in (account_file, entity_file):
        outcome = load_metadata(outline, text.encode())
        assert outcome.result.rejections == []
        outline = outcome.outline
    return outline


def problems(outline: Outline) -> list[tuple[str, str | None, str | None, str]]:
    return [(p.severity.value, p.member, p.cube, p.message) for p in validate(outline)]


ENTITIES = ("Entity,Parent,Data Storage,Plan Type (Rep),Aggregation (Plan1)\n"
            "Total,,,,\nA,Total,,,\nA1,A,,,\nA2,A,,false,-\nB,Total,,false,\nB1,B,,true,\n"
            "A1,B,Shared,,~\n")


def test_the_demo_and_a_clean_outline_validate_without_problems() -> None:
    assert validate(vision_outline()) == []
    assert validate(outline_with(ENTITIES)) == []


def test_compiled_arrays_of_a_bso_cube() -> None:
    outline = outline_with(ENTITIES)
    dim = compile_cube(outline, "plan1").dimension("Entity")
    assert dim is not None
    entity = outline.require("Entity")
    assert dim.names == ("Entity", "Total", "A", "A1", "A2", "B", "B1", "A1")
    expected_ids = [m.id for m in entity.walk()]
    assert dim.ids.tolist() == expected_ids
    assert dim.parent.tolist() == [-1, 0, 1, 2, 2, 1, 5, 5]
    assert dim.generation.tolist() == [1, 2, 3, 4, 4, 3, 4, 4]
    assert dim.level.tolist() == [3, 2, 1, 0, 0, 1, 0, 0]
    assert dim.operator.tolist() == [0, 0, 0, 0, Operator.SUBTRACT.code, 0, 0,
                                     Operator.IGNORE.code]
    assert dim.storage.tolist() == [DataStorage.NEVER_SHARE.code] * 7 + [DataStorage.SHARED.code]
    assert dim.base.tolist() == [0, 1, 2, 3, 4, 5, 6, 3]
    pairs = set(zip(dim.closure_descendant.tolist(), dim.closure_ancestor.tolist(),
                    dim.closure_depth.tolist(), strict=True))
    assert len(pairs) == len(dim.closure_depth) == 8 + 7 + 6 + 4
    assert {p for p in pairs if p[0] == 7} == {(7, 7, 0), (7, 5, 1), (7, 1, 2), (7, 0, 3)}
    assert dim.node("a1") == 3 and dim.node("nope") is None
    assert str(dim.density) == "Sparse"


def test_members_not_valid_in_a_cube_are_left_out_and_their_children_move_up() -> None:
    dim = compile_cube(outline_with(ENTITIES), "Rep").dimension("Entity")
    assert dim is not None
    assert dim.names == ("Entity", "Total", "A", "A1", "B1", "A1")
    assert dim.parent.tolist() == [-1, 0, 1, 2, 1, 1]
    assert dim.base.tolist() == [0, 1, 2, 3, 4, 3]
    assert dim.level.tolist() == [3, 2, 1, 0, 0, 0]


def test_compile_all_cubes_and_account_properties() -> None:
    plan1, rep = compile_cubes(outline_with(ENTITIES, "Account,Account Type\nCash,Asset\n"))
    assert (plan1.cube.name, rep.cube.name) == ("Plan1", "Rep")
    account = plan1.dimension("Account")
    assert account is not None and str(account.density) == "Dense"
    assert account.time_balance.tolist() == [0, 2]  # root Flow, Cash Balance
    assert account.skip_value.tolist() == [0, 0]


def test_operators_other_than_plus_and_ignore_fail_in_aso_stored_hierarchies() -> None:
    outline = outline_with("Entity,Aggregation (Rep),Hierarchy Type\nE1,*,\nE2,-,dynamic\n"
                           "E3,~,\n", "Account,Aggregation (Rep)\nRatio,/\n")
    assert problems(outline) == [("ERROR", "E1", "Rep", "The member E1 uses the operator * in "
                                  "an aggregate storage stored hierarchy, which allows only + "
                                  "and ~.")]


def test_members_valid_for_no_cube_and_label_only_rules() -> None:
    outline = outline_with("Entity,Parent,Data Storage,Plan Type (Plan1),Plan Type (Rep)\n"
                           "Nowhere,,,false,false\nLabel,,label only,,\nCalc,Label,dynamic calc,,"
                           "\nEmpty,,label only,,\n")
    assert problems(outline) == [
        ("ERROR", "Nowhere", None, "The member Nowhere is valid for no cube of the Entity "
         "dimension."),
        ("ERROR", "Calc", None, "The member Calc is Dynamic Calc below a Label Only member."),
        ("WARNING", "Empty", None, "The Label Only member Empty has no children."),
    ]


def test_a_shared_member_before_its_base_is_an_error_and_exports_last() -> None:
    outline = outline_with("Entity,Parent,Data Storage\nA,\nB,\nB1,B\nB1,A,Shared\n")
    assert problems(outline) == [("ERROR", "B1", None, "The shared member B1 (under A) comes "
                                  "before its base member in outline order.")]
    assert export_dimension(outline, "Entity").splitlines()[-1].startswith("B1,A,")


def test_cycles_and_duplicate_names_from_stored_rows_are_reported() -> None:
    rows = to_rows(outline_with("Entity,Parent\nA,\nB,A\nC,\n"))
    members = [r._replace(parent_id=_id(rows, "B")) if r.name == "A" else r
               for r in rows.members]
    members = [r._replace(name="Sales") if r.name == "C" else r for r in members]
    broken = from_rows(CUBES, replace(rows, members=members))
    found = problems(broken)
    assert ("ERROR", "Sales", None,
            "The name Sales is also used in the Account dimension.") in found
    assert ("ERROR", "A", None, "The member A is not under the dimension member: its parents "
            "form a cycle or are missing.") in found
    assert errors(validate(broken)) == [p for p in validate(broken)
                                        if p.severity is Severity.ERROR]


def _id(rows: object, name: str) -> int:
    return next(r.member_id for r in rows.members if r.name == name)  # type: ignore[attr-defined]
