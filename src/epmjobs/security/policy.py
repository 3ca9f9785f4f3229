"""What each role may do: the one place that answers "is this caller allowed?".

The table follows Oracle's (reference §5.2): versions and the application list are open
to every role; job definitions, job submission, job status and details are for Service
Administrators, except that the user who submitted a job may always follow it, and Power
Users launch the rules and rulesets they hold a launch grant for (``rule_access``). While
an application's login level is Administrators, only Service Administrators may use it at
all.
"""

from __future__ import annotations

from epmjobs.errors import ApplicationInAdminMode, PermissionDenied
from epmjobs.jobs.model import Job
from epmjobs.security.roles import Grant, Principal, Role
from epmjobs.security.rule_access import RULE_TYPES, may_launch


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied(
            f"User {principal.username} does not have the Service Administrator role "
            "required for this operation."
        )


def require_application_open(principal: Principal, application: str, admin_mode: bool) -> None:
    if admin_mode and not principal.is_admin:
        raise ApplicationInAdminMode(
            f"The application {application} is in administration mode: only "
            "administrators can use it now."
        )


def require_may_submit(principal: Principal) -> None:
    """The role gate before a submission is even read: Users and Viewers launch nothing."""
    if principal.role not in (Role.SERVICE_ADMINISTRATOR, Role.POWER_USER):
        raise PermissionDenied(f"User {principal.username} is not allowed to launch jobs.")


def require_submit(principal: Principal, job_type: str, application: str = "",
                   job_name: str | None = None) -> None:
    """Service Administrators launch every job; Power Users the rules and rulesets they
    hold a launch grant for."""
    if may_launch(principal, application, job_type, job_name):
        return
    if principal.role is Role.POWER_USER and job_type in RULE_TYPES and job_name:
        kind = "rule" if job_type == "RULES" else "ruleset"
        raise PermissionDenied(f"User {principal.username} has no launch access to the "
                               f"{kind} {job_name}.")
    raise PermissionDenied(
        f"User {principal.username} is not allowed to launch {job_type} jobs."
    )


def require_job_access(principal: Principal, job: Job) -> None:
    if not (principal.is_admin or job.submitted_by == principal.username):
        raise PermissionDenied(
            f"User {principal.username} is not allowed to view job {job.job_id}."
        )


def require_file_access(principal: Principal) -> None:
    """The interop file API: Service Administrators, or the Migrations - Administer grant."""
    if not (principal.is_admin or Grant.MIGRATIONS_ADMINISTER in principal.grants):
        raise PermissionDenied(
            f"User {principal.username} needs the Service Administrator role or the "
            f"{Grant.MIGRATIONS_ADMINISTER.value} grant to transfer files."
        )
