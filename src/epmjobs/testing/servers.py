"""Servers for tests: one in this process (no port), one in a process of its own.

Both start on a fresh embedded installation with an administrator, the demo application
(or the ones asked for), a job worker, and the control API on; both offer the same
``url``, ``auth``, ``control`` (a :class:`ControlClient`) and ``client()`` (an
``EpmClient``), so one test body can drive either.

- :class:`InProcessServer` runs the ASGI app on an event loop thread and a worker thread
  of this process; requests reach it through an httpx transport, never a socket. It
  starts in tens of milliseconds. ``system`` is the installation itself.
- :class:`LiveServer` runs ``epmjobs serve`` on a free loopback port: what clients in
  other languages (curl, Java, Groovy, Node) need.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from epmjobs.client import EpmClient, PollPolicy, RetryPolicy
from epmjobs.testing.client import Application, ControlClient

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from epmjobs.system import System

IN_PROCESS_URL = "http://epmjobs.test"
ADMIN_USER = "admin"
PRISTINE = "epmjobs-pristine"  # the live server's snapshot of its first state
QUICK_POLLS = PollPolicy(first=0.02, factor=1.5, cap=0.25)
QUICK_RETRIES = RetryPolicy(retries=4, backoff=0.01, cap=0.05)
ENGINE: dict[str, Any] = {"heartbeat_seconds": 0.2, "stale_after_seconds": 2.0,
                          "idle_poll_seconds": 0.05, "auth_cache_seconds": 60.0}


class _Served(ABC):
    """What both servers offer once started."""

    url: str
    auth: tuple[str, str]
    control: ControlClient

    def _transport(self) -> httpx.BaseTransport | None:
        return None

    def client(self, **options: Any) -> EpmClient:
        """An ``EpmClient`` of this server as the administrator, polling and retrying
        quickly (pass ``poll=``/``retry=`` to test your own timings)."""
        options.setdefault("poll", QUICK_POLLS)
        options.setdefault("retry", QUICK_RETRIES)
        return EpmClient(self.url, self.auth, transport=self._transport(), **options)

    def http(self, **options: Any) -> httpx.Client:
        """A raw ``httpx.Client`` on this server, logged in as the administrator."""
        options.setdefault("auth", self.auth)
        return httpx.Client(base_url=self.url, transport=self._transport(), **options)

    @abstractmethod
    def close(self) -> None:
        """Stop the server and drop its installation."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class InProcessServer(_Served):
    def __init__(self, data_dir: Path, *applications: Application,
                 **settings: Any) -> None:
        """A fresh installation in ``data_dir`` with ``applications`` (built-in names,
        definition files or documents; none given: the demo ``Vision``). ``settings`` are
        ``Settings`` fields to change (e.g. ``submit_http_status=200``)."""
        from epmjobs.api.app import create_app
        from epmjobs.jobs.runner import Worker
        from epmjobs.testing.inprocess import InProcessTransport, LoopThread

        self.url, self.auth = IN_PROCESS_URL, (ADMIN_USER, secrets.token_urlsafe(12))
        self.system: System = _installation(data_dir, self.auth, applications or ("Vision",),
                                            settings)
        self.app: Starlette = create_app(self.system, control_api=True)
        self._stop = threading.Event()
        worker = Worker(self.system, f"in-process-{os.getpid()}")
        self._worker = threading.Thread(target=worker.run, args=(self._stop.is_set,),
                                        name="epmjobs-worker", daemon=True)
        self._worker.start()
        self._loop = LoopThread()
        self.transport = InProcessTransport(self.app, self._loop)
        self.control = ControlClient(self.url, self.auth, transport=self.transport)

    def _transport(self) -> httpx.BaseTransport:
        return self.transport

    def close(self) -> None:
        self._stop.set()
        self._worker.join(timeout=30)
        self.control.close()
        self._loop.close()
        self.system.close()


def _installation(data_dir: Path, auth: tuple[str, str], applications: tuple[Application, ...],
                  overrides: dict[str, Any]) -> System:
    from epmjobs.appfile import create_application
    from epmjobs.bootstrap import bootstrap
    from epmjobs.security.passwords import set_hash_cost
    from epmjobs.settings import Settings
    from epmjobs.system import System
    from epmjobs.testing.state import application_document

    set_hash_cost(time_cost=1, memory_cost_kib=8)  # a test's password needs no armour
    settings = Settings(data_dir=data_dir, admin_user=auth[0], admin_password=auth[1],
                        seed_demo=False).with_overrides(**ENGINE, **overrides)
    system = System(settings)
    bootstrap(system)
    for item in applications:
        create_application(system, application_document(
            dict(item) if not isinstance(item, str | Path) else item)[0])
    return system


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer(_Served):
    def __init__(self, data_dir: Path, *applications: Application, workers: int = 1,
                 env: dict[str, str] | None = None, timeout: float = 60.0) -> None:
        """``epmjobs serve`` on a free loopback port, on a fresh installation in
        ``data_dir`` with ``applications`` (none given: the demo ``Vision``), snapshotted
        as ``PRISTINE`` so that :meth:`fresh` can bring it back between tests."""
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth = (ADMIN_USER, secrets.token_urlsafe(12))
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"
        self._proc = self._spawn(workers, env or {})
        self.control = ControlClient(self.url, self.auth)
        try:
            self._wait_ready(timeout)
            if applications not in ((), ("Vision",)):
                self.control.reset(*applications)
            self.control.snapshot(PRISTINE)
        except BaseException:
            self.close()
            raise

    def _spawn(self, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
        from epmjobs.processes import die_with_parent

        self.data_dir.mkdir(parents=True, exist_ok=True)
        variables = {**os.environ, "EPMJOBS_CONTROL_API": "1", "EPMJOBS_HOST": "127.0.0.1",
                     "EPMJOBS_API_PROCESSES": "1", "EPMJOBS_ADMIN_USER": self.auth[0],
                     "EPMJOBS_ADMIN_PASSWORD": self.auth[1], "EPMJOBS_SEED_DEMO": "1",
                     **{f"EPMJOBS_{k.upper()}": str(v) for k, v in ENGINE.items()}, **env}
        variables.pop("EPMJOBS_DATABASE_URL", None)
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "epmjobs", "serve", "--data-dir", str(self.data_dir),
                 "--port", str(self.port), "--workers", str(workers)],
                env=variables, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, auth=self.auth, timeout=5.0) as http:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"epmjobs serve exited with {self._proc.returncode}:\n"
                                       f"{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    answer = http.get("/epmjobs/v1/control")
                    if answer.status_code == 200:
                        return
                    if answer.status_code != 503:
                        raise RuntimeError(f"the control API answered {answer.status_code}: "
                                           f"{answer.text[:300]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"epmjobs serve not ready after {timeout:g}s:\n"
                                       f"{self.log_tail()}")
                time.sleep(0.05)

    def fresh(self) -> None:
        """Back to the state it started in (the ``PRISTINE`` snapshot), no rules."""
        self.control.restore(PRISTINE)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def close(self) -> None:
        self.control.close()
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=15)
