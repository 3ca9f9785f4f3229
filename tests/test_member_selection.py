"""Member selections: the parser, every function on a small hand-made outline (expected
members worked out by hand), errors, and properties (fuzzing, round trips, the vectorised
hierarchy against a plain walk of the parent array)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epmjobs.errors import MemberSelectionError
from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.outline import (
    CompiledCube,
    Outline,
    compile_cube,
    load_metadata,
    synthetic_outline,
    vision_outline,
)
from epmjobs.planning.outline.vocabulary import DimensionType
from epmjobs.planning.selection import (
    Call,
    Function,
    MemberRef,
    MemberResolver,
    Selection,
    Term,
    Variable,
    lookup,
    parse_selection,
    render,
    render_all,
    select_members,
)
from epmjobs.planning.selection.functions import FUNCTIONS
from epmjobs.planning.selection.parse import MAX_DEPTH
from epmjobs.planning.selection.tree import Tree

CUBES = (Cube("Plan1", CubeKind.BSO), Cube("Rep", CubeKind.ASO))
FILES = (
    "Size,Parent\nBig,\nLarge,Big\nHuge,Big\nSmall,\n",
    "Sqft,Parent\n100,\n250,\n1000,\n",
    "Account,Parent,UDA,Plan Type (Rep)\nProfit,,,\nSales,Profit,,\nCosts,Profit,Big,\n"
    'Rent,Costs,"Big,Fixed",\nWages,Costs,,\nOther,Costs,,false\nMisc,Other,,true\n'
    "Ratios,,,false\nMargin,Ratios,,\n",
    "Period,Parent\nBegBalance,\nYearTotal,\nQ1,YearTotal\nJan,Q1\nFeb,Q1\nMar,Q1\n"
    "Q2,YearTotal\nApr,Q2\nMay,Q2\nJun,Q2\n",
    "Entity,Parent,Data Storage,Alias: Default,Size,Sqft\n"
    "Total Entity,,,,,\nNorth,Total Entity,,Northern Region,,\n100-10,North,,,,100\n"
    "100-20,North,,,Large,250\n100-30,North,,,,\nSouth,Total Entity,,,,\n"
    "200-10,South,,,Small,1000\n200-20,South,,,Huge,\nFocus,,,,,\n"
    "100-20,Focus,Shared,,,\n200-10,Focus,Shared,,,\n",
)


def small_outline() -> Outline:
    """Account (Ratios and Other not in Rep, Other's child Misc in Rep), Period, Entity with
    an alternate rollup Focus of shared members, and the attribute dimensions Size and Sqft
    on Entity."""
    outline = Outline(CUBES)
    dense = {"Plan1": "Dense", "Rep": "Dense"}
    outline.add_dimension("Account", DimensionType.ACCOUNT, dense)  # type: ignore[arg-type]
    outline.add_dimension("Period", DimensionType.PERIOD, dense)  # type: ignore[arg-type]
    outline.add_dimension("Entity", DimensionType.ENTITY)
    outline.add_dimension("Size", DimensionType.ATTRIBUTE, base_dimension="Entity")
    outline.add_dimension("Sqft", DimensionType.ATTRIBUTE, base_dimension="Entity")
    for text in (FILES[0], FILES[1], FILES[2], FILES[3], FILES[4]):
        outcome = load_metadata(outline, text.encode())
        assert outcome.result.rejections == []
        outline = outcome.outline
    return outline


OUTLINE = small_outline()
PLAN1 = compile_cube(OUTLINE, "Plan1")
REP = compile_cube(OUTLINE, "Rep")
# Entity nodes in Plan1: 0 Entity, 1 Total Entity, 2 North, 3 100-10, 4 100-20, 5 100-30,
# 6 South, 7 200-10, 8 200-20, 9 Focus, 10 100-20 (shared), 11 200-10 (shared)
SHARED_100_20, SHARED_200_10 = 10, 11


@cache
def vision() -> tuple[Outline, CompiledCube]:
    """The demo outline and its cube Plan1 (read only)."""
    outline = vision_outline()
    return outline, compile_cube(outline, "Plan1")


def select(text: str, cube: CompiledCube = PLAN1, /, **variables: str) -> Selection:
    return select_members(cube, OUTLINE, text, variables)


def names(text: str, cube: CompiledCube = PLAN1, /, **variables: str) -> dict[str, list[str]]:
    selection = select(text, cube, **variables)
    return {dim: selection.names(dim) for dim in selection}


def entities(text: str, **variables: str) -> list[str]:
    return names(text, **variables)["Entity"]


def nodes(text: str, dimension: str = "Entity") -> list[int]:
    found: list[int] = select(text)[dimension].tolist()
    return found


def error(text: str, cube: CompiledCube = PLAN1, /, **variables: str) -> str:
    with pytest.raises(MemberSelectionError) as raised:
        select_members(cube, OUTLINE, text, variables)
    return str(raised.value)


def unknown(name: str) -> str:
    return (f"The member {name} does not exist for the specified cube or you do not have "
            "access to it.")


def test_the_hand_made_outline_compiles_as_the_comments_say() -> None:
    entity = PLAN1.dimension("Entity")
    assert entity is not None
    assert entity.names == ("Entity", "Total Entity", "North", "100-10", "100-20", "100-30",
                            "South", "200-10", "200-20", "Focus", "100-20", "200-10")
    assert entity.base.tolist()[SHARED_100_20] == 4
    assert entity.base.tolist()[SHARED_200_10] == 7


# -- Planning's form functions -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Children(North)", ["100-10", "100-20", "100-30"]),
    ("IChildren(North)", ["North", "100-10", "100-20", "100-30"]),
    ("Descendants(Total Entity)",
     ["North", "100-10", "100-20", "100-30", "South", "200-10", "200-20"]),
    ("IDescendants(South)", ["South", "200-10", "200-20"]),
    ("Lvl0Descendants(Total Entity)", ["100-10", "100-20", "100-30", "200-10", "200-20"]),
    ("Lvl0Descendants(100-10)", []),
    ("ILvl0Descendants(100-10)", ["100-10"]),
    ("ILvl0Descendants(North)", ["100-10", "100-20", "100-30"]),
    ("Lvl1Descendants(Entity)", ["North", "South", "Focus"]),
    ("ILvl1Descendants(North)", ["North"]),
    ("Ancestors(100-20)", ["Entity", "Total Entity", "North"]),
    ("IAncestors(100-20)", ["Entity", "Total Entity", "North", "100-20"]),
    ("Siblings(100-20)", ["100-10", "100-30"]),
    ("ISiblings(100-20)", ["100-10", "100-20", "100-30"]),
    ("LSiblings(100-20)", ["100-10"]),
    ("ILSiblings(100-20)", ["100-10", "100-20"]),
    ("RSiblings(100-20)", ["100-30"]),
    ("IRSiblings(100-20)", ["100-20", "100-30"]),
    ("Parent(100-20)", ["North"]),
    ("IParent(100-20)", ["North", "100-20"]),
    ("Parent(Entity)", []),
    ("Siblings(Entity)", []),
    ("ISiblings(Entity)", ["Entity"]),
    ("Children(100-10)", []),
])
def test_planning_functions(text: str, expected: list[str]) -> None:
    assert entities(text) == expected


def test_descendants_of_an_alternate_rollup_hold_the_shared_nodes_and_base_nodes_map_them() -> None:
    selection = select("IDescendants(Focus)")
    assert selection["Entity"].tolist() == [9, SHARED_100_20, SHARED_200_10]
    assert selection.names("Entity") == ["Focus", "100-20", "200-10"]
    assert selection.base_nodes("Entity").tolist() == [4, 7, 9]


def test_a_shared_members_name_resolves_to_its_base_member() -> None:
    assert nodes("100-20") == [4]
    assert entities("Parent(100-20)") == ["North"]


# -- Essbase's calc-script functions -------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("@CHILDREN(South)", ["200-10", "200-20"]),
    ("@ICHILDREN(South)", ["South", "200-10", "200-20"]),
    ("@DESCENDANTS(South)", ["200-10", "200-20"]),
    ("@DESCENDANTS(Entity, 0)", ["Total Entity", "North", "100-10", "100-20", "100-30", "South",
                                 "200-10", "200-20", "Focus", "100-20", "200-10"]),
    ("@DESCENDANTS(Entity, -1)", ["Total Entity", "North", "South", "Focus"]),
    ("@DESCENDANTS(Entity, 3)", ["Total Entity", "North", "South", "Focus", "100-20", "200-10"]),
    ("@IDESCENDANTS(South, -1)", ["South"]),
    ("@IDESCENDANTS(Total Entity, 3)", ["Total Entity", "North", "South"]),
    ("@ANCESTORS(100-10)", ["Entity", "Total Entity", "North"]),
    ("@ANCESTORS(100-10, 2)", ["Total Entity", "North"]),
    ("@ANCESTORS(100-10, -1)", ["North"]),
    ("@IANCESTORS(100-10, -2)", ["Total Entity", "North", "100-10"]),
    ("@ALLANCESTORS(100-20)", ["Entity", "Total Entity", "North", "Focus"]),
    ("@IALLANCESTORS(100-20)", ["Entity", "Total Entity", "North", "100-20", "Focus"]),
    ("@SIBLINGS(North)", ["South"]),
    ("@ISIBLINGS(North)", ["North", "South"]),
    ("@LSIBLINGS(200-20)", ["200-10"]),
    ("@ILSIBLINGS(200-20)", ["200-10", "200-20"]),
    ("@RSIBLINGS(200-10)", ["200-20"]),
    ("@IRSIBLINGS(200-10)", ["200-10", "200-20"]),
    ("@PARENT(200-10)", ["South"]),
    ("@RELATIVE(Total Entity, 0)", ["100-10", "100-20", "100-30", "200-10", "200-20"]),
    ("@RELATIVE(Total Entity, 3)", ["North", "South"]),
    ("@RELATIVE(North, -1)", ["North"]),
    ("@RELATIVE(Entity, -1)", ["North", "South", "Focus"]),
    ("@RELATIVE(North, 9)", []),
    ("@GENMBRS(Entity, 3)", ["North", "South", "100-20", "200-10"]),
    ("@MATCH(Total Entity, \"100-*\")", ["100-10", "100-20", "100-30"]),
    ("@MATCH(Entity, \"?00-?0\")", ["100-10", "100-20", "100-30", "200-10", "200-20",
                                    "100-20", "200-10"]),
    ("@MATCH(Entity, \"northern*\")", ["North"]),
    ("@MEMBER(\"Total Entity\")", ["Total Entity"]),
    ("@LIST(North, South, Children(North))", ["North", "100-10", "100-20", "100-30", "South"]),
])
def test_essbase_functions(text: str, expected: list[str]) -> None:
    assert entities(text) == expected


def test_levmbrs_selects_a_level_of_the_dimension_shared_nodes_included() -> None:
    selection = select("@LEVMBRS(Entity, 0)")
    assert selection["Entity"].tolist() == [3, 4, 5, 7, 8, SHARED_100_20, SHARED_200_10]
    assert selection.base_nodes("Entity").tolist() == [3, 4, 5, 7, 8]


def test_levels_count_from_the_deepest_child() -> None:
    # YearTotal has quarters below it, so it is level 2, not 1; BegBalance is a leaf.
    assert names("@LEVMBRS(Period, 1)") == {"Period": ["Q1", "Q2"]}
    assert names("@LEVMBRS(Period, 2)") == {"Period": ["YearTotal"]}
    assert names("@RELATIVE(Period, 0)")["Period"][:2] == ["BegBalance", "Jan"]


@pytest.mark.parametrize(("text", "expected"), [
    ("@REMOVE(@CHILDREN(Q1), @LIST(Feb))", {"Period": ["Jan", "Mar"]}),
    ("@REMOVE(Children(Q1), Q1)", {"Period": ["Jan", "Feb", "Mar"]}),
    ("@REMOVE(Children(Q1), Sales)", {"Period": ["Jan", "Feb", "Mar"]}),
    ("@REMOVE(@RELATIVE(YearTotal, 0), @REMOVE(Children(Q2), May))",
     {"Period": ["Jan", "Feb", "Mar", "May"]}),
    ("@REMOVE(Descendants(Focus), 100-20)", {"Entity": ["200-10"]}),
    ("@REMOVE(Children(North), Descendants(Focus))", {"Entity": ["100-10", "100-30"]}),
])
def test_remove_and_nesting(text: str, expected: dict[str, list[str]]) -> None:
    assert names(text) == expected


def test_remove_treats_a_shared_instance_as_its_base_member() -> None:
    assert nodes("@REMOVE(Descendants(Focus), 100-20)") == [SHARED_200_10]


@pytest.mark.parametrize(("text", "expected"), [
    ("@UDA(Account, Big)", {"Account": ["Costs", "Rent"]}),
    ('@UDA(Account, "fixed")', {"Account": ["Rent"]}),
    ("@UDA(Account, Nothing)", {"Account": []}),
    ("@ATTRIBUTE(Large)", {"Entity": ["100-20"]}),
    ("@ATTRIBUTE(Big)", {"Entity": ["100-20", "200-20"]}),
    ("@ATTRIBUTE(Size)", {"Entity": ["100-20", "200-10", "200-20"]}),
    ('@WITHATTR(Size, "==", Small)', {"Entity": ["200-10"]}),
    ('@WITHATTR(Size, "<>", Small)', {"Entity": ["100-20", "200-20"]}),
    ('@WITHATTR(Size, "IN", Big)', {"Entity": ["100-20", "200-20"]}),
    ('@WITHATTR(Size, "in", Small)', {"Entity": ["200-10"]}),
    ('@WITHATTR(Sqft, ">", 200)', {"Entity": ["100-20", "200-10"]}),
    ('@WITHATTR(Sqft, "<=", "250")', {"Entity": ["100-10", "100-20"]}),
    ('@WITHATTR(Sqft, "=", 1000)', {"Entity": ["200-10"]}),
    ('@WITHATTR(Sqft, ">", 5000)', {"Entity": []}),
])
def test_uda_and_attribute_filters_select_base_members(
        text: str, expected: dict[str, list[str]]) -> None:
    assert names(text) == expected


def test_attribute_filters_never_answer_with_shared_nodes() -> None:
    assert nodes("@ATTRIBUTE(Large)") == [4]
    assert nodes('@WITHATTR(Sqft, ">=", 1000)') == [7]


# -- names, lists and variables ------------------------------------------------------------------

def test_names_bare_quoted_bracketed_and_qualified() -> None:
    for text in ("Total Entity", '"Total Entity"', "[Total Entity]", " total ENTITY ",
                 "[Entity].[Total Entity]", "[Entity].[Total Entity].[North].[100-10]"):
        assert len(select(text)["Entity"]) == 1, text
    assert nodes("[Entity].[Total Entity].[North].[100-10]") == [3]
    assert error("[South].[100-10]") == unknown("[South].[100-10]")


def test_a_quoted_name_keeps_its_comma_and_parentheses() -> None:
    assert error('"North, South"') == unknown("North, South")
    assert error('"Children(North)"') == unknown("Children(North)")
    assert error("[a]]b]") == unknown("a]b")


def test_functions_and_names_ignore_case_and_spaces_around_them() -> None:
    assert entities("  children ( north ) , @children(NORTH)") == ["100-10", "100-20", "100-30"]


def test_terms_on_one_dimension_union_and_dimensions_stay_in_the_order_first_named() -> None:
    selection = select("Jan, Sales, Children(Q1), Jan, Costs")
    assert list(selection) == ["Period", "Account"]
    assert selection.names("Period") == ["Jan", "Feb", "Mar"]
    assert selection.names("account") == ["Sales", "Costs"]
    assert selection["period"].dtype == np.int32


def test_empty_text_selects_nothing() -> None:
    assert dict(select("")) == {}
    assert dict(select("  \n ")) == {}


def test_a_function_that_selects_nothing_still_names_its_dimension() -> None:
    selection = select("Children(Jan)")
    assert list(selection) == ["Period"]
    assert selection["Period"].tolist() == []


def test_variables_name_members_and_whole_selections() -> None:
    assert entities("Children(&Region)", Region="North") == ["100-10", "100-20", "100-30"]
    assert names("&Months, Sales", Months="Jan, @CHILDREN(Q2)") == {
        "Period": ["Jan", "Apr", "May", "Jun"], "Account": ["Sales"]}
    assert names("&Both", Both="Jan, Sales") == {"Period": ["Jan"], "Account": ["Sales"]}
    assert names("&Outer", Outer="&Inner, Feb", Inner="Jan") == {"Period": ["Jan", "Feb"]}
    assert entities("@RELATIVE(Total Entity, &Lev)", Lev="-1") == ["North", "South"]
    assert names('@UDA(Account, &Tag)', Tag='"Fixed"') == {"Account": ["Rent"]}


def test_variable_names_ignore_case_and_may_be_given_with_the_ampersand() -> None:
    assert select_members(PLAN1, OUTLINE, "&curyr", {"&CurYr": "Jan"}).names("Period") == ["Jan"]


@pytest.mark.parametrize(("text", "variables", "message"), [
    ("&Nope", {}, "The substitution variable &Nope is not defined."),
    ("&A", {"A": "&B", "B": "&A"}, "The substitution variable &A refers to itself."),
    ("Children(&Two)", {"Two": "Jan, Sales"},
     "The substitution variable &Two selects members of several dimensions (Period, Account) "
     "where members of one dimension are expected."),
    ("&Bad", {"Bad": "Children("}, 'In the value of the substitution variable &Bad: Invalid '
     'member selection "Children(": the "(" is never closed at character 9.'),
    ("&Empty", {"Empty": " "}, "The substitution variable &Empty is empty."),
])
def test_variable_errors(text: str, variables: dict[str, str], message: str) -> None:
    assert error(text, **variables) == message


# -- members of other cubes, unknown names -------------------------------------------------------

def test_a_member_not_valid_for_the_cube_does_not_exist_for_it() -> None:
    assert names("Children(Ratios)") == {"Account": ["Margin"]}
    assert error("Margin", REP) == unknown("Margin")
    assert error("Children(Ratios)", REP) == unknown("Ratios")
    assert names("IDescendants(Account)", REP) == {
        "Account": ["Account", "Profit", "Sales", "Costs", "Rent", "Wages", "Misc"]}


def test_a_member_whose_parent_is_not_in_the_cube_hangs_from_its_nearest_ancestor() -> None:
    assert names("Children(Costs)") == {"Account": ["Rent", "Wages", "Other"]}
    assert names("Children(Costs)", REP) == {"Account": ["Rent", "Wages", "Misc"]}
    assert names("Parent(Misc)", REP) == {"Account": ["Costs"]}
    assert names("@RELATIVE(Profit, 0)", REP) == {"Account": ["Sales", "Rent", "Wages", "Misc"]}


def test_unknown_members_functions_and_attribute_dimensions() -> None:
    assert error("Jan, Nowhere") == unknown("Nowhere")
    assert error("Children(  Nowhere )") == unknown("Nowhere")
    assert error("Large") == unknown("Large")  # attribute members are in no cube
    assert error("@ATTRIBUTE(Nowhere)") == unknown("Nowhere")
    assert error("Jan, Descendents(Q1)") == (
        'Unknown member function Descendents in "Jan, Descendents(Q1)" at character 6.')
    assert "Unknown member function @foo" in error("@foo(Jan)")
    assert "Unknown member function Relative" in error("Relative(Jan, 1)")


@pytest.mark.parametrize(("text", "message"), [
    ("@RELATIVE(North, x)",
     'The member function @RELATIVE needs a generation or level number as argument 2, not "x".'),
    ("@RELATIVE(North, Children(Q1))", 'The member function @RELATIVE needs a generation or '
     'level number as argument 2, not "Children(\\"Q1\\")".'),
    ("Children(Children(North))", "The member function Children needs a single member as "
     'argument 1, but Children("North") selects 3 members.'),
    ("Children(@UDA(Account, Nope))", "The member function Children needs a single member as "
     'argument 1, but @UDA("Account", "Nope") selects no member.'),
    ("@UDA(Jan, Big)", 'The member function @UDA needs a dimension of the cube as argument 1, '
     'not "Jan".'),
    ("@LEVMBRS(Period, -1)", "@LEVMBRS needs a level number of 0 or more, not -1."),
    ("@GENMBRS(Period, 0)", "@GENMBRS needs a generation number of 1 or more, not 0."),
    ("@ATTRIBUTE(North)", 'The member function @ATTRIBUTE needs an attribute member as '
     'argument 1, not "North".'),
    ('@WITHATTR(Entity, "==", 1)', 'The member function @WITHATTR needs an attribute '
     'dimension as argument 1, not "Entity".'),
    ('@WITHATTR(Large, "==", 1)', 'The member function @WITHATTR needs an attribute '
     'dimension as argument 1, not "Large".'),
    ('@WITHATTR(Size, "~", 1)', 'The member function @WITHATTR has no operator "~"; use one of '
     ">, >=, <, <=, ==, <>, != or IN."),
    ('@WITHATTR(Size, "IN", Tiny)', unknown("Tiny")),
    ("@LIST(Jan, Sales)", "The member function @LIST mixes members of Period and Account; a "
     "list holds members of one dimension."),
])
def test_argument_errors(text: str, message: str) -> None:
    assert error(text).replace('\\"', '"') == message.replace('\\"', '"')


def test_an_attribute_of_a_dimension_outside_the_cube_is_refused() -> None:
    outline = small_outline()
    outline.add_dimension("Flag", DimensionType.ATTRIBUTE, base_dimension="Period")
    outline.add_dimension("Customer", DimensionType.CUSTOM, {"Plan1": "Sparse"})  # type: ignore[dict-item]
    outline.add_dimension("Tier", DimensionType.ATTRIBUTE, base_dimension="Customer")
    outline = load_metadata(outline, b"Tier,Parent\nGold,\n").outline
    rep = compile_cube(outline, "Rep")
    with pytest.raises(MemberSelectionError, match="Tier describes Customer, which is not a "
                       "dimension of the cube Rep"):
        select_members(rep, outline, "@ATTRIBUTE(Gold)")


# -- malformed text ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("Children(North", 'the "(" is never closed at character 9.'),
    ("@REMOVE(Children(Q1), @LIST(Feb)", 'the "(" is never closed at character 8.'),
    ("Children(North))", '")" closes no "(" at character 16.'),
    (")", 'a member name or function is missing at character 1.'),
    ("Jan,", "a member name or function is missing at character 5."),
    ("Jan,,Feb", "a member name or function is missing at character 5."),
    (",Jan", "a member name or function is missing at character 1."),
    ("Children(,North)", "a member name or function is missing at character 10."),
    ("Children(North,)", "a member name or function is missing at character 16."),
    ("(Jan)", 'needs a function name before it at character 1.'),
    ('"Jan', "the quoted name is never closed at character 1."),
    ('Jan, ""', "the quoted name is empty at character 6."),
    ("[Jan", "the name in brackets is never closed at character 1."),
    ("[ ]", "the name in brackets is empty at character 1."),
    ("& Jan", '"&" must be followed by the name of a substitution variable at character 1.'),
    ("@CHILDREN", "@CHILDREN needs its arguments in parentheses at character 1."),
    ('Jan "Feb"', '""" is unexpected here at character 5.'),
    ('"Jan"(x)', '"(" is unexpected here at character 6.'),
    ("&Var(x)", '"(" is unexpected here at character 5.'),
    ("Children()", "The member function Children takes 1 argument, not 0, in "),
    ("@DESCENDANTS(A, 1, 2)", "The member function @DESCENDANTS takes 1 to 2 arguments, not 3"),
    ("@LIST()", "The member function @LIST takes at least 1 argument, not 0"),
])
def test_malformed_text_says_what_and_where(text: str, message: str) -> None:
    got = error(text)
    assert message in got, got
    if "member function" not in message:
        assert got.startswith(f'Invalid member selection "{text}": ')


