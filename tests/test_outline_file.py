"""Metadata files as bytes: encodings, BOMs, delimiters, quoting, headers, line numbers, and the
job-level errors that fail a whole file."""

from __future__ import annotations

import pytest

from epmjobs.errors import MetadataFileError
from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.outline import Outline, load_metadata
from epmjobs.planning.outline.vocabulary import DimensionType

CUBES = (Cube("Plan1", CubeKind.BSO), Cube("Vis1ASO", CubeKind.ASO))


def new_outline() -> Outline:
    outline = Outline(CUBES)
    outline.add_dimension("Entity", DimensionType.ENTITY)
    outline.add_dimension("Account", DimensionType.ACCOUNT)
    return outline


def names(outline: Outline, dim: str = "Entity") -> list[str]:
    return [m.name for m in outline.require(dim).walk()][1:]


def file_error(data: bytes, **options: object) -> str:
    with pytest.raises(MetadataFileError) as caught:
        load_metadata(new_outline(), data, **options)  # type: ignore[arg-type]
    return caught.value.message


def test_utf8_with_and_without_bom_load_the_same() -> None:
    text = "Entity,Alias: Default\nZürich,Zürich Büro\n".encode()
    for data in (text, b"\xef\xbb\xbf" + text):
        out = load_metadata(new_outline(), data)
        assert names(out.outline) == ["Zürich"]
        assert out.result.header == "Entity,Alias: Default"


def test_a_file_in_another_encoding_fails_the_file() -> None:
    data = "Entity\nZürich\n".encode("latin-1")
    assert file_error(data, file_name="entities.csv") == (
        "The file entities.csv is not UTF-8 encoded: the byte 0xFC on line 2 (offset 8) is not "
        "valid UTF-8. Metadata files must be UTF-8 (with or without a byte order mark): save it as "
        "UTF-8 and import it again.")
    assert file_error("Entity\nA\n".encode("utf-16"), file_name="e.csv") == (
        "The file e.csv is encoded in UTF-16. Metadata files must be UTF-8 (with or without a "
        "byte order mark): save it as UTF-8 and import it again.")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \n", b" , ,\n"])
def test_an_empty_file_fails_the_file(data: bytes) -> None:
    assert file_error(data, file_name="x.csv") == (
        "The file x.csv is empty: it has no header record.")


def test_a_header_without_records_loads_nothing() -> None:
    out = load_metadata(new_outline(), b"Entity,Parent\n")
    assert (out.result.records_read, out.result.records_rejected) == (0, 0)


def test_unknown_headers_fail_the_file_with_every_unknown_name() -> None:
    assert file_error(b"Entity,parent,Colour,Plan Type (Plan9),Alias: French,Account Type\n") == (
        "Unrecognized column header value(s): 'parent' (did you mean 'Parent'?), 'Colour', "
        "'Plan Type (Plan9)', 'Alias: French', 'Account Type'. Column headers are case "
        "sensitive; alias tables, cubes and attribute dimensions must exist.")


def test_the_first_header_must_name_a_dimension() -> None:
    assert file_error(b"Parent,Entity\n") == (
        "The first column header 'Parent' does not name a dimension of the application: the "
        "header record must start with the dimension name.")
    assert file_error(b"Entity\nA\n", dimension="Account") == (
        "The file is for the dimension Entity, not Account.")


def test_a_repeated_header_fails_the_file() -> None:
    assert file_error(b"Entity,Parent,Parent\n") == (
        "The column header 'Parent' appears more than once.")


def test_headers_may_come_in_any_order_and_with_spaces() -> None:
    out = load_metadata(new_outline(), b"Entity , Data Storage , Parent\nA, store, \nB ,,A\n")
    assert names(out.outline) == ["A", "B"]
    assert str(out.outline.require("Entity").member("B").props.storage) == "Store"  # type: ignore[union-attr]


