"""Essbase-format data files: the free-form layouts Essbase reads without a rules file (cell
lists, column lists, ranges, carry-forward), quoting, numbers and missing values, every
rejection with its line, the writer, and write -> read round trips."""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epmjobs.errors import DataFileError
from epmjobs.planning.data.essbase_format import (
    EssbaseRecord,
    EssbaseRejection,
    format_number,
    read_essbase,
    text_lines,
    write_essbase,
)

DIMS = ("Year", "Measures", "Product", "Market", "Scenario")
MEMBERS = {
    "Year": ["Year", "Qtr1", "Jan", "Feb", "Mar"],
    "Measures": ["Measures", "Sales", "COGS", "Marketing", "Total Expenses"],
    "Product": ["Product", "100", "100-10", "100-20", "Cola"],
    "Market": ["Market", "East", "New York", "Ohio", "Texas", "Salt, Lake"],
    "Scenario": ["Scenario", "Actual", "Budget"],
    "Currency": ["USD"],  # a dimension of another cube
}
DIMENSION_OF = {m.casefold(): d for d, ms in MEMBERS.items() for m in ms}


def dimension_of(name: str) -> str | None:
    return DIMENSION_OF.get(name.casefold())


def read(text: str, **options: object) -> list[EssbaseRecord | EssbaseRejection]:
    return list(read_essbase(io.StringIO(text), dimensions=DIMS, dimension_of=dimension_of,
                             **options))  # type: ignore[arg-type]


def cells(text: str, **options: object) -> dict[tuple[str, ...], float | None]:
    """The cells read, keyed by (Year, Measures, Product, Market, Scenario); no rejections."""
    out = read(text, **options)
    assert [r for r in out if isinstance(r, EssbaseRejection)] == []
    return {r.members: r.value for r in out if isinstance(r, EssbaseRecord)}


def rejections(text: str, **options: object) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in read(text, **options) if isinstance(r, EssbaseRejection)]


# -- layouts ---------------------------------------------------------------------------------

def test_a_cell_list_names_every_member_before_its_one_value() -> None:
    text = ('Sales "100-10" Ohio Jan Actual 25\n'
            'Sales "100-20" "New York" Feb Budget -3.5\n'
            '"Total Expenses" Cola Texas Mar Actual #Mi\n')
    assert read(text) == [
        EssbaseRecord(1, ("Jan", "Sales", "100-10", "Ohio", "Actual"), 25.0),
        EssbaseRecord(2, ("Feb", "Sales", "100-20", "New York", "Budget"), -3.5),
        EssbaseRecord(3, ("Mar", "Total Expenses", "Cola", "Texas", "Actual"), None)]


def test_members_carry_forward_until_one_of_their_dimension_replaces_them() -> None:
    text = ('"Actual" "Sales" "100-10" "New York"\n'  # a header line of single members
            '"Jan" 678\n'
            '"Feb" 645\n'
            '"Ohio" "Jan" 1\n'
            '"Budget" 2\n')
    assert cells(text) == {
        ("Jan", "Sales", "100-10", "New York", "Actual"): 678.0,
        ("Feb", "Sales", "100-10", "New York", "Actual"): 645.0,
        ("Jan", "Sales", "100-10", "Ohio", "Actual"): 1.0,
        ("Jan", "Sales", "100-10", "Ohio", "Budget"): 2.0}


