"""Real `epmjobs serve` processes for tests: start on a free port, wait, kill, clean up.

Each server runs in its own session (process group), so a test can ``kill -9`` the
whole group at once, or only the ``serve`` process and check that its children follow.
Every wait here is bounded; :class:`ServerFarm` kills whatever is still alive at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ADMIN = ("admin", "adminpw")
ROOT = "/HyperionPlanning/rest/v3"
JOBS = f"{ROOT}/applications/Vision/jobs"
ADMIN_MODE_JOB = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}

FAST_ENGINE = {
    "EPMJOBS_HEARTBEAT_SECONDS": "0.2",
    "EPMJOBS_STALE_AFTER_SECONDS": "1",
    "EPMJOBS_IDLE_POLL_SECONDS": "0.05",
    "EPMJOBS_MAX_ATTEMPTS": "3",
    "EPMJOBS_AUTH_CACHE_SECONDS": "600",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    return [p for p in _pids() if (f := _stat_fields(p)) is not None and f[1] == str(pid)
            and f[0] not in ("Z", "X")]


def group_members(pgid: int) -> list[int]:
    return [p for p in _pids() if (f := _stat_fields(p)) is not None and f[2] == str(pgid)
            and f[0] not in ("Z", "X")]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until ``predicate()`` is truthy and return its value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Server:
    """One `epmjobs serve` on ``data_dir``, in its own process group."""

    def __init__(self, data_dir: Path, log_path: Path, env: dict[str, str] | None = None,
                 workers: int = 2) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.workers = workers
        self.env = {**os.environ, **FAST_ENGINE, "EPMJOBS_ADMIN_PASSWORD": ADMIN[1],
                    "EPMJOBS_ADMIN_USER": ADMIN[0], **(env or {})}
        for name in ("EPMJOBS_DATABASE_URL", "EPMJOBS_HOST", "EPMJOBS_API_PROCESSES"):
            self.env.pop(name, None)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def spawn(self) -> Server:
        """Start serve without waiting for it (to kill it while it starts up)."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "epmjobs", "serve", "--data-dir", str(self.data_dir),
                 "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        return self

    def start(self, timeout: float = 30.0) -> Server:
        self.spawn()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill_group()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, auth=ADMIN, timeout=2.0) as client:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"serve exited with {self.proc.returncode}:\n"
                                       f"{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{ROOT}/applications/Vision").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"serve not ready after {timeout}s:\n{self.log_tail()}")
                time.sleep(0.05)
        wait_until(lambda: len(self.worker_pids()) >= self.workers, timeout, what="workers")

    def worker_pids(self) -> list[int]:
        return [p for p in children(self.pid) if " worker " in f" {cmdline(p)} "]

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill_serve(self, timeout: float = 15.0) -> None:
        """kill -9 the serve process only; its children must die with it."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout)
        wait_until(lambda: not group_members(self.pid), timeout,
                   what="serve's children to die with it")

    def kill_group(self, timeout: float = 15.0) -> None:
        """kill -9 every process of the server's group (idempotent)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not group_members(self.pid), timeout, what="group to die")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL the group if it does not end in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        self.kill_group()


class ServerFarm:
    """Starts servers for one test and kills every one of them afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.servers: list[Server] = []

    def server(self, data_dir: Path, env: dict[str, str] | None = None,
               workers: int = 2) -> Server:
        server = Server(data_dir, self.tmp_path / f"serve-{len(self.servers)}.log", env,
                        workers)
        self.servers.append(server)
        return server

    def start(self, data_dir: Path, env: dict[str, str] | None = None,
              workers: int = 2) -> Server:
        return self.server(data_dir, env, workers).start()

    def logs(self) -> str:
        return "\n".join(f"--- {s.log_path.name}\n{s.log_tail(2000)}" for s in self.servers)

    def close(self) -> None:
        for server in self.servers:
            server.kill_group()


# -- scaled out: API processes, job workers and an S3 server as separate processes -------

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_DEFAULT_REGION": "us-east-1"}


class Service:
    """One long-running process (an API server, a job worker, the S3 server) in its own
    session, so a test can kill -9 it with everything it started."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path,
                 port: int | None = None) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def spawn(self) -> Service:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_http(self, path: str, timeout: float, auth: tuple[str, str] | None = None) -> None:
        """Until GET ``path`` answers below 500; fails early if the process exits."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, auth=auth, timeout=2.0) as client:
            while True:
                if not self.alive():
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(path).status_code < 500:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} not ready after {timeout}s:\n"
                                       f"{self.log_tail()}")
                time.sleep(0.05)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill_group(self, timeout: float = 15.0) -> None:
        """kill -9 the process and everything in its session (idempotent)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not group_members(self.pid), timeout, what="group to die")

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; the exit code, or None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.proc.wait(timeout)
        code = self.proc.poll()
        self.kill_group()
        return code


def epmjobs_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "epmjobs", *args]


class Cluster:
    """The processes of one scaled-out installation, all killed at the end of a test."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = {**os.environ, **FAST_ENGINE, "EPMJOBS_ADMIN_PASSWORD": ADMIN[1],
                    "EPMJOBS_ADMIN_USER": ADMIN[0], **env}
        self.services: list[Service] = []

    def _log(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def apis(self, *names: str, timeout: float = 60.0) -> list[Service]:
        """`epmjobs serve --no-worker` processes, started together, ready to answer."""
        started = []
        for name in names:
            port = free_port()
            started.append(Service(name, epmjobs_argv(
                "serve", "--no-worker", "--port", str(port), "--data-dir",
                str(self.tmp_path / name)), self.env, self._log(name), port).spawn())
        self.services += started
        for service in started:
            service.wait_http(f"{ROOT}/applications/Vision", timeout, auth=ADMIN)
        return started

    def worker(self, name: str, queues: str = "short=2,data=1") -> Service:
        """`epmjobs worker`, started (it announces itself in its log when serving)."""
        service = Service(name, epmjobs_argv("worker", "--name", name, "--queues", queues,
                                             "--data-dir", str(self.tmp_path / name)),
                          self.env, self._log(name)).spawn()
        self.services.append(service)
        return service

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {s.name}\n{s.log_tail(chars)}" for s in self.services)

    def close(self) -> None:
        for service in self.services:
            service.kill_group()


class MotoS3:
    """moto's S3-compatible server on a loopback port, for the S3 file repository."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        env = {**os.environ, **S3_CREDENTIALS}
        self.service = Service("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                      "-p", str(self.port)], env, log_path, self.port)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoS3:
        self.service.spawn()
        self.service.wait_http("/moto-api/data.json", timeout)
        return self

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     ).create_bucket(Bucket=name)

    def stop(self) -> None:
        self.service.kill_group()
