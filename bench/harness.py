"""What every benchmark here shares: tools, ports, a fresh server, nginx, wrk, CPU time.

Everything runs on 127.0.0.1 only, every wait is bounded in time, and every process a
benchmark starts is stopped (by its own id, or its own process group) when it ends.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "bench-pw-1"
APP = "Vision"
PLANNING = "/HyperionPlanning/rest/v3"
TRIVIAL_JOB = {"jobType": "ADMINISTRATION_MODE",
               "parameters": {"loginLevel": "All Users"}}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def set_nice(value: int) -> None:
    """Renice this benchmark, and so every process it starts (server, nginx, wrk, its own
    client). The machine is shared: a negative value (root only) keeps other load from
    skewing the figures; the server and its reference get the same, so ratios stay fair."""
    if value:
        os.nice(value)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def basic_auth(user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- tools ------------------------------------------------------------------------------

def ensure_tools(*names: str) -> None:
    """Install wrk / nginx from Debian's packages when missing (we are root here)."""
    missing = [n for n in names if shutil.which(n) is None
               and not Path(f"/usr/sbin/{n}").exists()]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing tools {missing}: install them (apt-get install -y {' '.join(missing)})")
    log(f"installing {missing} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists()
                                   else None)
    if found is None:
        sys.exit(f"{name} not found")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- CPU time of a process tree (from /proc, no extra packages) ---------------------------

def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    return kids


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(_children(p))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU seconds used so far by these processes (live ones only)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def server_env(args: object) -> dict[str, str]:
    """Server settings a benchmark's command line may change (none by default)."""
    env = {}
    cache = getattr(args, "auth_cache_seconds", None)
    if cache is not None:
        env["EPMJOBS_AUTH_CACHE_SECONDS"] = str(cache)
    return env


# -- the server under test ---------------------------------------------------------------

@dataclass
class EpmServer:
    """A fresh ``epmjobs serve`` on a free loopback port, over its own data directory."""

    data_dir: Path
    workers: int = 2
    api_processes: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "epmjobs.sqlite3"

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        self.log_path = self.data_dir.parent / f"serve-{self.port}.log"
        env = {**os.environ, "EPMJOBS_ADMIN_PASSWORD": ADMIN_PASSWORD,
               "EPMJOBS_ADMIN_USER": ADMIN_USER, **self.extra_env}
        cmd = [str(VENV_BIN / "epmjobs"), "serve", "--data-dir", str(self.data_dir),
               "--host", HOST, "--port", str(self.port), "--workers", str(self.workers),
               "--api-processes", str(self.api_processes)]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"epmjobs serve exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                if self.get(f"{PLANNING}/applications/{APP}")[0] == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"epmjobs serve did not answer within {timeout}s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        pgid = proc.pid  # start_new_session: its own group, led by the process we started
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # stragglers of that group only

    def pids(self) -> list[int]:
        return tree(self.proc.pid) if self.proc else []

    def get(self, path: str) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": basic_auth()})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def post_json(self, path: str, body: object) -> tuple[int, dict[str, object]]:
        req = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": basic_auth(), "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def submit_trivial(self) -> int:
        status, body = self.post_json(f"{PLANNING}/applications/{APP}/jobs", TRIVIAL_JOB)
        if status not in (200, 201):
            raise RuntimeError(f"submission refused: {status} {body}")
        return int(body["jobId"])  # type: ignore[call-overload]

    def wait_terminal(self, job_id: int, timeout: float = 30.0) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.get(f"{PLANNING}/applications/{APP}/jobs/{job_id}")
            if status == 200 and json.loads(body)["status"] != -1:
                return body
            time.sleep(0.02)
        raise RuntimeError(f"job {job_id} did not end within {timeout}s")


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="epmjobs-bench-"))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# -- nginx: the reference -------------------------------------------------------------------

@dataclass
class Nginx:
    """nginx serving one file's bytes for every GET, as application/json."""

    prefix: Path
    body: bytes
    worker_processes: int = 1
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        self.port = free_port()
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)
        (self.prefix / "www").mkdir(exist_ok=True)
        (self.prefix / "www" / "poll.json").write_bytes(self.body)
        template = (BENCH_DIR / "nginx.conf.template").read_text()
        conf = template.format(prefix=self.prefix, host=HOST, port=self.port,
                               worker_processes=self.worker_processes)
        (self.prefix / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(
            [tool("nginx"), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"),
             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError, urllib.error.URLError), urllib.request.urlopen(
                    f"http://{HOST}:{self.port}/any", timeout=2) as resp:
                if resp.read() == self.body:
                    return
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT)  # graceful
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def pids(self) -> list[int]:
        return tree(self.proc.pid) if self.proc else []


# -- wrk -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrkResult:
    label: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    server_cpu_s: float = 0.0
    loadavg: float = 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_s / self.requests if self.requests else 0.0


def run_wrk(label: str, url: str, *, connections: int, threads: int, seconds: float,
            script: Path, env: dict[str, str] | None = None,
            watch: list[int] | None = None) -> WrkResult:
    """One wrk run; the Lua script's done() prints a JSON line we parse."""
    env = {**os.environ, "WRK_LUA_DIR": str(BENCH_DIR / "lua"), **(env or {})}
    cmd = [tool("wrk"), "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
           "--timeout", "10s", "--latency", "-s", str(script), url]
    load = loadavg()
    cpu_before = cpu_seconds(watch or [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         timeout=seconds + 60, env=env)
    cpu_used = cpu_seconds(watch or []) - cpu_before
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON "):])
    us = 1000.0
    return WrkResult(
        label=label, requests=data["requests"], duration_s=data["duration_us"] / 1e6,
        rps=data["requests"] / (data["duration_us"] / 1e6), p50_ms=data["p50"] / us,
        p90_ms=data["p90"] / us, p99_ms=data["p99"] / us, p999_ms=data["p999"] / us,
        max_ms=data["max"] / us, non_2xx=data["status_errors"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        server_cpu_s=cpu_used, loadavg=load)


def loadavg() -> float:
    """The 1-minute load average: this machine is shared, so say how busy it was."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def machine_notes() -> dict[str, str]:
    def run(*cmd: str) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (done.stdout + done.stderr).strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    return {
        "cores": str(os.cpu_count()), "cpu": cpu,
        "python": sys.version.split()[0],
        "wrk": run(tool("wrk"), "-v").splitlines()[0] if shutil.which("wrk") else "?",
        "nginx": run(tool("nginx"), "-v").removeprefix("nginx version: "),
        "git": run("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "epmjobs from": run(sys.executable, "-c", "import epmjobs; print(epmjobs.__file__)"),
        "load (1 min)": f"{loadavg():.1f}",
        "nice": str(os.nice(0)),
    }
