"""Member properties as a JSON-able dict, for the database rows and the definition file.

Only values that differ from the baseline (a member with no property set: ``Never Share``,
valid and ``+`` in every cube, everything else empty) are written; reading starts from the
baseline, so the dict is a complete description (no inheritance). Keys are camelCase;
per-cube values are objects keyed by cube name; enumerations use Oracle's spelling::

    {"dataStorage": "Dynamic Calc", "alias": {"Default": "Net Income"}, "uda": ["HSP_NOLINK"],
     "planType": {"Vis1ASO": false}, "aggregation": {"Plan1": "~"}, "twoPass": true,
     "formula": "...", "formulaDescription": "...", "description": "...", "smartList": "...",
     "dataType": "Currency", "hierarchyType": "Stored", "accountType": "Revenue",
     "timeBalance": "Flow", "skipValue": "None", "exchangeRateType": "Average",
     "varianceReporting": "Non-Expense", "sourcePlanType": "Plan1", "baseCurrency": "USD",
     "startYear": "FY24", "startPeriod": "Jan", "endYear": "FY27", "endPeriod": "Dec",
     "attributes": {"Size": "Large"}, "extras": {"UUID": "..."}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from epmjobs.errors import OutlineError
from epmjobs.planning.application import Cube, name_key
from epmjobs.planning.outline.model import EMPTY, Properties
from epmjobs.planning.outline.vocabulary import (
    AccountType,
    DataStorage,
    DataType,
    ExchangeRateType,
    HierarchyType,
    Operator,
    SkipValue,
    TimeBalance,
    VarianceReporting,
    parse_enum,
)

KEYS = {
    "storage": "dataStorage", "two_pass": "twoPass", "formula": "formula",
    "formula_description": "formulaDescription", "description": "description",
    "aliases": "alias", "udas": "uda", "smart_list": "smartList", "data_type": "dataType",
    "hierarchy_type": "hierarchyType", "account_type": "accountType",
    "time_balance": "timeBalance", "skip_value": "skipValue",
    "exchange_rate_type": "exchangeRateType", "variance_reporting": "varianceReporting",
    "source_plan_type": "sourcePlanType", "base_currency": "baseCurrency",
    "start_year": "startYear", "start_period": "startPeriod", "end_year": "endYear",
    "end_period": "endPeriod", "attributes": "attributes", "extras": "extras",
}
FIELDS = {key: field for field, key in KEYS.items()}
ENUMS: dict[str, type[Enum]] = {
    "storage": DataStorage, "data_type": DataType, "hierarchy_type": HierarchyType,
    "account_type": AccountType, "time_balance": TimeBalance, "skip_value": SkipValue,
    "exchange_rate_type": ExchangeRateType, "variance_reporting": VarianceReporting,
}
_MAPPINGS = ("aliases", "attributes", "extras")


def baseline(cube_count: int) -> Properties:
    return Properties(DataStorage.NEVER_SHARE, (True,) * cube_count, (Operator.ADD,) * cube_count)


#: Enumeration members -> their text (``member.value`` is a slow descriptor in 3.11).
_KINDS: list[type[Enum]] = [*ENUMS.values(), Operator]
_TEXT: dict[Any, str] = {m: m.value for kind in _KINDS for m in kind}
#: (field index, key, converter) for the fields ``encode`` writes when they are set.
_PLAN: list[tuple[int, str, Callable[[Any], Any] | None]] = [
    (index, KEYS[f], _TEXT.__getitem__ if f in ENUMS else list if f == "udas" else
     dict if f in _MAPPINGS else None)
    for index, f in enumerate(Properties._fields) if f not in ("storage", "valid", "ops")
]
_BASE = baseline(0)
_INDEX = {f: i for i, f in enumerate(Properties._fields)}


class Encoder:
    """``encode`` for one application's cubes, caching the per-cube objects it writes."""

    def __init__(self, cubes: tuple[Cube, ...]) -> None:
        self.names = [c.name for c in cubes]
        self.valid: dict[tuple[bool, ...], dict[str, Any]] = {}
        self.ops: dict[tuple[Operator, ...], dict[str, Any]] = {}

    def encode(self, props: Properties, storage: bool = True) -> dict[str, Any]:
        """The properties that differ from the baseline (``dataStorage`` only if ``storage``)."""
        out: dict[str, Any] = {}
        if storage and props.storage is not DataStorage.NEVER_SHARE:
            out["dataStorage"] = _TEXT[props.storage]
        found = self.valid.get(props.valid)
        if found is None:
            found = self.valid[props.valid] = {
                c: v for c, v in zip(self.names, props.valid, strict=True) if not v}
        if found:
            out["planType"] = dict(found)
        ops = self.ops.get(props.ops)
        if ops is None:
            ops = self.ops[props.ops] = {c: _TEXT[o] for c, o in zip(
                self.names, props.ops, strict=True) if o is not Operator.ADD}
        if ops:
            out["aggregation"] = dict(ops)
        for index, key, convert in _PLAN:
            value = props[index]
            if value is None or value is _BASE[index] or value == _BASE[index]:
                continue
            out[key] = convert(value) if convert is not None else value
        return out


