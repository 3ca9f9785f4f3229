"""Essbase arithmetic on vectors, with NaN standing for #Missing (reference §6.3).

    X + #MI = X        #MI - X = -X        X * #MI = X / #MI = #MI / X = X / 0 = #MI
    X % Y = X / Y * 100 (#MI when either is #MI or Y is 0)
    comparisons give 1 or 0: X == #MI only when X is #MI; <, <=, >, >= read #MI as 0
    AND: 0 wins, then #MI, else 1      OR: a nonzero value wins, then #MI, else 0
    NOT #MI = -#MI = #MI               IF (#MI) is IF (0)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


def _flag(mask: Mask) -> Vector:
    return mask.astype(np.float64)


def add(a: Vector, b: Vector) -> Vector:
    both = np.isnan(a) & np.isnan(b)
    return np.where(both, np.nan, np.nan_to_num(a) + np.nan_to_num(b))


def subtract(a: Vector, b: Vector) -> Vector:
    both = np.isnan(a) & np.isnan(b)
    return np.where(both, np.nan, np.nan_to_num(a) - np.nan_to_num(b))


def multiply(a: Vector, b: Vector) -> Vector:
    return a * b


def divide(a: Vector, b: Vector) -> Vector:
    zero = b == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / np.where(zero, 1.0, b)
    return np.where(zero, np.nan, out)


def percent(a: Vector, b: Vector) -> Vector:
    return divide(a, b) * 100.0


def equal(a: Vector, b: Vector) -> Vector:
    na, nb = np.isnan(a), np.isnan(b)
    return _flag((na & nb) | (~na & ~nb & (a == b)))


def not_equal(a: Vector, b: Vector) -> Vector:
    return 1.0 - equal(a, b)


def _ordered(test: Callable[[Vector, Vector], Mask]) -> Callable[[Vector, Vector], Vector]:
    def compare(a: Vector, b: Vector) -> Vector:
        return _flag(test(np.nan_to_num(a), np.nan_to_num(b)))
    return compare


def both(a: Vector, b: Vector) -> Vector:
    """AND: 0 if either is 0, else #MI if either is #MI, else 1."""
    zero = (a == 0) | (b == 0)
    missing = np.isnan(a) | np.isnan(b)
    return np.where(zero, 0.0, np.where(missing, np.nan, 1.0))


def either(a: Vector, b: Vector) -> Vector:
    """OR: 1 if either is a nonzero value, else #MI if either is #MI, else 0."""
    true = (~np.isnan(a) & (a != 0)) | (~np.isnan(b) & (b != 0))
    missing = np.isnan(a) | np.isnan(b)
    return np.where(true, 1.0, np.where(missing, np.nan, 0.0))


BINARY: dict[str, Callable[[Vector, Vector], Vector]] = {
    "+": add, "-": subtract, "*": multiply, "/": divide, "%": percent,
    "==": equal, "!=": not_equal,
    "<": _ordered(np.less), "<=": _ordered(np.less_equal),
    ">": _ordered(np.greater), ">=": _ordered(np.greater_equal),
    "AND": both, "OR": either,
}


def negate(a: Vector) -> Vector:
    return -a


def logical_not(a: Vector) -> Vector:
    return np.where(np.isnan(a), np.nan, _flag(a == 0))


UNARY: dict[str, Callable[[Vector], Vector]] = {"-": negate, "NOT": logical_not}


def truth(a: Vector) -> Mask:
    """Where a condition holds: nonzero and not #MI."""
    return np.asarray(~np.isnan(a) & (a != 0))


def round_half_away(a: Vector, digits: int) -> Vector:
    """Essbase's @ROUND: half away from zero; negative ``digits`` round to tens, hundreds."""
    scale = 10.0 ** digits
    with np.errstate(invalid="ignore", over="ignore"):
        return np.sign(a) * np.floor(np.abs(a) * scale + 0.5) / scale