def test_nesting_is_limited() -> None:
    deep = "@LIST(" * MAX_DEPTH + "Jan" + ")" * MAX_DEPTH
    assert names(deep) == {"Period": ["Jan"]}
    assert f"nested more than {MAX_DEPTH} deep" in error("@LIST(" + deep + ")")
    assert "nested more than" in error("@LIST(" * 10_000)


def test_long_text_is_cut_short_in_messages() -> None:
    message = error("Jan, " * 200 + "(")
    assert "..." in message and len(message) < 400


# -- the parsed form -----------------------------------------------------------------------------

def test_the_parsed_form() -> None:
    terms = parse_selection(
        ' ILvl0Descendants( "Total Entity" ), &CurYr, @REMOVE(@children(Q1), [Period].[Feb])')
    assert terms == [
        Call("ILvl0Descendants", (MemberRef("Total Entity"),)),
        Variable("CurYr"),
        Call("@REMOVE", (Call("@CHILDREN", (MemberRef("Q1"),)),
                         MemberRef("Feb", ("Period",)))),
    ]
    assert [t.position for t in terms] == [2, 38, 46]
    assert render_all(terms) == ('ILvl0Descendants("Total Entity"), &CurYr, '
                                 '@REMOVE(@CHILDREN("Q1"), [Period].[Feb])')


