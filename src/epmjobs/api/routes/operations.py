"""Operations endpoints for load balancers and Prometheus; no credentials (D-ops).

- ``GET /epmjobs/v1/health``: liveness — the process answers (no database access);
- ``GET /epmjobs/v1/ready``: readiness — the database and the file repository answer
  (503 with the failing check otherwise), for a load balancer to route around a process;
- ``GET /metrics``: Prometheus text format — jobs by type and status, job run times
  (a histogram per type), queue depth, and this API's status-poll latency.

The job figures come from the database (cached for a few seconds per process), so every
API process reports the same installation-wide numbers. Poll latency is measured per
process by ``PollTimer``; with several API processes on one host, ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a shared folder and the figures are summed across them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epmjobs.api.http import JSONResponse, system_of
from epmjobs.system import System

ROOT = "/epmjobs/v1"
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
POLL_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
_CACHE_SECONDS = 5.0
_POLL = re.compile(r"/HyperionPlanning/rest/[^/]+/applications/[^/]+/jobs/[^/]+")
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
POLL_SECONDS = Histogram("epmjobs_poll_seconds", "Status poll latency in this API (seconds)",
                         buckets=POLL_BUCKETS, registry=PROCESS_REGISTRY)


class PollTimer:
    """ASGI middleware timing status polls, from request to the end of the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or \
                _POLL.fullmatch(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                POLL_SECONDS.observe(time.perf_counter() - started)

        await self.app(scope, receive, timed_send)


class JobsCollector:
    """Installation-wide job figures from the database, cached for a few seconds."""

    def __init__(self, system: System) -> None:
        self.system = system
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] = (0.0, [])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            at, metrics = self._cached
            if time.monotonic() - at > _CACHE_SECONDS:
                metrics = self._read()
                self._cached = (time.monotonic(), metrics)
        yield from metrics

    def _read(self) -> list[Metric]:
        stats = self.system.stores.jobs.stats(RUN_BUCKETS)
        jobs = GaugeMetricFamily("epmjobs_jobs", "Jobs by type and status",
                                 labels=["job_type", "status"])
        runs = HistogramMetricFamily("epmjobs_job_run_seconds",
                                     "Run time of ended jobs (start to end), by type",
                                     labels=["job_type"])
        per_type: dict[str, tuple[list[int], float, int]] = {}
        for row in stats:
            jobs.add_metric([row.job_type, row.status.name.lower()], row.count)
            if row.status.is_terminal:
                counts, seconds, total = per_type.get(row.job_type, ([0] * len(RUN_BUCKETS),
                                                                     0.0, 0))
                per_type[row.job_type] = ([a + b for a, b in zip(counts, row.at_most,
                                                                  strict=True)],
                                          seconds + row.seconds, total + row.count)
        for job_type, (counts, seconds, total) in sorted(per_type.items()):
            buckets = [(str(b), c) for b, c in zip(RUN_BUCKETS, counts, strict=True)]
            runs.add_metric([job_type], [*buckets, ("+Inf", total)], seconds)
        return [jobs, runs, self._depth()]

    def _depth(self) -> Metric:
        depth = GaugeMetricFamily("epmjobs_queue_depth",
                                  "Jobs waiting (queued) and taken (running), per queue",
                                  labels=["queue", "state"])
        if self.system.settings.resolved_runner == "procrastinate":
            from epmjobs.storage import queuestore

            with self.system.db.reading() as conn:
                found = queuestore.depth(conn)
            for queue in sorted({q for q, _ in found}):
                depth.add_metric([queue, "queued"], found.get((queue, "todo"), 0))
                depth.add_metric([queue, "running"], found.get((queue, "doing"), 0))
        else:
            embedded = self.system.stores.jobs.queue_depth()
            for state in ("queued", "running"):
                depth.add_metric(["embedded", state], embedded.get(state, 0))
        return depth


_registries: dict[int, CollectorRegistry] = {}


def _registry(system: System) -> CollectorRegistry:
    """One registry per installation: its database figures and this process's polls
    (summed over the host's API processes in multi-process mode)."""
    found = _registries.get(id(system))
    if found is None:
        found = CollectorRegistry(auto_describe=False)
        found.register(JobsCollector(system))
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(found)  # type: ignore[no-untyped-call]
        else:
            found.register(_ProcessPolls())
        _registries[id(system)] = found
    return found


class _ProcessPolls:
    def collect(self) -> Iterator[Metric]:
        yield from PROCESS_REGISTRY.collect()


async def metrics(request: Request) -> Response:
    registry = _registry(system_of(request))
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _checks(system: System) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        system.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        system.stores.files.check()
        checks["files"] = "ok"
    except Exception as exc:
        checks["files"] = f"failed: {type(exc).__name__}"
    return checks


async def ready(request: Request) -> JSONResponse:
    checks = await run_in_threadpool(_checks, system_of(request))
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "unavailable", "checks": checks},
                        status_code=200 if ok else 503)


routes = [
    Route("/metrics", metrics, methods=["GET"]),
    Route(ROOT + "/health", health, methods=["GET"]),
    Route(ROOT + "/ready", ready, methods=["GET"]),
]
