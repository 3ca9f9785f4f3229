"""How structured values are kept in text columns."""

from __future__ import annotations

from typing import Any

import orjson


def dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def load_json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