def test_a_resolver_evaluates_terms_built_by_hand() -> None:
    resolver = MemberResolver(PLAN1, OUTLINE, {"Q": "Q2"})
    dim, found = resolver.evaluate(Call("@RELATIVE", (Variable("Q"), MemberRef("0"))))
    assert dim.name == "Period"
    assert [dim.names[n] for n in found.tolist()] == ["Apr", "May", "Jun"]
    with pytest.raises(MemberSelectionError, match="Unknown member function Nope"):
        resolver.evaluate(Call("Nope", ()))
    with pytest.raises(MemberSelectionError, match="takes 1 argument, not 0"):
        resolver.evaluate(Call("Children", ()))


def test_lookup_knows_both_families_and_every_level() -> None:
    assert lookup("children") is lookup("CHILDREN") is FUNCTIONS["children"]
    assert lookup("@children") is FUNCTIONS["@children"]
    assert lookup("ilvl12descendants") is not None
    assert lookup("ilvl12descendants").name == "ILvl12Descendants"  # type: ignore[union-attr]
    assert lookup("@lvl0descendants") is None


# -- properties ----------------------------------------------------------------------------------

_NAME = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")
_VARIABLE = st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True)


def _terms(depth: int, name: st.SearchStrategy[str] = _NAME,
           variable: st.SearchStrategy[str] = _VARIABLE) -> st.SearchStrategy[Term]:
    """Terms with calls of catalogue functions, each with a number of arguments it takes."""
    leaf = st.one_of(st.builds(MemberRef, name, st.lists(name, max_size=2).map(tuple)),
                     st.builds(Variable, variable))
    if depth == 0:
        return leaf

    def call(f: Function) -> st.SearchStrategy[Term]:
        most = f.least + 2 if f.variadic else len(f.params)
        return st.lists(_terms(depth - 1, name, variable), min_size=f.least,
                        max_size=most).map(lambda args: Call(f.name, tuple(args)))
    functions = st.sampled_from(sorted(FUNCTIONS.values(), key=lambda f: f.name))
    return st.one_of(leaf, functions.flatmap(call))


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(_terms(2), max_size=4))
def test_rendered_terms_parse_back_to_the_same_terms(terms: list[Term]) -> None:
    assert parse_selection(render_all(terms)) == terms


