"""RULESET: run a ruleset's rules in order (API §4.2).

A ruleset's definition lists rules (and rulesets) by name: ``{"rules": ["A", {"name": "B",
"type": "RULESET"}], "sequential": true}``. The rules run one after the other in the
listed order, each on the cells the previous ones left, whether the ruleset is marked
sequential or parallel (Oracle may run a parallel ruleset's rules at the same time; their
results are the same whenever the rules write different cells, and running them in order
keeps the job deterministic). Prompt values given to the job go to every rule that has
such a prompt. The changes of all rules commit together with the job's end; if any rule
fails, none does.
"""

from __future__ import annotations

from typing import Any

from epmjobs.errors import JobFailed
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.parameters import shown
from epmjobs.jobs.types.rule_definitions import (
    NOT_FOUND_TEXT,
    Rule,
    load_definition,
    rule_of,
    submitted_values,
)
from epmjobs.jobs.types.rules import CATEGORY, RuleRunner

MAX_DEPTH = 16


class Ruleset:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return dict(submitted_values(parameters))

    def run(self, ctx: JobContext) -> str | None:
        name = ctx.job.job_name or ""
        if load_definition(ctx, "RULESET", name) is None:
            raise JobFailed(NOT_FOUND_TEXT)
        rules = _expand(ctx, name, ())
        runner = RuleRunner(ctx)
        for index, rule in enumerate(rules, 1):
            ctx.info(f"Ruleset {name}: rule {index} of {len(rules)}, {rule.name}.", CATEGORY)
            runner.run(rule, ctx.parameters)
        runner.commit()
        return f"Ruleset {name} executed successfully."


def _expand(ctx: JobContext, name: str, path: tuple[str, ...]) -> list[Rule]:
    """The rules of a ruleset in order, nested rulesets expanded."""
    if name.casefold() in (p.casefold() for p in path) or len(path) >= MAX_DEPTH:
        raise JobFailed(f"The ruleset {name} contains itself: {' > '.join((*path, name))}.")
    definition = load_definition(ctx, "RULESET", name)
    if definition is None:
        raise JobFailed(f"The ruleset {path[-1]} lists the ruleset {name}, which does not "
                        "exist.")
    members = definition.parameters.get("rules")
    if not isinstance(members, list) or not members:
        raise JobFailed(f"The ruleset {name} lists no rules.")
    rules: list[Rule] = []
    for member in members:
        kind, member_name = _member(name, member)
        if kind == "RULESET":
            rules.extend(_expand(ctx, member_name, (*path, name)))
            continue
        found = load_definition(ctx, "RULES", member_name)
        if found is None:
            raise JobFailed(f"The ruleset {name} lists the rule {member_name}, which does not "
                            "exist.")
        rules.append(rule_of(found))
    return rules


def _member(ruleset: str, raw: Any) -> tuple[str, str]:
    if isinstance(raw, str) and raw.strip():
        return "RULES", raw.strip()
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        kind = str(raw.get("type") or "RULES").upper().replace(" ", "")
        if kind in ("RULE", "RULES", "BUSINESSRULE"):
            return "RULES", raw["name"]
        if kind in ("RULESET", "RULESETS"):
            return "RULESET", raw["name"]
    raise JobFailed(f"The ruleset {ruleset} has an entry that is not a rule: {shown(raw)}.")