def test_a_column_list_reads_a_header_of_one_dimension_then_rows() -> None:
    text = ('"Jan" "Feb" "Mar"\n'
            '"Sales" "100-10" "New York" "Actual" 678 645 #Missing\n'
            '"Budget" 640 610 1e3\n'  # the leading members carry forward
            '"COGS" "100-20" "Ohio" "Actual" 1,234 (12) $7\n')
    assert cells(text) == {
        ("Jan", "Sales", "100-10", "New York", "Actual"): 678.0,
        ("Feb", "Sales", "100-10", "New York", "Actual"): 645.0,
        ("Mar", "Sales", "100-10", "New York", "Actual"): None,
        ("Jan", "Sales", "100-10", "New York", "Budget"): 640.0,
        ("Feb", "Sales", "100-10", "New York", "Budget"): 610.0,
        ("Mar", "Sales", "100-10", "New York", "Budget"): 1000.0,
        ("Jan", "COGS", "100-20", "Ohio", "Actual"): 1234.0,
        ("Feb", "COGS", "100-20", "Ohio", "Actual"): -12.0,
        ("Mar", "COGS", "100-20", "Ohio", "Actual"): 7.0}


def test_essbase_ranges_example_header_lines_and_carried_members() -> None:
    # Essbase's "Setting Ranges Automatically" example: two header lines form one block.
    text = ('Texas   Sales\n'
            '                    Jan   Feb   Mar\n'
            'Actual   "100-10"   98    89    58\n'
            '         "100-20"   87    78    115\n')
    got = cells(text)
    assert got[("Mar", "Sales", "100-10", "Texas", "Actual")] == 58.0
    assert got[("Jan", "Sales", "100-20", "Texas", "Actual")] == 87.0
    assert len(got) == 6


def test_ranges_in_two_dimensions_multiply_the_first_outermost() -> None:
    # Essbase's "Formatting Ranges of Member Fields": Sales for the first two columns.
    text = ('Actual   Texas   Sales   COGS\n'
            '           Jan   Feb   Jan   Feb\n'
            '"100-10"   98    89    26    19\n')
    assert cells(text) == {
        ("Jan", "Sales", "100-10", "Texas", "Actual"): 98.0,
        ("Feb", "Sales", "100-10", "Texas", "Actual"): 89.0,
        ("Jan", "COGS", "100-10", "Texas", "Actual"): 26.0,
        ("Feb", "COGS", "100-10", "Texas", "Actual"): 19.0}


def test_duplicate_members_in_a_range_are_ignored() -> None:
    # Essbase's "Interpreting Duplicate Members in a Range".
    text = ('Cola   East\n'
            '      Actual   Budget   Actual   Budget\n'
            '      Sales   Sales   COGS   COGS\n'
            'Jan   108     110     49     50\n')
    assert cells(text) == {
        ("Jan", "Sales", "Cola", "East", "Actual"): 108.0,
        ("Jan", "COGS", "Cola", "East", "Actual"): 110.0,
        ("Jan", "Sales", "Cola", "East", "Budget"): 49.0,
        ("Jan", "COGS", "Cola", "East", "Budget"): 50.0}


def test_underlines_are_formatting_and_blank_lines_are_nothing() -> None:
    text = ('East  Actual  "100-10"\n'
            '      Sales   Marketing\n'
            '      =====   =========\n'
            '\n'
            'Jan   10      8\n'
            '  \t \n'
            'Feb   21      16\n')
    got = cells(text)
    assert got[("Jan", "Marketing", "100-10", "East", "Actual")] == 8.0
    assert got[("Feb", "Sales", "100-10", "East", "Actual")] == 21.0
    assert {r.line for r in read(text) if isinstance(r, EssbaseRecord)} == {5, 7}


def test_a_new_header_replaces_the_ranges_of_its_dimensions_only() -> None:
    text = ('Jan Feb\n'
            'Sales "100-10" Ohio Actual 1 2\n'
            'Budget\n'  # a single member: Scenario's current member; the columns stay
            'Sales "100-10" Ohio 3 4\n'
            'Mar\n'  # one member of the column dimension: no columns any more
            'Sales "100-10" Ohio 5\n')
    got = cells(text)
    assert got[("Feb", "Sales", "100-10", "Ohio", "Budget")] == 4.0
    assert got[("Mar", "Sales", "100-10", "Ohio", "Budget")] == 5.0
    assert len(got) == 5


