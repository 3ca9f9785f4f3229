"""The calc-script lexer and parser: trees for real rules, precedence, positions, every
error with its line and column, size and nesting limits, and fuzzing (only
``CalcScriptError`` may come out, whatever the input)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc import (
    KNOWN_FUNCTIONS,
    check_functions,
    parse_formula,
    parse_script,
    prompt_names,
    variable_names,
)
from epmjobs.planning.calc.ast import (
    MAX_EXPRESSION_DEPTH,
    MAX_NESTING,
    Agg,
    ArrayDecl,
    Assignment,
    Binary,
    CalcAll,
    CalcDim,
    CalcMember,
    CalcTimeBalance,
    CalcTwoPass,
    Call,
    ClearBlock,
    ClearData,
    CrossRef,
    DataCopy,
    DataExport,
    Exclude,
    Expr,
    ExprStatement,
    Fix,
    If,
    IfBranch,
    Loop,
    MemberBlock,
    MemberRange,
    MemberRef,
    Missing,
    Number,
    Prompt,
    Script,
    Set,
    SetOption,
    SubVar,
    Unary,
    VarDecl,
    VarRef,
    walk,
)
from epmjobs.planning.calc.references import SELECTION_FUNCTIONS
from epmjobs.planning.selection import lookup
from epmjobs.planning.selection.functions import FUNCTIONS


def m(name: str) -> MemberRef:
    return MemberRef(name)


def n(value: float) -> Number:
    return Number(float(value))


def call(name: str, *args: Expr) -> Call:
    return Call(name, args)


def cross(*members: Expr) -> CrossRef:
    return CrossRef(members)


def expr(text: str) -> Expr:
    """The expression of a one-statement formula."""
    statement = parse_formula(text + ";").statements[0]
    assert isinstance(statement, ExprStatement)
    return statement.expr


def error(text: str, *, formula: bool = False) -> str:
    with pytest.raises(CalcScriptError) as caught:
        (parse_formula if formula else parse_script)(text)
    return str(caught.value)


# --- the representative rules of planning-model.md §5.3 ---------------------------------

AGGREGATION = """SET UPDATECALC OFF;
SET AGGMISSG ON;
FIX ("Actual", "Final", &CurYr, @RELATIVE("YearTotal", 0))
    AGG ("Entity", "Product");
ENDFIX
"""
VERSION_COPY = ('FIX ({Scenario}, {Entity}, &PlanYr, @RELATIVE("Account", 0), '
                '@RELATIVE("YearTotal", 0))\n' """    CLEARDATA "Final";
    DATACOPY "Working" TO "Final";
