"""One frozen settings object, read from ``EPMJOBS_*`` variables and CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8080
RUNNERS = ("embedded", "procrastinate")


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else int(raw)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else float(raw)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one epmjobs installation."""

    data_dir: Path = Path("epmjobs-data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 2
    api_processes: int = 1
    admin_user: str = "admin"
    admin_password: str | None = None
    seed_demo: bool = True
    control_api: bool = False  # the test double's control API (docs/testing.md)
    # Wire compatibility switches (docs/decisions.md says why each exists).
    submit_http_status: int = 201
    unknown_job_http_status: int = 404
    interop_error_http_status: int = 200
    # Job engine.
    heartbeat_seconds: float = 2.0
    stale_after_seconds: float = 15.0
    max_attempts: int = 3
    idle_poll_seconds: float = 0.5
    max_body_bytes: int = 1_048_576
    wait_max_seconds: float = 60.0
    auth_cache_seconds: float = 5.0
    # Scale-out: which job runner ("embedded" over the jobs table, or "procrastinate";
    # None picks procrastinate on PostgreSQL, embedded on SQLite), the queues a worker
    # process serves with their concurrency, how long SIGTERM lets a job finish.
    runner: str | None = None
    worker_queues: str = "short=2,data=1"
    shutdown_grace_seconds: float = 30.0
    # File repository: None is a folder in the data dir; "s3://bucket/prefix" a bucket.
    files_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    max_file_bytes: int = 5 << 30
    max_repository_bytes: int = 50 << 30
    # Operations: "text" or "json" log lines.
    log_format: str = "text"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'epmjobs.sqlite3').resolve()}"

    @property
    def uses_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgresql", "postgres:"))

    @property
    def resolved_runner(self) -> str:
        """``procrastinate`` or ``embedded``: the runner this installation dispatches to."""
        if self.runner:
            runner = self.runner.strip().lower()
            if runner not in RUNNERS:
                raise ValueError(f"EPMJOBS_RUNNER must be one of {', '.join(RUNNERS)}, "
                                 f"not {self.runner!r}")
            return runner
        return "procrastinate" if self.uses_postgres else "embedded"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given non-None values replaced."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls) -> Settings:
        base = cls()
        return cls(
            data_dir=Path(os.environ.get("EPMJOBS_DATA_DIR", str(base.data_dir))),
            database_url=os.environ.get("EPMJOBS_DATABASE_URL") or None,
            host=os.environ.get("EPMJOBS_HOST", base.host),
            port=_env_int("EPMJOBS_PORT", base.port),
            workers=_env_int("EPMJOBS_WORKERS", base.workers),
            api_processes=_env_int("EPMJOBS_API_PROCESSES", base.api_processes),
            admin_user=os.environ.get("EPMJOBS_ADMIN_USER", base.admin_user),
            admin_password=os.environ.get("EPMJOBS_ADMIN_PASSWORD") or None,
            seed_demo=_env_bool("EPMJOBS_SEED_DEMO", base.seed_demo),
            control_api=_env_bool("EPMJOBS_CONTROL_API", base.control_api),
            submit_http_status=_env_int("EPMJOBS_SUBMIT_HTTP_STATUS", base.submit_http_status),
            unknown_job_http_status=_env_int(
                "EPMJOBS_UNKNOWN_JOB_HTTP_STATUS", base.unknown_job_http_status
            ),
            interop_error_http_status=_env_int(
                "EPMJOBS_INTEROP_ERROR_HTTP_STATUS", base.interop_error_http_status),
            heartbeat_seconds=_env_float("EPMJOBS_HEARTBEAT_SECONDS", base.heartbeat_seconds),
            stale_after_seconds=_env_float(
                "EPMJOBS_STALE_AFTER_SECONDS", base.stale_after_seconds
            ),
            max_attempts=_env_int("EPMJOBS_MAX_ATTEMPTS", base.max_attempts),
            idle_poll_seconds=_env_float("EPMJOBS_IDLE_POLL_SECONDS", base.idle_poll_seconds),
            max_body_bytes=_env_int("EPMJOBS_MAX_BODY_BYTES", base.max_body_bytes),
            wait_max_seconds=_env_float("EPMJOBS_WAIT_MAX_SECONDS", base.wait_max_seconds),
            auth_cache_seconds=_env_float("EPMJOBS_AUTH_CACHE_SECONDS", base.auth_cache_seconds),
            runner=os.environ.get("EPMJOBS_RUNNER") or None,
            worker_queues=os.environ.get("EPMJOBS_WORKER_QUEUES") or base.worker_queues,
            shutdown_grace_seconds=_env_float("EPMJOBS_SHUTDOWN_GRACE_SECONDS",
                                              base.shutdown_grace_seconds),
            files_url=os.environ.get("EPMJOBS_FILES_URL") or None,
            s3_endpoint_url=os.environ.get("EPMJOBS_S3_ENDPOINT_URL") or None,
            s3_region=os.environ.get("EPMJOBS_S3_REGION") or None,
            log_format=os.environ.get("EPMJOBS_LOG_FORMAT") or base.log_format,
            max_file_bytes=_env_int("EPMJOBS_MAX_FILE_BYTES", base.max_file_bytes),
            max_repository_bytes=_env_int("EPMJOBS_MAX_REPOSITORY_BYTES",
                                          base.max_repository_bytes),
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make ``from_env`` rebuild these settings in a child process."""
        env = {
            "EPMJOBS_DATA_DIR": str(self.data_dir),
            "EPMJOBS_HOST": self.host,
            "EPMJOBS_PORT": str(self.port),
            "EPMJOBS_WORKERS": str(self.workers),
            "EPMJOBS_API_PROCESSES": str(self.api_processes),
            "EPMJOBS_ADMIN_USER": self.admin_user,
            "EPMJOBS_SEED_DEMO": "1" if self.seed_demo else "0",
            "EPMJOBS_CONTROL_API": "1" if self.control_api else "0",
            "EPMJOBS_SUBMIT_HTTP_STATUS": str(self.submit_http_status),
            "EPMJOBS_UNKNOWN_JOB_HTTP_STATUS": str(self.unknown_job_http_status),
            "EPMJOBS_INTEROP_ERROR_HTTP_STATUS": str(self.interop_error_http_status),
            "EPMJOBS_HEARTBEAT_SECONDS": str(self.heartbeat_seconds),
            "EPMJOBS_STALE_AFTER_SECONDS": str(self.stale_after_seconds),
            "EPMJOBS_MAX_ATTEMPTS": str(self.max_attempts),
            "EPMJOBS_IDLE_POLL_SECONDS": str(self.idle_poll_seconds),
            "EPMJOBS_MAX_BODY_BYTES": str(self.max_body_bytes),
            "EPMJOBS_WAIT_MAX_SECONDS": str(self.wait_max_seconds),
            "EPMJOBS_AUTH_CACHE_SECONDS": str(self.auth_cache_seconds),
            "EPMJOBS_MAX_FILE_BYTES": str(self.max_file_bytes),
            "EPMJOBS_MAX_REPOSITORY_BYTES": str(self.max_repository_bytes),
            "EPMJOBS_WORKER_QUEUES": self.worker_queues,
            "EPMJOBS_SHUTDOWN_GRACE_SECONDS": str(self.shutdown_grace_seconds),
            "EPMJOBS_LOG_FORMAT": self.log_format,
        }
        optional = {"EPMJOBS_DATABASE_URL": self.database_url, "EPMJOBS_RUNNER": self.runner,
                    "EPMJOBS_FILES_URL": self.files_url,
                    "EPMJOBS_S3_ENDPOINT_URL": self.s3_endpoint_url,
                    "EPMJOBS_S3_REGION": self.s3_region}
        env.update({name: value for name, value in optional.items() if value})
        return env
