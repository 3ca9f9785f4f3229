"""The jobs service: what the API asks for, with the access rules applied.

Submit validates everything before a job gets an id (type, definition, parameters) and
then inserts the job in one transaction; from that moment the job is -1 and queued.

When the test double's control API is on, ``control`` holds its job rules: a scripted
outcome is applied in the submission's transaction, and the status reads show what the
progression rules let them (``jobs/progression.py``). Off, it is None and costs one test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from epmjobs.errors import (
    InvalidJobParameter,
    InvalidRequest,
    JobNotFound,
    JobRejected,
    NotFound,
)
from epmjobs.jobs.control import JobControl
from epmjobs.jobs.definitions import JobDefinition, parse_definition
from epmjobs.jobs.model import ChildJob, Job, JobMessage, MessageType, Page
from epmjobs.jobs.parameters import shown
from epmjobs.jobs.progression import Verdict, held_view
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import implementation, lookup
from epmjobs.planning.application import Application
from epmjobs.security import policy
from epmjobs.security.roles import Principal
from epmjobs.storage.appstore import AppRef
from epmjobs.storage.jobstore import JobFilter
from epmjobs.system import System

NOT_FOUND_TEXT = "A job with specified name and type was not found"
_WAIT_STEP = 0.02
_WAIT_FIRST_STEP = 0.002
RELEASE_WAIT_SECONDS = 30.0  # the longest a released poll waits for its job's real end


@dataclass(frozen=True)
class Submission:
    job_type: str | None
    job_name: str | None
    parameters: dict[str, Any]

    @classmethod
    def from_body(cls, body: Any) -> Submission:
        if not isinstance(body, dict):
            raise JobRejected("The request body must be a JSON object.")
        job_type, job_name, params = body.get("jobType"), body.get("jobName"), body.get(
            "parameters")
        if job_type is not None and not isinstance(job_type, str):
            raise JobRejected("jobType must be a string.")
        if job_name is not None and not isinstance(job_name, str):
            raise JobRejected("jobName must be a string.")
        if job_name is not None and (len(job_name) > 200 or any(ord(c) < 32 for c in job_name)):
            raise JobRejected("jobName must have at most 200 characters and no control "
                              "characters.")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise InvalidJobParameter("parameters must be a JSON object.", job_name)
        return cls(job_type, job_name.strip() if job_name else None, params)


@dataclass(frozen=True)
class JobDetails:
    """A job's details: per-child summaries when it has children, else its messages."""

    job: Job
    children: Page[ChildJob] | None
    messages: Page[JobMessage] | None


