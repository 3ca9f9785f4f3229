"""Business rules and rulesets as application artifacts: job definitions of type
``RULES``/``RULESET`` (docs/rules.md).

A rule's definition holds its cube (the definition's ``planType``), its script and its
runtime prompts::

    {"jobType": "RULES", "jobName": "CalcRevenue", "planType": "Plan1",
     "parameters": {"script": "FIX ({Entity}) ... ENDFIX",
                    "scriptType": "calcscript",
                    "runtimePrompts": [{"name": "Entity", "type": "member",
                                        "dimension": "Entity", "defaultValue": "E110",
                                        "allowedMembers": "ILvl0Descendants(Total Entity)"}]}}

A ruleset's lists its rules (or rulesets) in order: ``{"rules": ["CalcRevenue", ...],
"sequential": true}``.

Definitions are read when a job runs, from the application's job library: what a
submission sends is only prompt values (and ``planType``), never the script or the
prompts' limits, so a Power User granted a rule runs that rule and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from epmjobs.errors import (
    CalcScriptError,
    InvalidJobParameter,
    InvalidRequest,
    JobFailed,
    MemberSelectionError,
)
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.parameters import shown
from epmjobs.planning.calc import ast, check_functions, parse_script, prompt_names
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.selection import select_members

if TYPE_CHECKING:  # jobs.definitions imports the job types: no import at run time
    from epmjobs.jobs.definitions import JobDefinition

#: Definition keys that describe the rule itself; every other parameter is a prompt value.
DEFINITION_KEYS = frozenset({"script", "scriptType", "runtimePrompts", "rules", "sequential",
                             "parallel", "description"})
PROMPT_TYPES = ("member", "members", "numeric", "text", "dimension", "crossDimension",
                "memberRange")
CALC_SCRIPT = "calcscript"
#: Oracle's text for a job name that names no definition (as ``jobs.service`` answers it).
NOT_FOUND_TEXT = "A job with specified name and type was not found"


@dataclass(frozen=True)
class RuntimePrompt:
    name: str
    type: str = "member"
    default: str | None = None
    dimension: str | None = None
    allowed: str | None = None  # a member selection the value must stay within


@dataclass(frozen=True)
class Rule:
    name: str
    cube: str | None
    script: str
    script_type: str
    prompts: tuple[RuntimePrompt, ...]


def submitted_values(parameters: Mapping[str, Any]) -> dict[str, str]:
    """What a submission may carry: prompt values and ``planType``, as text."""
    out: dict[str, str] = {}
    for name, value in parameters.items():
        if name in DEFINITION_KEYS:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[name] = str(value)
        else:
            raise InvalidJobParameter(f"The value of the runtime prompt {shown(name)} must be "
                                      "text or a number.")
    return out


def load_definition(ctx: JobContext, job_type: str, name: str) -> JobDefinition | None:
    """A rule's or ruleset's definition as the job library holds it now."""
    return ctx.stores.apps.definition(ctx.application.application_id, job_type, name)


def rule_of(definition: JobDefinition) -> Rule:
    params = definition.parameters
    script = params.get("script")
    script_type = str(params.get("scriptType") or CALC_SCRIPT).strip().lower()
    if script_type in ("groovy", "gvy"):
        raise JobFailed(f"The rule {definition.job_name} is a Groovy rule: epmjobs runs "
                        "calc-script (Essbase) rules only.")
    if script_type not in (CALC_SCRIPT, "calc", "essbase"):
        raise JobFailed(f"The rule {definition.job_name} has script type {shown(script_type)}: "
                        "epmjobs runs calc-script (Essbase) rules only.")
    if not isinstance(script, str):
        raise JobFailed(f"The rule {definition.job_name} has no script.")
    raw_prompts = params.get("runtimePrompts") or []
    if isinstance(raw_prompts, str):  # from a key=value command line
        try:
            raw_prompts = json.loads(raw_prompts)
        except ValueError as exc:
            raise JobFailed(f"The runtime prompts of the rule {definition.job_name} are not "
                            f"valid JSON: {exc}.") from exc
    if not isinstance(raw_prompts, list):
        raise JobFailed(f"The runtime prompts of the rule {definition.job_name} must be a "
                        "list.")
    prompts = tuple(_prompt(definition.job_name, raw) for raw in raw_prompts)
    return Rule(definition.job_name, definition.plan_type, script, CALC_SCRIPT, prompts)


def check_definition(definition: JobDefinition) -> None:
    """Refuse a rule definition that could never run (as Calculation Manager refuses to
    deploy it): not a calc script, no script, a script that does not parse (line and
    column in the message), malformed prompts; or a ruleset without rules."""
    try:
        if definition.job_type == "RULES":
            parsed_script(rule_of(definition))
        elif definition.job_type == "RULESET":
            rules = definition.parameters.get("rules")
            if not isinstance(rules, list) or not rules:
                raise JobFailed(f"The ruleset {definition.job_name} lists no rules.")
    except JobFailed as exc:
        raise InvalidRequest(exc.message) from exc


def _prompt(rule: str, raw: Any) -> RuntimePrompt:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise JobFailed(f"The rule {rule} has a runtime prompt without a name.")
    kind = str(raw.get("type") or "member")
    if kind not in PROMPT_TYPES:
        raise JobFailed(f"The runtime prompt {raw['name']} of the rule {rule} has the unknown "
                        f"type {shown(kind)}; types: {', '.join(PROMPT_TYPES)}.")
    default = raw.get("defaultValue", raw.get("default"))
    return RuntimePrompt(raw["name"], kind, None if default is None else str(default),
                         raw.get("dimension"), raw.get("allowedMembers"))


# -- parsing, with a small cache (a rule runs many times; a 1 MB script parses in ~1 s) ------

_parsed: OrderedDict[str, ast.Script] = OrderedDict()
_lock = threading.Lock()


def parsed_script(rule: Rule) -> ast.Script:
    """The rule's syntax tree; JobFailed with the position (line, column) when it is bad."""
    key = hashlib.blake2b(rule.script.encode(), digest_size=16).hexdigest()
    with _lock:
        found = _parsed.get(key)
    if found is None:
        try:
            found = parse_script(rule.script)
            check_functions(found)
        except CalcScriptError as exc:
            raise JobFailed(f"The rule {rule.name} is not valid: {exc.message}") from exc
        with _lock:
            _parsed[key] = found
            while len(_parsed) > 32:
                _parsed.popitem(last=False)
    return found


