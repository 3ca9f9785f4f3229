"""A metadata record's fields read into typed property changes, before they are applied.

Few-valued columns (Operation, Data Storage, flags, enumerations, per-cube validity and
operators) are parsed once per distinct combination of their texts and cached: a file of
hundreds of thousands of records has a handful of such combinations, so most records cost a
tuple lookup there. Free-text columns (names, aliases, descriptions, formulas, UDAs, ...)
are read record by record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from epmjobs.planning.outline.headers import Column, Layout, Rejected, parse_storage
from epmjobs.planning.outline.model import EMPTY, FIELD, Properties
from epmjobs.planning.outline.vocabulary import (
    IMPLIED_BY_ACCOUNT_TYPE,
    DataStorage,
    Operation,
    choices,
    parse_enum,
)

I_VALID, I_OPS, I_FORMULA = FIELD["valid"], FIELD["ops"], FIELD["formula"]
I_ACCOUNT_TYPE = FIELD["account_type"]
_MAPPING_AT = {"alias": FIELD["aliases"], "attribute": FIELD["attributes"],
               "extra": FIELD["extras"]}
#: Property columns with few distinct values: parsed once per distinct text and cached.
_CATEGORICAL = frozenset({
    "two_pass", "data_type", "hierarchy_type", "account_type", "time_balance", "skip_value",
    "exchange_rate_type", "variance_reporting", "source_plan_type"})


class Changes:
    """The parsed property values of one record, before they are applied."""

    __slots__ = ("mappings", "ops", "props", "valid")

    def __init__(self, props: dict[int, Any] | None = None) -> None:
        self.props: dict[int, Any] = props if props is not None else {}  # field index -> value
        self.valid: dict[int, Any] = {}  # cube index -> flag (partial patches only)
        self.ops: dict[int, Any] = {}
        self.mappings: dict[int, dict[str, Any]] = {}  # field index -> key -> value or None

    def apply(self, props: Properties) -> Properties:
        if not (self.props or self.valid or self.ops or self.mappings):
            return props
        return self.build(list(props))

    def build(self, values: list[Any]) -> Properties:
        """Properties from the field ``values`` (changed in place) with these changes."""
        for index, value in self.props.items():
            values[index] = value
        if self.valid:
            values[I_VALID] = _patched(values[I_VALID], self.valid)
        if self.ops:
            values[I_OPS] = _patched(values[I_OPS], self.ops)
        for index, patch in self.mappings.items():
            values[index] = _merged(values[index], patch)
        new = Properties._make(values)
        return _implied_by_account_type(new, self.props) if I_ACCOUNT_TYPE in self.props else new


def _patched(values: tuple[Any, ...], patch: dict[int, Any]) -> tuple[Any, ...]:
    items = list(values)
    for index, value in patch.items():
        items[index] = value
    return tuple(items)


def _merged(current: Mapping[str, str], patch: dict[str, Any]) -> Mapping[str, str]:
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged or EMPTY


def _implied_by_account_type(props: Properties, given: dict[int, Any]) -> Properties:
    """A (new) account type sets the time balance and variance reporting it implies, unless
    the record gives them explicitly (decision: explicit values win)."""
    assert props.account_type is not None
    implied = IMPLIED_BY_ACCOUNT_TYPE[props.account_type]
    if implied is None:
        return props
    updates: dict[str, Any] = {}
    if FIELD["time_balance"] not in given:
        updates["time_balance"] = implied[0]
    if FIELD["variance_reporting"] not in given:
        updates["variance_reporting"] = implied[1]
    return props._replace(**updates)


@dataclass(slots=True)
class _Categorical:
    """The parsed few-valued columns of a record (operation, storage, flags, enumerations)."""

    operation: Operation = Operation.UPDATE
    storage: DataStorage | None = None
    props: dict[int, Any] = field(default_factory=dict)
    valid: dict[int, Any] = field(default_factory=dict)
    ops: dict[int, Any] = field(default_factory=dict)
    head_error: str | None = None  # a bad Operation or Data Storage
    error: str | None = None  # a bad property value


class RecordParser:
    """Reads the records of one file (one ``Layout``) into :class:`Changes`."""

    CACHE_LIMIT = 4096

    def __init__(self, layout: Layout, cube_count: int) -> None:
        self.layout = layout
        self.width = len(layout.header)
        self.cube_count = cube_count
        self.few_valued = [c for c in layout.columns if c.target in ("valid", "op") or (
            c.target == "prop" and c.key in _CATEGORICAL)]
        self.free_text = [(c.index, c.parse, _MAPPING_AT.get(c.target), c.key)
                     for c in layout.columns if c not in self.few_valued]
        keys = [i for i in (layout.operation, layout.storage) if i is not None]
        keys += [c.index for c in self.few_valued]
        self.key: Callable[[list[str]], object] = itemgetter(*keys) if keys else _no_key
        self.cache: dict[object, _Categorical] = {}

    def field(self, fields: list[str], index: int | None) -> str:
        if index is None or index >= len(fields):
            return ""
        return fields[index].strip()

    def fit(self, fields: list[str]) -> list[str]:
        if len(fields) > self.width:
            if any(f.strip() for f in fields[self.width:]):
                raise Rejected(f"The record has {len(fields)} fields but the header has "
                               f"{self.width}.")
            return fields[:self.width]
        return fields + [""] * (self.width - len(fields))

    def categorical(self, fields: list[str]) -> _Categorical:
        key = self.key(fields)
        parsed = self.cache.get(key)
        if parsed is None:
            parsed = self._parse_categorical(fields)
            if len(self.cache) < self.CACHE_LIMIT:
                self.cache[key] = parsed
        return parsed

    def _parse_categorical(self, fields: list[str]) -> _Categorical:
        parsed = _Categorical()
        try:
            text = self.field(fields, self.layout.operation)
            if text:
                parsed.operation = _operation(text)
            text = self.field(fields, self.layout.storage)
            if text:
                parsed.storage = parse_storage(text)  # type: ignore[assignment]
        except Rejected as rejected:
            parsed.head_error = rejected.reason
            return parsed
        if parsed.storage is not None and parsed.storage is not DataStorage.SHARED:
            parsed.props[FIELD["storage"]] = parsed.storage
        try:
            for column in self.few_valued:
                text = fields[column.index].strip()
                if text:
                    self._put(parsed, column, column.parse(text))
        except Rejected as rejected:
            parsed.error = rejected.reason
        for index, patch in ((I_VALID, parsed.valid), (I_OPS, parsed.ops)):
            if len(patch) == self.cube_count:  # every cube given: the whole tuple
                parsed.props[index] = tuple(patch[i] for i in range(self.cube_count))
                patch.clear()
        return parsed

    def _put(self, parsed: _Categorical, column: Column, value: object) -> None:
        if column.target == "valid":
            parsed.valid[int(column.key)] = value
        elif column.target == "op":
            parsed.ops[int(column.key)] = value
        else:
            parsed.props[FIELD[str(column.key)]] = value

    def changes(self, fields: list[str], parsed: _Categorical) -> Changes:
        changes = Changes(dict(parsed.props))
        changes.valid, changes.ops = parsed.valid, parsed.ops
        for index, parse, mapping, key in self.free_text:
            text = fields[index]
            if not text or not (text := text.strip()):
                continue
            value = parse(text)
            if mapping is None:
                changes.props[FIELD[str(key)]] = value
            else:
                changes.mappings.setdefault(mapping, {})[str(key)] = value
        return changes


def _no_key(fields: list[str]) -> object:
    return None


def _operation(text: str) -> Operation:
    operation = parse_enum(Operation, " ".join(text.split()))
    if operation is None:
        raise Rejected(f"Invalid value '{text}' for Operation: use {choices(Operation)}.")
    return operation
