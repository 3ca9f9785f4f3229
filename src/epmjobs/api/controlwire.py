"""The control API's JSON: request bodies parsed into rules, and state rendered back.

Field names are camelCase like the rest of ``/epmjobs/v1``. A body with a field we do
not know is refused (a misspelt ``afterPoll`` must not silently mean "no rule").
"""

from __future__ import annotations

from typing import Any

from epmjobs.errors import InvalidRequest
from epmjobs.jobs.control import ScriptedOutcome, job_match
from epmjobs.jobs.parameters import shown
from epmjobs.jobs.progression import JobMatch, Mode, ProgressionRule
from epmjobs.testing.faults import Fault, FaultKind

_MATCH_FIELDS = ("application", "jobType", "jobName")
FAULT_NAMES = {"maintenance": FaultKind.MAINTENANCE, "tokenExpired": FaultKind.TOKEN_EXPIRED,
               "delay": FaultKind.DELAY}
_FAULT_WIRE = {kind: name for name, kind in FAULT_NAMES.items()}
MAX_POLLS = 1_000_000
MAX_SECONDS = 86_400.0


def _object(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidRequest(f"Unknown field {shown(unknown[0], 40)}; the fields are "
                             f"{', '.join(allowed)}.")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string.")
    return value


def _number(value: Any, name: str, low: float, high: float, integer: bool) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        if integer:
            raise InvalidRequest(f"{name} must be an integer from {low:.0f} to {high:.0f}.")
        raise InvalidRequest(f"{name} must be a number from {low:g} to {high:g}.")
    return value


def _match(body: dict[str, Any]) -> JobMatch:
    return job_match(_text(body, "application"), _text(body, "jobType"),
                     _text(body, "jobName"))


def progression_rule(body: Any) -> ProgressionRule:
    """``{"jobType"?, "jobName"?, "application"?, "progression": "immediate" | "manual" |
    {"afterPolls": N} | {"afterSeconds": S}}``"""
    body = _object(body, (*_MATCH_FIELDS, "progression"))
    match = _match(body)
    raw = body.get("progression")
    if raw in ("immediate", "manual"):
        return ProgressionRule(match, Mode(raw))
    if isinstance(raw, dict) and len(raw) == 1 and "afterPolls" in raw:
        polls = _number(raw["afterPolls"], "afterPolls", 0, MAX_POLLS, integer=True)
        return ProgressionRule(match, Mode.AFTER_POLLS, polls=polls)
    if isinstance(raw, dict) and len(raw) == 1 and "afterSeconds" in raw:
        seconds = _number(raw["afterSeconds"], "afterSeconds", 0, MAX_SECONDS, integer=False)
        return ProgressionRule(match, Mode.AFTER_SECONDS, seconds=float(seconds))
    raise InvalidRequest('progression must be "immediate", "manual", {"afterPolls": N} or '
                         '{"afterSeconds": S}.')


def scripted_outcome(body: Any) -> tuple[ScriptedOutcome, int]:
    """``{"jobType"?, "jobName"?, "application"?, "status": 0|1|3|4|2147483647,
    "details"?, "times"?}``"""
    body = _object(body, (*_MATCH_FIELDS, "status", "details", "times"))
    if "status" not in body:
        raise InvalidRequest("status is required: 0, 1, 3, 4 or 2147483647.")
    status = _number(body["status"], "status", -1, 2**31 - 1, integer=True)
    times = _number(body.get("times", 1), "times", 1, 1_000_000, integer=True)
    return ScriptedOutcome.of(_match(body), status, _text(body, "details")), times


def fault(body: Any) -> Fault:
    """``{"fault": "maintenance" | "tokenExpired" | "delay", "count"?, "seconds"?,
    "retryAfter"?, "method"?, "path"?}``"""
    body = _object(body, ("fault", "count", "seconds", "retryAfter", "method", "path"))
    name = _text(body, "fault")
    if name not in FAULT_NAMES:
        raise InvalidRequest('fault must be "maintenance", "tokenExpired" or "delay".')
    return Fault.of(FAULT_NAMES[name], body.get("count", 1), seconds=body.get("seconds"),
                    retry_after=body.get("retryAfter"), method=_text(body, "method"),
                    path=_text(body, "path"))


def reset_applications(body: Any) -> list[Any]:
    """``{"applications": ["Vision", {definition document}, ...]}``; none: empty."""
    body = _object(body, ("applications",))
    apps = body.get("applications", [])
    if not isinstance(apps, list):
        raise InvalidRequest("applications must be a list of built-in names and definition "
                             "documents.")
    return apps


def snapshot_name(body: Any) -> str:
    name = _text(_object(body, ("name",)), "name")
    if name is None:
        raise InvalidRequest("name is required.")
    return name


# -- rendering --------------------------------------------------------------------------

def match_json(match: JobMatch) -> dict[str, Any]:
    return {"application": match.application, "jobType": match.job_type,
            "jobName": match.job_name}


def rule_json(rule: ProgressionRule) -> dict[str, Any]:
    progression: Any = str(rule.mode)
    if rule.mode is Mode.AFTER_POLLS:
        progression = {"afterPolls": rule.polls}
    elif rule.mode is Mode.AFTER_SECONDS:
        progression = {"afterSeconds": rule.seconds}
    return {**match_json(rule.match), "progression": progression}


def outcome_json(outcome: ScriptedOutcome, remaining: int) -> dict[str, Any]:
    return {**match_json(outcome.match), "status": int(outcome.status),
            "details": outcome.details, "remaining": remaining}


def fault_json(fault: Fault, remaining: int) -> dict[str, Any]:
    item: dict[str, Any] = {"fault": _FAULT_WIRE[fault.kind], "remaining": remaining,
                            "method": fault.method, "path": fault.path}
    if fault.kind is FaultKind.DELAY:
        item["seconds"] = fault.seconds
    if fault.retry_after is not None:
        item["retryAfter"] = fault.retry_after
    return item