ENDFIX
""")
DRIVER = ('FIX ("Plan", "Working", &PlanYr, @RELATIVE("Total Entity", 0), '
          '@RELATIVE("YearTotal", 0))\n' """    "Salaries" (
        IF ("Headcount" <> #MISSING AND "Headcount" > 0)
            "Salaries" = "Headcount" * "Avg Salary"->"BegBalance" / 12;
        ELSE
            "Salaries" = #MISSING;
        ENDIF
    )
ENDFIX
""")
RECALC = """FIX ("Forecast", "Working", &FcstYr)
    CLEARBLOCK DYNAMIC;
    CALC DIM ("Account");          /* dense: evaluates account formulas + rollups */
    AGG ("Entity", "Product");     /* sparse: pure rollup */
ENDFIX
"""
SEEDING = """SET CREATEBLOCKONEQ ON;
FIX ("Plan", "Working", &PlanYr, @RELATIVE("Total Product", 0), @RELATIVE("YearTotal", 0))
    "Revenue" = "Revenue"->"Actual"->&PriorYr * (1 + "Growth %"->"No Product"->"BegBalance");
ENDFIX
"""


def level0(root: str) -> Call:
    return call("@RELATIVE", m(root), n(0))


def test_post_load_aggregation_rule() -> None:
    assert parse_script(AGGREGATION) == Script((
        Set("UPDATECALC", "OFF"),
        Set("AGGMISSG", "ON"),
        Fix((m("Actual"), m("Final"), SubVar("CurYr"), level0("YearTotal")),
            (Agg((m("Entity"), m("Product"))),)),
    ))


def test_version_copy_rule_with_runtime_prompts() -> None:
    script = parse_script(VERSION_COPY)
    assert script == Script((
        Fix((Prompt("Scenario"), Prompt("Entity"), SubVar("PlanYr"), level0("Account"),
             level0("YearTotal")),
            (ClearData(m("Final")), DataCopy(m("Working"), m("Final")))),
    ))
    assert prompt_names(script) == ("Scenario", "Entity")
    assert variable_names(script) == ("PlanYr",)


def test_driver_rule_with_if_in_a_member_block() -> None:
    salaries = Binary("/", Binary("*", m("Headcount"), cross(m("Avg Salary"), m("BegBalance"))),
                      n(12))
    condition = Binary("AND", Binary("!=", m("Headcount"), Missing()),
                       Binary(">", m("Headcount"), n(0)))
    assert parse_script(DRIVER) == Script((
        Fix((m("Plan"), m("Working"), SubVar("PlanYr"), level0("Total Entity"),
             level0("YearTotal")),
            (MemberBlock(m("Salaries"), (
                If((IfBranch(condition, (Assignment(m("Salaries"), salaries),)),),
                   (Assignment(m("Salaries"), Missing()),)),
            )),)),
    ))


def test_recalc_rule_with_comments() -> None:
    assert parse_script(RECALC) == Script((
        Fix((m("Forecast"), m("Working"), SubVar("FcstYr")),
            (ClearBlock("DYNAMIC"), CalcDim((m("Account"),)), Agg((m("Entity"), m("Product"))))),
    ))


def test_seeding_rule_with_cross_dimensional_references() -> None:
    growth = Binary("+", n(1), cross(m("Growth %"), m("No Product"), m("BegBalance")))
    assert parse_script(SEEDING) == Script((
        Set("CREATEBLOCKONEQ", "ON"),
        Fix((m("Plan"), m("Working"), SubVar("PlanYr"), level0("Total Product"),
             level0("YearTotal")),
            (Assignment(m("Revenue"), Binary(
                "*", cross(m("Revenue"), m("Actual"), SubVar("PriorYr")), growth)),)),
    ))


def test_positions_of_nodes() -> None:
    fix = parse_script(DRIVER).statements[0]
    assert isinstance(fix, Fix)
    assert (fix.line, fix.column) == (1, 1)
    assert [(x.line, x.column) for x in fix.members] == [(1, 6), (1, 14), (1, 25), (1, 34),
                                                         (1, 64)]
    block = fix.body[0]
    assert isinstance(block, MemberBlock) and (block.line, block.column) == (2, 5)
    branch_if = block.body[0]
    assert isinstance(branch_if, If) and (branch_if.line, branch_if.column) == (3, 9)
    condition = branch_if.branches[0].condition
    assert isinstance(condition, Binary) and (condition.line, condition.column) == (3, 37)
    assignment = branch_if.branches[0].body[0]
    assert isinstance(assignment, Assignment) and (assignment.line, assignment.column) == (4, 13)
    division = assignment.expr
    assert isinstance(division, Binary) and (division.line, division.column) == (4, 67)
    assert isinstance(division.left, Binary)
    reference = division.left.right
    assert isinstance(reference, CrossRef) and (reference.line, reference.column) == (4, 40)
    assert [(x.line, x.column) for x in reference.members] == [(4, 40), (4, 54)]


def test_positions_count_characters_after_crlf_bom_and_tabs() -> None:
    script = parse_script('\ufeffSET MSG SUMMARY;\r\n\t"A" = 1;\r"B" = 2;')
    assert [(s.line, s.column) for s in script.statements] == [(1, 1), (2, 2), (3, 1)]


# --- expressions and precedence ---------------------------------------------------------

@pytest.mark.parametrize(("text", "tree"), [
    ("1 + 2 * 3", Binary("+", n(1), Binary("*", n(2), n(3)))),
    ("1 - 2 - 3", Binary("-", Binary("-", n(1), n(2)), n(3))),
    ("8 / 4 % 2", Binary("%", Binary("/", n(8), n(4)), n(2))),
    ("(1 + 2) * 3", Binary("*", Binary("+", n(1), n(2)), n(3))),
    ('-"A" * 2', Binary("*", Unary("-", m("A")), n(2))),
    ('"A" * -2', Binary("*", m("A"), Unary("-", n(2)))),
    ("- - 1", Unary("-", Unary("-", n(1)))),
    ("+1", n(1)),
    ('"A" + 1 > 2', Binary(">", Binary("+", m("A"), n(1)), n(2))),
    ('"A" > 1 AND "B" < 2 OR "C" == 3', Binary(
        "OR", Binary("AND", Binary(">", m("A"), n(1)), Binary("<", m("B"), n(2))),
        Binary("==", m("C"), n(3)))),
    ("1 OR 2 AND 3", Binary("OR", n(1), Binary("AND", n(2), n(3)))),
    ('NOT "A" == 1', Binary("==", Unary("NOT", m("A")), n(1))),
    ('NOT ("A" == 1)', Unary("NOT", Binary("==", m("A"), n(1)))),
    ("1 <> 2", Binary("!=", n(1), n(2))),
    ("1 != 2", Binary("!=", n(1), n(2))),
    ("1 <= 2 >= 3", Binary(">=", Binary("<=", n(1), n(2)), n(3))),
    ('"A"->"B" * 2', Binary("*", cross(m("A"), m("B")), n(2))),
    ('a and b Or not c', Binary("OR", Binary("AND", m("a"), m("b")), Unary("NOT", m("c")))),
    ("#MI + #missing - #Missing", Binary("-", Binary("+", Missing(), Missing()), Missing())),
    ("1.5 + .5 + 2. + 1e3 + 2.5E-2", Binary("+", Binary("+", Binary("+", Binary(
        "+", n(1.5), n(0.5)), n(2)), n(1000)), n(0.025))),
    ('@ROUND(@ABS("A" - 1), 2)', call("@ROUND", call("@ABS", Binary("-", m("A"), n(1))), n(2))),
    ("@currmbr(Entity)", call("@CURRMBR", m("Entity"))),
    ('@ISMBR("Jan":"Mar", Apr::Jun)', call("@ISMBR", MemberRange(m("Jan"), m("Mar"), ":"),
                                           MemberRange(m("Apr"), m("Jun"), "::"))),
    ('"Sales"->{Scenario}->&CurYr->@CURRMBR("Entity")',
     cross(m("Sales"), Prompt("Scenario"), SubVar("CurYr"), call("@CURRMBR", m("Entity")))),
    ("[[Period]]", Prompt("Period")),
    ('"100-10" + "Opening & Closing" + "FY 2024"',
     Binary("+", Binary("+", m("100-10"), m("Opening & Closing")), m("FY 2024"))),
    ("@CHILDREN()", call("@CHILDREN")),
])
def test_expression_trees(text: str, tree: Expr) -> None:
    assert expr(text) == tree


def test_a_member_formula_is_a_sequence_of_statements() -> None:
    assert parse_formula('"Units" * "Price"') == Script((
        ExprStatement(Binary("*", m("Units"), m("Price"))),))
    formula = parse_formula('IF (@ISMBR("Jan")) "Opening" = 0; ELSE @PRIOR("Closing"); ENDIF;')
    assert formula == Script((If(
        (IfBranch(call("@ISMBR", m("Jan")), (Assignment(m("Opening"), n(0)),)),),
        (ExprStatement(call("@PRIOR", m("Closing"))),)),))


# --- statements -------------------------------------------------------------------------

def test_nested_fix_exclude_and_if_blocks() -> None:
    script = parse_script("""
        Fix (Actual)
          EXCLUDE (@LIST("E1", "E2"))
            FIX ("Jan":"Mar")
              "Bonus" (
                IF (@ISLEV("Entity", 0))
                  IF ("Sales" > 100) "Bonus" = 1; ELSEIF ("Sales" > 50) "Bonus" = 2; ENDIF
                ELSEIF (@ISUDA("Entity", "Big"))
                  "Bonus" = 3;
                ENDIF;
              );
            ENDFIX;
          endexclude
        ENDFIX""")
    inner_if = If((IfBranch(Binary(">", m("Sales"), n(100)), (Assignment(m("Bonus"), n(1)),)),
                   IfBranch(Binary(">", m("Sales"), n(50)), (Assignment(m("Bonus"), n(2)),))))
    outer_if = If((IfBranch(call("@ISLEV", m("Entity"), n(0)), (inner_if,)),
                   IfBranch(call("@ISUDA", m("Entity"), m("Big")),
                            (Assignment(m("Bonus"), n(3)),))))
    assert script == Script((Fix((m("Actual"),), (
        Exclude((call("@LIST", m("E1"), m("E2")),), (
            Fix((MemberRange(m("Jan"), m("Mar"), ":"),), (
                MemberBlock(m("Bonus"), (outer_if,)),)),)),)),))


def test_calculation_commands() -> None:
    script = parse_script("""
        calc all; CALC ALL EXCEPT DIM (Entity, "Product"); CALC ALL EXCEPT MBR ({Acct});
        CALC TWOPASS; CALC FIRST; CALC LAST; CALC AVERAGE; CALC DIM (&Dim);
        "Margin"; {Target}; &Member;
        CLEARBLOCK ALL; CLEARBLOCK upper; CLEARBLOCK NONINPUT; CLEARBLOCK EMPTY;
        CLEARDATA "Sales"->"Actual";
        DATACOPY "Actual"->&CurYr TO "Budget"->&NextYr;
    """)
    assert script.statements == (
        CalcAll(), CalcAll("DIM", (m("Entity"), m("Product"))), CalcAll("MBR", (Prompt("Acct"),)),
        CalcTwoPass(), CalcTimeBalance("FIRST"), CalcTimeBalance("LAST"),
        CalcTimeBalance("AVERAGE"), CalcDim((SubVar("Dim"),)),
        CalcMember(m("Margin")), CalcMember(Prompt("Target")), CalcMember(SubVar("Member")),
        ClearBlock("ALL"), ClearBlock("UPPER"), ClearBlock("NONINPUT"), ClearBlock("EMPTY"),
        ClearData(cross(m("Sales"), m("Actual"))),
        DataCopy(cross(m("Actual"), SubVar("CurYr")), cross(m("Budget"), SubVar("NextYr"))),
    )


def test_set_commands_keep_their_raw_argument() -> None:
    script = parse_script("""
        SET AGGMISSG ON; set createnonmissingblk off; SET CACHE HIGH; SET CALCPARALLEL 4;
        SET CALCTASKDIMS 2; SET FRMLBOTTOMUP ON; SET EMPTYMEMBERSETS ON; SET MSG SUMMARY;
        SET NOTICE LOW; SET UPDATECALC OFF; SET TRACE ("Sales", "Jan"); SET SCAPERSPECTIVE "x";
        SET DATAEXPORTOPTIONS
        {
            DataExportLevel "ALL";
            DataExportDynamicCalc ON;
            DataExportColHeader "Period";
            DataExportDecimal 2;
        };
    """)
    assert script.statements[:12] == (
        Set("AGGMISSG", "ON"), Set("CREATENONMISSINGBLK", "off"), Set("CACHE", "HIGH"),
        Set("CALCPARALLEL", "4"), Set("CALCTASKDIMS", "2"), Set("FRMLBOTTOMUP", "ON"),
        Set("EMPTYMEMBERSETS", "ON"), Set("MSG", "SUMMARY"), Set("NOTICE", "LOW"),
        Set("UPDATECALC", "OFF"), Set("TRACE", '("Sales", "Jan")'), Set("SCAPERSPECTIVE", "x"),
    )
    options = script.statements[12]
    assert isinstance(options, Set) and options.command == "DATAEXPORTOPTIONS"
    assert options.options == (
        SetOption("DataExportLevel", "ALL"), SetOption("DataExportDynamicCalc", "ON"),
        SetOption("DataExportColHeader", "Period"), SetOption("DataExportDecimal", "2"))
    assert options.argument.startswith("DataExportLevel") and options.argument.endswith("2;")
    hints = parse_script('SET RUNTIMESUBVARS { Mkt = "New York" <RTSV_HINT>Market:</RTSV_HINT>;'
                         " Empty; };")
    hint = hints.statements[0]
    assert isinstance(hint, Set) and hint.options == (
        SetOption("Mkt", '"New York" <RTSV_HINT>Market:</RTSV_HINT>'), SetOption("Empty", ""))


def test_variables_arrays_loops_and_exports() -> None:
    script = parse_script("""
        VAR Target = 1200, Actual_Amt, Rate = -0.5;
        ARRAY Discount[Scenario] = {1, 2.5}, Other["Market"];
        LOOP (3, Done)
            "Sales" (Target = Target + 1; "Sales" = Target * Rate;)
        ENDLOOP
        FIXPARALLEL (4, @RELATIVE("Entity", 0))
            DATAEXPORT "File" "," "/tmp/out.txt" "#MI";
        ENDFIXPARALLEL
    """)
    target, rate = VarRef("Target"), VarRef("Rate")
    assert script.statements == (
        VarDecl("Target", n(1200)), VarDecl("Actual_Amt"), VarDecl("Rate", Unary("-", n(0.5))),
        ArrayDecl("Discount", "Scenario", (n(1), n(2.5))), ArrayDecl("Other", "Market"),
        Loop(n(3), "Done", (MemberBlock(m("Sales"), (
            Assignment(target, Binary("+", target, n(1))),
            Assignment(m("Sales"), Binary("*", target, rate)))),)),
        Fix((level0("Entity"),), (DataExport("FILE", (",", "/tmp/out.txt", "#MI")),), n(4)),
    )


def test_fix_items_may_combine_selections() -> None:
    fix = parse_script('FIX (@UDA(Market, "East") AND @IDESCENDANTS("Product")) ENDFIX')
    assert fix.statements == (Fix((Binary(
        "AND", call("@UDA", m("Market"), m("East")), call("@IDESCENDANTS", m("Product"))),),
        ()),)


def test_comments_and_empty_statements() -> None:
    script = parse_script("""// leading line comment
        /* a block comment
           spanning lines, with "quotes", FIX, ENDFIX and ;; inside */
        ;; AGG (Entity); // trailing
        /**/ AGG /* mid-statement */ (Product) ; // at the end without newline""")
    assert script.statements == (Agg((m("Entity"),)), Agg((m("Product"),)))
    assert parse_script("") == Script(())
    assert parse_script("  /* only */ // comments\n") == Script(())


def test_keywords_quoted_are_members() -> None:
    assert parse_script('"FIX" = "ENDIF" + "AND";').statements == (
        Assignment(m("FIX"), Binary("+", m("ENDIF"), m("AND"))),)


# --- errors, with their exact positions --------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ('AGG (Entity);\n  /* never\nclosed', "line 2, column 3: unterminated comment: '/*' has "
     "no matching '*/'"),
    ('"A" = "Avg\nSalary";', "line 1, column 7: unterminated quoted name: the closing '\"' is "
     "missing on this line"),
    ('"A" = 1\n"B" = 2;', "line 1, column 8: expected ';' at the end of the assignment, "
     'found "B"'),
    ("SET AGGMISSG ON\nAGG (Entity);", "line 1, column 16: expected ';' at the end of SET "
     "AGGMISSG, found 'AGG'"),
    ("FIX (Actual)\n  AGG (Entity)\nENDFIX", "line 2, column 15: expected ';' at the end of "
     "AGG, found 'ENDFIX'"),
    ("AGG (Entity);\nENDFIX", "line 2, column 1: ENDFIX without a matching FIX"),
    ("FIX (Actual)\n  AGG (Entity);\n", "line 3, column 1: expected ENDFIX to close the FIX at "
     "line 1, column 1, found end of script"),
    ("FIX (a)\n  FIX (b)\n  ENDFIX\n", "line 4, column 1: expected ENDFIX to close the FIX at "
     "line 1, column 1, found end of script"),
    ("FIX (a)\nENDEXCLUDE", "line 2, column 1: ENDEXCLUDE without a matching EXCLUDE"),
    ("EXCLUDE (a)\n  FIX (b)\nENDEXCLUDE", "line 3, column 1: expected ENDFIX to close the FIX "
     "at line 2, column 3, found 'ENDEXCLUDE'"),
    ("FIX (a)\n  \"B\" = 1;\nENDIF", "line 3, column 1: ENDIF without a matching IF"),
    ('"A" (\n  ELSE "A" = 1;\n)', "line 2, column 3: ELSE without a matching IF"),
    ('IF ("A" > 0) "A" = 1; ENDIF', "line 1, column 1: IF is only allowed inside a member "
     'block, as in "Member" ( IF (...) ... ENDIF ), or in a member formula'),
    ('"A" (\n  IF ("B" > 0)\n    "A" = 1;\n)', "line 4, column 1: expected ENDIF to close the "
     "IF at line 2, column 3, found ')'"),
    ('"A" ( IF (1) "A" = 1; ELSE "A" = 2; ELSE "A" = 3; ENDIF )', "line 1, column 37: expected "
     "ENDIF to close the IF at line 1, column 7, found 'ELSE'"),
    ('FIX (a)\n  "A" (\n    "A" = 1;\nENDFIX', "line 4, column 1: expected ')' to close the "
     "member block at line 2, column 3, found 'ENDFIX'"),
    ('"A" (\n  FIX (b) ENDFIX\n)', "line 2, column 3: FIX is not allowed inside a member "
     "block"),
    ('"A" ( CALC DIM (Account); )', "line 1, column 7: CALC is not allowed inside a member "
     "block"),
    ('"A" ( "B" ( "B" = 1; ) )', "line 1, column 11: a member block cannot be nested inside a "
     "member block"),
    ('"A" ( IF ("B" = 1) "A" = 1; ENDIF )', "line 1, column 15: expected ')' to close the '(' "
     "at line 1, column 10 (to compare, write '=='), found '='"),
    ("SET AGGMSG ON;", "line 1, column 5: unknown SET command AGGMSG; did you mean SET "
     "AGGMISSG?"),
    ("SET ;", "line 1, column 5: expected a SET command name, found ';'"),
    ("CLEARBLOCK SOME;", "line 1, column 12: expected ALL, UPPER, NONINPUT, DYNAMIC, EMPTY "
     "after CLEARBLOCK, found 'SOME'"),
    ("CALC EVERYTHING;", "line 1, column 6: expected DIM, ALL, TWOPASS, FIRST, LAST or AVERAGE "
     "after CALC, found 'EVERYTHING'"),
    ("CALC ALL EXCEPT (a);", "line 1, column 17: expected DIM or MBR after EXCEPT, found '('"),
    ("AGG Entity;", "line 1, column 5: expected '(' after AGG, found 'Entity'"),
    ("AGG (@CHILDREN(Entity));", "line 1, column 6: expected a name in the AGG list, found "
     "'@CHILDREN'"),
    ('DATACOPY "Working" "Final";', 'line 1, column 20: expected TO after the DATACOPY source, '
     'found "Final"'),
    ('DATAEXPORT "Excel" "x";', 'line 1, column 12: expected "File", "Binfile" or "DSN" after '
     'DATAEXPORT, found "Excel"'),
    ("FIX () ENDFIX", "line 1, column 6: expected an expression, found ')'"),
    ('FIX ("a" "b") ENDFIX', "line 1, column 10: expected ',' or ')' in the FIX member list, "
     'found "b"'),
    ("FIXPARALLEL (2) ENDFIXPARALLEL", "line 1, column 1: FIXPARALLEL needs a thread count and "
     "at least one member"),
    ("x = #Nothing;", "line 1, column 5: unknown constant '#Nothing': expected #MISSING or #MI"),
    ("x = 12abc;", "line 1, column 5: malformed number '12abc': a member name that starts with a"
     " digit must be in double quotes"),
    ("x = @(1);", "line 1, column 5: expected a function name after '@'"),
    ("x = & + 1;", "line 1, column 5: expected a substitution variable name after '&'"),
    ("x = $1;", "line 1, column 5: unexpected character '$'"),
    ("x = 1 ! 2;", "line 1, column 7: unexpected character '!' (did you mean '!='?)"),
    ("x = 1e999;", "line 1, column 5: number 1e999 is too large"),
    ("x = @SUM 1;", "line 1, column 10: expected '(' after @SUM, found number 1"),
    ("x = @MAX(1 2);", "line 1, column 12: expected ',' or ')' in the arguments of @MAX, found "
     "number 2"),
    ("x = ENDIF;", "line 1, column 5: expected an expression, found 'ENDIF'"),
    ("x = \"a\"->;", "line 1, column 10: expected a member after '->', found ';'"),
    ("x = 1 +;", "line 1, column 8: expected an expression, found ';'"),
    ("VAR v; x = v->\"a\";", "line 1, column 13: variable v cannot be part of a "
     "cross-dimensional reference"),
    ("VAR v; v;", "line 1, column 9: expected '=' after 'v', found ';'"),
    ('"A" "B";', "line 1, column 5: expected '=', '(' or ';' after \"A\", found \"B\""),
    ("12;", "line 1, column 1: expected a statement, found number 12"),
    (")", "line 1, column 1: expected a statement, found ')'"),
    ("VAR 1;", "line 1, column 5: expected a variable name after VAR, found number 1"),
    ("ARRAY a[d] = 1;", "line 1, column 14: expected '{' to start the array's values, found "
     "number 1"),
    ("LOOP (2) AGG (e);", "line 1, column 18: expected ENDLOOP to close the LOOP at line 1, "
     "column 1, found end of script"),
    ("AGG (a);\n  CCONV USD;", "line 2, column 3: CCONV is not supported"),
    ('%Script(name:="Common")', "line 1, column 1: Calculation Manager references (%Script, "
     "%Template, %Rule) are not supported: use the script they stand for"),
    ("SET DATAEXPORTOPTIONS { DataExportLevel ALL }", "line 1, column 44: expected ';' at the "
     "end of the option DataExportLevel, found '}'"),
])
def test_errors_name_what_was_expected_with_its_position(text: str, message: str) -> None:
    assert error(text) == message


