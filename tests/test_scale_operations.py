"""Operations: health and readiness for load balancers, Prometheus metrics, JSON logs."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from conftest import ADMIN
from epmjobs.api.app import create_app
from epmjobs.jobs.runner import Worker
from epmjobs.logs import JsonFormatter, TextFormatter, job_id_of
from epmjobs.settings import Settings
from epmjobs.system import System

JOBS = "/HyperionPlanning/rest/v3/applications/Vision/jobs"
ADMIN_MODE = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}


@pytest.fixture
def api(any_system: System) -> Iterator[TestClient]:
    with TestClient(create_app(any_system), base_url="http://epm.test") as client:
        yield client


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def test_health_and_readiness_answer_without_credentials(api: TestClient) -> None:
    assert api.get("/epmjobs/v1/health").json() == {"status": "ok"}
    ready = api.get("/epmjobs/v1/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "files": "ok"}}


class _Unreachable:
    def check(self) -> None:
        raise ConnectionError("no route to the bucket")


def test_readiness_fails_with_the_check_that_failed(any_system: System) -> None:
    any_system.stores = dataclasses.replace(any_system.stores, files=_Unreachable())  # type: ignore[arg-type]
    with TestClient(create_app(any_system), base_url="http://epm.test") as client:
        ready = client.get("/epmjobs/v1/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "files": "failed: ConnectionError"}


def test_metrics_count_jobs_by_type_and_status_with_run_times_and_depth(
        api: TestClient, any_system: System) -> None:
    from epmjobs.api.routes.operations import PROCESS_REGISTRY

    polled_before = PROCESS_REGISTRY.get_sample_value("epmjobs_poll_seconds_count") or 0
    for _ in range(3):
        assert api.post(JOBS, json=ADMIN_MODE, auth=ADMIN).status_code == 201
    drain(any_system)
    waiting = api.post(JOBS, json=ADMIN_MODE, auth=ADMIN).json()["jobId"]
    for _ in range(5):
        assert api.get(f"{JOBS}/{waiting}", auth=ADMIN).status_code == 200
    fresh = samples(api)  # the first scrape: nothing cached yet
    kind = (("job_type", "ADMINISTRATION_MODE"),)
    assert fresh[("epmjobs_jobs", (*kind, ("status", "success")))] == 3
    assert fresh[("epmjobs_jobs", (*kind, ("status", "running")))] == 1
    assert fresh[("epmjobs_job_run_seconds_count", kind)] == 3
    assert fresh[("epmjobs_job_run_seconds_bucket", (*kind, ("le", "+Inf")))] == 3
    assert fresh[("epmjobs_job_run_seconds_bucket", (*kind, ("le", "3600.0")))] == 3
    runner = any_system.settings.resolved_runner
    queue = "embedded" if runner == "embedded" else "short"
    assert fresh[("epmjobs_queue_depth", (("queue", queue), ("state", "queued")))] == 1
    assert fresh[("epmjobs_poll_seconds_count", ())] - polled_before == 5


def drain(system: System) -> None:
    """Run what is queued, with the runner the installation dispatches to."""
    if system.settings.resolved_runner == "procrastinate":
        from epmjobs.jobs.distributed.worker import run

        run(system, {"short": 1}, "drain", burst=True)
    else:
        Worker(system, "drain").drain()


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("epmjobs.worker", logging.WARNING, __file__, 1,
                               "job %s was taken", (7,), None)
    record.__dict__.update(extra)
    return record


def test_json_logs_carry_the_job_id_from_ours_and_procrastinates_records() -> None:
    ours = json.loads(JsonFormatter().format(_record(job_id=7)))
    assert ours["job_id"] == 7 and ours["level"] == "warning"
    assert ours["message"] == "job 7 was taken" and ours["logger"] == "epmjobs.worker"
    queue = _record(action="job_success", job={"id": 99, "task_kwargs": {"job_id": 42}},
                    worker={"name": "w1-short"})
    line = json.loads(JsonFormatter().format(queue))
    assert (line["job_id"], line["action"], line["worker"]) == (42, "job_success", "w1-short")
    assert job_id_of(_record()) is None
    assert TextFormatter().format(queue).endswith("[job 42]")


def test_configure_switches_the_format_and_refuses_unknown_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from epmjobs.logs import configure

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    configure(Settings(log_format="json"))
    handler = next(h for h in root.handlers if getattr(h, "_epmjobs", False))
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)
    logging.getLogger("epmjobs.test").info("hello", extra={"job_id": 5})
    assert json.loads(stream.getvalue())["job_id"] == 5
    with pytest.raises(ValueError, match="text or json"):
        configure(Settings(log_format="xml"))