def test_quoted_fields_hold_delimiters_quotes_and_newlines_and_lines_are_counted() -> None:
    data = (b'Entity,Alias: Default,Description\n'
            b'A,"CWP West, LLC","line one\nline two"\n'
            b'"B" , "say ""hi""" ,\n'
            b'C,,"x"\n'
            b'bad/name,,\n')
    out = load_metadata(new_outline(), data)
    dim = out.outline.require("Entity")
    a, b = dim.member("A").props, dim.member("B").props  # type: ignore[union-attr]
    assert (a.aliases["Default"], a.description) == ("CWP West, LLC", "line one\nline two")
    assert b.aliases["Default"] == 'say "hi"'
    assert [(r.line, r.text) for r in out.result.rejections] == [(6, "bad/name,,")]


def test_an_unterminated_quote_rejects_the_last_record() -> None:
    out = load_metadata(new_outline(), b'Entity,Description\nA,fine\nB,"open\nC,x\n')
    assert names(out.outline) == ["A"]
    assert [(r.line, r.text, r.reason) for r in out.result.rejections] == [
        (3, 'B,"open\nC,x', "A quoted field is not closed before the end of the file.")]


@pytest.mark.parametrize(("delimiter", "file_name", "sep"), [
    (None, "e.txt", "\t"), ("tab", "e.csv", "\t"), ("|", "e.txt", "|"), (";", "", ";"),
    ("comma", "e.txt", ","),
])
def test_delimiters(delimiter: str | None, file_name: str, sep: str) -> None:
    alias = "x,y" if sep == "\t" else f"x{sep}y"  # aliases cannot hold tabs
    data = f'Entity{sep}Parent{sep}Alias: Default\nA{sep}{sep}"{alias}"\nB{sep}A{sep}\n'.encode()
    out = load_metadata(new_outline(), data, delimiter=delimiter, file_name=file_name)
    assert names(out.outline) == ["A", "B"]
    assert out.outline.require("Entity").member("A").props.aliases == {"Default": alias}  # type: ignore[union-attr]


@pytest.mark.parametrize(("delimiter", "why"), [
    ("+", "it is an operator value"), ('"', "it produces an empty file"),
    ("<", "it collides with <none>"),
])
def test_forbidden_delimiters_fail_the_file(delimiter: str, why: str) -> None:
    assert file_error(b"Entity\n", delimiter=delimiter) == (
        f"The delimiter '{delimiter}' cannot be used for metadata files: {why}.")


def test_crlf_and_cr_line_ends_and_blank_lines() -> None:
    out = load_metadata(new_outline(), b"Entity,Parent\r\nA,\r\n\r\nB,A\r\nC,nope\r\n")
    assert names(out.outline) == ["A", "B"]
    assert [(r.line, r.text) for r in out.result.rejections] == [(5, "C,nope")]
    out = load_metadata(new_outline(), b"Entity\rA\rB\r")
    assert names(out.outline) == ["A", "B"]


def test_counts_messages_and_the_error_file() -> None:
    data = b"Entity,Parent\nA,\nB,nope\n\"C,D\",A\nE,A\n"
    result = load_metadata(new_outline(), data).result
    assert (result.records_read, result.records_processed, result.records_rejected) == (4, 2, 2)
    assert [(m.severity.value, m.text) for m in result.messages] == [
        ("ERROR", "Line 3: The parent member nope does not exist in the Entity dimension. "
                  "Record: B,nope"),
        ("ERROR", "Line 4: The member name 'C,D' contains the character ',', which is not "
                  "allowed in member names. Record: \"C,D\",A"),
        ("INFO", "Dimension Entity: 4 records read, 2 processed, 2 rejected."),
    ]
    assert result.error_file() == (
        'Entity,Parent,Error\n'
        'B,nope,Line 3: The parent member nope does not exist in the Entity dimension.\n'
        '"C,D",A,"Line 4: The member name \'C,D\' contains the character \',\', which is not '
        'allowed in member names."\n')


def test_a_nul_byte_rejects_only_its_record() -> None:
    out = load_metadata(new_outline(), b"Entity\nA\nB\x00x\nC\n")
    assert names(out.outline) == ["A", "C"]
    assert [r.line for r in out.result.rejections] == [3]