def test_a_line_of_dimension_names_is_skipped() -> None:
    # DATAEXPORT with DataExportDimHeader ON starts with the dimension names.
    text = ('"Product","Market","Scenario","Measures","Year"\n'
            '"Jan","Feb"\n'
            '"100-10","Ohio","Actual","Sales",1,2\n')
    assert len(cells(text)) == 2


def test_unquoted_names_that_are_not_numbers_are_members() -> None:
    assert cells("Sales 100-10 Ohio Jan Actual 1\n") == {
        ("Jan", "Sales", "100-10", "Ohio", "Actual"): 1.0}
    assert rejections("Sales 100 Ohio Jan Actual 1\n") == [
        (1, 'The member "Ohio" comes after values: members come first on a line.')]  # 100 too
    assert cells('Sales "100" Ohio Jan Actual 1\n') == {
        ("Jan", "Sales", "100", "Ohio", "Actual"): 1.0}


def test_names_are_given_as_written_and_found_whatever_their_case() -> None:
    assert cells('sales "COLA" OHIO jan actual 1\n') == {
        ("jan", "sales", "COLA", "OHIO", "actual"): 1.0}


# -- delimiters and quoting -----------------------------------------------------------------

def test_quoted_names_hold_spaces_commas_and_digits() -> None:
    text = '"Total Expenses"\t"100-10"  "Salt, Lake" "Jan" "Actual"\t1,234.5\n'
    assert cells(text) == {("Jan", "Total Expenses", "100-10", "Salt, Lake", "Actual"): 1234.5}


def test_a_comma_separated_file_is_detected_on_its_first_line() -> None:
    text = ('"Jan","Feb"\n'
            '"Total Expenses", "100-10","Salt, Lake","Actual",1234.5,#Mi\n'
            'Sales,Cola,New York,Budget,1,-2\n')
    got = cells(text)
    assert got[("Jan", "Total Expenses", "100-10", "Salt, Lake", "Actual")] == 1234.5
    assert got[("Feb", "Sales", "Cola", "New York", "Budget")] == -2.0
    # A thousands separator on the first line is not a delimiter.
    assert cells('Sales "100-10" Ohio Jan Actual 1,234\n') == {
        ("Jan", "Sales", "100-10", "Ohio", "Actual"): 1234.0}


def test_a_given_delimiter_is_used_as_given() -> None:
    text = 'Total Expenses\t100-10\tNew York\tJan\tActual\t5\n'
    assert cells(text, delimiter="\t") == {
        ("Jan", "Total Expenses", "100-10", "New York", "Actual"): 5.0}
    assert rejections(text, delimiter=" ")[0] == (
        1, 'Unknown member "Total": it is not in the outline of this cube.')


def test_comma_separated_fields_quoting_problems_and_empty_values() -> None:
    text = ('"Jan","Feb"\n'
            '"Sales","100-10","Ohio","Actual",1,,2\n'
            '"Sales"x,"100-10","Ohio","Actual",1,2\n'
            '"Sales",,"100-10","Ohio","Actual",1,2,\n')
    assert rejections(text) == [
        (2, "A value is empty: write #Mi for a missing value."),
        (3, 'The field "Sales"x mixes quoted and unquoted text.')]
    assert len(read(text)) == 4  # line 4: extra delimiters among members and at the end


# -- numbers and missing values ---------------------------------------------------------------

@pytest.mark.parametrize(("token", "value"), [
    ("0", 0.0), ("-0.5", -0.5), ("+7", 7.0), (".25", 0.25), ("5.", 5.0), ("1e-3", 0.001),
    ("-2.5E+10", -2.5e10), ("1,345,218", 1345218.0), ("$12", 12.0), ("(12)", -12.0),
    ("-$3.5", -3.5), ("($1,000.25)", -1000.25), ("€5", 5.0), ("1.7976931348623157e308",
                                                                  1.7976931348623157e308),
    ("#Mi", None), ("#MI", None), ("#missing", None), ("#MISSING", None)])