TOKENS = ["Children", "IDescendants", "ILvl0Descendants", "@RELATIVE", "@LIST", "@REMOVE",
          "@UDA", "@WITHATTR", "@ATTRIBUTE", "@MATCH", "@LEVMBRS", "@MEMBER", "@ANCESTORS",
          "(", ")", ",", '"', "[", "]", "]]", ".", "&", "&Region", "&Self", "&Two", "&Bad",
          "&Lev", " ", "North", "Total Entity", "100-20", "Focus", "Jan", "Q1", "Sales",
          "Account", "Entity", "Size", "Sqft", "Big", "Large", "Margin", '"IN"', '">"', "*",
          "?", "0", "-1", "3", "99999999999999999999999", "@", "\n", "é", "\x00"]
VARIABLES = {"Region": "North", "Self": "&Self", "Two": "Jan, Sales", "Bad": "Children(",
             "Lev": "-1"}


def _check(cube: CompiledCube, text: str, variables: Mapping[str, str]) -> None:
    try:
        selection = select_members(cube, OUTLINE, text, variables)
    except MemberSelectionError:
        return
    for dim in selection:
        found = selection[dim]
        assert found.dtype == np.int32
        assert np.all(np.diff(found) > 0)  # unique, in outline order
        size = len(selection.dimension(dim))
        assert found.size == 0 or (found[0] >= 0 and found[-1] < size)


