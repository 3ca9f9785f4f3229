"""The closed value sets of member and dimension properties, with Oracle's spellings.

Each enum's value is the spelling Oracle's documentation uses; metadata files may write any
case (``parse_*`` is case-insensitive) and exports write the value in lower case, as Oracle's
exports do (``never share``, ``unspecified``). ``code`` numbers follow the on-prem Planning
repository (``HSP_MEMBER.DATA_STORAGE`` and ``CONSOL_OP``), so they are stable across versions.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


class DimensionType(StrEnum):
    ACCOUNT = "Account"
    ENTITY = "Entity"
    PERIOD = "Period"
    YEARS = "Years"
    SCENARIO = "Scenario"
    VERSION = "Version"
    CURRENCY = "Currency"
    CUSTOM = "Custom"
    ATTRIBUTE = "Attribute"


#: Dimension types whose members Clear Members may not delete and that hold no shared members.
STRUCTURAL_TYPES = frozenset({
    DimensionType.CURRENCY, DimensionType.PERIOD, DimensionType.SCENARIO,
    DimensionType.VERSION, DimensionType.YEARS,
})
#: Dimension types SORT_MEMBERS refuses (reference oracle-jobs-api §4.19).
UNSORTABLE_TYPES = frozenset({DimensionType.PERIOD, DimensionType.YEARS, DimensionType.CURRENCY})


class Severity(StrEnum):
    """Of a load message or a validation problem."""

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Density(StrEnum):
    DENSE = "Dense"
    SPARSE = "Sparse"


class DataStorage(StrEnum):
    STORE = "Store"
    NEVER_SHARE = "Never Share"
    LABEL_ONLY = "Label Only"
    SHARED = "Shared"
    DYNAMIC_CALC_AND_STORE = "Dynamic Calc and Store"
    DYNAMIC_CALC = "Dynamic Calc"

    @property
    def code(self) -> int:
        return _STORAGE_CODES[self]

    @property
    def is_dynamic(self) -> bool:
        return self in (DataStorage.DYNAMIC_CALC, DataStorage.DYNAMIC_CALC_AND_STORE)


_STORAGE_CODES = {s: i for i, s in enumerate(DataStorage)}


class Operator(StrEnum):
    """Consolidation operator of a member toward its parent, per cube."""

    ADD = "+"
    SUBTRACT = "-"
    MULTIPLY = "*"
    DIVIDE = "/"
    PERCENT = "%"
    IGNORE = "~"
    NEVER = "^"

    @property
    def code(self) -> int:
        return _OPERATOR_CODES[self]


_OPERATOR_CODES = {o: i for i, o in enumerate(Operator)}


class DataType(StrEnum):
    CURRENCY = "Currency"
    NON_CURRENCY = "Non-Currency"
    PERCENTAGE = "Percentage"
    SMART_LIST = "Smart List"
    DATE = "Date"
    TEXT = "Text"
    UNSPECIFIED = "Unspecified"


class HierarchyType(StrEnum):
    STORED = "Stored"
    DYNAMIC = "Dynamic"
    NONE = "None"


class AccountType(StrEnum):
    REVENUE = "Revenue"
    EXPENSE = "Expense"
    ASSET = "Asset"
    LIABILITY = "Liability"
    EQUITY = "Equity"
    SAVED_ASSUMPTION = "Saved Assumption"


class TimeBalance(StrEnum):
    FLOW = "Flow"
    FIRST = "First"
    BALANCE = "Balance"
    AVERAGE = "Average"
    FILL = "Fill"
    WEIGHTED_ACTUAL_ACTUAL = "Weighted Average - Actual_Actual"
    WEIGHTED_ACTUAL_365 = "Weighted Average - Actual_365"

    @property
    def code(self) -> int:
        return _TIME_BALANCE_CODES[self]


_TIME_BALANCE_CODES = {t: i for i, t in enumerate(TimeBalance)}


class SkipValue(StrEnum):
    NONE = "None"
    MISSING = "Missing"
    ZEROS = "Zeros"
    MISSING_AND_ZEROS = "Missing and Zeros"

    @property
    def code(self) -> int:
        return _SKIP_CODES[self]


_SKIP_CODES = {s: i for i, s in enumerate(SkipValue)}


class ExchangeRateType(StrEnum):
    NONE = "None"
    AVERAGE = "Average"
    ENDING = "Ending"
    HISTORICAL = "Historical"


class VarianceReporting(StrEnum):
    EXPENSE = "Expense"
    NON_EXPENSE = "Non-Expense"


class Operation(StrEnum):
    """The ``Operation`` column of a metadata record."""

    UPDATE = "update"
    DELETE_LEVEL0 = "delete level 0"
    DELETE_IDESCENDANTS = "delete idescendants"
    DELETE_DESCENDANTS = "delete descendants"


#: Account Type ⇒ the Time Balance and Variance Reporting it implies (None: user-defined).
IMPLIED_BY_ACCOUNT_TYPE: dict[AccountType, tuple[TimeBalance, VarianceReporting] | None] = {
    AccountType.REVENUE: (TimeBalance.FLOW, VarianceReporting.NON_EXPENSE),
    AccountType.EXPENSE: (TimeBalance.FLOW, VarianceReporting.EXPENSE),
    AccountType.ASSET: (TimeBalance.BALANCE, VarianceReporting.NON_EXPENSE),
    AccountType.LIABILITY: (TimeBalance.BALANCE, VarianceReporting.NON_EXPENSE),
    AccountType.EQUITY: (TimeBalance.BALANCE, VarianceReporting.NON_EXPENSE),
    AccountType.SAVED_ASSUMPTION: None,
}

_EXTRA_SPELLINGS: dict[type[Enum], dict[str, str]] = {
    TimeBalance: {
        "actual_actual": "Weighted Average - Actual_Actual",
        "actual_365": "Weighted Average - Actual_365",
        "weighted average actual_actual": "Weighted Average - Actual_Actual",
        "weighted average actual_365": "Weighted Average - Actual_365",
    },
    DataType: {"noncurrency": "Non-Currency", "smartlist": "Smart List"},
}
_LOOKUPS: dict[type[Enum], dict[str, Enum]] = {}


def parse_enum(kind: type[E], text: str) -> E | None:
    """``text`` as a member of ``kind`` (any case, trimmed), or None when it is not one."""
    table = _LOOKUPS.get(kind)
    if table is None:
        table = {str(e.value).casefold(): e for e in kind}
        for spelling, value in _EXTRA_SPELLINGS.get(kind, {}).items():
            table[spelling] = kind(value)
        _LOOKUPS[kind] = table
    found = table.get(text.strip().casefold())
    return found  # type: ignore[return-value]


def choices(kind: type[Enum]) -> str:
    """The values of ``kind`` for an error message: ``a, b or c``."""
    names = [str(e.value) for e in kind]
    return ", ".join(names[:-1]) + " or " + names[-1]


def parse_bool(text: str) -> bool | None:
    """Oracle booleans: true/false (any case) or an integer, 0 meaning false."""
    lowered = text.strip().casefold()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    try:
        return int(lowered) != 0
    except ValueError:
        return None