def test_values(token: str, value: float | None) -> None:
    assert cells(f'Sales "100-10" Ohio Jan Actual {token}\n') == {
        ("Jan", "Sales", "100-10", "Ohio", "Actual"): value}


@pytest.mark.parametrize("token", [
    "nan", "inf", "-Infinity", "1e999", "1_000", "12abc", "١٢", "1,34", "(12", "12-", "$ ",
    "--5", "#N/A"])
def test_what_is_not_a_value_is_rejected(token: str) -> None:
    (line, reason), = rejections(f'Sales "100-10" Ohio Jan Actual 1 {token}\n')
    assert line == 1
    assert reason.startswith(f'"{token}" is not a number') or "more values" in reason or \
        reason == f'"{token.strip()}" is not a number (nor #Mi or #Missing).'


def test_a_custom_missing_token_counts_as_missing_in_any_case() -> None:
    text = 'Jan Feb Mar\nSales "100-10" Ohio Actual NA n/a #mi\n'
    assert list(cells(text, missing_tokens=["NA", "N/A"]).values()) == [None, None, None]
    assert rejections(text) == [  # before the first value, a word is a member
        (2, 'Unknown member "NA": it is not in the outline of this cube.')]


@pytest.mark.parametrize("token", ["", " ", "12", "(3)", "a b", 'x"'])
def test_a_missing_token_that_cannot_be_told_apart_fails_the_file(token: str) -> None:
    with pytest.raises(DataFileError, match="cannot be used"):
        read("Sales 1\n", missing_tokens=[token])


# -- rejections ------------------------------------------------------------------------------

def test_every_rejection_names_its_line_and_reason() -> None:
    text = ('Sales "100-10" Ohoi Jan Actual 1\n'  # 1
            'Sales "100-10" Ohio Jan Actual 1\n'  # 2 (accepted)
            'USD 5\n'  # 3
            'Sales COGS 5\n'  # 4
            'Sales "100-10" Ohio Jan Actual 1 2\n'  # 5
            'Sales "100-10" Ohio Jan Actual 5 abc\n'  # 6
            'Sales 5 "Ohio"\n'  # 7
            'Sales 5 Ohio\n'  # 8
            'Sales "100-10 Ohio Jan Actual 1\n'  # 9
            'Sales "100-10" Ohio Jan Actual 7\n')  # 10 (accepted)
    assert rejections(text) == [
        (1, 'Unknown member "Ohoi": it is not in the outline of this cube.'),
        (3, 'The member "USD" belongs to the dimension Currency, which is not a dimension of '
            "this cube."),
        (4, 'Two members of the dimension Measures: "Sales" and "COGS".'),
        (5, "2 values where one is expected: without a header line of column members a line "
            "holds one value."),
        (6, '"abc" is not a number (nor #Mi or #Missing).'),
        (7, 'The member "Ohio" comes after values: members come first on a line.'),
        (8, 'The member "Ohio" comes after values: members come first on a line.'),
        (9, "A quoted member name is not closed.")]
    assert [r.text for r in read(text) if isinstance(r, EssbaseRejection)][3] == \
        'Sales "100-10" Ohio Jan Actual 1 2'


def test_column_rejections() -> None:
    text = ('Jan Feb Mar\n'
            'Sales "100-10" Ohio Actual 1 2\n'
            'Sales "100-10" Ohio Actual 1 2 3 4\n'
            'Jan Sales "100-10" Ohio Actual 1 2 3\n'
            'Sales "100-10" Ohio Actual 1 2 3\n'
            'Sales "100-10" Ohio Actual 1\n')
    assert rejections(text) == [
        (2, "2 values for 3 columns (Jan, Feb, Mar)."),
        (3, "4 values for 3 columns (Jan, Feb, Mar)."),
        (4, '"Jan" is a member of Year, whose members the header gives as columns.'),
        (6, "1 value for 3 columns (Jan, Feb, Mar).")]
    assert len(cells("Jan Feb Mar\n" + 'Sales "100-10" Ohio Actual 1 2 3\n' * 2)) == 3


