"""The jobs part of the client: submit, run and wait, status, details, definitions.

Everything here speaks Oracle's Planning jobs API (reference §2), except the methods
marked *extension*, which use epmjobs' ``/epmjobs/v1`` and raise
:class:`ExtensionUnavailable` against a server without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from epmjobs.client.base import ClientBase, items_of
from epmjobs.client.errors import JobRejected, UnexpectedResponse
from epmjobs.client.handle import JobHandle, OnPoll
from epmjobs.client.models import ExtendedJob, JobDefinition, JobDetail, JobResult

_MAX_EXTENSION_PAGE = 1000


def _q(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), separators=(",", ":"))


class JobsMixin(ClientBase):
    """Jobs: the methods of :class:`EpmClient` that submit, follow and inspect jobs."""

    def job_definitions(self, app: str, job_type: str | None = None) -> list[JobDefinition]:
        """The application's saved job definitions, optionally of one job type."""
        params = {"q": _q({"jobType": job_type})} if job_type else None
        data = self.http.json("GET", self.app_url(app, "/jobdefinitions"), params=params)
        return [JobDefinition.from_json(i) for i in items_of(data, "job definition list")]

    def submit(self, app: str, job_type: str, job_name: str | None = None,
               parameters: Mapping[str, Any] | None = None) -> JobHandle:
        """Start a job and return its handle at once (``POST …/jobs``).

        Raises :class:`JobRejected` when the server refuses it (no job was started).
        """
        body: dict[str, Any] = {"jobType": job_type}
        if job_name is not None:
            body["jobName"] = job_name
        if parameters:
            body["parameters"] = dict(parameters)
        data = self.http.json("POST", self.app_url(app, "/jobs"), json=body)
        record = JobResult.from_json(data)
        if record.job_id == -1:  # a refusal sent with a success code
            raise JobRejected(record.details or "The job was not started.", 200, data,
                              job_status=record.status, job_name=record.job_name)
        return JobHandle(self, app, record)

    def run_job(self, app: str, job_type: str, job_name: str | None = None,
                parameters: Mapping[str, Any] | None = None, *, timeout: float | None = None,
                cancel_on_timeout: bool = False, on_poll: OnPoll | None = None) -> JobResult:
        """Submit a job, wait for it to end, and return its final record.

        A job that ends in error is *returned* (``result.ok`` is False); call
        ``result.raise_for_status()`` to turn it into :class:`JobFailed`. See
        :meth:`JobHandle.wait` for ``timeout`` and ``cancel_on_timeout``.
        """
        handle = self.submit(app, job_type, job_name, parameters)
        return handle.wait(timeout, cancel_on_timeout=cancel_on_timeout, on_poll=on_poll)

    def job_status(self, app: str, job_id: int, *, href: str | None = None) -> JobResult:
        """One status poll of a job (``GET …/jobs/{id}``, or the ``self`` link ``href``)."""
        url = self.http.url(href) if href else self.app_url(app, f"/jobs/{int(job_id)}")
        return JobResult.from_json(self.http.json("GET", url))

    def attach(self, app: str, job_id: int) -> JobHandle:
        """A handle on a job submitted earlier (by anyone), to wait for or cancel it."""
        return JobHandle(self, app, self.job_status(app, job_id))

    def job_details(self, app: str, job_id: int, *, message_type: str | None = None,
                    page_size: int = 100) -> Iterator[JobDetail]:
        """Every item of a job's details, page after page (``…/jobs/{id}/details``).

        ``message_type``: ``ERROR``, ``WARNING`` or ``INFO`` (a comma list works on
        epmjobs). Items are messages, or per-dimension summaries for a load with children.
        """
        return self._paged(self.app_url(app, f"/jobs/{int(job_id)}/details"), message_type,
                           page_size)

    def child_job_details(self, app: str, job_id: int, child_id: int, *,
                          message_type: str | None = None,
                          page_size: int = 100) -> Iterator[JobDetail]:
        """The messages of one child job of a metadata or data load."""
        return self._paged(
            self.app_url(app, f"/jobs/{int(job_id)}/childjobs/{int(child_id)}/details"),
            message_type, page_size)

    def _paged(self, url: str, message_type: str | None, page_size: int,
               ) -> Iterator[JobDetail]:
        params: dict[str, str] | None = {"offset": "0", "limit": str(page_size)}
        if message_type and params is not None:
            params["q"] = _q({"messageType": message_type})
        seen: set[str] = set()
        offset = 0
        while True:
            data = self.http.json("GET", url, params=params)
            items = items_of(data, "details page")
            yield from (JobDetail.from_json(i) for i in items)
            nxt = next((x.get("href") for x in data.get("links") or ()
                        if isinstance(x, dict) and x.get("rel") == "next"), None)
            if not items or (not data.get("hasMore") and nxt is None):
                return
            offset += len(items)
            if isinstance(nxt, str) and nxt not in seen:
                seen.add(nxt)
                url, params = self.http.url(nxt), None
            elif params is not None and data.get("hasMore"):
                params = {**params, "offset": str(offset)}
            else:
                raise UnexpectedResponse(f"The details of {url} say hasMore but give no "
                                         "usable next page.")

    # -- epmjobs extensions ----------------------------------------------------------------

    def list_jobs(self, *, app: str | None = None, job_types: Iterable[str] = (),
                  statuses: Iterable[int] = (), since: datetime | float | None = None,
                  limit: int = 25) -> list[ExtendedJob]:
        """The newest jobs first, filtered (*extension*: ``GET /epmjobs/v1/jobs``)."""
        params: dict[str, str] = {}
        if app:
            params["application"] = app
        if types := ",".join(job_types):
            params["jobType"] = types
        if codes := ",".join(str(int(s)) for s in statuses):
            params["status"] = codes
        if since is not None:
            params["since"] = since.isoformat() if isinstance(since, datetime) else str(since)
        found: list[ExtendedJob] = []
        while len(found) < limit:
            page = min(_MAX_EXTENSION_PAGE, limit - len(found))
            data = self.extension("GET", "/jobs", "Listing jobs", params={
                **params, "offset": str(len(found)), "limit": str(page)})
            found.extend(ExtendedJob.from_json(i) for i in items_of(data, "job list"))
            if not data.get("hasMore"):
                break
        return found

    def extended_job(self, job_id: int) -> ExtendedJob:
        """One job with its application, type, parameters and times (*extension*)."""
        return ExtendedJob.from_json(
            self.extension("GET", f"/jobs/{int(job_id)}", "The extended job record"))

    def cancel_job(self, job_id: int) -> ExtendedJob:
        """Ask to cancel a job (*extension*): queued → 3 at once; running → 2, then 3."""
        return ExtendedJob.from_json(
            self.extension("POST", f"/jobs/{int(job_id)}/cancel", "Cancelling a job"))
