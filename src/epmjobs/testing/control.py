"""The test double's control operations, in Python, on one installation.

``create_app(system, control_api=True)`` makes one :class:`Control` and serves it under
``/epmjobs/v1/control`` (``api/routes/control.py``); the plugin's fixtures and
:class:`~epmjobs.testing.client.ControlClient` reach it through that API, in process or
over a socket alike. Every operation is for Service Administrators.

Rules, scripted outcomes, faults and the recording live in this object, that is in the
API process: run a server whose control API is on with one API process.
"""

from __future__ import annotations

from typing import Any

from epmjobs.errors import Conflict
from epmjobs.jobs.control import JobControl, ScriptedOutcome
from epmjobs.jobs.model import Job
from epmjobs.jobs.progression import ProgressionRule
from epmjobs.security import policy
from epmjobs.security.roles import Principal
from epmjobs.system import System
from epmjobs.testing.faults import Fault, Faults
from epmjobs.testing.recorder import Recorder
from epmjobs.testing.state import SnapshotInfo, StateKeeper


class Control:
    def __init__(self, system: System) -> None:
        self.system = system
        self.jobs = JobControl(system.stores.jobs)
        self.faults = Faults()
        self.recorder = Recorder()
        self.state = StateKeeper(system)

    def attach(self) -> None:
        """Make the job service apply this control's job rules."""
        self.system.job_service.control = self.jobs

    def check(self, principal: Principal) -> None:
        policy.require_admin(principal)

    def clear(self) -> None:
        """No rules, no scripted outcomes, no faults, the recorder off and empty."""
        self.jobs.clear()
        self.faults.clear()
        self.recorder.clear()

    # -- the stored state ----------------------------------------------------------------

    def reset(self, applications: list[Any]) -> list[str]:
        """Everything back to nothing (users stay), then these applications."""
        self.clear()
        return self.state.reset(applications)

    def snapshot(self, name: str) -> SnapshotInfo:
        return self.state.snapshot(name)

    def restore(self, name: str) -> None:
        self.clear()
        self.state.restore(name)

    # -- jobs --------------------------------------------------------------------------

    def progress(self, rule: ProgressionRule) -> None:
        self.jobs.progression.add(rule)

    def script(self, outcome: ScriptedOutcome, times: int) -> None:
        self.jobs.script(outcome, times)

    def advance(self, principal: Principal, job_id: int) -> Job:
        """Let a held job's status reads show its real status from now on."""
        service = self.system.job_service
        service.get(principal, None, job_id)  # 404 for a job that does not exist
        if not self.jobs.progression.advance(job_id):
            raise Conflict(f"The job {job_id} is not held by a progression rule.")
        return service.get(principal, None, job_id)

    # -- the transport -----------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)
