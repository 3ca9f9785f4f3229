"""A small cube for the calc-engine tests, with cells addressed by member names.

Account (dense): Profit = Revenue - Cost; Units, Price, Rate outside the hierarchy (~);
Margin and Ratio Dynamic Calc with formulas. Period (dense): Q1 (stored) = Jan..Mar, BegBalance.
Entity (sparse): Total = East (NY, Boston) + West (SF); UDA "Big" on NY and SF.
Scenario (sparse): Actual, Budget (~ under the root).
"""

from __future__ import annotations

from typing import Any

from cube_support import Grid, member, outline
from epmjobs.planning.calc.engine import CalcResult, run_text
from epmjobs.planning.cube.model import CubeModel, cube_model

ACCOUNTS = [
    member("Profit", "Account"), member("Revenue", "Profit"), member("Cost", "Profit", "-"),
    member("Units", "Account", "~"), member("Price", "Account", "~"),
    member("Rate", "Account", "~"),
    member("Margin", "Account", "~", "Dynamic Calc", formula='"Revenue" - "Cost";'),
    member("Ratio", "Account", "~", "Dynamic Calc",
           formula='"Margin" / "Revenue" * 100;'),
]
PERIODS = [member("Q1", "Period"), member("Jan", "Q1"), member("Feb", "Q1"),
           member("Mar", "Q1"), member("BegBalance", "Period", "~")]
ENTITIES = [member("Total", "Entity"), member("East", "Total"),
            member("NY", "East", uda=["Big"]), member("Boston", "East"),
            member("West", "Total"), member("SF", "West", uda=["Big"])]
SCENARIOS = [member("Actual", "Scenario", "~"), member("Budget", "Scenario", "~")]
DIMENSIONS: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    ("Account", "Account", "Dense", ACCOUNTS), ("Period", "Period", "Dense", PERIODS),
    ("Entity", "Entity", "Sparse", ENTITIES), ("Scenario", "Scenario", "Sparse", SCENARIOS)]

Named = dict[tuple[str, ...], float]


class Cube:
    def __init__(self, dims: list[tuple[str, str, str, list[dict[str, Any]]]] | None = None
                 ) -> None:
        o = outline(*(dims or DIMENSIONS))
        self.grid = Grid(o)
        self.model: CubeModel = cube_model(o, "C")

    def run(self, data: Named, script: str, **kwargs: Any) -> Named:
        return self.grid.named(self.result(data, script, **kwargs).cells)

    def result(self, data: Named, script: str, **kwargs: Any) -> CalcResult:
        return run_text(self.model, self.grid.cells(data), script, **kwargs)


def changed(before: Named, after: Named) -> Named:
    """The cells the script set or changed (removed cells map to NaN)."""
    out = {k: v for k, v in after.items() if before.get(k) != v}
    out.update({k: float("nan") for k in before if k not in after})
    return out
