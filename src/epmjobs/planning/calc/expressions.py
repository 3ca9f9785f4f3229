"""Expressions: precedence climbing over the token cursor.

Precedence, highest first (Essbase's reference lists the operators but publishes no
table; this is the conventional order its examples rely on):

    ->  and member ranges ``:``/``::``   (part of a member reference)
    unary  -  +  NOT
    *  /  %
    +  -
    ==  !=  <>  <  <=  >  >=
    AND
    OR

All binary operators are left-associative. ``NOT`` binds tighter than a comparison, so
``NOT "A" == 1`` is ``(NOT "A") == 1``: write ``NOT ("A" == 1)``.

Each parse function returns the node and the depth of its tree, so a long operator chain
(built by a loop, not recursion) is refused past ``MAX_EXPRESSION_DEPTH``; parentheses and
calls go through ``Cursor.enter``, which bounds the recursion itself.
"""

from __future__ import annotations

import math

from epmjobs.planning.calc.ast import (
    MAX_EXPRESSION_DEPTH,
    Binary,
    Call,
    CrossRef,
    Expr,
    MemberRange,
    MemberRef,
    Missing,
    Number,
    Prompt,
    SubVar,
    Unary,
    VarRef,
)
from epmjobs.planning.calc.cursor import Cursor
from epmjobs.planning.calc.lexer import Kind, Token

_PRECEDENCE = {
    "OR": 1, "AND": 2,
    "==": 3, "!=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "+": 4, "-": 4,
    "*": 5, "/": 5, "%": 5,
}
#: Words that end or open a block: never a member name when written bare.
BLOCK_WORDS = frozenset({
    "FIX", "ENDFIX", "FIXPARALLEL", "ENDFIXPARALLEL", "EXCLUDE", "ENDEXCLUDE",
    "IF", "ELSEIF", "ELSE", "ENDIF", "LOOP", "ENDLOOP",
})
_RESERVED = BLOCK_WORDS | {"AND", "OR", "NOT"}
_MEMBER_START = frozenset({Kind.NAME, Kind.QUOTED, Kind.SUBVAR, Kind.PROMPT, Kind.FUNCTION})
Parsed = tuple[Expr, int]


