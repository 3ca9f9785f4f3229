"""The ``epmjobs`` command: the only place that starts servers and workers."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from epmjobs import __version__
from epmjobs.client_cli import register as register_client_verbs
from epmjobs.errors import EpmJobsError
from epmjobs.settings import Settings

if TYPE_CHECKING:
    from epmjobs.system import System

app = typer.Typer(help="epmjobs: Oracle EPM Planning's jobs REST API, self-hosted.",
                  no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="Issue bearer tokens.", no_args_is_help=True)
apps_app = typer.Typer(help="Create, export and delete applications.", no_args_is_help=True)
jobdefs_app = typer.Typer(help="Manage an application's job definitions.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(apps_app, name="apps")
app.add_typer(jobdefs_app, name="jobdefs")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory "
                                              "(EPMJOBS_DATA_DIR).", show_default=False)]


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    return Settings.from_env().with_overrides(data_dir=data_dir, **overrides)


def _system(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from epmjobs.bootstrap import bootstrap
    from epmjobs.system import System

    system = System(_settings(data_dir))
    bootstrap(system, auto_migrate=system.db.is_sqlite)
    return system


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"epmjobs {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=_version,
                                               is_eager=True, help="Show the version.")]
         = False) -> None:
    """epmjobs: Oracle EPM Planning's jobs REST API, self-hosted."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (EPMJOBS_HOST).",
                                             show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="Port (EPMJOBS_PORT, default 8080).",
                                             show_default=False)] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, typer.Option(help="Job worker processes (EPMJOBS_WORKERS, "
                                                "default 2).", show_default=False)] = None,
    api_processes: Annotated[int | None, typer.Option(
        help="HTTP server processes (EPMJOBS_API_PROCESSES, default 1).",
        show_default=False)] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker",
                                            help="Serve the API only; run no jobs.")] = False,
    control_api: Annotated[bool, typer.Option(
        "--control-api",
        help="Serve the test double's control API under /epmjobs/v1/control "
             "(EPMJOBS_CONTROL_API; Service Administrators only; never on a server whose "
             "data matters).")] = False,
) -> None:
    """Serve the REST API, with job workers, on the embedded database by default."""
    from epmjobs.bootstrap import bootstrap
    from epmjobs.jobs.runner import Worker
    from epmjobs.logs import configure as configure_logging
    from epmjobs.processes import lock_data_dir
    from epmjobs.system import System

    settings = _settings(data_dir, host=host, port=port, workers=workers,
                         api_processes=api_processes, control_api=True if control_api else None)
    if no_worker:
        settings = settings.with_overrides(workers=0)
    if settings.control_api and settings.api_processes > 1:
        _fail("--control-api keeps its rules in the API process: use --api-processes 1.")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(settings, logging.WARNING)
    system = System(settings)
    try:
        lock = lock_data_dir(settings.data_dir) if system.db.is_sqlite else None
        report = bootstrap(system, auto_migrate=system.db.is_sqlite)
    except EpmJobsError as exc:
        _fail(exc.message)
    if report.generated_password:
        typer.echo(f"Created user '{report.created_admin}' with password: "
                   f"{report.generated_password}\n(shown once; set EPMJOBS_ADMIN_PASSWORD to "
                   "choose it)")
    if system.db.is_sqlite and settings.workers > 0:
        # Embedded: this server owns every worker, so any job still held is orphaned.
        Worker(system, "serve-start").reap(stale_before=time.time() + 1)
    system.close()
    pool = WorkerPool(settings)
    pool.start()
    where = (f"data in {settings.data_dir}" if system.db.is_sqlite
             else f"database {system.db.engine.url.render_as_string()}")
    typer.echo(f"epmjobs {__version__} serving http://{settings.host}:{settings.port}/"
               f"HyperionPlanning/rest/ with {settings.workers} job worker(s) "
               f"({settings.resolved_runner} runner); {where}")
    try:
        _run_http(settings)
    finally:
        pool.stop()
        del lock