class JobService:
    def __init__(self, system: System) -> None:
        self.system = system
        self.jobs = system.stores.jobs
        self.apps = system.stores.apps
        self.control: JobControl | None = None  # set by create_app(control_api=True)

    # -- applications --------------------------------------------------------------

    def applications(self, principal: Principal) -> list[Application]:
        return self.apps.all()

    def application(self, principal: Principal, name: str) -> Application:
        app = self.apps.get(name)
        if app is None:
            raise NotFound(f"The application {shown(name)} does not exist.")
        policy.require_application_open(principal, app.name, app.admin_mode)
        return app

    def _open(self, principal: Principal, name: str) -> int:
        """The application's id, after the cheap existence and login-level check."""
        return self._ref(principal, name).application_id

    def _ref(self, principal: Principal, name: str) -> AppRef:
        ref = self.apps.ref(name)
        if ref is None:
            raise NotFound(f"The application {shown(name)} does not exist.")
        policy.require_application_open(principal, ref.name, ref.admin_mode)
        return ref

    # -- the job library -------------------------------------------------------------

    def definitions(self, principal: Principal, app_name: str,
                    job_type: str | None) -> tuple[Application, list[JobDefinition]]:
        """Saved definitions, optionally of one type (an unknown type matches none)."""
        policy.require_admin(principal)
        app = self.application(principal, app_name)
        if job_type is None:
            return app, self.apps.definitions(app.application_id)
        spec = lookup(job_type)
        if spec is None:
            return app, []
        return app, self.apps.definitions(app.application_id, (spec.name,))

    def put_definition(self, principal: Principal, app_name: str,
                       raw: dict[str, Any]) -> JobDefinition:
        policy.require_admin(principal)
        app = self.application(principal, app_name)
        definition = parse_definition(raw, list(app.cubes))
        with self.system.db.transaction() as conn:
            self.apps.put_definition(conn, app.application_id, definition, time.time())
        return definition

    def delete_definition(self, principal: Principal, app_name: str, job_type: str,
                          job_name: str) -> None:
        policy.require_admin(principal)
        app = self.application(principal, app_name)
        spec = lookup(job_type)
        with self.system.db.transaction() as conn:
            deleted = spec is not None and self.apps.delete_definition(
                conn, app.application_id, spec.name, job_name)
        if not deleted:
            raise NotFound(NOT_FOUND_TEXT)

    # -- submit -----------------------------------------------------------------------

    def check_may_submit(self, principal: Principal) -> None:
        """Refuse roles that may launch nothing before their request body is even read."""
        policy.require_may_submit(principal)

    def submit(self, principal: Principal, app_name: str, submission: Submission) -> Job:
        app = self._ref(principal, app_name)
        if not submission.job_type:
            raise JobRejected("jobType is required.", submission.job_name)
        spec = lookup(submission.job_type)
        if spec is None:
            raise JobRejected(f"Invalid job type: {shown(submission.job_type)}.",
                              submission.job_name)
        policy.require_submit(principal, spec.name, app.name, submission.job_name)
        impl = implementation(spec)
        if impl is None:
            raise JobRejected(
                f"The job type {spec.name} is not supported by this epmjobs server yet.",
                submission.job_name)
        job_name, base_params = submission.job_name, {}
        definition = self.apps.definition(app.application_id, spec.name, job_name) \
            if job_name else None
        if spec.needs_definition:
            if not job_name:
                raise JobRejected(f"jobName is required for job type {spec.name}.")
            if definition is None:
                raise JobRejected(NOT_FOUND_TEXT, job_name)
        elif not job_name:
            job_name = spec.default_job_name
        if definition is not None:  # also a saved job of a type that can run ad hoc
            job_name, base_params = definition.job_name, definition.parameters
        try:
            params = impl.validate({**base_params, **submission.parameters})
        except InvalidJobParameter as exc:
            raise InvalidJobParameter(exc.message, job_name) from exc
        control, now = self.control, time.time()
        outcome = None if control is None else control.take_outcome(app.name, spec.name,
                                                                     job_name)
        lock_key = spec.lock_key(app.application_id)
        with self.system.db.transaction() as conn:
            job_id = self.jobs.insert(conn, application_id=app.application_id,
                                      job_type=spec.name, job_name=job_name, parameters=params,
                                      submitted_by=principal.username, now=now,
                                      lock_key=lock_key)
            if outcome is not None and outcome.ends_at_submission:
                assert control is not None
                control.end_at_submission(conn, job_id, outcome, now)
            else:
                self.system.dispatcher.dispatch(conn, job_id, spec.name, lock_key)
        if control is not None:
            control.progression.bind(job_id, app.name, spec.name, job_name)
        if outcome is None or not outcome.ends_at_submission:
            self.system.dispatcher.wake()
        return Job(job_id, app.name, spec.name, job_name, params, JobStatus.RUNNING, None,
                   principal.username, now, None, None, 0)

    # -- follow ----------------------------------------------------------------------

    def get(self, principal: Principal, app_name: str | None, job_id: int) -> Job:
        """A job by id; with ``app_name`` it must belong to that application."""
        job = self.jobs.get(job_id)
        if job is None or (app_name is not None and job.application.casefold()
                           != app_name.strip().casefold()):
            if app_name is not None:
                self._open(principal, app_name)
            raise JobNotFound(f"The job {job_id} does not exist.")
        if not principal.is_admin:
            policy.require_job_access(principal, job)
            self._open(principal, job.application)
        if self.control is not None:
            return self.control.progression.visible(job)
        return job

    async def poll(self, principal: Principal, app_name: str, job_id: int) -> Job:
        """Oracle's status poll under the control API: ``get``, counted by the progression
        rules; a poll that releases a job waits (bounded) for its real end."""
        job = self.get(principal, app_name, job_id)
        control = self.control
        if control is None:
            return job
        verdict = control.progression.on_poll(job_id)
        if verdict is Verdict.PASS:
            return job
        job = self.jobs.get(job_id) or job  # as it really is, not as held
        if verdict is Verdict.HOLD:
            return held_view(job)
        if not job.is_terminal:
            bound = min(RELEASE_WAIT_SECONDS, self.system.settings.wait_max_seconds)
            job = await self._until_ended(job, bound)
        if job.is_terminal:
            control.progression.ended(job_id)
        return job

    async def _until_ended(self, job: Job, timeout: float) -> Job:
        deadline = time.monotonic() + timeout
        step = _WAIT_FIRST_STEP
        while not job.is_terminal and time.monotonic() < deadline:
            await asyncio.sleep(min(step, max(0.0, deadline - time.monotonic())))
            step = min(step * 1.5, _WAIT_STEP)
            job = self.jobs.get(job.job_id) or job
        return job

    def details(self, principal: Principal, app_name: str, job_id: int,
                types: list[MessageType], offset: int, limit: int | None) -> JobDetails:
        job = self.get(principal, app_name, job_id)
        children = self.jobs.children(job_id, offset, limit)
        if children.total:
            return JobDetails(job, children, None)
        return JobDetails(job, None, self.jobs.messages(job_id, 0, types, offset, limit))

    def child_details(self, principal: Principal, app_name: str, job_id: int, child_id: int,
                      types: list[MessageType], offset: int,
                      limit: int | None) -> JobDetails:
        job = self.get(principal, app_name, job_id)
        if not self.jobs.child_exists(job_id, child_id):
            raise NotFound(f"The child job {child_id} of job {job_id} does not exist.")
        return JobDetails(job, None, self.jobs.messages(job_id, child_id, types, offset, limit))

    def list(self, principal: Principal, app_name: str | None, job_types: list[str],
             statuses: list[int], since: float | None, offset: int, limit: int) -> Page[Job]:
        app_id = self._open(principal, app_name) if app_name else None
        canonical = []
        for text in job_types:
            spec = lookup(text)
            if spec is None:
                raise InvalidRequest(f"Invalid job type: {shown(text)}.")
            canonical.append(spec.name)
        flt = JobFilter(application_id=app_id, job_types=tuple(canonical),
                        statuses=tuple(statuses), since=since,
                        submitted_by=None if principal.is_admin else principal.username)
        page = self.jobs.search(flt, offset, limit)
        control = self.control
        if control is None:
            return page
        return dataclasses.replace(page, items=[control.progression.visible(j)
                                                for j in page.items])

    def cancel(self, principal: Principal, job_id: int) -> Job:
        self.get(principal, None, job_id)
        if self.jobs.request_cancel(job_id, time.time()) is not None:
            self.system.dispatcher.cancel(job_id)
        return self.get(principal, None, job_id)

    async def wait(self, principal: Principal, job_id: int, timeout: float) -> Job:
        """The job once it has ended, or as it is when ``timeout`` seconds have passed."""
        deadline = time.monotonic() + max(0.0, min(timeout, self.system.settings.wait_max_seconds))
        job = self.get(principal, None, job_id)
        step = _WAIT_FIRST_STEP  # short jobs end within milliseconds: look often at first
        while not job.is_terminal and time.monotonic() < deadline:
            await asyncio.sleep(min(step, max(0.0, deadline - time.monotonic())))
            step = min(step * 1.5, _WAIT_STEP)
            job = self.get(principal, None, job_id)
        return job
