"""IMPORT_METADATA record semantics: each record kind pinned on an exact outline and each
rejection on its exact line number, text and reason."""

from __future__ import annotations

import pytest

from epmjobs.errors import MetadataFileError
from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.outline import LoadOutcome, Outline, export_dimension, load_metadata
from epmjobs.planning.outline.model import Dimension
from epmjobs.planning.outline.vocabulary import (
    AccountType,
    DataStorage,
    DimensionType,
    Operator,
    TimeBalance,
    VarianceReporting,
)

CUBES = (Cube("Plan1", CubeKind.BSO), Cube("Vis1ASO", CubeKind.ASO))


def new_outline() -> Outline:
    outline = Outline(CUBES, ["Default", "English"])
    for name, kind in (("Account", DimensionType.ACCOUNT), ("Entity", DimensionType.ENTITY),
                       ("Period", DimensionType.PERIOD), ("Years", DimensionType.YEARS),
                       ("Scenario", DimensionType.SCENARIO),
                       ("Currency", DimensionType.CURRENCY),
                       ("Product", DimensionType.CUSTOM)):
        outline.add_dimension(name, kind)
    outline.add_dimension("Size", DimensionType.ATTRIBUTE, {}, base_dimension="Entity")
    return outline


def load(outline: Outline, text: str, **options: object) -> LoadOutcome:
    return load_metadata(outline, text.encode(), **options)  # type: ignore[arg-type]


def shape(dim: Dimension) -> list[str]:
    """The hierarchy below the root, two spaces per generation, shared instances marked."""
    lines = []
    depth = {dim.root.id: -1}
    for m in dim.walk():
        if m is dim.root:
            continue
        assert m.parent is not None
        depth[m.id] = depth[m.parent.id] + 1
        lines.append("  " * depth[m.id] + m.name + (" (shared)" if m.base else ""))
    return lines


def rejections(outcome: LoadOutcome) -> list[tuple[int, str, str]]:
    return [(r.line, r.text, r.reason) for r in outcome.result.rejections]


def entity(outcome: LoadOutcome) -> Dimension:
    return outcome.outline.require("Entity")


# -- Oracle's canonical example and the basic record kinds ---------------------------------------

def test_oracles_example_builds_two_members_and_a_shared_instance() -> None:
    out = load(new_outline(), "Entity, Parent, Data Storage\ne1, Entity,\ne2, ,\ne1, e2, Shared\n")
    dim = entity(out)
    assert shape(dim) == ["e1", "e2", "  e1 (shared)"]
    assert dim.member("e1").props.storage is DataStorage.NEVER_SHARE  # type: ignore[union-attr]
    shared = dim.member("e2").children[0]  # type: ignore[union-attr]
    assert shared.base is dim.member("e1") and shared.props.storage is DataStorage.SHARED
    assert (out.result.records_read, out.result.records_processed,
            out.result.records_rejected) == (3, 3, 0)


def test_an_existing_member_without_parent_stays_where_it_is() -> None:
    first = load(new_outline(), "Entity,Parent\nTotal,\nEast,Total\n")
    out = load(first.outline, "Entity,Parent,Alias: Default\nEast,,Eastern Region\n")
    assert shape(entity(out)) == ["Total", "  East"]
    assert entity(out).member("East").props.aliases == {"Default": "Eastern Region"}  # type: ignore[union-attr]


def test_a_new_parent_moves_the_member_with_its_subtree_and_keeps_ids() -> None:
    first = load(new_outline(), "Entity,Parent\nA,\nB,\nA1,A\nA11,A1\nA2,A\n")
    ids = {m.name: m.id for m in entity(first).walk()}
    out = load(first.outline, "Entity,Parent\nA1,B\n")
    assert shape(entity(out)) == ["A", "  A2", "B", "  A1", "    A11"]
    assert {m.name: m.id for m in entity(out).walk()} == ids
    assert out.outline.next_id == first.outline.next_id


def test_moving_a_member_under_itself_or_a_descendant_is_rejected() -> None:
    first = load(new_outline(), "Entity,Parent\nA,\nA1,A\nA11,A1\n")
    out = load(first.outline, "Entity,Parent\nA,A\nA, A11\n")
    reason = "The member A cannot be moved under {p}: {p} is A itself or one of its descendants."
    assert rejections(out) == [(2, "A,A", reason.format(p="A")),
                               (3, "A, A11", reason.format(p="A11"))]
    assert shape(entity(out)) == ["A", "  A1", "    A11"]


