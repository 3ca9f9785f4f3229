"""Tokens of Essbase calc scripts and member formulas.

One compiled pattern is tried at each position; every alternative is linear in what it
consumes, so a script of any size is tokenized in one pass with no backtracking blow-up.
Tokens are produced on demand (``iter_tokens``).
Block comments and quoted names are closed with ``str.find``-like scans that stop at the
first closer, and an unterminated one is an error at its opening position.

Positions are 1-based; a column counts characters (a tab is one column). Line ends may be
``\\n``, ``\\r\\n`` or ``\\r``; a leading byte order mark is skipped and does not count.

Keywords (``FIX``, ``AND``, ``CALC`` ...) are plain ``NAME`` tokens: the parser decides
from context, case-insensitively, whether a word is a keyword or a member.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum
from typing import NamedTuple, NoReturn

from epmjobs.errors import CalcScriptError


class Kind(Enum):
    NAME = "name"            # bare word: member, keyword, variable
    QUOTED = "quoted"        # "double quoted": member name or string argument
    NUMBER = "number"
    MISSING = "missing"      # #MISSING / #MI
    FUNCTION = "function"    # @NAME
    SUBVAR = "subvar"        # &Name
    PROMPT = "prompt"        # {Name} or [[Name]]
    PUNCT = "punct"          # operators and punctuation; the text says which
    END = "end"              # end of the script


class Token(NamedTuple):
    kind: Kind
    text: str                # as written (quotes, braces, @, & included)
    line: int
    column: int
    offset: int              # index into the normalized text

    @property
    def end_column(self) -> int:
        return self.column + len(self.text)


_PATTERN = re.compile(r"""
    (?P<space>\s+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<quoted>"[^"\n]*")
  | (?P<open_quote>")
  | (?P<missing>\#\w*)
  | (?P<function>@\w*)
  | (?P<subvar>&\w*)
  | (?P<prompt>\{[^\W\d]\w*\}|\[\[[^\W\d]\w*\]\])
  | (?P<punct>->|==|!=|<>|<=|>=|::|[-+*/%=<>(),;:{}\[\]])
""", re.VERBOSE)

_KINDS = {
    "name": Kind.NAME, "quoted": Kind.QUOTED, "number": Kind.NUMBER, "missing": Kind.MISSING,
    "function": Kind.FUNCTION, "subvar": Kind.SUBVAR, "prompt": Kind.PROMPT,
    "punct": Kind.PUNCT,
}
_MISSING_SPELLINGS = frozenset({"#MISSING", "#MI"})


def normalize(text: str) -> str:
    """The text positions refer to: one kind of line end, no byte order mark."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` (already ``normalize``d), ending with one ``END`` token."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """The tokens of ``text`` (already ``normalize``d) one by one, ending with ``END``; the
    parser pulls them as it goes, so a script that fails early is not lexed to its end."""
    match = _PATTERN.match
    pos, line, line_start, size = 0, 1, 0, len(text)
    while pos < size:
        m = match(text, pos)
        if m is None:
            _bad_character(text, pos, line, pos - line_start + 1)
        group = m.lastgroup
        end = m.end()
        if group == "space" or group == "line_comment" or group == "block_comment":
            if group == "block_comment":
                end = text.find("*/", pos + 2)
                if end < 0:
                    raise CalcScriptError("unterminated comment: '/*' has no matching '*/'",
                                          line, pos - line_start + 1)
                end += 2
            newlines = text.count("\n", pos, end)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, end) + 1
            pos = end
            continue
        column = pos - line_start + 1
        assert group is not None
        token = Token(_KINDS.get(group, Kind.END), m.group(), line, column, pos)
        if token.kind is not Kind.PUNCT and token.kind is not Kind.NAME:
            _check(token, text, end, group)
        yield token
        pos = end
    yield Token(Kind.END, "", line, size - line_start + 1, size)


def _check(token: Token, text: str, end: int, group: str) -> None:
    """Reject the malformed forms each token class can take."""
    line, column, written = token.line, token.column, token.text
    if group == "open_quote":
        raise CalcScriptError('unterminated quoted name: the closing \'"\' is missing on this '
                              "line", line, column)
    if group == "number":
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            tail = re.match(r"\w*", text[end:end + 80])
            word = written + (tail.group() if tail else "")
            raise CalcScriptError(f"malformed number '{word}': a member name that starts with "
                                  "a digit must be in double quotes", line, column)
    elif group == "missing":
        if written.upper() not in _MISSING_SPELLINGS:
            raise CalcScriptError(f"unknown constant '{written}': expected #MISSING or #MI",
                                  line, column)
    elif len(written) == 1:
        what = "a function name after '@'" if group == "function" \
            else "a substitution variable name after '&'"
        raise CalcScriptError(f"expected {what}", line, column)


def _bad_character(text: str, pos: int, line: int, column: int) -> NoReturn:
    char = text[pos]
    hint = " (did you mean '!='?)" if char == "!" else ""
    raise CalcScriptError(f"unexpected character {char!r}{hint}", line, column)
