"""RULES: run a business rule (API §4.1, reference §5).

The rule is read from the application's job library when the job runs
(``rule_definitions``). ``parameters`` carry runtime-prompt values by exact name (values
for prompts the rule does not have are ignored, as Oracle does) and optionally
``planType``, the cube to run on instead of the rule's own. The rule runs against the
cube's cells as the job read them; its changes commit with the job's end, and any failure
— a malformed script (its line and column in ``details``), a missing prompt value, an
unknown member — leaves the cube as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from epmjobs.errors import CalcScriptError, JobFailed
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.cube_data import CubeData, model_for, refreshed_outline
from epmjobs.jobs.types.rule_definitions import (
    NOT_FOUND_TEXT,
    Rule,
    load_definition,
    parsed_script,
    prompt_values,
    rule_of,
    runtime_variables,
    submitted_values,
)
from epmjobs.jobs.types.rule_exports import RuleExports
from epmjobs.planning.application import CubeKind
from epmjobs.planning.calc.engine import run_script
from epmjobs.planning.outline import Outline

CATEGORY = "Rules"


class RuleRunner:
    """Runs rules of one job against the application's cubes, keeping each cube's cells
    between rules (a ruleset's second rule sees the first one's results) and committing
    them all with the job's end."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.outline: Outline = refreshed_outline(ctx)
        self.cubes: dict[str, CubeData] = {}
        self.variables = ctx.stores.variables
        self.exports = RuleExports(ctx)

    def run(self, rule: Rule, values: Mapping[str, str]) -> None:
        ctx = self.ctx
        cube = self._cube(rule, values.get("planType"))
        model = model_for(ctx, cube, self.outline)
        data = self.cubes.get(model.name)
        if data is None:
            data = self.cubes[model.name] = CubeData.load(ctx, model)
        script = parsed_script(rule)
        stored = self.variables.effective(ctx.application.application_id, model.name)
        variables = {**stored, **runtime_variables(script, values)}
        prompts = prompt_values(rule, script, model, values, variables)
        try:
            result = run_script(model, data.pending, script, variables=variables,
                                prompts=prompts, check=ctx.check_cancelled)
        except CalcScriptError as exc:
            raise JobFailed(f"The rule {rule.name} failed: {exc.message}") from exc
        data.pending = result.cells
        for export in result.exports:
            self.exports.write(rule.name, export)
        shown = ", ".join(f"{k}={v}" for k, v in prompts.items())
        ctx.info(f"Rule {rule.name} on {model.name}: {result.statements} statements, "
                 f"{result.cells_written} cell writes" + (f" ({shown})." if shown else "."),
                 CATEGORY)

    def _cube(self, rule: Rule, override: str | None) -> str:
        name = override or rule.cube
        if not name:
            raise JobFailed(f"The rule {rule.name} has no plan type: give its definition a "
                            "planType.")
        cube = self.ctx.application.cube(name)
        if cube is None:
            raise JobFailed(f"The cube {name} does not exist in this application.")
        if cube.kind is CubeKind.ASO:
            raise JobFailed(f"The cube {cube.name} is an aggregate storage cube: calc-script "
                            "rules run on block storage cubes only.")
        return cube.name

    def commit(self) -> None:
        for data in self.cubes.values():
            data.commit()


class Rules:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return dict(submitted_values(parameters))

    def run(self, ctx: JobContext) -> str | None:
        name = ctx.job.job_name or ""
        definition = load_definition(ctx, "RULES", name)
        if definition is None:
            raise JobFailed(NOT_FOUND_TEXT)
        rule = rule_of(definition)
        runner = RuleRunner(ctx)
        runner.run(rule, ctx.parameters)
        runner.commit()
        return f"Rule {rule.name} executed successfully."