def test_a_record_whose_parent_does_not_exist_yet_is_rejected_and_the_load_goes_on() -> None:
    out = load(new_outline(), "Entity,Parent\nChild,Later\nLater,\nOther,Later\n")
    assert rejections(out) == [
        (2, "Child,Later", "The parent member Later does not exist in the Entity dimension.")]
    assert shape(entity(out)) == ["Later", "  Other"]
    assert (out.result.records_read, out.result.records_processed) == (3, 2)


def test_a_parent_from_another_dimension_is_rejected() -> None:
    first = load(new_outline(), "Product,Parent\nP1,\n")
    out = load(first.outline, "Entity,Parent\nE1,P1\n")
    assert rejections(out) == [
        (2, "E1,P1", "The parent member P1 belongs to the Product dimension, not to Entity.")]


def test_a_name_used_in_another_dimension_is_rejected() -> None:
    first = load(new_outline(), "Product,Parent\nWidget,\n")
    out = load(first.outline, "Entity,Parent\nwidget ,\nPeriod,\n")
    assert rejections(out) == [
        (2, "widget ,", "The member name widget is already used in the Product dimension: "
         "member names must be unique in the application."),
        (3, "Period,", "The member name Period is already used in the Period dimension: "
         "member names must be unique in the application.")]


# -- names --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "reason"), [
    ("x" * 81, f"The member name '{'x' * 81}' is 81 characters long; the limit is 80."),
    ('"a""b"', "The member name 'a\"b' contains the character '\"', which is not allowed in "
               "member names."),
    ("a/b", "The member name 'a/b' contains the character '/', which is not allowed in member "
            "names."),
    ("a\\b", "The member name 'a\\\\b' contains the character '\\', which is not allowed in "
             "member names."),
    ("@home", "The member name '@home' starts with '@', which names cannot start with."),
    ("-x", "The member name '-x' starts with '-', which names cannot start with."),
    ("a<b>c", "The member name 'a<b>c' contains an HTML tag."),
])
def test_bad_member_names_are_rejected(name: str, reason: str) -> None:
    out = load(new_outline(), f"Entity,Parent\nok,\n{name},ok\n")
    assert [(r.line, r.reason) for r in out.result.rejections] == [(3, reason)]
    assert shape(entity(out)) == ["ok"]


def test_an_80_character_name_is_accepted() -> None:
    out = load(new_outline(), "Entity\n" + "x" * 80 + "\n")
    assert shape(entity(out)) == ["x" * 80]


def test_a_missing_member_name_is_rejected() -> None:
    out = load(new_outline(), "Entity,Parent\n,Entity\n")
    assert rejections(out) == [(2, ",Entity", "The member name is missing.")]


# -- properties ---------------------------------------------------------------------------------

def test_new_members_inherit_from_their_parent_and_root_children_are_never_share() -> None:
    text = ("Account,Parent,Data Storage,Plan Type (Vis1ASO),Account Type,Two Pass Calculation\n"
            "Revenue,,Dynamic Calc,false,Revenue,true\n"
            "Sales,Revenue,,,,\n"
            "Plain,,,,,\n")
    dim = load(new_outline(), text).outline.require("Account")
    sales = dim.member("Sales").props  # type: ignore[union-attr]
    assert (sales.storage, sales.valid, sales.account_type, sales.two_pass) == (
        DataStorage.DYNAMIC_CALC, (True, False), AccountType.REVENUE, True)
    assert (sales.time_balance, sales.variance_reporting) == (
        TimeBalance.FLOW, VarianceReporting.NON_EXPENSE)
    assert sales.ops == (Operator.ADD, Operator.ADD)
    plain = dim.member("Plain").props  # type: ignore[union-attr]
    assert (plain.storage, plain.account_type, plain.variance_reporting) == (
        DataStorage.NEVER_SHARE, AccountType.EXPENSE, VarianceReporting.EXPENSE)


def test_account_type_implies_time_balance_unless_the_record_gives_one() -> None:
    text = ("Account,Parent,Account Type,Time Balance\n"
            "Cash,,Asset,\nHeadcount,,Saved Assumption,Average\nOdd,,Asset,first\n")
    dim = load(new_outline(), text).outline.require("Account")
    assert [dim.member(n).props.time_balance for n in ("Cash", "Headcount", "Odd")] == [  # type: ignore[union-attr]
        TimeBalance.BALANCE, TimeBalance.AVERAGE, TimeBalance.FIRST]


