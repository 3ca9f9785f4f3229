"""Jobs that change one application's outline run one at a time (Oracle serialises them);
other applications' jobs and status polls go on meanwhile.

The queue's rule (``JobStore.claim_next``): a queued job with a lock key is claimable only
when no job with that key is running and no older job with that key is queued. Pinned here
on both databases, with racing claimers, and end to end with two real worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from epmjobs.api.app import create_app
from epmjobs.appfile import create_application
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import IMPLEMENTATIONS, lookup
from epmjobs.system import System
from metadata_support import record, snapshot, submit, upload, zip_bytes

TIMEOUT = 60.0


def _app_id(system: System, name: str = "Vision") -> int:
    found = system.stores.apps.admin_mode(name)
    assert found is not None
    return found[0]


def _add_app(system: System, name: str) -> int:
    create_application(system, {"format": "epmjobs-application/1", "name": name,
                                "cubes": [{"name": "Plan1", "kind": "BSO"}]})
    return _app_id(system, name)


def _insert(system: System, key: str | None, app: str = "Vision") -> int:
    with system.db.transaction() as conn:
        return system.stores.jobs.insert(
            conn, application_id=_app_id(system, app), job_type="SORT_MEMBERS", job_name="j",
            parameters={}, submitted_by="admin", now=1.0, lock_key=key)


def _claim(system: System, worker: str = "w") -> int | None:
    job = system.stores.jobs.claim_next(worker, 2.0)
    return None if job is None else job.job_id


def _finish(system: System, job_id: int, worker: str = "w") -> None:
    with system.db.transaction() as conn:
        system.stores.jobs.finish(conn, job_id, worker, JobStatus.SUCCESS, None, 3.0)


# -- the queue's rule, on SQLite and PostgreSQL --------------------------------------------

def test_outline_jobs_are_submitted_with_their_applications_lock_key() -> None:
    for name in ("IMPORT_METADATA", "CUBE_REFRESH", "SORT_MEMBERS"):
        spec = lookup(name)
        assert spec is not None and spec.lock_key(7) == "outline:7"
    for name in ("EXPORT_METADATA", "ADMINISTRATION_MODE", "EXPORT_JOB_CONSOLE"):
        spec = lookup(name)
        assert spec is not None and spec.lock_key(7) is None


def test_a_job_waits_while_one_with_its_lock_key_runs(any_system: System) -> None:
    first, second = _insert(any_system, "outline:1"), _insert(any_system, "outline:1")
    other, free = _insert(any_system, "outline:2"), _insert(any_system, None)
    assert _claim(any_system) == first
    assert _claim(any_system) == other  # the second job of key 1 is skipped, not blocking
    assert _claim(any_system) == free
    assert _claim(any_system) is None
    _finish(any_system, first)
    assert _claim(any_system) == second


def test_jobs_of_one_key_run_in_submission_order_even_after_a_requeue(
        any_system: System) -> None:
    first, second = _insert(any_system, "k"), _insert(any_system, "k")
    assert _claim(any_system, "dead") == first
    requeued = any_system.stores.jobs.reap_stale(stale_before=10.0, max_attempts=3, now=10.0)
    assert requeued.requeued == [first]
    assert _claim(any_system) == first
    assert _claim(any_system) is None
    _finish(any_system, first)
    assert _claim(any_system) == second


def test_a_cancelled_queued_job_does_not_hold_its_key(any_system: System) -> None:
    first, second = _insert(any_system, "k"), _insert(any_system, "k")
    any_system.stores.jobs.request_cancel(first, 1.5)
    assert _claim(any_system) == second


def test_racing_claimers_never_take_two_jobs_of_one_key(any_system: System) -> None:
    """Eight threads claim at once: per key only the oldest job may be taken (none ends)."""
    keyed = {f"outline:{k}": [_insert(any_system, f"outline:{k}") for _ in range(5)]
             for k in range(3)}
    free = [_insert(any_system, None) for _ in range(10)]
    go = threading.Event()
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        assert go.wait(TIMEOUT)
        while (job := any_system.stores.jobs.claim_next(f"w{n}", 2.0)) is not None:
            with lock:
                claimed.append(job.job_id)

    threads = [threading.Thread(target=claimer, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive()
    assert sorted(claimed) == sorted([ids[0] for ids in keyed.values()] + free)


# -- end to end: two worker threads -------------------------------------------------------

class _Tracked:
    """Wraps a job implementation: counts the outline jobs running at once per application,
    and holds the first one until the test releases it."""

    def __init__(self, inner: Any, probe: _Probe) -> None:
        self.inner, self.probe = inner, probe

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return dict(self.inner.validate(parameters))

    def run(self, ctx: JobContext) -> str | None:
        with self.probe.entered(ctx):
            result: str | None = self.inner.run(ctx)
            return result


class _Probe:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.most = 0
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.held = False

    def entered(self, ctx: JobContext) -> Any:
        probe = self

        class _Section:
            def __enter__(self) -> None:
                app = ctx.application.name
                with probe.lock:
                    probe.running[app] = probe.running.get(app, 0) + 1
                    probe.most = max(probe.most, probe.running[app])
                    hold = ctx.job.job_type == "IMPORT_METADATA" and not probe.held
                    probe.held = probe.held or hold
                if hold:
                    probe.first_started.set()
                    assert probe.release.wait(TIMEOUT)

            def __exit__(self, *exc: object) -> None:
                with probe.lock:
                    probe.running[ctx.application.name] -= 1

        return _Section()


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> _Probe:
    found = _Probe()
    for name in ("IMPORT_METADATA", "CUBE_REFRESH", "SORT_MEMBERS"):
        monkeypatch.setitem(IMPLEMENTATIONS, name, _Tracked(IMPLEMENTATIONS[name], found))
    return found


@pytest.fixture
def workers(any_system: System) -> Iterator[None]:
    stop = threading.Event()
    threads = [threading.Thread(target=Worker(any_system, f"thread-{n}").run,
                                args=(stop.is_set,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    yield
    stop.set()
    for t in threads:
        t.join(TIMEOUT)


def _wait_until(check: Any) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_two_workers_serialise_one_applications_outline_jobs_but_not_other_work(
        any_system: System, probe: _Probe, workers: None) -> None:
    _add_app(any_system, "Other")
    with TestClient(create_app(any_system), base_url="http://epm.test") as client:
        for n in range(3):
            upload(client, f"m{n}.zip", zip_bytes({"x_Entity.csv": (
                f"Entity, Parent\nNew{n}, United States\n")}))
        imports = [submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                                   "parameters": {"importZipFileName": f"m{n}.zip",
                                                  "refreshCube": n == 2}}) for n in range(3)]
        sort = submit(client, {"jobType": "SORT_MEMBERS",
                               "parameters": {"member": "Total Product"}})
        other = submit(client, {"jobType": "ADMINISTRATION_MODE",
                                "parameters": {"loginLevel": "All Users"}}, app="Other")
        assert probe.first_started.wait(TIMEOUT)
        # The first import is held: the other application's job still runs, and polls answer.
        _wait_until(lambda: record(client, other, app="Other")["status"] == 0)
        assert record(client, imports[0])["status"] == -1
        assert all(any_system.stores.jobs.get(j).started_at is None  # type: ignore[union-attr]
                   for j in [*imports[1:], sort])
        probe.release.set()
        _wait_until(lambda: all(record(client, j)["status"] >= 0 for j in [*imports, sort]))
        assert [record(client, j)["status"] for j in [*imports, sort]] == [0, 0, 0, 0]
    assert probe.most == 1
    working = snapshot(any_system)
    entity = next(d for d in working["dimensions"] if d["name"] == "Entity")
    assert {"New0", "New1", "New2"} <= {m["name"] for m in entity["members"]}
    started = [any_system.stores.jobs.get(j).started_at for j in [*imports, sort]]  # type: ignore[union-attr]
    assert started == sorted(started)  # in submission order
