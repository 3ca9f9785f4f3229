"""Oracle's ``q`` parameter: JSON, or the relaxed form Oracle's own samples send.

Accepted: strict JSON (``{"jobType":"RULES"}``), single quotes (``{'jobType':'RULES'}``),
unquoted keys and simple values (``{jobType:RULES}``, ``{isFirst:true,chunkSize:10}``),
and a value that is still percent-encoded once more (``%7B%22jobType%22...``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from epmjobs.errors import InvalidRequest

_BARE_END = ",}]:"


class _Relaxed:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Any:
        value = self.value()
        self.ws()
        if self.pos != len(self.text):
            raise ValueError("trailing characters")
        return value

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def value(self) -> Any:
        self.ws()
        if self.pos >= len(self.text):
            raise ValueError("unexpected end")
        ch = self.text[self.pos]
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.arr()
        if ch in "\"'":
            return self.string(ch)
        return self.bare()

    def obj(self) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        self.ws()
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            self.ws()
            key = self.value()
            self.ws()
            self.expect(":")
            out[str(key)] = self.value()
            self.ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return out

    def arr(self) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        self.ws()
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            self.ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return out

    def string(self, quote: str) -> str:
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == "\\" and self.pos < len(self.text):
                chars.append(self.text[self.pos])
                self.pos += 1
            elif ch == quote:
                return "".join(chars)
            else:
                chars.append(ch)
        raise ValueError("unterminated string")

    def bare(self) -> Any:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _BARE_END:
            self.pos += 1
        word = self.text[start:self.pos].strip()
        if not word:
            raise ValueError("empty value")
        lowered = word.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        try:
            return int(word)
        except ValueError:
            pass
        try:
            return float(word)
        except ValueError:
            return word

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise ValueError(f"expected {ch!r}")
        self.pos += 1


def parse_q(raw: str | None) -> dict[str, Any]:
    """The ``q`` object, or {} when absent; InvalidRequest when it is not an object."""
    if raw is None or not raw.strip():
        return {}
    text = raw.strip()
    if text.startswith("%"):
        text = unquote(text)
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidRequest("Invalid q parameter: nested too deeply.") from exc
    except ValueError:
        try:
            value = _Relaxed(text).parse()
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest(f"Invalid q parameter: {exc}.") from exc
    if not isinstance(value, dict):
        raise InvalidRequest("Invalid q parameter: a JSON object is expected.")
    return value