def test_none_clears_and_empty_leaves_unchanged() -> None:
    first = load(new_outline(), 'Entity,Alias: Default,Alias: English,Description,Formula,UDA\n'
                 'E1,One,Uno,About E1,"""x"" + 1;","A, B"\n')
    e1 = entity(first).member("E1").props  # type: ignore[union-attr]
    assert (e1.aliases, e1.description, e1.formula, e1.udas) == (
        {"Default": "One", "English": "Uno"}, "About E1", '"x" + 1;', ("A", "B"))
    out = load(first.outline, "Entity,Alias: Default,Alias: English,Description,Formula,UDA\n"
               "E1,<none>,,<NONE>,<none>,\n")
    e1 = entity(out).member("E1").props  # type: ignore[union-attr]
    assert (e1.aliases, e1.description, e1.formula, e1.udas) == (
        {"English": "Uno"}, None, None, ("A", "B"))


@pytest.mark.parametrize(("text", "flag"), [("true", True), ("FALSE", False), ("0", False),
                                             ("1", True), ("2", True)])
def test_booleans_are_true_false_or_integers(text: str, flag: bool) -> None:
    out = load(new_outline(), f"Entity,Plan Type (Plan1)\nE1,{text}\n")
    assert entity(out).member("E1").props.valid == (flag, True)  # type: ignore[union-attr]


@pytest.mark.parametrize(("header", "value", "reason"), [
    ("Aggregation (Plan1)", "plus", "Invalid value 'plus' for Aggregation (Plan1): use +, -, *, "
                                    "/, %, ~ or ^."),
    ("Plan Type (Vis1ASO)", "yes", "Invalid value 'yes' for Plan Type (Vis1ASO): use true or "
                                   "false."),
    ("Data Storage", "Stored", "Invalid value 'Stored' for Data Storage: use Store, Never Share, "
                               "Label Only, Shared, Dynamic Calc and Store or Dynamic Calc."),
    ("Data Type", "Money", "Invalid value 'Money' for Data Type: use Currency, Non-Currency, "
                           "Percentage, Smart List, Date, Text or Unspecified."),
    ("Operation", "remove", "Invalid value 'remove' for Operation: use update, delete level 0, "
                            "delete idescendants or delete descendants."),
    ("Base Currency", "XYZ", "Invalid value 'XYZ' for Base Currency: it is not a member of the "
                             "Currency dimension."),
    ("Size", "Huge", "Invalid value 'Huge' for Size: it is not a level 0 member of the "
                     "attribute dimension Size."),
    ("Description", "d" * 256, "The Description is 256 characters long; the limit is 255."),
])
def test_bad_property_values_reject_the_record(header: str, value: str, reason: str) -> None:
    out = load(new_outline(), f"Entity,{header}\nE1,{value}\nE2,\n")
    assert rejections(out) == [(2, f"E1,{value}", reason)]
    assert shape(entity(out)) == ["E2"]


def test_valid_references_to_other_dimensions_are_stored_by_their_names() -> None:
    base = load(new_outline(), "Currency\nUSD\n").outline
    base = load(base, "Size,Parent\nLarge,\n").outline
    base = load(base, "Years\nFY24\nNo Year\n").outline
    base = load(base, "Period,Parent\nYearTotal,\nJan,YearTotal\nBegBalance,\n").outline
    out = load(base, "Entity,Base Currency,Size\nE1,usd,large\n")
    props = entity(out).member("E1").props  # type: ignore[union-attr]
    assert (props.base_currency, props.attributes) == ("USD", {"Size": "Large"})
    out = load(base, "Scenario,Start Year,Start Period,End Year,End Period\n"
               "Plan,fy24,jan,,\nBad,No Year,,,\nBad2,,BegBalance,,\nBad3,,YearTotal,,\n")
    plan = out.outline.require("Scenario").member("Plan").props  # type: ignore[union-attr]
    assert (plan.start_year, plan.start_period) == ("FY24", "Jan")
    assert [r.reason for r in out.result.rejections] == [
        "Invalid value 'No Year' for Start Year: it is not a member of the Years dimension.",
        "Invalid value 'BegBalance' for Start Period: it is not a level 0 member of the Period "
        "dimension.",
        "Invalid value 'YearTotal' for Start Period: it is not a level 0 member of the Period "
        "dimension."]


