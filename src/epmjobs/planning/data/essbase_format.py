"""Essbase's native data file (free-form text loaded without a rules file): read and write.

Reading (:func:`read_essbase`) follows Essbase's free-form rules (reference planning-model §3.2;
``docs/essbase-data-format.md`` has the decisions):

- A line is tokens: members (double-quoted, or an unquoted word that is not a number) and
  values (numbers, ``#Mi``/``#Missing`` in any case, custom missing tokens). Members first.
- A member sets the current member of its dimension until another member of that dimension
  replaces it; that is how exports "carry forward" the members a line leaves out.
- A line of members only is a header. Consecutive header lines form one block; a dimension
  the block names two or more times (duplicates ignored) becomes a column *range*, one named
  once gets that current member. Ranges in several dimensions multiply, the first outermost.
- A line with values is a data line: one value per column (one without columns), one member
  per dimension at most, none of a column dimension.
- A bad line is an :class:`EssbaseRejection`, never an exception. The dimensions a rejected
  line may have meant to change become unknown, and later lines that rely on them are
  rejected too, so no value lands in a cell the file did not mean. :class:`DataFileError`
  only when the file is not text at all.

Writing (:func:`write_essbase`) produces what Essbase exports do: every member quoted, values
in their shortest exact form, ``#Mi`` for missing, a header line of column members.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, NamedTuple

from epmjobs.errors import DataFileError

MISSING_TOKENS = ("#mi", "#missing")
MAX_LINE = 4 * 1024 * 1024  # characters: a longer line is not a data file's line
_NAN = math.nan  # "not a value" inside this module: NaN is never a loadable value
_UNKNOWN, _OTHER_CUBE, _UNCACHED = -1, -2, -3
_CACHE_LIMIT = 1_000_000
_QUOTED = re.compile(r'"[^"]*"')
_NOT_PLAIN = re.compile(r"[^0-9eE.+\-]", re.ASCII)
_PLAIN = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_DECORATED = re.compile(  # Essbase's "valid data field modifiers": $12, (12), 1,345,218
    r"(?P<open>\()?(?P<minus>-)?[$€¥£]?(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d+)?(?P<close>\))?", re.ASCII)
_NOT_NUMERIC = re.compile(r"[^0-9,.+\-()$€¥£]", re.ASCII)
_VALUE_START = frozenset("0123456789+-.($€¥£#")
_UNDERLINES = frozenset("=-_")  # "==", "--", "__" are formatting characters Essbase ignores
_INVALID, _PARTIAL, _FULL = 0, 1, 2
_Layout = int | Callable[[list[str]], tuple[str, ...]]
_AFTER_VALUES = 'The member "{}" comes after values: members come first on a line.'


class EssbaseRecord(NamedTuple):
    """One cell: the member of every dimension (in ``dimensions`` order) and its value."""

    line: int
    members: tuple[str, ...]
    value: float | None  # None = #Missing


class EssbaseRejection(NamedTuple):
    """A line that was not loaded: its 1-based number, why, and its text."""

    line: int
    reason: str
    text: str


def read_essbase(lines: Iterable[str], *, dimensions: Sequence[str],
                 dimension_of: Callable[[str], str | None], missing_tokens: Iterable[str] = (),
                 delimiter: str | None = None, first_line_number: int = 1,
                 stop_on_error: bool = False) -> Iterator[EssbaseRecord | EssbaseRejection]:
    """The cells of an Essbase-format file, lazily and in file order, and its rejected lines.

    ``dimension_of(name)`` names the dimension of a member (None when unknown).
    ``missing_tokens`` adds to ``#Mi``/``#Missing`` (all compared case-insensitively).
    ``delimiter``: None detects it on the first line of two tokens (comma when commas
    separate fields there, else spaces and tabs); ``" "`` spaces and tabs; else a field
    delimiter such as ``","`` or a tab (fields may then hold spaces unquoted).
    ``stop_on_error`` ends the reading at the first rejection, as Essbase aborts."""
    reader = _Reader(dimensions, dimension_of, missing_tokens, delimiter)
    number = first_line_number - 1
    for text in lines:
        number += 1
        body = text.rstrip("\r\n")
        if "\x00" in body or len(body) > MAX_LINE:
            raise DataFileError(f"Line {number} of the data file is not text: " + (
                "it holds NUL characters (is the file UTF-16 or binary?)." if "\x00" in body
                else f"it is longer than {MAX_LINE} characters."))
        if reader.fast:
            cells = reader.fast_line(number, body)
            if cells is not None:
                yield from cells
                continue
        result = reader.line(number, body.lstrip("\ufeff") if number == first_line_number
                             else body)
        if isinstance(result, EssbaseRejection):
            yield result
            if stop_on_error:
                return
        else:
            yield from result


def text_lines(stream: IO[bytes], file_name: str = "the data file") -> Iterator[str]:
    """The lines of a UTF-8 file (a byte order mark is allowed), read lazily. Another
    encoding, or a line over ``MAX_LINE`` bytes, raises DataFileError."""
    number = 0
    while raw := stream.readline(MAX_LINE + 1):
        number += 1
        if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise DataFileError(f"The file {file_name} is encoded in UTF-16. Data files must "
                                "be UTF-8 (with or without a byte order mark).")
        if len(raw) > MAX_LINE:
            raise DataFileError(f"Line {number} of {file_name} is longer than {MAX_LINE} bytes.")
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DataFileError(
                f"The file {file_name} is not UTF-8 encoded: line {number} holds the byte "
                f"0x{raw[exc.start]:02X}, which is not valid UTF-8.") from exc


class _Reader:
    """What Essbase keeps while it reads a free-form file: current members and ranges."""

    def __init__(self, dimensions: Sequence[str], dimension_of: Callable[[str], str | None],
                 missing_tokens: Iterable[str], delimiter: str | None) -> None:
        self.dimensions = tuple(dimensions)
        self.index = {name.casefold(): i for i, name in enumerate(self.dimensions)}
        self.dimension_of = dimension_of
        self.missing = frozenset(MISSING_TOKENS) | {check_missing_token(t).casefold()
                                                    for t in missing_tokens}
        self.starts = _VALUE_START | {c for t in self.missing for c in t[:1] + t[:1].upper()}
        self.delimiter = None if delimiter == " " else delimiter
        self.detect = delimiter is None
        self.fast = False  # whether fast_line may read the next line
        self.cache: dict[str, int] = {}  # member name -> dimension index
        self.words: dict[str, int] = {}  # the same for unquoted words
        self.layouts: dict[tuple[int, ...], _Layout] = {}  # for fast_line, by line dimensions
        self.current: list[str] = [""] * len(self.dimensions)
        self.unknown_since = [-1] * len(self.dimensions)  # 0: known; -1: never set; N: line N
        self.ranges: dict[int, list[str]] = {}  # the column ranges, the outermost first
        self.columns: list[tuple[str, ...]] = []
        self.columns_unknown_since = 0
        self.block: dict[int, list[str]] | None = None  # the open header block
        self.row_order: tuple[int, ...] = ()  # the dimensions of the last complete data line

    def line(self, number: int, body: str) -> list[EssbaseRecord] | EssbaseRejection:
        if self.detect:
            self.delimiter, self.detect = _detect_delimiter(body)
        self.fast = not self.detect and self.delimiter is None
        tokens, quoted, quoting = self.tokens(body)
        problem = quoting
        members, values, values_quoted = self.split(tokens, quoted)
        if not values and not members:
            return []
        if not values and _dimension_names(members, self.index.keys()):
            return []  # a line of dimension names: DATAEXPORT's DataExportDimHeader
        cached = self.cache.get
        dims = [cached(m, _UNCACHED) for m in members]
        if _UNCACHED in dims:
            dims = [self.dim(m) for m in members]
        if dims and min(dims) < 0:
            problem = problem or self.unknown_member(members, dims)
        if not values and not quoting:
            return self.header(number, body, members, dims, problem)
        self.block = None
        parsed = self.values(values, values_quoted)
        problem = self.set_row(number, members, dims, problem or
                               (parsed if isinstance(parsed, str) else None))
        if problem is None and not isinstance(parsed, str):
            problem = self.cells_problem(len(parsed))
            if problem is None:
                return self.records(number, parsed)
        return EssbaseRejection(number, problem or "", body)

    def fast_line(self, number: int, body: str) -> list[EssbaseRecord] | None:
        """The cells of the usual line (known members of distinct dimensions, then plain
        numbers, as many as the columns), or None for any other line: the general path
        reads it. The same result as the general path, without its generality."""
        count = len(self.columns) if self.ranges else 1
        if self.columns_unknown_since:
            return None
        if '"' in body:
            parts = body.split('"')
            if len(parts) % 2 == 0 or "".join(parts[0:-1:2]).strip():
                return None
            members, values = parts[1::2], parts[-1].split()
            dims = [self.cache.get(m, _UNCACHED) for m in members]
            if _UNCACHED in dims:
                dims = [self.dim(m) for m in members]
        else:
            tokens = body.split()
            members, values = tokens[:-count], tokens[-count:]
            dims = [self.words.get(m, _UNCACHED) for m in members]
            if _UNCACHED in dims:
                dims = [self.word_dim(m) for m in members]
        key = tuple(dims)
        layout = self.layouts.get(key) or self.layout(key)
        if len(values) != count or not layout:
            return None
        if count == 1 and _PLAIN.fullmatch(values[0]):
            parsed: Sequence[float | None] | str = [float(values[0])]
        else:
            parsed = self.values(values, None)
        if isinstance(parsed, str) or parsed[0] == math.inf or parsed[0] == -math.inf:
            return None
        self.block = None
        if any(self.unknown_since):
            for dim in key:
                self.unknown_since[dim] = 0
            if self.cells_problem(count):
                return None
        if callable(layout):  # every dimension named, no columns: the row is the line
            row = layout(members)
            self.current, self.row_order = list(row), key
            return [tuple.__new__(EssbaseRecord, (number, row, parsed[0]))]
        current = self.current
        for name, dim in zip(members, key, strict=True):
            current[dim] = name
        if layout is _FULL:
            self.row_order = key
        return self.records(number, parsed)

    def layout(self, dims: tuple[int, ...]) -> _Layout:
        """What fast_line needs to know of a line's dimensions: _INVALID (it cannot read the
        line), _PARTIAL, _FULL (every row dimension named), or, when that is all of them,
        the function that orders the line's members as the dimensions."""
        size = len(self.dimensions)
        layout: _Layout = _PARTIAL
        if not dims or min(dims) < 0 or len(set(dims)) != len(dims) or \
                not self.ranges.keys().isdisjoint(dims):
            layout = _INVALID
        elif len(dims) == size and size > 1:
            layout = operator.itemgetter(*(dims.index(d) for d in range(size)))
        elif len(dims) + len(self.ranges) == size:
            layout = _FULL
        if len(self.layouts) < _CACHE_LIMIT:
            self.layouts[dims] = layout
        return layout

    def word_dim(self, word: str) -> int:
        """The dimension of an unquoted word that the general path reads as a member, else
        _UNCACHED (a value, an underline)."""
        found = self.words.get(word)
        if found is None:
            value = self.value(word) if word[0] in self.starts else _NAN
            found = _UNCACHED if value is None or value == value or (
                word[0] in _UNDERLINES and word.count(word[0]) == len(word)) else self.dim(word)
            if len(self.words) < _CACHE_LIMIT:
                self.words[word] = found
        return found

    def tokens(self, body: str) -> tuple[list[str], list[bool] | None, str | None]:
        """The line's tokens, which were quoted (None: none was), and a quoting problem."""
        delimiter, problem = self.delimiter, None
        if '"' not in body:
            if delimiter is None:
                return body.split(), None, None
            return [f.strip() for f in body.split(delimiter)], None, None
        if body.count('"') % 2:
            problem, body = "A quoted member name is not closed.", body + '"'
        if delimiter is None:
            parts = body.split('"')  # odd parts were quoted
            quoted_parts, tail = parts[1::2], parts[-1].split()
            if not "".join(parts[0:-1:2]).strip():  # the usual: quoted names, then words
                return quoted_parts + tail, [True] * len(quoted_parts) + [False] * len(tail), \
                    problem
            tokens: list[str] = []
            quoted: list[bool] = []
            for i, part in enumerate(parts):
                words = [part] if i % 2 else part.split()
                tokens += words
                quoted += [i % 2 == 1] * len(words)
            return tokens, quoted, problem
        fields = [f.strip() for f in _fields(body, delimiter)]
        mixed = next((f for f in fields if '"' in f and not _QUOTED.fullmatch(f)), None)
        if mixed is not None:
            problem = problem or f"The field {mixed} mixes quoted and unquoted text."
        return [f.replace('"', "") for f in fields], [f.startswith('"') for f in fields], problem

    def split(self, tokens: list[str], quoted: list[bool] | None
              ) -> tuple[list[str], list[str], list[bool] | None]:
        """The members (up to the first value; empty fields and underlines left out), then
        the value tokens (trailing empty fields left out) and which of those were quoted."""
        start = at = len(tokens)
        if quoted is None or False in quoted:
            start = 0 if quoted is None else quoted.index(False)
        members = tokens[:start]
        for i in range(start, len(tokens)):
            token = tokens[i]
            if quoted is None or not quoted[i]:
                if not token:
                    continue
                value = self.value(token) if token[0] in self.starts else _NAN
                if value is None or value == value:
                    at = i
                    break
                if len(token) > 1 and token[0] in _UNDERLINES and \
                        token.count(token[0]) == len(token):
                    continue
            members.append(token)
        end = len(tokens)
        while end > at and not tokens[end - 1] and (quoted is None or not quoted[end - 1]):
            end -= 1
        return members, tokens[at:end], None if quoted is None else quoted[at:end]

    def value(self, token: str) -> float | None:
        """A token's value: a float, None for missing, NaN when it is not a value."""
        if token.casefold() in self.missing:
            return None
        if _PLAIN.fullmatch(token):
            number = float(token)
            return _NAN if math.isinf(number) else number
        match = _DECORATED.fullmatch(token)
        if match is None or bool(match["open"]) != bool(match["close"]) or \
                (match["open"] and match["minus"]):
            return _NAN
        number = float(match["num"].replace(",", "") + (match["exp"] or ""))
        if math.isinf(number):
            return _NAN
        return -number if match["open"] or match["minus"] else number

    def values(self, tokens: list[str], quoted: list[bool] | None
               ) -> Sequence[float | None] | str:
        """The values of a data line, or why they are not values."""
        if quoted and any(quoted):
            return _AFTER_VALUES.format(tokens[quoted.index(True)])
        if tokens and not _NOT_PLAIN.search("".join(tokens)):  # fast: plain numbers only
            try:
                fast = [float(t) for t in tokens]
            except ValueError:
                pass
            else:
                if -math.inf < min(fast) and max(fast) < math.inf:
                    return fast
        parsed: list[float | None] = []
        for token in tokens:
            value = self.value(token)
            if value is not None and value != value:
                if not token:
                    return "A value is empty: write #Mi for a missing value."
                if token[0] not in self.starts and self.dim(token) >= 0:
                    return _AFTER_VALUES.format(token)
                return f'"{token}" is not a number (nor #Mi or #Missing).'
            parsed.append(value)
        return parsed

    def dim(self, name: str) -> int:
        """The index of a member's dimension, or _UNKNOWN, or _OTHER_CUBE."""
        found = self.cache.get(name)
        if found is None:
            dimension = self.dimension_of(name)
            found = _UNKNOWN if dimension is None else \
                self.index.get(dimension.casefold(), _OTHER_CUBE)
            if len(self.cache) < _CACHE_LIMIT:
                self.cache[name] = found
        return found

    def unknown_member(self, members: list[str], dims: list[int]) -> str | None:
        for name, dim in zip(members, dims, strict=True):
            if dim == _UNKNOWN:
                return f'Unknown member "{name}": it is not in the outline of this cube.'
            if dim == _OTHER_CUBE:
                return f'The member "{name}" belongs to the dimension ' \
                       f"{self.dimension_of(name)}, which is not a dimension of this cube."
        return None

    def header(self, number: int, body: str, members: list[str], dims: list[int],
               problem: str | None) -> list[EssbaseRecord] | EssbaseRejection:
        """A line of members only: it sets current members and column ranges."""
        if problem is not None:  # what it meant to set is unknown: everything is
            self.block, self.columns_unknown_since = None, number
            self.unknown_since = [number] * len(self.dimensions)
            return EssbaseRejection(number, problem, body)
        block = self.block = {} if self.block is None else self.block
        for name, dim in zip(members, dims, strict=True):
            names = block.setdefault(dim, [])
            if name.casefold() not in (n.casefold() for n in names):
                names.append(name)
        for dim, names in block.items():
            self.ranges.pop(dim, None)
            self.current[dim], self.unknown_since[dim] = names[0], 0
        for dim, names in block.items():
            if len(names) > 1:
                self.ranges[dim], self.columns_unknown_since = names, 0
        self.columns = list(itertools.product(*self.ranges.values()))
        self.layouts.clear()
        return []

    def set_row(self, number: int, members: list[str], dims: list[int],
                problem: str | None) -> str | None:
        """Apply a data line's members; return why the line is rejected (None: it is not)."""
        if dims and min(dims) >= 0 and len(set(dims)) == len(dims) and \
                not self.ranges.keys() & dims:  # the usual line: a member of distinct dimensions
            current, unknown_since = self.current, self.unknown_since
            for name, dim in zip(members, dims, strict=True):
                current[dim], unknown_since[dim] = name, 0
            if len(dims) + len(self.ranges) == len(self.dimensions):
                self.row_order = tuple(dims)
            return problem
        named: dict[int, str] = {}
        for name, dim in zip(members, dims, strict=True):
            if dim in self.ranges:
                problem = problem or f'"{name}" is a member of {self.dimensions[dim]}, whose ' \
                    "members the header gives as columns."
            elif dim in named and named[dim].casefold() != name.casefold():
                problem = problem or f"Two members of the dimension {self.dimensions[dim]}: " \
                    f'"{named[dim]}" and "{name}".'
                named[dim] = ""
            elif dim >= 0:
                named[dim] = name
        for dim, name in named.items():
            self.current[dim], self.unknown_since[dim] = name, number if not name else 0
        if _UNKNOWN in dims or _OTHER_CUBE in dims:
            for dim in self.guess_unknown(dims):
                self.unknown_since[dim] = number
        elif len(named) == len(dims) and len(dims) + len(self.ranges) == len(self.dimensions):
            self.row_order = tuple(dims)
        return problem

    def guess_unknown(self, dims: list[int]) -> list[int]:
        """The dimensions a line's unknown members were meant for: by position when the line's
        members line up with the end of the last complete line (exports leave out leading
        members) and at least one of them confirms it, else every row dimension the line
        does not name."""
        order = self.row_order
        if len(dims) <= len(order) and max(dims) >= 0:
            expected = order[len(order) - len(dims):]
            if all(d < 0 or d == e for d, e in zip(dims, expected, strict=True)):
                return [e for d, e in zip(dims, expected, strict=True) if d < 0]
        return [d for d in range(len(self.dimensions)) if d not in dims and d not in self.ranges]

    def cells_problem(self, count: int) -> str | None:
        if self.columns_unknown_since:
            return f"The columns are unknown: the header on line {self.columns_unknown_since} " \
                   "was rejected."
        hidden = [d for d in range(len(self.dimensions)) if d not in self.ranges and
                  self.unknown_since[d]] if any(self.unknown_since) else []
        if hidden:
            names = ", ".join(self.dimensions[d] for d in hidden)
            since = [self.unknown_since[d] for d in hidden if self.unknown_since[d] > 0]
            if not since:
                return f"No member of {names}: name one on this line or on a line before it."
            return (f"The member of {names} is unknown: line {min(since)}, which may have set "
                    "it, was rejected.") if len(hidden) == 1 else (
                    f"The members of {names} are unknown: line {min(since)}, which may have set "
                    "them, was rejected.")
        expected = len(self.columns) if self.ranges else 1
        if count == expected:
            return None
        if not self.ranges:
            return f"{count} values where one is expected: without a header line of column " \
                   "members a line holds one value."
        shown = ", ".join(" ".join(c) for c in self.columns[:3])
        return f"{count} value{'s' * (count != 1)} for {expected} columns " \
               f"({shown}{', ...' if expected > 3 else ''})."

    def records(self, number: int, values: Sequence[float | None]) -> list[EssbaseRecord]:
        new = tuple.__new__  # EssbaseRecord(...) without NamedTuple's slower __new__
        row = self.current.copy()
        if not self.ranges:
            return [new(EssbaseRecord, (number, tuple(row), values[0]))]
        out = []
        targets = tuple(self.ranges)
        for column, value in zip(self.columns, values, strict=True):
            for dim, name in zip(targets, column, strict=True):
                row[dim] = name
            out.append(new(EssbaseRecord, (number, tuple(row), value)))
        return out