def test_error_carries_line_and_column() -> None:
    with pytest.raises(CalcScriptError) as caught:
        parse_script("AGG (Entity);\n\n   ENDFIX")
    assert (caught.value.line, caught.value.column) == (3, 4)
    assert caught.value.reason == "ENDFIX without a matching FIX"


@pytest.mark.parametrize(("text", "message"), [
    ('"A" * "B"\n"C";', "line 1, column 10: expected ';' at the end of the expression, found "
     '"C"'),
    ("FIX (a) ENDFIX", "line 1, column 1: FIX is not allowed inside a member formula"),
    ("AGG (a);", "line 1, column 1: AGG is not allowed inside a member formula"),
    ('IF (1) "A" = 1;', "line 1, column 16: expected ENDIF to close the IF at line 1, column 1, "
     "found end of formula"),
    ("ENDIF", "line 1, column 1: ENDIF without a matching IF"),
    ('"A" ( 1; )', "line 1, column 5: a member block cannot be nested inside a member formula"),
    ("IF (1) 2 = 3; ENDIF", "line 1, column 10: the left side of '=' must be a member, a "
     "cross-dimensional reference or a variable"),
])
def test_formula_errors(text: str, message: str) -> None:
    assert error(text, formula=True) == message


# --- functions, prompts and substitution variables ---------------------------------------

