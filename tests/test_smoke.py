"""The quickstart's path, end to end in process: submit, run, poll."""

from __future__ import annotations

from conftest import ADMIN
from epmjobs.jobs.runner import Worker

JOBS = "/HyperionPlanning/rest/v3/applications/Vision/jobs"


def test_administration_mode_job_runs_to_completion(client, worker: Worker) -> None:
    posted = client.post(JOBS, auth=ADMIN, json={
        "jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "Administrators"}})
    assert posted.status_code == 201
    job_id = posted.json()["jobId"]
    assert worker.drain() == 1
    polled = client.get(f"{JOBS}/{job_id}", auth=ADMIN).json()
    assert polled["status"] == 0
    assert polled["descriptiveStatus"] == "Completed"
    app = client.get("/HyperionPlanning/rest/v3/applications/Vision", auth=ADMIN).json()
    assert app["adminMode"] is True