def test_a_dimension_without_a_member_is_rejected() -> None:
    assert rejections("Sales Ohio Jan Actual 1\nCola 2\n") == [
        (1, "No member of Product: name one on this line or on a line before it.")]
    assert rejections("5\n") == [
        (1, "No member of Year, Measures, Product, Market, Scenario: name one on this line or "
            "on a line before it.")]


def test_lines_that_rely_on_what_a_rejected_line_set_are_rejected_too() -> None:
    text = ('"Jan" "Feb"\n'
            '"Sales" "100-10" "Ohio" "Actual" 1 2\n'
            '"Ohoi" "Budget" 3 4\n'  # lines up with the line before: Ohoi was a Market
            '"Actual" 5 6\n'  # relies on Ohoi: rejected
            '"Texas" "Actual" 7 8\n'  # names a Market again: accepted
            '"Sales" "Colla" "Ohio" "Actual" 9 9\n'
            '"COGS" 9 9\n'  # relies on Colla
            '"Cola" 10 11\n')
    assert rejections(text) == [
        (3, 'Unknown member "Ohoi": it is not in the outline of this cube.'),
        (4, "The member of Market is unknown: line 3, which may have set it, was rejected."),
        (6, 'Unknown member "Colla": it is not in the outline of this cube.'),
        (7, "The member of Product is unknown: line 6, which may have set it, was rejected.")]
    got = cells(text.replace('"Ohoi" "Budget" 3 4\n"Actual" 5 6\n', "")
                .replace('"Sales" "Colla" "Ohio" "Actual" 9 9\n"COGS" 9 9\n', ""))
    assert got[("Feb", "Sales", "Cola", "Texas", "Actual")] == 11.0


def test_an_unplaceable_unknown_member_hides_every_dimension_it_did_not_name() -> None:
    text = ('Sales "100-10" Ohio Jan Actual 1\n'
            'Ohoi 2\n'  # no known member on the line to say what Ohoi stands for
            'Feb 3\n'
            'Sales "100-10" Ohio Actual 4\n')
    assert [line for line, _ in rejections(text)] == [2, 3]
    assert rejections(text)[1] == (
        3, "The members of Measures, Product, Market, Scenario are unknown: line 2, which may "
           "have set them, was rejected.")


def test_a_rejected_header_leaves_the_columns_unknown_until_the_next_header() -> None:
    text = ('Jan Feb Marr\n'
            'Sales "100-10" Ohio Actual 1 2 3\n'
            'Jan Feb Mar\n'
            'Sales "100-10" Ohio Actual 1 2 3\n')
    assert rejections(text) == [
        (1, 'Unknown member "Marr": it is not in the outline of this cube.'),
        (2, "The columns are unknown: the header on line 1 was rejected.")]


def test_stop_on_error_ends_at_the_first_rejection() -> None:
    text = 'Sales "100-10" Ohio Jan Actual 1\nSales Ohoi 2\nSales "100-10" Ohio Jan Actual 3\n'
    out = read(text, stop_on_error=True)
    assert [type(r) for r in out] == [EssbaseRecord, EssbaseRejection]
    assert len(read(text)) == 3


def test_line_numbers_count_blank_lines_and_start_where_asked() -> None:
    out = read('\n\nSales "100-10" Ohio Jan Actual 1\n\nOhoi 2\n', first_line_number=10)
    assert [r.line for r in out] == [12, 14]


# -- files that cannot be read -----------------------------------------------------------------

def test_a_binary_or_utf16_line_fails_the_file() -> None:
    with pytest.raises(DataFileError, match="Line 2 of the data file is not text: it holds NUL"):
        read("Sales 1\nS\x00a\x00l\x00e\x00s\x00\n")


