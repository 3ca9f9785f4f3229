"""The one exception tree of epmjobs.

Every error the server can answer with is one of these. Each class says what went
wrong in domain terms; how that looks on the wire (HTTP code, Oracle body shape) is
decided in exactly one place, ``epmjobs.api.errors``.

    EpmJobsError
    ├── NotFound                    an application, job, definition, user... does not exist
    │   └── JobNotFound             ...a job id in particular (its HTTP code is configurable)
    ├── InvalidRequest              the request itself is malformed (bad JSON, bad query)
    │   ├── PayloadTooLarge         ...a body over the configured size
    │   ├── OutlineError            ...an outline operation or definition is invalid
    │   ├── MetadataFileError       ...a metadata file cannot be loaded at all
    │   ├── MemberSelectionError    ...a member selection names unknown members/functions
    │   ├── DataFileError           ...a data file cannot be loaded at all
    │   └── CalcScriptError         ...a calc script does not parse or cannot run (position)
    ├── JobRejected                 a job submission was refused before it got an id
    │   └── InvalidJobParameter     ...because a parameter value is invalid (Oracle status 4)
    ├── AuthenticationFailed        no or wrong credentials
    ├── PermissionDenied            authenticated, but the role does not allow it
    │   └── ApplicationInAdminMode  the application is open to administrators only
    ├── Conflict                    the thing exists already / state forbids the change
    ├── SchemaMismatch              the database schema is not the one this code knows
    └── JobFailed                   raised inside a job: ends the job with status 1
        └── JobCancelled            raised inside a job when a cancel was requested
"""

from __future__ import annotations


class EpmJobsError(Exception):
    """Root of every error epmjobs raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EpmJobsError):
    """The named thing does not exist (or the caller may not know it does)."""


class JobNotFound(NotFound):
    """No job has this id (in this application)."""


class InvalidRequest(EpmJobsError):
    """The request is malformed: bad JSON, a bad query parameter, a bad path value."""


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than the server accepts."""


class JobRejected(EpmJobsError):
    """A job submission was refused; no job id was assigned."""

    def __init__(self, message: str, job_name: str | None = None) -> None:
        super().__init__(message)
        self.job_name = job_name


class InvalidJobParameter(JobRejected):
    """A job parameter is missing or has a value the job type does not accept."""


class AuthenticationFailed(EpmJobsError):
    """No credentials, or credentials that do not match a user."""


class PermissionDenied(EpmJobsError):
    """The caller is known but its role does not allow the operation."""


class ApplicationInAdminMode(PermissionDenied):
    """The application's login level is Administrators and the caller is not one."""


class Conflict(EpmJobsError):
    """The operation conflicts with existing state (e.g. a name already taken)."""


class SchemaMismatch(EpmJobsError):
    """The database schema is older or newer than this version of epmjobs knows."""


class JobFailed(EpmJobsError):
    """Raised by a job handler: the job ends with status 1 and this message as details."""


class JobCancelled(JobFailed):
    """Raised by a job handler when it notices that a cancel was requested."""


class OutlineError(InvalidRequest):
    """An outline operation or definition is invalid (unknown dimension or member, a bad
    application definition, SORT_MEMBERS on a dimension that cannot be sorted, ...)."""


class MetadataFileError(InvalidRequest):
    """A metadata load file cannot be loaded at all (encoding, empty file, header): the whole
    file fails, as opposed to a single rejected record."""


class MemberSelectionError(InvalidRequest):
    """A member selection (``Descendants(Total Entity), &CurYr``) names a member the cube
    does not have, a function we do not know, or is malformed."""


class DataFileError(InvalidRequest):
    """A data file cannot be loaded at all (encoding, missing header columns, wrong
    delimiter, a cube that does not exist): the whole file fails, no cell changes."""


class CalcScriptError(InvalidRequest):
    """A calc script (or member formula) does not parse, names something unknown, or fails
    while it runs. ``line``/``column`` (1-based) locate the problem when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None and column is not None \
            else (f"line {line}: " if line is not None else "")
        super().__init__(where + message)
        self.reason = message
        self.line = line
        self.column = column