# -- runtime prompts --------------------------------------------------------------------------

def prompt_values(rule: Rule, script: ast.Script, model: CubeModel, values: Mapping[str, str],
                  variables: Mapping[str, str]) -> dict[str, str]:
    """The value of every prompt the script uses: given, else the default; each checked
    against its type, dimension and allowed members (JobFailed with Oracle's texts)."""
    declared = {p.name: p for p in rule.prompts}
    out: dict[str, str] = {}
    for name in prompt_names(script):
        prompt = declared.get(name, RuntimePrompt(name, "text"))
        value = values.get(name, prompt.default)
        if value is None or not value.strip():
            raise JobFailed(f"Value is missing for the runtime prompt: {name}.")
        _check(prompt, value.strip(), model, variables)
        out[name] = value.strip()
    return out


def _check(prompt: RuntimePrompt, value: str, model: CubeModel,
           variables: Mapping[str, str]) -> None:
    if prompt.type == "numeric":
        try:
            float(value)
        except ValueError:
            raise JobFailed(f"The value {shown(value)} of the runtime prompt {prompt.name} is "
                            "not a number.") from None
    if prompt.type not in ("member", "members", "memberRange"):
        return
    found = _select(model, value, variables)
    count = sum(len(found.base_nodes(d)) for d in found)
    if prompt.type == "member" and count != 1:
        raise JobFailed(f"The runtime prompt {prompt.name} takes one member, not "
                        f"{shown(value)}.")
    if prompt.dimension and any(found.dimension(d).name.casefold()
                                != prompt.dimension.casefold() for d in found):
        raise JobFailed(f"The runtime prompt {prompt.name} takes members of the dimension "
                        f"{prompt.dimension}, not {shown(value)}.")
    if prompt.allowed:
        allowed = _select(model, prompt.allowed, variables)
        for dim in found:
            within = set(allowed.base_nodes(dim).tolist()) if dim in allowed else set()
            outside = [n for n in found.base_nodes(dim).tolist() if n not in within]
            if outside:
                names = found.dimension(dim).names
                raise JobFailed(f"The member {names[outside[0]]} is not one of the members "
                                f"allowed for the runtime prompt {prompt.name}.")


def _select(model: CubeModel, text: str, variables: Mapping[str, str]) -> Any:
    try:
        return select_members(model.compiled, model.outline, text, variables)
    except MemberSelectionError as exc:
        raise JobFailed(exc.message) from exc


def runtime_variables(script: ast.Script, values: Mapping[str, str]) -> dict[str, str]:
    """``SET RUNTIMESUBVARS { Name = default; }``: the defaults, or the submitted values."""
    out: dict[str, str] = {}
    for node in ast.walk(script):
        if isinstance(node, ast.Set) and node.command == "RUNTIMESUBVARS":
            for option in node.options:
                default = option.value.split("<", 1)[0].strip().strip('"')
                out[option.name] = values.get(option.name, default)
    return out