def check_missing_token(token: str) -> str:
    """``token`` when it can stand for a missing value in a file, else DataFileError."""
    if not token or any(c.isspace() or c in "\",;|" for c in token) or \
            _PLAIN.fullmatch(token) or _DECORATED.fullmatch(token):
        raise DataFileError(f"The missing-value text {token!r} cannot be used: it must be "
                            "text without spaces, quotes or delimiters, and not a number.")
    return token


def _dimension_names(members: list[str], dimensions: Iterable[str]) -> bool:
    folded = {m.casefold() for m in members}
    return len(members) > 1 and len(folded) == len(members) and folded <= set(dimensions)


def _fields(body: str, delimiter: str) -> Iterator[str]:
    """The fields of a delimited line; a delimiter between double quotes is text."""
    pieces = body.split(delimiter)
    i = 0
    while i < len(pieces):
        field = pieces[i]
        while field.count('"') % 2 and i + 1 < len(pieces):
            i += 1
            field += delimiter + pieces[i]
        yield field
        i += 1


def _detect_delimiter(line: str) -> tuple[str | None, bool]:
    """The delimiter, and whether to look again on the next line. Comma when a comma touches
    a quote or a word (not a number such as ``1,345,218``: Essbase reads thousands
    separators); spaces and tabs (None) when the line has two tokens without such a comma;
    undecided on a line of one token, which reads the same either way."""
    unquoted = re.sub(r'"[^"]*"', "\x01", line)  # each quoted name: one \x01
    words = unquoted.replace("\x01", " \x01 ").split()
    if re.search(r"\x01\s*,|,\s*\x01", unquoted) or \
            any("," in w and _NOT_NUMERIC.search(w) for w in words):
        return ",", False
    return None, len(words) < 2