class ExpressionParser:
    def __init__(self, cursor: Cursor, variables: set[str]) -> None:
        self.cursor = cursor
        self.variables = variables          # upper-cased names declared by VAR/ARRAY

    def expression(self) -> Parsed:
        return self._binary(1)

    def starts_expression(self, token: Token) -> bool:
        if token.kind in (Kind.NUMBER, Kind.MISSING):
            return True
        if token.kind is Kind.PUNCT:
            return token.text in ("(", "-", "+")
        return self.starts_member(token) or Cursor.word(token) == "NOT"

    @staticmethod
    def starts_member(token: Token) -> bool:
        return token.kind in _MEMBER_START and Cursor.word(token) not in _RESERVED

    def _binary(self, min_precedence: int) -> Parsed:
        left, depth = self._unary()
        while True:
            token = self.cursor.peek()
            op = self._operator(token)
            if op is None or _PRECEDENCE[op] < min_precedence:
                return left, depth
            self.cursor.advance()
            right, right_depth = self._binary(_PRECEDENCE[op] + 1)
            depth = self._deeper(max(depth, right_depth), token)
            left = Binary("!=" if op == "<>" else op, left, right,
                          line=token.line, column=token.column)

    def _operator(self, token: Token) -> str | None:
        if token.kind is Kind.PUNCT:
            return token.text if token.text in _PRECEDENCE else None
        word = Cursor.word(token)
        return word if word in ("AND", "OR") else None

    def _unary(self) -> Parsed:
        signs: list[Token] = []
        while True:
            token = self.cursor.peek()
            is_sign = token.kind is Kind.PUNCT and token.text in ("-", "+")
            if not is_sign and Cursor.word(token) != "NOT":
                break
            signs.append(self.cursor.advance())
            if len(signs) > MAX_EXPRESSION_DEPTH:
                self._deeper(MAX_EXPRESSION_DEPTH, token)
        operand, depth = self._primary()
        for sign in reversed(signs):
            if sign.text == "+":
                continue
            depth = self._deeper(depth, sign)
            operand = Unary(sign.text.upper(), operand, line=sign.line, column=sign.column)
        return operand, depth

    def _primary(self) -> Parsed:
        token = self.cursor.peek()
        if token.kind is Kind.NUMBER:
            self.cursor.advance()
            value = float(token.text)
            if math.isinf(value):
                raise self.cursor.error_at(f"number {token.text} is too large", token)
            return Number(value, line=token.line, column=token.column), 1
        if token.kind is Kind.MISSING:
            self.cursor.advance()
            return Missing(line=token.line, column=token.column), 1
        if self.cursor.at("("):
            return self._parenthesized()
        if self.starts_member(token):
            return self.member_expression()
        self.cursor.fail("expected an expression", token)

    def _parenthesized(self) -> Parsed:
        opening = self.cursor.advance()
        self.cursor.enter(opening)
        inner = self.expression()
        if not self.cursor.at(")"):
            hint = " (to compare, write '==')" if self.cursor.at("=") else ""
            self.cursor.fail(f"expected ')' to close the '(' at line {opening.line}, column "
                             f"{opening.column}{hint}", self.cursor.peek())
        self.cursor.advance()
        self.cursor.leave()
        return inner

    def member_expression(self) -> Parsed:
        """A member, a cross-dimensional reference ``a->b->c`` or a range ``a:b``."""
        first, depth = self.member_item("a member")
        if self.cursor.at(":") or self.cursor.at("::"):
            op = self.cursor.advance()
            last, last_depth = self.member_item(f"a member after '{op.text}'")
            span = MemberRange(first, last, op.text, line=first.line, column=first.column)
            return span, self._deeper(max(depth, last_depth), op)
        if not self.cursor.at("->"):
            return first, depth
        members = [first]
        while self.cursor.at("->"):
            arrow = self.cursor.advance()
            item, item_depth = self.member_item("a member after '->'")
            depth = max(depth, item_depth)
            members.append(item)
            for member in (members[0], item):
                if isinstance(member, VarRef):
                    raise self.cursor.error_at(f"variable {member.name} cannot be part of a "
                                               "cross-dimensional reference", arrow)
        node = CrossRef(tuple(members), line=first.line, column=first.column)
        return node, self._deeper(depth, self.cursor.previous())

    def member_item(self, expected: str) -> Parsed:
        token = self.cursor.peek()
        if not self.starts_member(token):
            self.cursor.fail(f"expected {expected}", token)
        if token.kind is Kind.FUNCTION:
            return self._call()
        self.cursor.advance()
        text, kind, line, column = token.text, token.kind, token.line, token.column
        if kind is Kind.QUOTED:
            return MemberRef(text[1:-1], line=line, column=column), 1
        if kind is Kind.SUBVAR:
            return SubVar(text[1:], line=line, column=column), 1
        if kind is Kind.PROMPT:
            return Prompt(text.strip("{}[]"), line=line, column=column), 1
        if text.upper() in self.variables:
            return VarRef(text, line=line, column=column), 1
        return MemberRef(text, line=line, column=column), 1

    def _call(self) -> Parsed:
        token = self.cursor.advance()
        name = token.text.upper()
        self.cursor.expect("(", f"after {name}")
        self.cursor.enter(token)
        args: list[Expr] = []
        depth = 0
        if not self.cursor.accept(")"):
            while True:
                arg, arg_depth = self.expression()
                args.append(arg)
                depth = max(depth, arg_depth)
                if self.cursor.accept(","):
                    continue
                if not self.cursor.at(")"):
                    self.cursor.fail(f"expected ',' or ')' in the arguments of {name}",
                                     self.cursor.peek())
                self.cursor.advance()
                break
        self.cursor.leave()
        call = Call(name, tuple(args), line=token.line, column=token.column)
        return call, self._deeper(depth, token)

    def _deeper(self, depth: int, token: Token) -> int:
        depth += 1
        if depth > MAX_EXPRESSION_DEPTH:
            raise self.cursor.error_at(
                f"expression too deep: more than {MAX_EXPRESSION_DEPTH} levels of operators "
                "and calls; split it into several statements", token)
        return depth