@settings(derandomize=True, max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join))
def test_token_soup_raises_nothing_but_member_selection_errors(text: str) -> None:
    _check(PLAN1, text, VARIABLES)
    _check(REP, text, VARIABLES)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text(max_size=40), st.dictionaries(st.sampled_from(["A", "B"]), st.text(max_size=20)))
def test_any_text_raises_nothing_but_member_selection_errors(
        text: str, variables: dict[str, str]) -> None:
    _check(PLAN1, text, variables)
    _check(PLAN1, f"Children({text}), &A", variables)


REAL_NAMES = st.sampled_from(
    ["North", "Total Entity", "100-20", "Focus", "Entity", "Jan", "Q1", "YearTotal", "Sales",
     "Account", "Ratios", "Margin", "Size", "Sqft", "Big", "Large", "Small", "1000", "0", "-1",
     "2", "IN", ">", "==", "*0", "?", "Nowhere"])


@settings(derandomize=True, max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_terms(2, REAL_NAMES, st.sampled_from(sorted(VARIABLES))), min_size=1,
                max_size=3))
def test_generated_selections_of_real_names_raise_nothing_but_member_selection_errors(
        terms: list[Term]) -> None:
    text = render_all(terms)
    _check(PLAN1, text, VARIABLES)
    _check(REP, text, VARIABLES)


