"""Calc scripts and member formulas to syntax trees: recursive descent over the tokens.

Statements are read in one of three contexts. In a *script* (and inside FIX, EXCLUDE and
LOOP) come commands, assignments, member blocks and ``"Member";``. Inside a *member
block* ``"Member" ( ... )`` and in a *member formula* come IF, assignments, expressions
and VAR/ARRAY — not commands, not FIX, not another member block; IF is refused elsewhere,
as Essbase does.

Blocks are matched by their words. A closer that belongs to no open block is reported as
such ("ENDFIX without a matching FIX"); one that belongs to an enclosing block means the
current block was left open ("expected ENDIF to close the IF at line 3, column 5, found
')'"). ``;`` after ENDFIX, ENDEXCLUDE, ENDLOOP, ENDIF, a member block or a SET block is
optional, and a lone ``;`` is an empty statement.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple, NoReturn

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc.ast import (
    Assignment,
    CalcMember,
    CrossRef,
    Exclude,
    Expr,
    ExprStatement,
    Fix,
    If,
    IfBranch,
    Loop,
    MemberBlock,
    MemberRef,
    Prompt,
    Script,
    Statement,
    SubVar,
    VarRef,
)
from epmjobs.planning.calc.commands import CommandParser
from epmjobs.planning.calc.cursor import Cursor, where
from epmjobs.planning.calc.expressions import ExpressionParser
from epmjobs.planning.calc.lexer import Kind, Token, iter_tokens, normalize


class Context(Enum):
    SCRIPT = "a script"
    BLOCK = "a member block"
    FORMULA = "a member formula"


class Block(NamedTuple):
    opener: Token
    label: str                  # "FIX", "IF", "member block" ...
    closer: str                 # how the expected closer is shown: "ENDFIX", "')'"


#: Each closing word and the opening word it belongs to.
_OPENERS = {"ENDFIX": "FIX", "ENDFIXPARALLEL": "FIXPARALLEL", "ENDEXCLUDE": "EXCLUDE",
            "ENDLOOP": "LOOP", "ENDIF": "IF", "ELSE": "IF", "ELSEIF": "IF"}
_IF_CLOSERS = frozenset({"ELSEIF", "ELSE", "ENDIF"})
_SCOPES = ("FIX", "FIXPARALLEL", "EXCLUDE")
#: Essbase commands we recognise but do not support (rather than read them as members).
_UNSUPPORTED = frozenset({"CCONV", "DATAEXPORTCOND", "DATAIMPORTBIN", "DATAMERGE", "THREADVAR",
                          "POSTFIXPARALLEL", "USE_MDX_INSERT"})
_TARGETS = (MemberRef, CrossRef, VarRef, SubVar, Prompt)
_ANCHORS = (MemberRef, CrossRef, SubVar, Prompt)


def parse_script(text: str) -> Script:
    """The syntax tree of a calc script; ``CalcScriptError`` with line and column if the
    script is malformed."""
    return _Parser(text, formula=False).parse(Context.SCRIPT)


def parse_formula(text: str) -> Script:
    """The syntax tree of a member formula (the outline's ``Formula`` property): statements
    as inside a member block; the last ``;`` may be left out."""
    return _Parser(text, formula=True).parse(Context.FORMULA)


class _Parser:
    def __init__(self, text: str, *, formula: bool) -> None:
        text = normalize(text)
        self.cursor = Cursor(iter_tokens(text), text, formula=formula)
        self.expressions = ExpressionParser(self.cursor, set())
        self.commands = CommandParser(self.cursor, self.expressions)
        self.open: list[str] = []               # words of the blocks open around us

    def parse(self, context: Context) -> Script:
        try:
            return Script(self._body(context, None, frozenset()), line=1, column=1)
        except RecursionError:                  # a backstop: the nesting limits prevent it
            raise CalcScriptError("the script is nested too deeply to parse") from None

    # --- blocks ------------------------------------------------------------------------

    def _body(self, context: Context, block: Block | None,
              closers: frozenset[str]) -> tuple[Statement, ...]:
        statements: list[Statement] = []
        cursor = self.cursor
        while True:
            token = cursor.peek()
            key = cursor.key(token)
            if key in closers or (token.kind is Kind.END and block is None):
                return tuple(statements)
            if token.kind is Kind.END or key in _OPENERS or (key == ")" and "(" in self.open):
                self._mismatch(block, token, key)
            statements.extend(self._statement(context))

    def _mismatch(self, block: Block | None, token: Token, key: str) -> NoReturn:
        opener = _OPENERS.get(key)
        if opener is not None and opener not in self.open:
            raise self.cursor.error_at(f"{key} without a matching {opener}", token)
        assert block is not None
        start = block.opener
        self.cursor.fail(f"expected {block.closer} to close the {block.label} at line "
                         f"{start.line}, column {start.column}", token)

    def _enter(self, token: Token, word: str) -> None:
        self.cursor.enter(token)
        self.open.append(word)

    def _leave(self) -> None:
        self.cursor.leave()
        self.open.pop()

    # --- statements --------------------------------------------------------------------

    def _statement(self, context: Context) -> list[Statement]:
        cursor = self.cursor
        token = cursor.peek()
        if cursor.accept(";"):
            return []
        word = cursor.word(token)
        self._refuse_unsupported(token, word)
        if word in _SCOPES:
            self._refuse_outside_script(context, token)
            return [self._scope(token, word or "")]
        if word == "LOOP":
            return [self._loop(context)]
        if word == "IF":
            if context is Context.SCRIPT:
                raise cursor.error_at('IF is only allowed inside a member block, as in '
                                      '"Member" ( IF (...) ... ENDIF ), or in a member formula',
                                      token)
            return [self._if(context)]
        handler = self.commands.handlers.get(word or "")
        if handler is not None:
            if word not in ("VAR", "ARRAY"):
                self._refuse_outside_script(context, token)
            cursor.advance()
            return handler(token)
        if context is Context.SCRIPT:
            return [self._member_statement()]
        return [self._formula_statement(context)]

    def _refuse_unsupported(self, token: Token, word: str | None) -> None:
        if word in _UNSUPPORTED:
            raise self.cursor.error_at(f"{word} is not supported", token)
        if self.cursor.at("%"):
            raise self.cursor.error_at("Calculation Manager references (%Script, %Template, "
                                       "%Rule) are not supported: use the script they stand "
                                       "for", token)

    def _refuse_outside_script(self, context: Context, token: Token) -> None:
        if context is not Context.SCRIPT:
            raise self.cursor.error_at(f"{token.text.upper()} is not allowed inside "
                                       f"{context.value}", token)

    def _scope(self, keyword: Token, word: str) -> Fix | Exclude:
        self.cursor.advance()
        self._enter(keyword, word)
        members = self._member_list(word)
        threads: Expr | None = None
        if word == "FIXPARALLEL":
            if len(members) < 2:
                raise self.cursor.error_at("FIXPARALLEL needs a thread count and at least one "
                                           "member", keyword)
            threads, members = members[0], members[1:]
        closer = "END" + word
        body = self._body(Context.SCRIPT, Block(keyword, word, closer), frozenset({closer}))
        self.cursor.advance()
        self.cursor.accept(";")
        self._leave()
        if word == "EXCLUDE":
            return Exclude(members, body, **where(keyword))
        return Fix(members, body, threads, **where(keyword))

    def _member_list(self, word: str) -> tuple[Expr, ...]:
        self.cursor.expect("(", f"after {word}")
        members: list[Expr] = []
        while True:
            members.append(self.expressions.expression()[0])
            if self.cursor.accept(","):
                continue
            if not self.cursor.at(")"):
                self.cursor.fail(f"expected ',' or ')' in the {word} member list",
                                 self.cursor.peek())
            self.cursor.advance()
            return tuple(members)

    def _loop(self, context: Context) -> Loop:
        keyword = self.cursor.advance()
        self._enter(keyword, "LOOP")
        self.cursor.expect("(", "after LOOP")
        count, _ = self.expressions.expression()
        break_variable: str | None = None
        if self.cursor.accept(","):
            name = self.cursor.advance()
            if name.kind is not Kind.NAME:
                self.cursor.fail("expected the name of a break variable", name)
            break_variable = name.text
        self.cursor.expect(")", "after the LOOP count")
        body = self._body(context, Block(keyword, "LOOP", "ENDLOOP"), frozenset({"ENDLOOP"}))
        self.cursor.advance()
        self.cursor.accept(";")
        self._leave()
        return Loop(count, break_variable, body, **where(keyword))

    def _if(self, context: Context) -> If:
        keyword = self.cursor.advance()
        self._enter(keyword, "IF")
        block = Block(keyword, "IF", "ENDIF")
        branches = [self._branch(context, keyword, block)]
        else_body: tuple[Statement, ...] | None = None
        while True:
            closer = self.cursor.advance()
            word = self.cursor.word(closer)
            if word == "ELSEIF":
                branches.append(self._branch(context, closer, block))
                continue
            if word == "ELSE":
                else_body = self._body(context, block, frozenset({"ENDIF"}))
                self.cursor.advance()
            break
        self.cursor.accept(";")
        self._leave()
        return If(tuple(branches), else_body, **where(keyword))

    def _branch(self, context: Context, keyword: Token, block: Block) -> IfBranch:
        if not self.cursor.at("("):
            self.cursor.fail(f"expected '(' after {keyword.text.upper()}", self.cursor.peek())
        condition, _ = self.expressions.expression()
        body = self._body(context, block, _IF_CLOSERS)
        return IfBranch(condition, body, **where(keyword))

    def _member_statement(self) -> Statement:
        """In a script: ``target = expr;``, ``"Member" ( ... )`` or ``"Member";``."""
        cursor = self.cursor
        start = cursor.peek()
        if not self.expressions.starts_member(start):
            cursor.fail("expected a statement", start)
        target, _ = self.expressions.member_expression()
        if cursor.at("("):
            return self._member_block(start, target)
        if cursor.at("="):
            return self._assignment(start, target)
        if cursor.at(";"):
            if not isinstance(target, MemberRef | SubVar | Prompt):
                cursor.fail(f"expected '=' after {cursor.describe(cursor.previous())}",
                            cursor.peek())
            cursor.advance()
            return CalcMember(target, **where(start))
        cursor.fail(f"expected '=', '(' or ';' after {cursor.describe(cursor.previous())}",
                    cursor.peek())

    def _member_block(self, start: Token, target: Expr) -> MemberBlock:
        opening = self.cursor.peek()
        if not isinstance(target, _ANCHORS):
            raise self.cursor.error_at("a member block must start with a member", start)
        self.cursor.advance()
        self._enter(opening, "(")
        block = Block(start, "member block", "')'")
        body = self._body(Context.BLOCK, block, frozenset({")"}))
        self.cursor.advance()
        self.cursor.accept(";")
        self._leave()
        return MemberBlock(target, body, **where(start))

    def _formula_statement(self, context: Context) -> Statement:
        """Inside a member block or formula: ``target = expr;`` or ``expr;``."""
        cursor = self.cursor
        start = cursor.peek()
        if not self.expressions.starts_expression(start):
            cursor.fail("expected a statement", start)
        expr, _ = self.expressions.expression()
        if cursor.at("="):
            return self._assignment(start, expr)
        if cursor.at("(") and isinstance(expr, _ANCHORS):
            raise cursor.error_at(f"a member block cannot be nested inside {context.value}",
                                  cursor.peek())
        cursor.expect_semicolon("the expression")
        return ExprStatement(expr, **where(start))

    def _assignment(self, start: Token, target: Expr) -> Assignment:
        equals = self.cursor.advance()
        if not isinstance(target, _TARGETS):
            raise self.cursor.error_at("the left side of '=' must be a member, a "
                                       "cross-dimensional reference or a variable", equals)
        expr, _ = self.expressions.expression()
        self.cursor.expect_semicolon("the assignment")
        return Assignment(target, expr, **where(start))