class WorkerPool:
    """The job worker processes of `serve`: started, restarted when they die, stopped.

    One thread spawns, restarts and stops every worker and outlives them all, because
    Linux's parent-death signal fires when the *thread* that spawned a child exits.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._started = threading.Event()
        self._watch = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)

    def start(self) -> None:
        self._watch.start()
        self._started.wait()

    def _supervise(self) -> None:
        try:
            self.children = [_spawn_worker(self.settings, i)
                             for i in range(self.settings.workers)]
        finally:
            self._started.set()
        backoff = [0.0] * len(self.children)
        while not self._stop.wait(0.5):
            for i, child in enumerate(self.children):
                if child.poll() is None or time.monotonic() < backoff[i]:
                    continue
                typer.echo(f"job worker {i} exited ({child.returncode}); restarting", err=True)
                try:
                    self.children[i] = _spawn_worker(self.settings, i)
                    backoff[i] = time.monotonic() + 2.0  # a crash loop restarts slowly
                except OSError as exc:
                    typer.echo(f"could not restart job worker {i}: {exc}", err=True)
        self._stop_children()

    def _stop_children(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def stop(self) -> None:
        self._stop.set()
        self._watch.join(timeout=30)


def _spawn_worker(settings: Settings, index: int) -> subprocess.Popen[bytes]:
    from epmjobs.processes import die_with_parent

    env = {**os.environ, **settings.to_env()}
    return subprocess.Popen(
        [sys.executable, "-m", "epmjobs", "worker", "--name", f"embedded-{index}"],
        env=env, preexec_fn=die_with_parent)


def _run_http(settings: Settings) -> None:
    os.environ.update(settings.to_env())
    os.environ["EPMJOBS_DIE_WITH_PARENT"] = "1"
    if settings.api_processes > 1:  # /metrics sums the poll latency of every API process
        import shutil

        metrics_dir = settings.data_dir / "run" / f"metrics-{os.getpid()}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    try:
        from granian.constants import Interfaces
        from granian.log import LogLevels
        from granian.server import Server
    except ImportError:  # uvicorn is the fallback server
        import uvicorn

        uvicorn.run("epmjobs.api.app:create_app_from_env", factory=True, host=settings.host,
                    port=settings.port, workers=settings.api_processes, log_level="warning")
        return
    Server("epmjobs.api.app:create_app_from_env", address=settings.host, port=settings.port,
           interface=Interfaces.ASGI, workers=settings.api_processes, factory=True,
           log_level=LogLevels.warning, backlog=2048,
           respawn_failed_workers=True).serve()


@app.command()
def worker(
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option(help="Worker name (default host:pid).")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Run queued jobs, then exit.")] = False,
    queues: Annotated[str | None, typer.Option(
        help="Distributed runner: queues and their concurrency, e.g. short=2,data=1 "
             "(EPMJOBS_WORKER_QUEUES).", show_default=False)] = None,
) -> None:
    """Run jobs until stopped (SIGTERM lets the current jobs finish first).

    On PostgreSQL this is a worker of the distributed runner and may run on any machine
    that reaches the database (and the file store); on SQLite, one of `serve`'s workers.
    """
    from epmjobs.logs import configure as configure_logging
    from epmjobs.system import System

    settings = _settings(data_dir, worker_queues=queues)
    configure_logging(settings)
    system = System(settings)
    parent = os.getppid()
    try:
        if settings.resolved_runner == "procrastinate":
            _distributed_worker(system, name, burst, lambda: os.getppid() != parent)
        else:
            _embedded_worker(system, name, burst, parent)
    finally:
        system.close()


def _distributed_worker(system: System, name: str | None, burst: bool,
                        orphaned: Callable[[], bool]) -> None:
    from epmjobs.jobs.distributed import worker as distributed
    from epmjobs.storage import migrate as migrations

    try:
        parsed = distributed.parse_queues(system.settings.worker_queues)
        migrations.ensure_current(system.db)
    except (ValueError, EpmJobsError) as exc:
        _fail(exc.message if isinstance(exc, EpmJobsError) else str(exc))
        return
    distributed.run(system, parsed, name or "worker", orphaned, burst)


def _embedded_worker(system: System, name: str | None, burst: bool, parent: int) -> None:
    from epmjobs.jobs.runner import Worker, new_worker_id

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner = Worker(system, f"{name}:{new_worker_id()}" if name else None)
    if burst:
        runner.drain()
    else:
        runner.run(lambda: stopping or os.getppid() != parent)


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the database schema to this version (EPMJOBS_DATABASE_URL or the data dir)."""
    from epmjobs.storage import migrate as migrations
    from epmjobs.storage import queuestore
    from epmjobs.system import System

    system = System(_settings(data_dir))
    try:
        migrations.upgrade(system.db)
    except EpmJobsError as exc:
        _fail(exc.message)
    typer.echo(f"schema at revision {migrations.current_revision(system.db)}")
    if not system.db.is_sqlite:
        typer.echo(f"job queue (procrastinate) schema at {queuestore.head_version()}")
    system.close()


# -- users ------------------------------------------------------------------------------