def test_known_functions_cover_the_issue_list() -> None:
    issue = {"@SUM", "@AVG", "@AVGRANGE", "@PRIOR", "@NEXT", "@ISMBR", "@ISLEV", "@ISCHILD",
             "@ISDESC", "@ISUDA", "@PARENTVAL", "@ANCESTVAL", "@ROUND", "@ABS", "@MAX", "@MIN",
             "@CURRMBR", "@RELATIVE", "@CHILDREN", "@DESCENDANTS", "@IDESCENDANTS", "@LEVMBRS",
             "@UDA", "@REMOVE", "@LIST"}
    assert issue <= KNOWN_FUNCTIONS


def test_selection_functions_are_those_the_member_selection_catalogue_evaluates() -> None:
    catalogue = {name.upper() for name in FUNCTIONS if name.startswith("@")}
    assert catalogue == SELECTION_FUNCTIONS
    assert all(lookup(name) is not None for name in SELECTION_FUNCTIONS)


def test_check_functions_names_the_first_unknown_function() -> None:
    check_functions(parse_script(DRIVER))
    script = parse_script('"A" = @sum("B");\n"C" = 1 + @XWRITE(@SUMM("D"), @Foo(1));')
    with pytest.raises(CalcScriptError) as caught:
        check_functions(script)
    assert str(caught.value) == "line 2, column 11: unknown function @XWRITE"
    with pytest.raises(CalcScriptError) as caught:
        check_functions(parse_script('"A" = @SUMM("B");'))
    assert str(caught.value) == "line 1, column 7: unknown function @SUMM; did you mean @SUM?"