def test_extra_cloud_columns_are_carried_through_verbatim() -> None:
    out = load(new_outline(), "Entity,UUID,Old Name,Solve Order (Plan1)\nE1, ab-12 ,,3\n")
    assert entity(out).member("E1").props.extras == {  # type: ignore[union-attr]
        "UUID": "ab-12", "Solve Order (Plan1)": "3"}
    assert "UUID" in export_dimension(out.outline, "Entity").splitlines()[0]


def test_the_dimension_member_takes_properties_but_no_parent() -> None:
    out = load(new_outline(), "Entity,Parent,Alias: Default\nEntity,,All Entities\n"
               "Entity,Other,\n")
    assert entity(out).root.props.aliases == {"Default": "All Entities"}
    assert rejections(out) == [(3, "Entity,Other,", "The parent member Other does not exist in "
                                "the Entity dimension.")]
    out = load(out.outline, "Entity,Parent\nX,\nEntity,X\n")
    assert rejections(out) == [(3, "Entity,X", "The dimension member Entity cannot have a "
                                "parent.")]


def test_too_many_fields_reject_the_record_but_trailing_empty_ones_do_not() -> None:
    out = load(new_outline(), "Entity,Parent\nA,,,\nB,,x\n")
    assert rejections(out) == [(3, "B,,x", "The record has 3 fields but the header has 2.")]
    assert shape(entity(out)) == ["A"]


# -- shared members -----------------------------------------------------------------------------

def test_shared_member_rejections() -> None:
    first = load(new_outline(), "Entity,Parent\nA,\nA1,A\nB,\n")
    out = load(first.outline, "Entity,Parent,Data Storage,Formula\n"
               "Ghost,B,Shared,\n"       # no base
               "A1,A,Shared,\n"          # same parent as its base
               "A,A1,Shared,\n"          # below its base
               "A1,,Shared,\n"           # no parent
               "A1,B,Shared,x+1;\n"      # own formula
               "A1,B,Shared,\n")         # fine
    assert [r.reason for r in out.result.rejections] == [
        "The shared member Ghost has no base member: Ghost does not exist in the Entity "
        "dimension. A base member must be loaded before its shared instances.",
        "The shared member A1 must have a different parent than its base member (A).",
        "The shared member A cannot be placed under A1: A1 is the base member A or one of its "
        "descendants.",
        "The shared member A1 needs a parent.",
        "The shared member A1 cannot have a formula of its own."]
    assert [r.line for r in out.result.rejections] == [2, 3, 4, 5, 6]
    assert shape(entity(out)) == ["A", "  A1", "B", "  A1 (shared)"]


def test_a_shared_record_updates_its_instance_operator_and_ignores_base_properties() -> None:
    first = load(new_outline(), "Entity,Parent,Data Storage\nA,\nB,\nA,B,Shared\n")
    out = load(first.outline, "Entity,Parent,Data Storage,Aggregation (Plan1),Description\n"
               "A,B,shared,~,ignored\n")
    shared = entity(out).member("B").children[0]  # type: ignore[union-attr]
    assert shared.props.ops == (Operator.IGNORE, Operator.ADD)
    assert shared.props.description is None
    assert len(entity(out)) == len(entity(first))


def test_shared_members_are_refused_in_structural_dimensions() -> None:
    first = load(new_outline(), "Period,Parent\nQ1,\nJan,Q1\nH1,\n")
    out = load(first.outline, "Period,Parent,Data Storage\nJan,H1,Shared\n")
    assert [r.reason for r in out.result.rejections] == [
        "The Period dimension (Period) cannot hold shared members."]


def test_a_move_that_would_put_a_shared_instance_below_its_base_is_rejected() -> None:
    first = load(new_outline(), "Entity,Parent,Data Storage\nA,\nB,\nA,B,Shared\n")
    out = load(first.outline, "Entity,Parent\nB,A\n")
    assert [r.reason for r in out.result.rejections] == [
        "The member B cannot be moved under A: the shared member A would be below its base "
        "member."]
    out = load(first.outline, "Entity,Parent\nC,\nA,C\nA,B\n")
    assert [r.reason for r in out.result.rejections] == [
        "The member A cannot be moved under B: a shared instance of A is already there."]


