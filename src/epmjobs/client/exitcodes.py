"""The CLI's exit codes: stable, documented, EPM Automate's where it has one.

EPM Automate groups its failures under a few codes: 1 (the command failed), 6 (service
unavailable; since 2026 also HTTP 404 "Invalid URL"), 7 (command usage), 9 (invalid
credentials; since 2026 also HTTP 403 "Access denied") and 11 (internal server error).
epmjobs keeps those meanings and adds codes of its own only for outcomes EPM Automate
does not tell apart (a cancelled job, a wait that timed out, an unreachable server).

Never renumber: scripts depend on these.
"""

from __future__ import annotations

from enum import IntEnum

from epmjobs.client import errors as e
from epmjobs.client.models import JobResult, Status, is_running


class ExitCode(IntEnum):
    SUCCESS = 0  # the command worked; a waited-for job completed (status 0)
    FAILED = 1  # a job ended in error (1, 4, unknown) or was refused; a file op failed
    CANCELLED = 3  # the job ended cancelled (status 3)                            [epmjobs]
    TIMEOUT = 4  # --timeout passed before the job ended                            [epmjobs]
    UNREACHABLE = 5  # no answer: connection refused, DNS, TLS, request timeout     [epmjobs]
    NOT_FOUND = 6  # HTTP 404 / 502-504, or an answer that is not Oracle's API (wrong URL)
    USAGE = 7  # bad command line, or not logged in
    ACCESS_DENIED = 9  # HTTP 401 (credentials) or 403 (role)
    SERVER_ERROR = 11  # HTTP 500 or another unexpected status
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell convention)


MEANINGS: dict[ExitCode, str] = {
    ExitCode.SUCCESS: "Success; a job that was waited for completed (status 0).",
    ExitCode.FAILED: "The job ended with Error (1), Invalid Parameter (4) or Unknown; or the "
                     "server refused the request (HTTP 400, e.g. an unknown job or job type); "
                     "or a file operation failed (the file API's status > 0).",
    ExitCode.CANCELLED: "The job ended Cancelled (3).",
    ExitCode.TIMEOUT: "--timeout passed before the job ended (it keeps running unless "
                      "--cancel-on-timeout).",
    ExitCode.UNREACHABLE: "The server could not be reached or did not answer in time.",
    ExitCode.NOT_FOUND: "Invalid URL or not found (HTTP 404: application, job, file path); "
                        "service unavailable (HTTP 502-504 after retries); an epmjobs "
                        "extension asked of Oracle; or the answer was not Oracle's API "
                        "(e.g. an HTML page from a proxy).",
    ExitCode.USAGE: "Command-line usage error, or no login profile.",
    ExitCode.ACCESS_DENIED: "Invalid credentials (HTTP 401) or access denied (HTTP 403).",
    ExitCode.SERVER_ERROR: "Internal server error (HTTP 500) or another unexpected status.",
    ExitCode.INTERRUPTED: "Interrupted with Ctrl-C.",
}

_BY_ERROR: list[tuple[type[e.EpmError], ExitCode]] = [
    (e.JobTimeout, ExitCode.TIMEOUT),
    (e.JobCancelled, ExitCode.CANCELLED),
    (e.JobFailed, ExitCode.FAILED),
    (e.BadRequest, ExitCode.FAILED),
    (e.FileOperationFailed, ExitCode.FAILED),
    (e.AuthenticationFailed, ExitCode.ACCESS_DENIED),
    (e.AccessDenied, ExitCode.ACCESS_DENIED),
    (e.NotFound, ExitCode.NOT_FOUND),
    (e.ServiceUnavailable, ExitCode.NOT_FOUND),
    (e.ExtensionUnavailable, ExitCode.NOT_FOUND),
    (e.UnexpectedResponse, ExitCode.NOT_FOUND),
    (e.ConnectionFailed, ExitCode.UNREACHABLE),
    (e.ProfileError, ExitCode.USAGE),
    (e.ServerError, ExitCode.SERVER_ERROR),
]


def for_error(exc: BaseException) -> ExitCode:
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    for cls, code in _BY_ERROR:
        if isinstance(exc, cls):
            return code
    return ExitCode.FAILED


def for_job(result: JobResult) -> ExitCode:
    """The exit code for a job's final record."""
    if result.ok or is_running(result.status):
        return ExitCode.SUCCESS
    if result.status == Status.CANCELLED:
        return ExitCode.CANCELLED
    return ExitCode.FAILED