def test_prompt_and_variable_names_in_order_of_first_use() -> None:
    script = parse_script("""
        FIX ({Scenario}, &CurYr, [[Version]])
            "A" = "B"->{Entity}->&PrevYr + {Scenario} * &CurYr;
            DATACOPY {From} TO &Target;
        ENDFIX""")
    assert prompt_names(script) == ("Scenario", "Version", "Entity", "From")
    assert variable_names(script) == ("CurYr", "PrevYr", "Target")
    assert prompt_names(parse_script(AGGREGATION)) == ()


# --- size and nesting -------------------------------------------------------------------

def test_a_one_megabyte_script_parses() -> None:
    rules = (AGGREGATION, VERSION_COPY, DRIVER, RECALC, SEEDING)
    unit = "\n".join(rules)
    copies = 1_000_000 // len(unit) + 1
    text = unit * copies
    assert len(text) >= 1_000_000
    script = parse_script(text)
    assert len(script.statements) == copies * 8
    last = script.statements[-1]
    assert isinstance(last, Fix)
    assert last.line == text.count("\n") - SEEDING.count("\n") + 2


def test_one_megabyte_of_pathological_input_fails_cleanly() -> None:
    for text in ("(" * 1_000_000, "x = " + "1 + " * 250_000 + "1;", "x = " + "-" * 1_000_000,
                 "{a" * 500_000, '"' + "a" * 1_000_000, "/*" * 500_000):
        with pytest.raises(CalcScriptError):
            parse_script(text)


