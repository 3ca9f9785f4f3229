"""Reading a metadata load file: encoding, delimiter, quoting, and the line of each record.

- UTF-8 only, with or without a byte order mark; anything else fails the file
  (:class:`~epmjobs.errors.MetadataFileError`) with a message that says so.
- Delimiter: comma for ``.csv``, tab for ``.txt``, or one of Oracle's "other" single
  characters (reference planning-model §2.1), never ``"``, ``+ - / %`` or ``< >``.
- Standard double-quote quoting: a quoted field may hold the delimiter and newlines, ``""`` is
  a quote. Blanks after a delimiter are skipped; fields are trimmed by the loader.
- Blank lines are skipped and are not records. A record knows its 1-based first line and the
  original text of its line(s), for rejection reports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import NamedTuple

from epmjobs.errors import MetadataFileError

UTF8_BOM = b"\xef\xbb\xbf"
#: Oracle's "other supported delimiters" for metadata, less the ones it forbids there.
OTHER_DELIMITERS = frozenset("~`!#?$^&*():;\\|'{}_[]@.")
DELIMITER_NAMES = {"comma": ",", "tab": "\t", "space": " ", "semicolon": ";", "pipe": "|"}
_FORBIDDEN_DELIMITERS = {'"': "it produces an empty file", "+": "it is an operator value",
                         "-": "it is an operator value", "/": "it is an operator value",
                         "%": "it is an operator value", "<": "it collides with <none>",
                         ">": "it collides with <none>"}


def resolve_delimiter(setting: str | None = None, file_name: str = "") -> str:
    """The delimiter character for a file: an explicit setting (a character or ``comma``,
    ``tab``, ...), else comma for ``.csv`` and tab for ``.txt``."""
    if setting:
        char = DELIMITER_NAMES.get(setting.strip().casefold(), setting)
        if char in _FORBIDDEN_DELIMITERS:
            raise MetadataFileError(f"The delimiter '{char}' cannot be used for metadata files: "
                                    f"{_FORBIDDEN_DELIMITERS[char]}.")
        if char not in OTHER_DELIMITERS and char not in ",\t":
            raise MetadataFileError(f"The delimiter {setting!r} is not supported: use comma, tab "
                                    "or one of " + " ".join(sorted(OTHER_DELIMITERS)) + ".")
        return char
    return "\t" if file_name.casefold().endswith(".txt") else ","


class RawRecord(NamedTuple):
    line: int  # 1-based number of its first line
    end: int  # number of its last line
    fields: list[str]
    problem: str | None = None  # set when the record could not be parsed at all


class MetadataText:
    """A decoded metadata file split into lines, read record by record."""

    def __init__(self, data: bytes, delimiter: str = ",", file_name: str = "") -> None:
        self.file_name = file_name or "the metadata file"
        self.delimiter = delimiter
        self.lines = list(io.StringIO(decode(data, self.file_name), newline=""))

    def text(self, record: RawRecord) -> str:
        """The original text of ``record`` (all its lines, without the final newline)."""
        return "".join(self.lines[record.line - 1:record.end]).rstrip("\r\n")

    def records(self) -> Iterator[RawRecord]:
        """Every non-blank record, the header first."""
        reader = csv.reader(iter(self.lines), delimiter=self.delimiter, skipinitialspace=True)
        last, total = 0, len(self.lines)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                first, last = last + 1, max(reader.line_num, last + 1)
                yield RawRecord(first, last, [], f"The record cannot be parsed: {exc}.")
                continue
            first, last = last + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            record = RawRecord(first, last, fields)
            if last == total and self.text(record).count('"') % 2:
                record = RawRecord(first, last, fields, "A quoted field is not closed before "
                                   "the end of the file.")
            yield record


def decode(data: bytes, file_name: str) -> str:
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise MetadataFileError(
            f"The file {file_name} is encoded in UTF-16. Metadata files must be UTF-8 (with or "
            "without a byte order mark): save it as UTF-8 and import it again.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MetadataFileError(
            f"The file {file_name} is not UTF-8 encoded: the byte 0x{data[exc.start]:02X} on "
            f"line {line} (offset {exc.start}) is not valid UTF-8. Metadata files must be UTF-8 "
            "(with or without a byte order mark): save it as UTF-8 and import it again.") from exc
