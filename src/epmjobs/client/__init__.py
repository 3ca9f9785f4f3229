"""A client of Oracle EPM Cloud Planning's jobs and file REST APIs (and of epmjobs).

Needs only ``httpx``: importing it loads none of the server's dependencies.

    from epmjobs.client import EpmClient

    with EpmClient("https://epm-acme.epm.us-phoenix-1.ocs.oraclecloud.com",
                   auth=("acme.jdoe", "secret")) as epm:
        result = epm.run_job("Vision", "RULES", "Aggregate", {"Scenario": "Plan"},
                             timeout=1800)
        print(result.job_id, result.descriptive_status, result.details)

See ``docs/client.md``. Errors form one tree rooted in :class:`EpmError`
(``epmjobs.client.errors``).
"""

from epmjobs.client.epmclient import EpmClient
from epmjobs.client.errors import (
    AccessDenied,
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    EpmError,
    ExtensionUnavailable,
    FileOperationFailed,
    HTTPError,
    JobCancelled,
    JobError,
    JobFailed,
    JobRejected,
    JobTimeout,
    NotFound,
    ProfileError,
    ServerError,
    ServiceUnavailable,
    UnexpectedResponse,
)
from epmjobs.client.files import CHUNK_BYTES
from epmjobs.client.handle import JobHandle, PollPolicy
from epmjobs.client.http import BearerToken, RetryPolicy, basic_auth
from epmjobs.client.models import (
    ApiVersion,
    Application,
    ExtendedJob,
    JobDefinition,
    JobDetail,
    JobResult,
    RemoteFile,
    Status,
)
from epmjobs.client.parallel import JobSpec, Outcome, run_parallel

__all__ = [
    "CHUNK_BYTES",
    "AccessDenied",
    "ApiVersion",
    "Application",
    "AuthenticationFailed",
    "BadRequest",
    "BearerToken",
    "ConnectionFailed",
    "EpmClient",
    "EpmError",
    "ExtendedJob",
    "ExtensionUnavailable",
    "FileOperationFailed",
    "HTTPError",
    "JobCancelled",
    "JobDefinition",
    "JobDetail",
    "JobError",
    "JobFailed",
    "JobHandle",
    "JobRejected",
    "JobResult",
    "JobSpec",
    "JobTimeout",
    "NotFound",
    "Outcome",
    "PollPolicy",
    "ProfileError",
    "RemoteFile",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "Status",
    "UnexpectedResponse",
    "basic_auth",
    "run_parallel",
]