def test_nesting_is_capped_with_a_clear_error() -> None:
    ok = "x = " + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING + ";"
    assert parse_script(ok).statements == (Assignment(m("x"), n(1)),)
    deep = "x = " + "(" * 10_000 + "1" + ")" * 10_000 + ";"
    assert error(deep) == (f"line 1, column {5 + MAX_NESTING}: nested too deeply: more than "
                           f"{MAX_NESTING} levels of parentheses, function calls and blocks")
    fixes = "FIX (a)\n" * 100 + "ENDFIX\n" * 100
    assert error(fixes).startswith(f"line {MAX_NESTING + 1}, column 1: nested too deeply")
    calls = "x = " + "@ABS(" * 100 + "1" + ")" * 100 + ";"
    assert "nested too deeply" in error(calls)
    ifs = '"A" (' + "IF (1) " * 100 + "ENDIF " * 100 + ")"
    assert "nested too deeply" in error(ifs)


def test_expression_depth_is_capped() -> None:
    fits = "x = " + " + ".join(["1"] * MAX_EXPRESSION_DEPTH) + ";"
    assert isinstance(parse_script(fits).statements[0], Assignment)
    too_long = "x = " + " + ".join(["1"] * (MAX_EXPRESSION_DEPTH + 2)) + ";"
    assert error(too_long).endswith(f"expression too deep: more than {MAX_EXPRESSION_DEPTH} "
                                    "levels of operators and calls; split it into several "
                                    "statements")
    assert "expression too deep" in error("x = " + "- " * 1000 + "1;")