def encode(props: Properties, cubes: tuple[Cube, ...], *, storage: bool = True) -> dict[str, Any]:
    """The properties that differ from the baseline (``dataStorage`` only if ``storage``)."""
    return Encoder(cubes).encode(props, storage)


def decode(data: Mapping[str, Any], cubes: tuple[Cube, ...], where: str) -> Properties:
    """Properties from ``encode``'s dict; OutlineError naming ``where`` when a value is bad."""
    return Decoder(cubes).decode(data, where)


class Decoder:
    """``decode`` for one application's cubes."""

    def __init__(self, cubes: tuple[Cube, ...]) -> None:
        self.base = baseline(len(cubes))
        self.cubes = {name_key(c.name): i for i, c in enumerate(cubes)}
        self.cache: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def decode(self, data: Mapping[str, Any], where: str) -> Properties:
        values: list[Any] = list(self.base)
        for key, value in data.items():
            if key == "planType":
                values[1] = self._per_cube(self.base.valid, value, bool, where)
            elif key == "aggregation":
                values[2] = self._per_cube(self.base.ops, value, Operator, where)
            else:
                field = FIELDS.get(key)
                if field is None:
                    raise OutlineError(f"{where}: unknown property '{key}'.")
                values[_INDEX[field]] = _value(field, value, where)
        return Properties._make(values)

    def _per_cube(self, default: tuple[Any, ...], given: Any, kind: Any,
                  where: str) -> tuple[Any, ...]:
        if not isinstance(given, Mapping):
            raise OutlineError(f"{where}: per-cube values must be an object keyed by cube "
                               "name.")
        key = (kind, tuple(given.items()))
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = _read_per_cube(default, given, self.cubes, kind, where)
        return found


def _value(field: str, value: Any, where: str) -> Any:
    kind = ENUMS.get(field)
    if kind is not None:
        parsed = parse_enum(kind, str(value))
        if parsed is None:
            raise OutlineError(f"{where}: invalid value {value!r} for {KEYS[field]}.")
        return parsed
    if field == "two_pass":
        return bool(value)
    if field == "udas":
        return tuple(str(u) for u in value)
    if field in _MAPPINGS:
        if not isinstance(value, Mapping):
            raise OutlineError(f"{where}: {KEYS[field]} must be an object.")
        return {str(k): str(v) for k, v in value.items()} or EMPTY
    return None if value in (None, "") else str(value)


def _read_per_cube(default: tuple[Any, ...], given: Mapping[Any, Any], index: dict[str, int],
                   kind: Any, where: str) -> tuple[Any, ...]:
    values = list(default)
    for cube, value in given.items():
        position = index.get(name_key(str(cube)))
        if position is None:
            raise OutlineError(f"{where}: the cube {cube} does not exist.")
        try:
            values[position] = kind(value)
        except ValueError as exc:
            raise OutlineError(f"{where}: invalid value {value!r} for cube {cube}.") from exc
    return tuple(values)
