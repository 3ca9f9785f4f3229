"""ControlClient: the control API from Python, for any server whose control API is on.

The fixtures hand one out (``epmjobs_server.control``); build your own for a server you
started yourself::

    control = ControlClient("http://127.0.0.1:8080", ("admin", "welcome1"))
    control.progress(after_polls=2, job_type="RULES")
    control.script(status=1, details="Cell is locked", job_name="Aggregate")

Refusals raise the client's errors (``epmjobs.client``): ``BadRequest`` with the server's
reason for a malformed rule, ``AccessDenied`` for a non-administrator, ``NotFound`` when
the control API is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson

from epmjobs.client.base import segment
from epmjobs.client.http import Credentials, Http, RetryPolicy

ROOT = "/epmjobs/v1/control"
Application = str | Path | Mapping[str, Any]


def _match(application: str | None, job_type: str | None,
           job_name: str | None) -> dict[str, str]:
    found = {"application": application, "jobType": job_type, "jobName": job_name}
    return {k: v for k, v in found.items() if v is not None}


def _application(app: Application) -> Any:
    """A built-in name stays a name; a path is read here and sent as its document."""
    if isinstance(app, Path):
        return orjson.loads(app.read_bytes())
    return dict(app) if isinstance(app, Mapping) else app


class ControlClient:
    def __init__(self, base_url: str, auth: Credentials, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 60.0) -> None:
        self.http = Http(base_url, auth, transport=transport, timeout=timeout,
                         retry=RetryPolicy(retries=0))

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return self.http.json(method, ROOT + path, json=body)

    def state(self) -> dict[str, Any]:
        """The rules, outcomes and faults in force, the held jobs, the recorder."""
        found: dict[str, Any] = self._call("GET", "")
        return found

    # -- the stored state ----------------------------------------------------------------

    def reset(self, *applications: Application) -> list[str]:
        """Delete every application, job and file (users stay), then create these:
        built-in names (``"Vision"``), definition files (a ``Path``) or documents."""
        body = {"applications": [_application(a) for a in applications]}
        names: list[str] = self._call("POST", "/reset", body)["applications"]
        return names

    def snapshot(self, name: str) -> None:
        self._call("POST", "/snapshots", {"name": name})

    def restore(self, name: str) -> None:
        """The snapshot's database and files back; rules, outcomes and faults cleared."""
        self._call("POST", f"/snapshots/{segment(name)}/restore")

    def snapshots(self) -> list[str]:
        return [item["name"] for item in self._call("GET", "/snapshots")["items"]]

    def delete_snapshot(self, name: str) -> None:
        self._call("DELETE", f"/snapshots/{segment(name)}")

    # -- jobs --------------------------------------------------------------------------

    def progress(self, mode: str | None = None, *, after_polls: int | None = None,
                 after_seconds: float | None = None, job_type: str | None = None,
                 job_name: str | None = None, application: str | None = None) -> None:
        """How the matching jobs submitted from now on show their status:
        ``progress("immediate")``, ``progress("manual")``, ``progress(after_polls=3)`` or
        ``progress(after_seconds=1.5)``; ``job_type``/``job_name``/``application`` narrow
        it (none: every job). The newest matching rule wins."""
        progression: Any = mode
        if after_polls is not None:
            progression = {"afterPolls": after_polls}
        elif after_seconds is not None:
            progression = {"afterSeconds": after_seconds}
        if sum(x is not None for x in (mode, after_polls, after_seconds)) != 1:
            raise ValueError("give one of mode, after_polls and after_seconds")
        self._call("POST", "/progression", {**_match(application, job_type, job_name),
                                            "progression": progression})

    def clear_progression(self) -> None:
        self._call("DELETE", "/progression")

    def script(self, status: int, details: str | None = None, *, times: int = 1,
               job_type: str | None = None, job_name: str | None = None,
               application: str | None = None) -> None:
        """The fate of the next ``times`` matching jobs: 1, 4 or 2147483647 end at once with
        ``details``; 3 is accepted then cancelled; 0 runs for real."""
        body: dict[str, Any] = {**_match(application, job_type, job_name), "status": status,
                                "times": times}
        if details is not None:
            body["details"] = details
        self._call("POST", "/outcomes", body)

    def clear_outcomes(self) -> None:
        self._call("DELETE", "/outcomes")

    def advance(self, job_id: int) -> dict[str, Any]:
        """Let a held job's status show from now on; its record as it then reads."""
        record: dict[str, Any] = self._call("POST", f"/jobs/{int(job_id)}/advance")
        return record

    # -- the transport -----------------------------------------------------------------

    def _fault(self, fault: str, count: int, method: str | None, path: str | None,
               **extra: Any) -> None:
        body = {"fault": fault, "count": count, **{k: v for k, v in extra.items()
                                                   if v is not None}}
        if method is not None:
            body["method"] = method
        if path is not None:
            body["path"] = path
        self._call("POST", "/faults", body)

    def maintenance(self, count: int = 1, *, retry_after: int | None = None,
                    method: str | None = None, path: str | None = None) -> None:
        """The next ``count`` matching Oracle requests answer 503, as in maintenance."""
        self._fault("maintenance", count, method, path, retryAfter=retry_after)

    def expire_token(self, count: int = 1, *, method: str | None = None,
                     path: str | None = None) -> None:
        """The next ``count`` matching Oracle requests answer 401, as for an expired token."""
        self._fault("tokenExpired", count, method, path)

    def delay(self, seconds: float, count: int = 1, *, method: str | None = None,
              path: str | None = None) -> None:
        """The next ``count`` matching Oracle requests are served ``seconds`` late."""
        self._fault("delay", count, method, path, seconds=seconds)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- the recorder ------------------------------------------------------------------

    def start_recording(self) -> None:
        """Record every request and answer from now on (a new, empty recording)."""
        self._call("POST", "/recorder/start")

    def stop_recording(self) -> list[dict[str, Any]]:
        """Stop, and return the recorded entries."""
        self._call("POST", "/recorder/stop")
        return self.recording()

    def recording(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._call("GET", "/recorder")["entries"]
        return entries