# --- fuzzing ----------------------------------------------------------------------------

FUZZ = settings(max_examples=1000, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SOUP = [
    "FIX", "ENDFIX", "FIXPARALLEL", "ENDFIXPARALLEL", "EXCLUDE", "ENDEXCLUDE", "IF", "ELSEIF",
    "ELSE", "ENDIF", "LOOP", "ENDLOOP", "VAR", "ARRAY", "SET", "AGGMISSG", "DATAEXPORTOPTIONS",
    "ON", "AGG", "CALC", "DIM", "ALL", "EXCEPT", "MBR", "TWOPASS", "DATACOPY", "TO",
    "CLEARDATA", "CLEARBLOCK", "UPPER", "DATAEXPORT", '"File"', "AND", "OR", "NOT", "Sales",
    '"Avg Salary"', '""', "0", "12.5", "1e3", "#MI", "#Missing", "@SUM", "@RELATIVE",
    "@CURRMBR", "&CurYr", "{Scenario}", "[[Entity]]", "+", "-", "*", "/", "%", "=", "==",
    "!=", "<>", "<", "<=", ">", ">=", "->", ":", "::", "(", ")", ",", ";", "{", "}", "[", "]",
    "/* c */", "// c\n", "/*", '"', "@", "&", "#", "!", "\n", "\t",
]


def _parse_both(text: str) -> None:
    for parse in (parse_script, parse_formula):
        try:
            script = parse(text)
        except CalcScriptError as exc:                  # always with a position
            assert exc.line is not None and exc.line >= 1
            assert exc.column is not None and exc.column >= 1
            continue
        for node in walk(script):
            assert node.line >= 1 and node.column >= 1
        prompt_names(script)
        variable_names(script)
        with contextlib.suppress(CalcScriptError):
            check_functions(script)


@FUZZ
@given(st.text())
def test_fuzz_any_text_raises_only_calc_script_errors(text: str) -> None:
    _parse_both(text)


@FUZZ
@given(st.lists(st.sampled_from(SOUP), max_size=60), st.sampled_from([" ", "", "\n"]))
def test_fuzz_token_soup_raises_only_calc_script_errors(tokens: list[str], glue: str) -> None:
    _parse_both(glue.join(tokens))


_PRECEDENCE = {"OR": 1, "AND": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
               "+": 4, "-": 4, "*": 5, "/": 5, "%": 5}
_UNARY = 6


def _show(node: Expr, context: int = 0) -> str:
    """Source for ``node`` with only the parentheses the documented precedence needs."""
    if isinstance(node, Binary):
        level = _PRECEDENCE[node.op]
        text = f"{_show(node.left, level)} {node.op} {_show(node.right, level + 1)}"
    elif isinstance(node, Unary):
        level, text = _UNARY, f"{node.op} {_show(node.operand, _UNARY)}"
    elif isinstance(node, Number):
        return repr(node.value)
    elif isinstance(node, MemberRef):
        return f'"{node.name}"'
    else:
        return "#MISSING"
    return f"({text})" if level < context else text


_ATOMS = st.one_of(st.builds(Number, st.integers(0, 10**6).map(float)),
                   st.builds(MemberRef, st.sampled_from(["Sales", "Avg Salary", "100-10"])),
                   st.just(Missing()))
_TREES = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.builds(Binary, st.sampled_from(sorted(_PRECEDENCE)), inner, inner),
    st.builds(Unary, st.sampled_from(["-", "NOT"]), inner)), max_leaves=25)


@settings(FUZZ, max_examples=300)
@given(_TREES)
def test_fuzz_printed_expressions_parse_back_to_the_same_tree(tree: Expr) -> None:
    assert expr(_show(tree)) == tree
