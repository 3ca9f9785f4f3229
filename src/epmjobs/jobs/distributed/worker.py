"""An ``epmjobs worker`` process of the distributed runner.

One process serves several queues, each with its own concurrency (``short=2,data=1``:
a long data job never takes the slot of a short one), plus the maintenance queue where
the periodic recovery runs. Each queue is one procrastinate worker; they share the
process's connection pool, executor and heartbeat thread.

SIGTERM (or SIGINT) stops fetching at once; running jobs get ``shutdown_grace_seconds``
to finish, then are asked to stop at their next cancel check and are handed back to the
queue (``tasks.py``). A job that never checks is waited for; a supervisor's SIGKILL after
that is recovered like any crash.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable

from procrastinate import App
from procrastinate.worker import Worker as QueueWorker

from epmjobs.jobs.distributed.queue import DATA, MAINTENANCE, SHORT, build_app
from epmjobs.jobs.distributed.tasks import RUNTIME, Runtime
from epmjobs.system import System

log = logging.getLogger("epmjobs.worker")
KNOWN_QUEUES = (SHORT, DATA)


def parse_queues(spec: str) -> dict[str, int]:
    """``"short=2,data=1"`` → {"short": 2, "data": 1}; a queue without ``=n`` gets 1."""
    queues: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, count = part.partition("=")
        name = name.strip().lower()
        if name not in KNOWN_QUEUES:
            raise ValueError(f"unknown queue {name!r} in {spec!r}: the queues are "
                             f"{', '.join(KNOWN_QUEUES)}")
        concurrency = int(count) if count.strip() else 1
        if concurrency < 1:
            raise ValueError(f"queue {name} needs a concurrency of at least 1")
        queues[name] = concurrency
    if not queues:
        raise ValueError("a worker must serve at least one queue")
    return queues


def _queue_workers(app: App, system: System, runtime: Runtime, queues: dict[str, int],
                   name: str, burst: bool) -> list[QueueWorker]:
    settings = system.settings
    common = {
        "wait": not burst,
        "additional_context": {RUNTIME: runtime},
        "install_signal_handlers": False,
        "shutdown_graceful_timeout": settings.shutdown_grace_seconds,
        "update_heartbeat_interval": settings.heartbeat_seconds,
        "stalled_worker_timeout": settings.stale_after_seconds,
        "delete_jobs": "successful",
        "fetch_job_polling_interval": max(settings.idle_poll_seconds, 0.25),
        "abort_job_polling_interval": settings.heartbeat_seconds,
    }
    workers = [QueueWorker(app, queues=[queue], concurrency=n, name=f"{name}-{queue}",
                           **common)  # type: ignore[arg-type]
               for queue, n in queues.items()]
    if not burst:
        workers.append(QueueWorker(app, queues=[MAINTENANCE], concurrency=1,
                                   name=f"{name}-{MAINTENANCE}", **common))  # type: ignore[arg-type]
    return workers


async def serve_queues(system: System, queues: dict[str, int], name: str,
                       should_stop: Callable[[], bool] | None = None,
                       burst: bool = False) -> None:
    """Run until SIGTERM/SIGINT (or ``should_stop``), then stop gracefully; with
    ``burst``, until the queues are empty (no recovery runs then)."""
    app = build_app(system.settings)
    runtime = Runtime(system, name)
    loop = asyncio.get_running_loop()
    async with app.open_async():
        workers = _queue_workers(app, system, runtime, queues, name, burst)

        def stop() -> None:
            for worker in workers:
                worker.stop()  # type: ignore[no-untyped-call]

        signals = (signal.SIGTERM, signal.SIGINT) if _main_thread() else ()
        for sig in signals:
            loop.add_signal_handler(sig, stop)
        watcher = asyncio.create_task(_watch(should_stop, stop)) if should_stop else None
        log.info("worker %s serving %s (pid %s)", runtime.worker_id,
                 ", ".join(f"{q}={n}" for q, n in queues.items()), os.getpid())
        try:
            await asyncio.gather(*(worker.run() for worker in workers))  # type: ignore[no-untyped-call]
        finally:
            if watcher is not None:
                watcher.cancel()
            for sig in signals:
                loop.remove_signal_handler(sig)


def _main_thread() -> bool:
    """Signal handlers exist in the main thread only (tests run workers in others)."""
    return threading.current_thread() is threading.main_thread()


async def _watch(should_stop: Callable[[], bool], stop: Callable[[], None]) -> None:
    while not should_stop():
        await asyncio.sleep(0.5)
    stop()


def run(system: System, queues: dict[str, int], name: str,
        should_stop: Callable[[], bool] | None = None, burst: bool = False) -> None:
    asyncio.run(serve_queues(system, queues, name, should_stop, burst))
