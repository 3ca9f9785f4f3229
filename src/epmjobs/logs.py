"""Log lines: text for people, one JSON object per line for log pipelines.

``EPMJOBS_LOG_FORMAT=json`` switches every epmjobs process (API and workers) to JSON.
A line about a job carries its ``job_id`` — from ``extra={"job_id": …}`` in our code, or
from the task arguments procrastinate attaches to its own records — so one job's story
can be followed across API processes and worker machines.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from typing import Any

import orjson

from epmjobs.settings import Settings

_HOST = socket.gethostname()
# procrastinate's structured extras worth keeping (its "job" and "worker" are nested dicts)
_EXTRAS = ("action", "queue", "queues", "status", "job_id", "worker_id", "duration")


def job_id_of(record: logging.LogRecord) -> int | None:
    """Our job id on a record: our own extra, or procrastinate's task arguments."""
    own = getattr(record, "job_id", None)
    if isinstance(own, int):
        return own
    job = getattr(record, "job", None)
    if isinstance(job, dict):
        value = (job.get("task_kwargs") or {}).get("job_id")
        if isinstance(value, int):
            return value
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "host": _HOST,
            "pid": record.process,
        }
        job_id = job_id_of(record)
        if job_id is not None:
            line["job_id"] = job_id
        for key in _EXTRAS:
            value = getattr(record, key, None)
            if key != "job_id" and value is not None:
                line[key] = value
        worker = getattr(record, "worker", None)
        if isinstance(worker, dict) and worker.get("name"):
            line["worker"] = worker["name"]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        job_id = job_id_of(record)
        return text if job_id is None or f"job {job_id}" in text else f"{text} [job {job_id}]"


def configure(settings: Settings, level: int = logging.INFO) -> None:
    """Send this process's log records to stderr in the configured format (idempotent)."""
    fmt = settings.log_format.strip().lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"EPMJOBS_LOG_FORMAT must be text or json, not {settings.log_format!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_epmjobs", False)]:
        root.removeHandler(old)
    handler._epmjobs = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # procrastinate reports every job's start and end at INFO (twice per job), Alembic
    # every schema look-up: in the way of the lines that matter.
    for noisy in ("procrastinate", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