# -- Operation: deletes -------------------------------------------------------------------------

def tree_for_deletes() -> Outline:
    return load(new_outline(), "Entity,Parent,Data Storage\nA,\nA1,A\nA11,A1\nA2,A\nB,\n"
                "A11,B,Shared\nA1,B,Shared\n").outline


def test_delete_level_0_deletes_a_leaf_and_refuses_a_parent() -> None:
    out = load(tree_for_deletes(), "Entity,Operation\nA2,delete level 0\nA1,Delete Level 0\n")
    assert rejections(out) == [(3, "A1,Delete Level 0", "The member A1 is not a level 0 member: "
                                "use delete idescendants to delete it with its descendants.")]
    assert shape(entity(out)) == ["A", "  A1", "    A11", "B", "  A11 (shared)", "  A1 (shared)"]


def test_delete_idescendants_deletes_the_subtree_and_its_shared_instances() -> None:
    out = load(tree_for_deletes(), "Entity,Operation\nA1,delete idescendants\n")
    assert shape(entity(out)) == ["A", "  A2", "B"]
    assert len(entity(out)) == 4  # root, A, A2, B


def test_delete_descendants_keeps_the_member() -> None:
    out = load(tree_for_deletes(), "Entity,Operation\nA,delete descendants\n")
    assert shape(entity(out)) == ["A", "B"]


def test_delete_of_a_shared_instance_only_deletes_that_instance() -> None:
    out = load(tree_for_deletes(), "Entity,Parent,Data Storage,Operation\n"
               "A11,B,Shared,delete level 0\nA2,B,Shared,delete level 0\n")
    assert shape(entity(out)) == ["A", "  A1", "    A11", "  A2", "B", "  A1 (shared)"]
    assert [r.reason for r in out.result.rejections] == [
        "There is no shared instance of A2 under B to delete."]


def test_deleting_unknown_members_or_the_dimension_member_is_rejected() -> None:
    out = load(tree_for_deletes(), "Entity,Operation\nNope,delete idescendants\n"
               "Entity,delete idescendants\n")
    assert [r.reason for r in out.result.rejections] == [
        "The member Nope does not exist in the Entity dimension: there is nothing to delete.",
        "The dimension member Entity cannot be deleted."]


def test_deleted_ids_are_not_reused() -> None:
    before = tree_for_deletes()
    out = load(before, "Entity,Operation\nA2,delete level 0\n")
    out = load(out.outline, "Entity\nA3\n")
    assert entity(out).member("A3").id == before.next_id  # type: ignore[union-attr]


# -- Clear Members ------------------------------------------------------------------------------

def test_clear_members_deletes_what_the_file_does_not_name_but_keeps_ancestors() -> None:
    base = load(new_outline(), "Entity,Parent,Data Storage\nTotal,\nEast,Total\nE1,East\n"
                "E2,East\nWest,Total\nW1,West\nAlt,\nE2,Alt,Shared\nW1,Alt,Shared\n").outline
    out = load(base, "Entity,Parent,Data Storage\nE1,\nW1,Alt,Shared\nNew,West\n",
               clear_members=True)
    assert shape(entity(out)) == ["Total", "  East", "    E1", "  West", "    W1", "    New",
                                  "Alt", "  W1 (shared)"]
    assert out.result.members_cleared == 2  # E2 and its shared instance
    assert out.result.messages[-2].text == (
        "Clear Members deleted 2 members of the Entity dimension that were not in the file.")


def test_clear_members_is_not_available_for_structural_dimensions() -> None:
    base = load(new_outline(), "Years\nFY24\nFY25\n").outline
    out = load(base, "Years\nFY24\n", clear_members=True)
    assert len(out.outline.require("Years")) == 3
    assert out.result.messages[0].text == ("Clear Members is not available for the Years "
                                           "dimension (Years); no member was deleted.")


# -- all or nothing -----------------------------------------------------------------------------

def test_the_input_outline_is_never_changed() -> None:
    base = tree_for_deletes()
    before = export_dimension(base, "Entity")
    load(base, "Entity,Parent,Operation\nA,,delete idescendants\nNew,B,\nA11,B,\n")
    with pytest.raises(MetadataFileError):
        load(base, "Entity,Colour\nZ,red\n")
    assert export_dimension(base, "Entity") == before