def format_number(value: float, decimals: int | None = None) -> str:
    """A finite value as a data file writes it: the shortest text that reads back as the same
    float (``repr``), integers without ``.0`` below 1e16, rounded first when ``decimals``
    is given (trailing zeros are not written)."""
    number = float(value)
    if decimals is not None:
        number = round(number, decimals)
    if not math.isfinite(number):
        raise ValueError(f"{number!r} cannot be written to a data file.")
    if number.is_integer() and -1e16 < number < 1e16:
        return str(int(number))
    return repr(number)


def write_essbase(rows: Iterable[tuple[Sequence[str], Iterable[float | None]]], *,
                  dimensions: Sequence[str], column_dimension: str | None = None,
                  column_members: Sequence[str] = (), missing_text: str = "#Mi",
                  decimals: int | None = None, delimiter: str = " ",
                  carry_forward: bool = False) -> Iterator[str]:
    """The lines (each ending in ``\\n``) of an Essbase-format file.

    With ``column_dimension``: a header line of ``column_members``, then one line per row:
    the row's members (every dimension but the column one, in ``dimensions`` order) and its
    values, aligned with ``column_members`` (DATAEXPORT's ``DataExportColFormat ON``).
    Without: a cell list, each row a member of every dimension and one value. A value of
    None or NaN is written ``missing_text``: a NumPy row can come as ``array.tolist()``.
    ``carry_forward`` leaves out the leading members a line shares with the line before."""
    check_missing_token(missing_text)
    if len(delimiter) != 1 or delimiter not in " \t,;|":
        raise ValueError(f"The delimiter {delimiter!r} is not one of space, tab , ; |.")
    width, count = len(dimensions), 1
    quote = _Quoter()
    if column_dimension is None and column_members:
        raise ValueError("Column members need a column dimension.")
    if column_dimension is not None:
        folded = {m.casefold() for m in column_members}
        if column_dimension not in dimensions or not column_members or \
                len(folded) != len(column_members):
            raise ValueError("The column dimension must be one of the dimensions, with one or "
                             "more distinct column members.")
        width, count = width - 1, len(column_members)
        yield delimiter.join(map(quote, column_members)) + "\n"
    previous: list[str] = []
    for members, values in rows:
        names = [quote(m) for m in members]
        cells = [missing_text if v is None or v != v else format_number(v, decimals)
                 for v in values]
        if len(names) != width or len(cells) != count:
            raise ValueError(f"A row has {len(names)} members and {len(cells)} values; "
                             f"{width} and {count} expected.")
        shown = names
        if carry_forward:
            same = 0
            while same < len(previous) and names[same] == previous[same]:
                same += 1
            shown, previous = names[same:], names
        yield delimiter.join(shown + cells) + "\n"


class _Quoter(dict[str, str]):
    """``"name"`` for each member name, checked once: names hold no quotes or line breaks."""

    def __call__(self, name: str) -> str:
        quoted = self.get(name)
        if quoted is None:
            if not name or any(c in name for c in '"\r\n'):
                raise ValueError(f"The member name {name!r} cannot be written to a data file.")
            quoted = self[name] = f'"{name}"'
        return quoted
