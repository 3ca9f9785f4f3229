"""Run many jobs at once, at most ``max_concurrent`` at a time, and collect every outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from epmjobs.client.epmclient import EpmClient
from epmjobs.client.errors import EpmError
from epmjobs.client.models import JobResult


@dataclass(frozen=True)
class JobSpec:
    """One job to run: what ``EpmClient.run_job`` takes."""

    app: str
    job_type: str
    job_name: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How one job of a parallel run went: its final record, or the error that stopped it."""

    spec: JobSpec
    result: JobResult | None = None
    error: EpmError | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def run_parallel(client: EpmClient, specs: Iterable[JobSpec], *, max_concurrent: int = 4,
                 timeout: float | None = None,
                 cancel_on_timeout: bool = False) -> list[Outcome]:
    """Run every job, ``max_concurrent`` at a time; outcomes in the order of ``specs``.

    Each job is submitted when a slot frees up and waited for with the client's backoff;
    ``timeout`` bounds each job's wait. A job that fails, is refused or times out does not
    stop the others: its :class:`Outcome` carries the error. Ctrl-C stops submitting and
    lets the jobs already running go on (they are the server's now).
    """
    if max_concurrent < 1:
        raise ValueError("max_concurrent must be at least 1")
    specs = list(specs)
    stop = threading.Event()

    def check(_: JobResult, __: float) -> None:
        if stop.is_set():
            raise _Stopped

    def run(spec: JobSpec) -> Outcome:
        try:
            result = client.run_job(spec.app, spec.job_type, spec.job_name, spec.parameters,
                                    timeout=timeout, cancel_on_timeout=cancel_on_timeout,
                                    on_poll=check)
        except EpmError as exc:
            return Outcome(spec, error=exc)
        return Outcome(spec, result=result)

    pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="epmjobs-job")
    futures: list[Future[Outcome]] = []
    try:
        futures = [pool.submit(run, spec) for spec in specs]
        return [f.result() for f in futures]
    finally:
        stop.set()  # waits still going (Ctrl-C) end at their next poll
        pool.shutdown(wait=False, cancel_futures=True)


class _Stopped(Exception):
    """Ends a waiting thread of an interrupted parallel run."""
