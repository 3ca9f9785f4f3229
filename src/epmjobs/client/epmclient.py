"""EpmClient: one object for Oracle EPM Planning's jobs API and its file API."""

from __future__ import annotations

from epmjobs.client.files import FilesMixin
from epmjobs.client.jobs import JobsMixin


class EpmClient(JobsMixin, FilesMixin):
    """A synchronous client of Oracle EPM Cloud Planning, or of an epmjobs server.

    >>> client = EpmClient("https://epm-acme.epm.us-phoenix-1.ocs.oraclecloud.com",
    ...                    auth=("acme.jdoe", "secret"))                  # doctest: +SKIP

    ``auth`` is ``(user, password)`` for HTTP Basic (``user`` or ``identitydomain.user``),
    :class:`BearerToken` for OAuth 2 / epmjobs tokens, or any ``httpx.Auth``.
    ``api_version`` is the Planning version (``v3``; None discovers the latest).
    ``timeout`` bounds each HTTP request (not a job: see ``run_job(timeout=…)``).
    ``transport`` is an ``httpx`` transport: ``httpx.MockTransport`` for offline tests.
    ``retry`` and ``poll`` tune the retries and the polling backoff; ``sleep`` and
    ``clock`` are the time functions the client waits with (seams for tests).

    Use it as a context manager, or call :meth:`close`.
    """