def _walk(parent: list[int], node: int) -> list[int]:
    """Descendants of ``node`` by a plain walk of the parent array (the reference)."""
    children: dict[int, list[int]] = {}
    for child, p in enumerate(parent):
        children.setdefault(p, []).append(child)
    found, stack = [], list(children.get(node, []))
    while stack:
        n = stack.pop()
        found.append(n)
        stack.extend(children.get(n, []))
    return sorted(found)


@pytest.mark.parametrize("compiled", [vision()[1], compile_cube(vision_outline(), "Vis1ASO"),
                                      PLAN1, REP], ids=["Plan1", "Vis1ASO", "small", "small-Rep"])
def test_the_vectorised_hierarchy_agrees_with_a_plain_walk(compiled: CompiledCube) -> None:
    for dim in compiled.dimensions:
        tree, parent = Tree(dim), dim.parent.tolist()
        for node in range(len(dim)):
            assert tree.subtree(node, inclusive=False).tolist() == _walk(parent, node)
            assert tree.children(node).tolist() == [c for c, p in enumerate(parent) if p == node]
            expected, p = [], parent[node]
            while p >= 0:
                expected.append(p)
                p = parent[p]
            assert tree.ancestors(node).tolist() == sorted(expected)


def test_subtrees_are_contiguous_in_a_large_generated_outline() -> None:
    compiled = compile_cube(synthetic_outline(20_000, seed=3), "Plan1")
    for dim in compiled.dimensions:
        tree = Tree(dim)
        desc, anc = dim.closure_descendant, dim.closure_ancestor
        assert np.all((anc <= desc) & (desc < tree.end[anc]))
        sizes = np.bincount(anc, minlength=len(dim))
        assert np.array_equal(sizes, tree.end - np.arange(len(dim)))


