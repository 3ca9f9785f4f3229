"""Power Users' launch access to business rules (reference §5.2: "Power User with
rule-launch access").

Access is a granular grant per rule or ruleset, kept with the user's other grants::

    Launch RULES: Vision/CalcRevenue
    Launch RULESET: Vision/PlanCycle

(``epmjobs users grant pete "Launch RULES: Vision/CalcRevenue"``). Application and rule
names compare without regard to case, as everywhere else. Service Administrators launch
every rule without a grant; Users and Viewers launch none, whatever they hold.
"""

from __future__ import annotations

import re

from epmjobs.planning.application import name_key
from epmjobs.security.roles import Principal, Role

RULE_TYPES = ("RULES", "RULESET")
_GRANT = re.compile(r"^\s*launch\s+(rules?|ruleset)\s*:\s*([^/]+?)\s*/\s*(.+?)\s*$",
                    re.IGNORECASE)


def launch_grant(application: str, job_type: str, job_name: str) -> str:
    """The grant that lets a Power User launch one rule or ruleset."""
    return f"Launch {job_type}: {application}/{job_name}"


def parse_launch_grant(text: str) -> str | None:
    """A launch grant written by hand, in its canonical spelling; None if ``text`` is not
    one (``launch rule: vision/CalcRevenue`` -> ``Launch RULES: vision/CalcRevenue``)."""
    found = _GRANT.match(text)
    if found is None:
        return None
    kind = "RULESET" if found.group(1).upper() == "RULESET" else "RULES"
    return launch_grant(found.group(2), kind, found.group(3))


def _key(grant: str) -> str | None:
    canonical = parse_launch_grant(grant)
    return None if canonical is None else name_key(canonical)


def may_launch(principal: Principal, application: str, job_type: str,
               job_name: str | None) -> bool:
    """Whether the caller may launch the job: an administrator always; a Power User a rule
    or ruleset they hold the launch grant of."""
    if principal.is_admin:
        return True
    if principal.role is not Role.POWER_USER or job_type not in RULE_TYPES or not job_name:
        return False
    wanted = name_key(launch_grant(application, job_type, job_name))
    return any(_key(grant) == wanted for grant in principal.grants)


def launches_rules(principal: Principal, application: str) -> bool:
    """An administrator, or a Power User with launch access to some rule of the
    application (Oracle lets those read substitution variables)."""
    if principal.is_admin:
        return True
    if principal.role is not Role.POWER_USER:
        return False
    prefix = name_key(application) + "/"
    for grant in principal.grants:
        found = _GRANT.match(grant)
        if found is not None and name_key(found.group(2)) + "/" == prefix:
            return True
    return False