def test_text_lines_decodes_utf8_lazily_and_fails_other_encodings() -> None:
    data = "\ufeffSales Zürich 1\r\nSales Genève 2\n".encode()
    assert list(text_lines(io.BytesIO(data))) == ["Sales Zürich 1\r\n", "Sales Genève 2\n"]
    with pytest.raises(DataFileError, match=r"x.txt is not UTF-8 encoded: line 2 holds the "
                                            r"byte 0xE8"):
        list(text_lines(io.BytesIO("a\nGenève\n".encode("latin-1")), "x.txt"))
    with pytest.raises(DataFileError, match="encoded in UTF-16"):
        list(text_lines(io.BytesIO("Sales 1\n".encode("utf-16"))))


def test_a_byte_order_mark_before_the_first_member_is_not_part_of_it() -> None:
    assert cells('\ufeff"Sales" "100-10" Ohio Jan Actual 1\n') == {
        ("Jan", "Sales", "100-10", "Ohio", "Actual"): 1.0}


# -- streaming -------------------------------------------------------------------------------

def test_reading_is_lazy_a_record_needs_only_its_line() -> None:
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        yield '"Jan" "Feb"\n'
        for i in range(200_000):
            consumed += 1
            yield f'"Sales" "100-10" "Ohio" "Actual" {i} {-i}\n'

    reader = read_essbase(lines(), dimensions=DIMS, dimension_of=dimension_of)
    first = next(reader)
    assert first == EssbaseRecord(2, ("Jan", "Sales", "100-10", "Ohio", "Actual"), 0.0)
    assert consumed == 1
    assert sum(1 for _ in itertools.islice(reader, 999)) == 999
    assert consumed == 500
    assert sum(1 for _ in reader) == 400_000 - 1000
    assert consumed == 200_000


# -- writing ---------------------------------------------------------------------------------

def test_the_writer_quotes_members_and_writes_a_header_of_columns() -> None:
    rows = [(("Sales", "100-10", "New York", "Actual"), [678.0, None, 0.1 + 0.2]),
            (("Sales", "100-10", "New York", "Budget"), [-3e20, 1e-7, 12.5])]
    assert list(write_essbase(rows, dimensions=DIMS, column_dimension="Year",
                              column_members=["Jan", "Feb", "Mar"])) == [
        '"Jan" "Feb" "Mar"\n',
        '"Sales" "100-10" "New York" "Actual" 678 #Mi 0.30000000000000004\n',
        '"Sales" "100-10" "New York" "Budget" -3e+20 1e-07 12.5\n']


def test_the_writer_rounds_carries_forward_and_takes_numpy_rows() -> None:
    values = np.array([[1.005, np.nan], [2.0, 1234.5678]])
    rows = zip([("Sales", "Cola", "Ohio", "Actual"), ("Sales", "Cola", "Ohio", "Budget")],
               values.tolist(), strict=True)
    assert list(write_essbase(rows, dimensions=DIMS, column_dimension="Year",
                              column_members=["Jan", "Feb"], decimals=2, delimiter=",",
                              missing_text="#Missing", carry_forward=True)) == [
        '"Jan","Feb"\n', '"Sales","Cola","Ohio","Actual",1,#Missing\n', '"Budget",2,1234.57\n']
    assert list(write_essbase(zip([("Sales", "Cola", "Ohio", "Actual")], values[:1],
                                  strict=True), dimensions=DIMS, column_dimension="Year",
                              column_members=["Jan", "Feb"])) == [
        '"Jan" "Feb"\n', '"Sales" "Cola" "Ohio" "Actual" 1.005 #Mi\n']


def test_a_cell_list_is_written_without_a_header() -> None:
    rows = [(("Jan", "Sales", "Cola", "Ohio", "Actual"), [5.0])]
    assert list(write_essbase(rows, dimensions=DIMS, delimiter="\t")) == [
        '"Jan"\t"Sales"\t"Cola"\t"Ohio"\t"Actual"\t5\n']


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-12.0, "-12"), (1e15, "1000000000000000"),
    (1e16, "1e+16"), (0.1, "0.1"), (1 / 3, "0.3333333333333333"), (5e-324, "5e-324"),
    (np.float64(2.5), "2.5")])