@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="Service Administrator | Power User | User | "
                                      "Viewer")] = "User",
    password: Annotated[str | None, typer.Option(help="Password (prompted when omitted).",
                                                 show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user."""
    from epmjobs.security.passwords import hash_password
    from epmjobs.security.roles import Role

    system = _system(data_dir)
    try:
        parsed = Role.parse(role)
        if password is None:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        system.stores.users.add(username, parsed.value, hash_password(password), time.time())
    except EpmJobsError as exc:
        _fail(exc.message)
    typer.echo(f"added {username} ({parsed.value})")


@users_app.command("list")
def users_list(data_dir: DataDir = None,
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users and their roles."""
    rows = [{"username": u.username, "role": u.role} for u in _system(data_dir).stores.users.all()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['username']}\t{row['role']}")


@users_app.command("remove")
def users_remove(username: str, data_dir: DataDir = None) -> None:
    """Remove a user."""
    if not _system(data_dir).stores.users.remove(username):
        _fail(f"no user named {username}")
    typer.echo(f"removed {username}")


@users_app.command("set-role")
def users_set_role(username: str, role: str, data_dir: DataDir = None) -> None:
    """Change a user's role."""
    from epmjobs.security.roles import Role

    try:
        parsed = Role.parse(role)
    except EpmJobsError as exc:
        _fail(exc.message)
    if not _system(data_dir).stores.users.update(username, role=parsed.value):
        _fail(f"no user named {username}")
    typer.echo(f"{username} is now {parsed.value}")


@users_app.command("set-password")
def users_set_password(
    username: str,
    password: Annotated[str | None, typer.Option(show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Change a user's password."""
    from epmjobs.security.passwords import hash_password

    system = _system(data_dir)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not system.stores.users.update(username, password_hash=hash_password(password)):
        _fail(f"no user named {username}")
    typer.echo(f"password changed for {username}")


@users_app.command("grant")
def users_grant(username: str, grant: str, data_dir: DataDir = None) -> None:
    """Give a user a granular grant ("Migrations - Administer", or launch access to a rule:
    "Launch RULES: Vision/CalcRevenue", "Launch RULESET: Vision/PlanCycle")."""
    _set_grant(username, grant, True, data_dir)


@users_app.command("revoke")
def users_revoke(username: str, grant: str, data_dir: DataDir = None) -> None:
    """Take a granular grant away from a user."""
    _set_grant(username, grant, False, data_dir)


def _set_grant(username: str, grant: str, present: bool, data_dir: Path | None) -> None:
    from epmjobs.security.roles import Grant
    from epmjobs.security.rule_access import parse_launch_grant

    system = _system(data_dir)
    user = system.stores.users.get(username)
    if user is None:
        _fail(f"no user named {username}")
        return
    try:
        parsed = parse_launch_grant(grant) or Grant.parse(grant).value
    except EpmJobsError as exc:
        _fail(exc.message)
        return
    system.stores.users.set_grant(user.user_id, parsed, present)
    typer.echo(f"{username}: {parsed} {'granted' if present else 'revoked'}")


@tokens_app.command("issue")
def tokens_issue(
    username: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[float | None, typer.Option(help="Expire after this many days.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a bearer token for a user (printed once)."""
    from epmjobs.security.passwords import new_token, token_digest

    system = _system(data_dir)
    user = system.stores.users.get(username)
    if user is None:
        _fail(f"no user named {username}")
        return
    token, now = new_token(), time.time()
    system.stores.users.add_token(user.user_id, token_digest(token), label, now,
                                  now + days * 86400 if days else None)
    typer.echo(token)


# -- applications and job definitions ---------------------------------------------------

@apps_app.command("create")
def apps_create(file: Path, data_dir: DataDir = None) -> None:
    """Create an application from an application definition file."""
    from epmjobs.appfile import create_application, load_file

    try:
        name = create_application(_system(data_dir), load_file(file))
    except EpmJobsError as exc:
        _fail(exc.message)
    typer.echo(f"created application {name}")


@apps_app.command("export")
def apps_export(name: str, data_dir: DataDir = None) -> None:
    """Print an application's definition file."""
    from epmjobs.appfile import export_application

    try:
        typer.echo(json.dumps(export_application(_system(data_dir), name), indent=2))
    except EpmJobsError as exc:
        _fail(exc.message)


@apps_app.command("delete")
def apps_delete(name: str, data_dir: DataDir = None) -> None:
    """Delete an application with its jobs and job definitions."""
    system = _system(data_dir)
    app_ = system.stores.apps.get(name)
    if app_ is None:
        _fail(f"no application named {name}")
        return
    with system.db.transaction() as conn:
        system.stores.apps.delete(conn, app_.application_id)
    typer.echo(f"deleted application {app_.name}")


@jobdefs_app.command("put")
def jobdefs_put(application: str, job_type: str, job_name: str,
                params: Annotated[list[str] | None, typer.Argument(help="key=value …")] = None,
                plan_type: Annotated[str | None, typer.Option()] = None,
                script_file: Annotated[Path | None, typer.Option(
                    help="a rule's calc script, read from this file")] = None,
                data_dir: DataDir = None) -> None:
    """Create or replace a job definition."""
    from epmjobs.appfile import put_definition

    parameters = dict(p.split("=", 1) for p in (params or []) if "=" in p)
    if script_file is not None:
        try:
            parameters["script"] = script_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read the script file {script_file}: {exc}")
    try:
        put_definition(_system(data_dir), application, {
            "jobType": job_type, "jobName": job_name, "planType": plan_type,
            "parameters": parameters})
    except EpmJobsError as exc:
        _fail(exc.message)
    typer.echo(f"saved {job_type} {job_name}")


@jobdefs_app.command("list")
def jobdefs_list(application: str, data_dir: DataDir = None) -> None:
    """List an application's job definitions."""
    system = _system(data_dir)
    app_ = system.stores.apps.get(application)
    if app_ is None:
        _fail(f"no application named {application}")
        return
    for d in system.stores.apps.definitions(app_.application_id):
        typer.echo(f"{d.job_type}\t{d.job_name}\t{json.dumps(d.parameters)}")


def main() -> None:
    app()


register_client_verbs(app)


if __name__ == "__main__":
    main()