def test_planning_and_essbase_forms_agree_on_the_demo() -> None:
    outline, plan1 = vision()
    for member in ("Total Entity", "EMEA", "Net Income", "YearTotal", "Product"):
        for planning, essbase in (("Children", "@CHILDREN"), ("IDescendants", "@IDESCENDANTS"),
                                  ("ILvl0Descendants", "@RELATIVE"),
                                  ("Ancestors", "@ANCESTORS")):
            tail = ", 0" if essbase == "@RELATIVE" else ""
            a = select_members(plan1, outline, f'{planning}("{member}")')
            b = select_members(plan1, outline, f'{essbase}("{member}"{tail})')
            assert a == b, (planning, member)


def test_rendering_quotes_and_brackets() -> None:
    assert render(MemberRef("Total Entity")) == '"Total Entity"'
    assert render(MemberRef('a"b')) == '[a"b]'
    assert render(MemberRef("x]y", ("Dim",))) == "[Dim].[x]]y]"
    assert render(Call("@LIST", (Variable("V"), MemberRef("Jan")))) == '@LIST(&V, "Jan")'


# -- the documentation -----------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "member-selection.md"
EXAMPLE_ROW = re.compile(r"^\| `[^`]+` \| `([^`]+)` \| (.+) \|$")


def _described(selection: Selection) -> str:
    """A selection as the documentation's example tables write it."""
    parts = []
    for dim in selection:
        found = selection.names(dim)
        text = ", ".join(found) if len(found) <= 12 else (
            f"{len(found)} members: {', '.join(found[:3])}, ...")
        parts.append(text if len(selection) == 1 else f"{dim}: {text}")
    return "; ".join(parts)


def test_the_documented_examples_select_what_the_documentation_says() -> None:
    outline, plan1 = vision()
    rows = [m.groups() for line in DOCS.read_text().splitlines()
            if (m := EXAMPLE_ROW.match(line))]
    assert len(rows) > 40
    for text, documented in rows:
        assert _described(select_members(plan1, outline, text)) == documented, text


@pytest.mark.parametrize(("text", "variables"), [
    ("Nowhere", {}), ("Jan, Descendents(Q1)", {}), ("Children(Q1, Q2)", {}),
    ("Children(Q1", {}), ("Children(Q1))", {}), ("Jan,", {}), ('"Jan', {}),
    ("Children(Children(Q1))", {}), ("@RELATIVE(Q1, x)", {}), ("&CurYr", {}),
    ("&A", {"A": "&A"}),
])
def test_the_documented_error_messages_are_the_ones_given(
        text: str, variables: dict[str, str]) -> None:
    outline, plan1 = vision()
    with pytest.raises(MemberSelectionError) as raised:
        select_members(plan1, outline, text, variables)
    assert f"| `{raised.value}` |" in DOCS.read_text()
