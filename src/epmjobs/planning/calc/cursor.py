"""Reading a token list: look-ahead, keyword tests, the nesting guard, and error messages
in one style — "expected X, found Y" at Y's position, except a missing ';', which is
reported just after the token it should follow (as compilers do)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn, TypedDict

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc.ast import MAX_NESTING
from epmjobs.planning.calc.lexer import Kind, Token

_SHOWN_CHARS = 40


class Position(TypedDict):
    line: int
    column: int


def where(token: Token) -> Position:
    """A token's position as node keyword arguments: ``Node(..., **where(token))``."""
    return {"line": token.line, "column": token.column}


class Cursor:
    def __init__(self, tokens: Iterator[Token], text: str, *, formula: bool) -> None:
        self.source_tokens = tokens
        self.tokens: list[Token] = []           # those read so far
        self.text = text
        self.formula = formula
        self.pos = 0
        self.nesting = 0

    # --- looking -----------------------------------------------------------------------

    def peek(self) -> Token:
        try:
            return self.tokens[self.pos]
        except IndexError:
            self.tokens.append(next(self.source_tokens))    # END repeats: pos stops there
            return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.peek()
        if token.kind is not Kind.END:
            self.pos += 1
        return token

    def previous(self) -> Token:
        return self.tokens[self.pos - 1] if self.pos else self.peek()

    @staticmethod
    def word(token: Token) -> str | None:
        """The upper-cased word of a bare-name token (keywords are case-insensitive)."""
        return token.text.upper() if token.kind is Kind.NAME else None

    @staticmethod
    def key(token: Token) -> str:
        """What a token is for block matching: its word, its punctuation, or '' at the end."""
        if token.kind is Kind.NAME:
            return token.text.upper()
        return token.text if token.kind is Kind.PUNCT else ""

    def at(self, punct: str) -> bool:
        token = self.peek()
        return token.kind is Kind.PUNCT and token.text == punct

    def at_word(self, word: str) -> bool:
        return self.word(self.peek()) == word

    def accept(self, punct: str) -> bool:
        if self.at(punct):
            self.pos += 1
            return True
        return False

    def expect(self, punct: str, where: str) -> Token:
        if not self.at(punct):
            self.fail(f"expected '{punct}' {where}", self.peek())
        return self.advance()

    def expect_semicolon(self, what: str) -> None:
        if self.accept(";"):
            return
        if self.formula and self.peek().kind is Kind.END:
            return                                  # a formula's last ';' may be left out
        self.missing_semicolon(what)

    def missing_semicolon(self, what: str) -> NoReturn:
        found, before = self.peek(), self.previous()
        raise CalcScriptError(f"expected ';' at the end of {what}, found {self.describe(found)}",
                              before.line, before.end_column)

    def source(self, first: Token, last: Token) -> str:
        return self.text[first.offset:last.offset + len(last.text)]

    # --- nesting -----------------------------------------------------------------------

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise CalcScriptError(
                f"nested too deeply: more than {MAX_NESTING} levels of parentheses, function "
                "calls and blocks", token.line, token.column)

    def leave(self) -> None:
        self.nesting -= 1

    # --- errors ------------------------------------------------------------------------

    def describe(self, token: Token) -> str:
        if token.kind is Kind.END:
            return "end of formula" if self.formula else "end of script"
        text = token.text
        if len(text) > _SHOWN_CHARS:
            text = text[:_SHOWN_CHARS] + "..."
        if token.kind is Kind.QUOTED:
            return text
        if token.kind is Kind.NUMBER:
            return f"number {text}"
        return f"'{text}'"

    def fail(self, expected: str, found: Token) -> NoReturn:
        raise CalcScriptError(f"{expected}, found {self.describe(found)}", found.line,
                              found.column)

    @staticmethod
    def error_at(message: str, token: Token) -> CalcScriptError:
        return CalcScriptError(message, token.line, token.column)
