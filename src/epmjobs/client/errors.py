"""The client's one exception tree, built from the server's answers.

Every error the client raises on purpose is an :class:`EpmError`. Each class says what
happened in the caller's terms; the message is the server's own text (Oracle's ``detail``
or ``details``) whenever the server sent one, so it can be shown to a person as is.

    EpmError                        anything the client raises on purpose
    ├── ConnectionFailed            no answer: refused, DNS, TLS, timed out (after retries)
    ├── UnexpectedResponse          an answer that is not Oracle's API: an HTML page from a
    │                               proxy, a body that is not JSON, JSON of the wrong shape
    ├── HTTPError                   the server answered with an HTTP error status
    │   ├── BadRequest              400: the request was refused
    │   │   └── JobRejected         ...a job submission: no job was started (``jobId`` -1)
    │   ├── AuthenticationFailed    401: no or wrong credentials
    │   ├── AccessDenied            403: the role (or administration mode) forbids it
    │   ├── NotFound                404: unknown application, job, version or path
    │   ├── ServiceUnavailable      502/503/504: maintenance window or gateway trouble
    │   └── ServerError             500 and any other status
    ├── ExtensionUnavailable        an epmjobs extension (cancel, list jobs) asked of a
    │                               server without it, such as Oracle's cloud
    ├── FileOperationFailed         the file API said ``status`` > 0 (over HTTP 200)
    ├── JobError                    about a job that was started
    │   ├── JobFailed               it ended with status 1, 4 or unknown
    │   ├── JobCancelled            it ended cancelled (status 3)
    │   └── JobTimeout              the wait ended before the job did
    └── ProfileError                the saved login profile is missing, unreadable or unsafe
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from epmjobs.client.models import JobResult


class EpmError(Exception):
    """Root of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionFailed(EpmError):
    """The server could not be reached, or did not answer in time."""


class UnexpectedResponse(EpmError):
    """The answer is not what Oracle's API sends (wrong URL, a proxy, a broken body)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class HTTPError(EpmError):
    """The server answered with an HTTP error status; ``message`` is its own text."""

    def __init__(self, message: str, status_code: int, body: Any = None,
                 url: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.url = url


class BadRequest(HTTPError):
    """400: the server refused the request."""


class JobRejected(BadRequest):
    """A job submission was refused before the job got an id.

    ``job_status`` is Oracle's status in the refusal: 4 (Invalid Parameter) when a
    parameter value is wrong, 1 (Error) otherwise (unknown job, unsupported type...).
    """

    def __init__(self, message: str, status_code: int, body: Any = None, url: str = "",
                 job_status: int = 1, job_name: str | None = None) -> None:
        super().__init__(message, status_code, body, url)
        self.job_status = job_status
        self.job_name = job_name


class AuthenticationFailed(HTTPError):
    """401: the credentials were missing or wrong."""


class AccessDenied(HTTPError):
    """403: the user may not do this (role, grants, or administration mode)."""


class NotFound(HTTPError):
    """404: the application, job, version or path does not exist."""


class ServiceUnavailable(HTTPError):
    """502/503/504, still so after the retries: maintenance window or gateway trouble."""


class ServerError(HTTPError):
    """500 or another unexpected HTTP status."""


class ExtensionUnavailable(EpmError):
    """An epmjobs extension was asked of a server that does not have it (Oracle's cloud)."""


class FileOperationFailed(EpmError):
    """Oracle's file API refused the operation: ``status`` > 0 with ``details``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class JobError(EpmError):
    """About a job that was started; ``job`` is its last known record."""

    def __init__(self, message: str, job: JobResult) -> None:
        super().__init__(message)
        self.job = job


class JobFailed(JobError):
    """The job ended with status 1 (Error), 4 (Invalid Parameter) or unknown."""


class JobCancelled(JobError):
    """The job ended cancelled (status 3)."""


class JobTimeout(JobError):
    """The wait ended before the job did. ``cancelled``: a cancel was requested."""

    def __init__(self, message: str, job: JobResult, cancelled: bool = False) -> None:
        super().__init__(message, job)
        self.cancelled = cancelled


class ProfileError(EpmError):
    """The saved login profile is missing, unreadable, or readable by others."""


_BY_STATUS: dict[int, type[HTTPError]] = {
    400: BadRequest, 401: AuthenticationFailed, 403: AccessDenied, 404: NotFound,
    502: ServiceUnavailable, 503: ServiceUnavailable, 504: ServiceUnavailable,
}
_GENERIC = {
    400: "The server refused the request.",
    401: "Invalid credentials: check the user name and password (or token).",
    403: "Access denied: this user may not do that.",
    404: "Not found: check the URL, the application name and the id.",
    502: "The service is unavailable (bad gateway); try again later.",
    503: "The service is unavailable (maintenance?); try again later.",
    504: "The service did not answer in time (gateway timeout); try again later.",
}


def server_message(body: Any) -> str | None:
    """Oracle's error text in a body: ``detail`` (Planning) or ``details`` (jobs, files)."""
    if not isinstance(body, dict):
        return None
    for key in ("detail", "details", "message"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def error_for(status_code: int, body: Any, url: str, text: str = "") -> HTTPError:
    """The exception for an HTTP error answer; ``body`` is its parsed JSON or None."""
    message = server_message(body)
    if message is None:
        message = _GENERIC.get(status_code, f"The server answered HTTP {status_code}.")
        if text.strip():
            snippet = " ".join(text.split())[:120]
            message += f" (HTTP {status_code} from {url}, not JSON: {snippet!r})"
    if status_code == 400 and isinstance(body, dict) and body.get("jobId") == -1:
        status = body.get("status")
        name = body.get("jobName")
        return JobRejected(message, status_code, body, url,
                           job_status=status if isinstance(status, int) else 1,
                           job_name=name if isinstance(name, str) else None)
    cls = _BY_STATUS.get(status_code, ServerError)
    return cls(message, status_code, body, url)