def test_format_number_is_the_shortest_exact_text(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


def test_writer_contract_violations_raise() -> None:
    with pytest.raises(ValueError, match="2 members and 1 values"):
        list(write_essbase([(("Jan", "Sales"), [1.0])], dimensions=DIMS))
    with pytest.raises(ValueError, match="cannot be written"):
        list(write_essbase([(("Jan", 'Sa"les', "Cola", "Ohio", "Actual"), [1.0])],
                           dimensions=DIMS))
    with pytest.raises(ValueError, match="cannot be written"):
        list(write_essbase([(("Jan", "Sales", "Cola", "Ohio", "Actual"), [math.inf])],
                           dimensions=DIMS))
    with pytest.raises(ValueError, match="distinct column members"):
        list(write_essbase([], dimensions=DIMS, column_dimension="Year",
                           column_members=["Jan", "jan"]))
    with pytest.raises(ValueError, match="need a column dimension"):
        list(write_essbase([], dimensions=DIMS, column_members=["Jan"]))
    with pytest.raises(ValueError, match="delimiter"):
        list(write_essbase([], dimensions=DIMS, delimiter="x"))
    with pytest.raises(DataFileError, match="cannot be used"):
        list(write_essbase([], dimensions=DIMS, missing_text="0"))


# -- round trips and fuzz -----------------------------------------------------------------------

_NAME_CHARS = st.characters(codec="utf-8", exclude_characters='"\r\n\x00\x85\u2028\u2029',
                            exclude_categories=("Cs", "Cc"))
_names = st.text(_NAME_CHARS, min_size=1, max_size=12).filter(lambda s: s.strip() == s != "")
_values = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False),
                    st.integers(-10**15, 10**15).map(float))


@st.composite
def _cube(draw: st.DrawFn) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    count = draw(st.integers(1, 5))
    names = draw(st.lists(_names, min_size=count * 4, max_size=count * 4,
                          unique_by=str.casefold))
    dims = tuple(f"D{i}" for i in range(count))
    return dims, {d: names[i * 4:(i + 1) * 4] for i, d in enumerate(dims)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cube=_cube(), data=st.data(), column=st.booleans(), delimiter=st.sampled_from(" \t,"),
       carry_forward=st.booleans())
def test_what_the_writer_writes_the_reader_reads_back_exactly(
        cube: tuple[tuple[str, ...], dict[str, list[str]]], data: st.DataObject, column: bool,
        delimiter: str, carry_forward: bool) -> None:
    dims, members = cube
    of = {m.casefold(): d for d, ms in members.items() for m in ms}
    column_dim = dims[-1] if column and len(dims) > 1 else None
    row_dims = [d for d in dims if d != column_dim]
    columns = data.draw(st.lists(st.sampled_from(members[column_dim]), min_size=1,
                                 unique_by=str.casefold)) if column_dim else []
    keys = data.draw(st.lists(st.tuples(*(st.sampled_from(members[d]) for d in row_dims)),
                              max_size=8, unique=True))
    rows = [(key, data.draw(st.lists(_values, min_size=len(columns) or 1,
                                     max_size=len(columns) or 1))) for key in keys]
    lines = list(write_essbase(rows, dimensions=dims, column_dimension=column_dim,
                               column_members=columns, delimiter=delimiter,
                               carry_forward=carry_forward))
    got = list(read_essbase(lines, dimensions=dims, dimension_of=lambda n: of.get(n.casefold()),
                            delimiter=None if delimiter != "\t" else " "))
    assert [r for r in got if isinstance(r, EssbaseRejection)] == [], lines
    expected = []
    for key, values in rows:
        for i, value in enumerate(values):
            cell = dict(zip(row_dims, key, strict=True))
            if column_dim:
                cell[column_dim] = columns[i]
            expected.append((tuple(cell[d] for d in dims), value))
    assert [(r.members, r.value) for r in got] == expected


