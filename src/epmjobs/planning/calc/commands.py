"""The one-line commands of a calc script: SET, AGG, CALC ..., DATACOPY, CLEARDATA,
CLEARBLOCK, DATAEXPORT, VAR and ARRAY. Each reads from its keyword to its ';'."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from epmjobs.planning.calc.ast import (
    Agg,
    ArrayDecl,
    CalcAll,
    CalcDim,
    CalcTimeBalance,
    CalcTwoPass,
    ClearBlock,
    ClearData,
    DataCopy,
    DataExport,
    Expr,
    MemberRef,
    Prompt,
    Set,
    SetOption,
    Statement,
    SubVar,
    VarDecl,
)
from epmjobs.planning.calc.cursor import Cursor, where
from epmjobs.planning.calc.expressions import ExpressionParser
from epmjobs.planning.calc.lexer import Kind, Token

#: Essbase's SET commands (its calculation command list, plus older ones still seen).
SET_COMMANDS = frozenset({
    "AGGMISSG", "CACHE", "CALCDIAGNOSTICS", "CALCHASHTBL", "CALCPARALLEL", "CALCTASKDIMS",
    "CLEARUPDATESTATUS", "COPYMISSINGBLOCK", "CREATEBLOCKONEQ", "CREATENONMISSINGBLK",
    "DATAEXPORTOPTIONS", "DATAIMPORTIGNORETIMESTAMP", "EMPTYMEMBERSETS", "FRMLBOTTOMUP",
    "FRMLRTDYNAMIC", "HYBRIDBSOINCALCSCRIPT", "LOCKBLOCK", "MSG", "NOTICE", "REMOTECALC",
    "RUNTIMESUBVARS", "SCAPERSPECTIVE", "TRACE", "UPDATECALC", "UPTOLOCAL",
})
CLEARBLOCK_KINDS = ("ALL", "UPPER", "NONINPUT", "DYNAMIC", "EMPTY")
DATAEXPORT_KINDS = ("FILE", "BINFILE", "DSN")
_CALC_KINDS = "DIM, ALL, TWOPASS, FIRST, LAST or AVERAGE"


class CommandParser:
    def __init__(self, cursor: Cursor, expressions: ExpressionParser) -> None:
        self.cursor = cursor
        self.expressions = expressions
        self.handlers: dict[str, Callable[[Token], list[Statement]]] = {
            "SET": self._set, "AGG": self._agg, "CALC": self._calc,
            "DATACOPY": self._datacopy, "CLEARDATA": self._cleardata,
            "CLEARBLOCK": self._clearblock, "DATAEXPORT": self._dataexport,
            "VAR": self._var, "ARRAY": self._array,
        }

    # --- SET ---------------------------------------------------------------------------

    def _set(self, keyword: Token) -> list[Statement]:
        name = self.cursor.advance()
        command = name.text.upper()
        if name.kind is not Kind.NAME:
            self.cursor.fail("expected a SET command name", name)
        if command not in SET_COMMANDS:
            close = difflib.get_close_matches(command, sorted(SET_COMMANDS), n=1)
            hint = f"; did you mean SET {close[0]}?" if close else ""
            raise self.cursor.error_at(f"unknown SET command {name.text}{hint}", name)
        if self.cursor.at("{"):
            argument, options = self._set_block(command)
            self.cursor.accept(";")
            return [Set(command, argument, options, **where(keyword))]
        argument = self._set_argument()
        self.cursor.expect_semicolon(f"SET {command}")
        return [Set(command, argument, **where(keyword))]

    def _set_argument(self) -> str:
        """One word or number, or a parenthesized group (``SET TRACE ("Sales", "Jan")``)."""
        cursor = self.cursor
        first = cursor.peek()
        if first.kind is Kind.END or cursor.at(";"):
            return ""
        if not cursor.at("("):
            if first.kind is Kind.PUNCT:
                cursor.fail(f"expected a value for SET {cursor.previous().text.upper()}",
                            first)
            return cursor.advance().text.strip('"')
        depth = 0
        while True:
            token = cursor.advance()
            if token.kind is Kind.END:
                cursor.fail(f"expected ')' to close the '(' at line {first.line}, column "
                            f"{first.column}", token)
            depth += {"(": 1, ")": -1}.get(token.text, 0) if token.kind is Kind.PUNCT else 0
            if depth == 0:
                return cursor.source(first, token)

    def _set_block(self, command: str) -> tuple[str, tuple[SetOption, ...]]:
        opening = self.cursor.advance()
        options: list[SetOption] = []
        while not self.cursor.at("}"):
            name = self.cursor.peek()
            if name.kind not in (Kind.NAME, Kind.QUOTED):
                self.cursor.fail(f"expected an option name or '}}' to close the SET {command} "
                                 f"block at line {opening.line}, column {opening.column}", name)
            self.cursor.advance()
            self.cursor.accept("=")
            first = self.cursor.peek()
            while not self.cursor.at(";"):
                if self.cursor.at("}") or self.cursor.peek().kind is Kind.END:
                    self.cursor.missing_semicolon(f"the option {name.text}")
                self.cursor.advance()
            value = self._option_value(first, self.cursor.previous())
            self.cursor.advance()
            options.append(SetOption(name.text.strip('"'), value, line=name.line,
                                     column=name.column))
        closing = self.cursor.advance()
        return self.cursor.source(opening, closing)[1:-1].strip(), tuple(options)

    def _option_value(self, first: Token, last: Token) -> str:
        """The tokens of a value as written; a single quoted string without its quotes."""
        if last.offset < first.offset:
            return ""
        if first is last and first.kind is Kind.QUOTED:
            return first.text[1:-1]
        return self.cursor.source(first, last)

    # --- calculation -------------------------------------------------------------------

    def _agg(self, keyword: Token) -> list[Statement]:
        dimensions = self._dimensions("AGG")
        self.cursor.expect_semicolon("AGG")
        return [Agg(dimensions, line=keyword.line, column=keyword.column)]

    def _calc(self, keyword: Token) -> list[Statement]:
        kind_token = self.cursor.advance()
        kind = Cursor.word(kind_token)
        statement: Statement
        if kind == "DIM":
            statement = CalcDim(self._dimensions("CALC DIM"), **where(keyword))
        elif kind == "ALL":
            statement = self._calc_all(keyword)
        elif kind == "TWOPASS":
            statement = CalcTwoPass(**where(keyword))
        elif kind in ("FIRST", "LAST", "AVERAGE"):
            statement = CalcTimeBalance(kind, **where(keyword))
        else:
            self.cursor.fail(f"expected {_CALC_KINDS} after CALC", kind_token)
        self.cursor.expect_semicolon(f"CALC {kind}")
        return [statement]

    def _calc_all(self, keyword: Token) -> CalcAll:
        if not self.cursor.at_word("EXCEPT"):
            return CalcAll(**where(keyword))
        self.cursor.advance()
        which = self.cursor.advance()
        kind = Cursor.word(which)
        if kind not in ("DIM", "MBR"):
            self.cursor.fail("expected DIM or MBR after EXCEPT", which)
        return CalcAll(kind, self._dimensions(f"EXCEPT {kind}"), **where(keyword))

    def _dimensions(self, command: str) -> tuple[Expr, ...]:
        self.cursor.expect("(", f"after {command}")
        names: list[Expr] = []
        while True:
            token = self.cursor.peek()
            if token.kind not in (Kind.NAME, Kind.QUOTED, Kind.SUBVAR, Kind.PROMPT) or \
                    not self.expressions.starts_member(token):
                self.cursor.fail(f"expected a name in the {command} list", token)
            item, _ = self.expressions.member_item("a name")
            assert isinstance(item, MemberRef | SubVar | Prompt)
            names.append(item)
            if self.cursor.accept(","):
                continue
            if not self.cursor.at(")"):
                self.cursor.fail(f"expected ',' or ')' in the {command} list",
                                 self.cursor.peek())
            self.cursor.advance()
            return tuple(names)

    # --- data --------------------------------------------------------------------------

    def _datacopy(self, keyword: Token) -> list[Statement]:
        source, _ = self.expressions.member_expression()
        if not self.cursor.at_word("TO"):
            self.cursor.fail("expected TO after the DATACOPY source", self.cursor.peek())
        self.cursor.advance()
        target, _ = self.expressions.member_expression()
        self.cursor.expect_semicolon("DATACOPY")
        return [DataCopy(source, target, line=keyword.line, column=keyword.column)]

    def _cleardata(self, keyword: Token) -> list[Statement]:
        target, _ = self.expressions.member_expression()
        self.cursor.expect_semicolon("CLEARDATA")
        return [ClearData(target, line=keyword.line, column=keyword.column)]

    def _clearblock(self, keyword: Token) -> list[Statement]:
        token = self.cursor.advance()
        kind = Cursor.word(token)
        if kind not in CLEARBLOCK_KINDS:
            self.cursor.fail(f"expected {', '.join(CLEARBLOCK_KINDS)} after CLEARBLOCK", token)
        self.cursor.expect_semicolon(f"CLEARBLOCK {kind}")
        return [ClearBlock(kind, line=keyword.line, column=keyword.column)]

    def _dataexport(self, keyword: Token) -> list[Statement]:
        kind = self.cursor.peek()
        if kind.kind is not Kind.QUOTED or kind.text[1:-1].upper() not in DATAEXPORT_KINDS:
            self.cursor.fail('expected "File", "Binfile" or "DSN" after DATAEXPORT', kind)
        self.cursor.advance()
        args: list[str] = []
        while self.cursor.peek().kind is Kind.QUOTED:
            args.append(self.cursor.advance().text[1:-1])
        self.cursor.expect_semicolon("DATAEXPORT")
        return [DataExport(kind.text[1:-1].upper(), tuple(args), line=keyword.line,
                           column=keyword.column)]

    # --- variables ---------------------------------------------------------------------

    def _var(self, keyword: Token) -> list[Statement]:
        declarations: list[Statement] = []
        while True:
            name = self._variable_name("VAR")
            initial = self.expressions.expression()[0] if self.cursor.accept("=") else None
            declarations.append(VarDecl(name.text, initial, line=name.line,
                                        column=name.column))
            if not self.cursor.accept(","):
                self.cursor.expect_semicolon("VAR")
                return declarations

    def _array(self, keyword: Token) -> list[Statement]:
        declarations: list[Statement] = []
        while True:
            name = self._variable_name("ARRAY")
            self.cursor.expect("[", f"after the array name {name.text}")
            dimension = self.cursor.advance()
            if dimension.kind not in (Kind.NAME, Kind.QUOTED):
                self.cursor.fail("expected a dimension name", dimension)
            self.cursor.expect("]", "after the array's dimension")
            values: list[Expr] = []
            if self.cursor.accept("="):
                self.cursor.expect("{", "to start the array's values")
                while True:
                    values.append(self.expressions.expression()[0])
                    if not self.cursor.accept(","):
                        break
                self.cursor.expect("}", "or ',' in the array's values")
            declarations.append(ArrayDecl(name.text, dimension.text.strip('"'), tuple(values),
                                          line=name.line, column=name.column))
            if not self.cursor.accept(","):
                self.cursor.expect_semicolon("ARRAY")
                return declarations

    def _variable_name(self, keyword: str) -> Token:
        name = self.cursor.advance()
        if name.kind is not Kind.NAME or not self.expressions.starts_member(name):
            self.cursor.fail(f"expected a variable name after {keyword}", name)
        self.expressions.variables.add(name.text.upper())
        return name