_junk = st.lists(st.sampled_from([*'"# \t,.-+()$€e0123456789', "Sales", "Ohio", "Jan", "Actual",
                                   "Cola", "#Mi", "Zz", "==", "USD", "\ufeff"]),
                 max_size=24).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_junk, st.text(max_size=30)), max_size=8),
       delimiter=st.sampled_from([None, " ", ",", "\t"]), missing=st.sampled_from([(), ("NA",)]))
def test_no_line_makes_the_reader_raise_anything_but_a_data_file_error(
        lines: list[str], delimiter: str | None, missing: tuple[str, ...]) -> None:
    try:
        out = list(read_essbase(lines, dimensions=DIMS, dimension_of=dimension_of,
                                delimiter=delimiter, missing_tokens=missing))
    except DataFileError:
        return
    for item in out:
        if isinstance(item, EssbaseRecord):
            assert len(item.members) == len(DIMS)
            assert all(dimension_of(m) == d for m, d in zip(item.members, DIMS, strict=True))
            assert item.value is None or math.isfinite(item.value)
        else:
            assert item.reason and 1 <= item.line <= len(lines)


_token = st.sampled_from([
    "Sales", '"Sales"', "COGS", '"100-10"', "100-10", "Cola", '"New York"', "Ohio", "Texas",
    "Jan", '"Feb"', "Mar", "Actual", '"Budget"', "Ohoi", '"Ohoi"', "USD", "1", "-2.5", "3e2",
    "#Mi", "#missing", "1,234", "(4)", "x", "==", '""', '"'])


_value_token = st.sampled_from(["1", "-2.5", "3e2", "#Mi", "1e999", "x", "(4)"])


@st.composite
def _usual_line(draw: st.DrawFn) -> str:
    """Mostly lines the fast path takes: a member of some dimensions, then values."""
    dims = draw(st.permutations(DIMS))[:draw(st.sampled_from([5, 5, 4, 2, 1]))]
    names = [draw(st.sampled_from(MEMBERS[d][1:4])) for d in dims]
    quoted = draw(st.booleans())
    values = draw(st.lists(_value_token, min_size=1, max_size=draw(st.sampled_from([1, 3]))))
    return " ".join([f'"{n}"' if quoted else n for n in names] + values)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_usual_line(), st.lists(_token, max_size=9).map(" ".join),
                                st.sampled_from(["Jan Feb", "Mar", '"Jan" "Feb" "Mar"',
                                                 "Sales COGS"])), max_size=12))
def test_the_fast_path_reads_what_the_general_path_reads(lines: list[str]) -> None:
    from epmjobs.planning.data.essbase_format import _Reader  # the general path alone
    general = _Reader(DIMS, dimension_of, (), " ")
    expected: list[EssbaseRecord | EssbaseRejection] = []
    for number, line in enumerate(lines, 1):
        result = general.line(number, line)
        expected += [result] if isinstance(result, EssbaseRejection) else result
    assert read("\n".join(lines), delimiter=" ") == expected


def test_the_docs_examples_read_as_the_docs_say() -> None:
    from pathlib import Path
    doc = (Path(__file__).parent.parent / "docs" / "essbase-data-format.md").read_text()
    blocks = [b.split("```", 1)[0].strip("\n") for b in doc.split("```\n")[1::2]]
    first, cell_list, carried, header = blocks[:4]
    got = cells(first)
    assert len(got) == 9
    assert got[("Mar", "Sales", "100-10", "New York", "Actual")] is None
    assert got[("Feb", "COGS", "100-20", "Ohio", "Actual")] == -12.0
    assert list(cells(cell_list).values()) == [25.0, 26.0]
    assert cells(carried)[("Jan", "Sales", "100-10", "Ohio", "Actual")] == 12.0
    assert cells(header)[("Mar", "Sales", "100-20", "Texas", "Actual")] == 115.0
