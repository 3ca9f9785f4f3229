"""What the client tests share: the real app as an httpx transport, Oracle-shaped fakes.

``AppTransport`` serves the client's requests with the real ASGI app in process (through
Starlette's test transport) and runs queued jobs before each GET when ``auto_run`` is on,
so a job ends at its first poll: deterministic, no sleeps. ``Recorder`` is an
``httpx.MockTransport`` that answers from a list of canned responses (recorded from the
shapes in the reference) and keeps every request it saw.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from epmjobs.api.app import create_app
from epmjobs.client import EpmClient, PollPolicy, RetryPolicy
from epmjobs.jobs.runner import Worker
from epmjobs.system import System

BASE = "http://epm.test"
ORACLE = "https://epm-acme.epm.us-phoenix-1.ocs.oraclecloud.com"
NO_RETRY = RetryPolicy(retries=0)
FAST_POLL = PollPolicy(first=0.01, factor=1.0, cap=0.01)


class AppTransport(httpx.BaseTransport):
    """The real app; ``auto_run`` drains the job queue before every GET."""

    def __init__(self, inner: httpx.BaseTransport, worker: Worker,
                 auto_run: bool = True) -> None:
        self.inner = inner
        self.worker = worker
        self.auto_run = auto_run
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.auto_run and request.method == "GET":
            self.worker.drain()
        return self.inner.handle_request(request)


def interop_registered(app: Any) -> bool:
    return any(str(getattr(r, "path", "")).startswith("/interop") for r in app.routes)


@pytest.fixture
def app_transport(system: System, worker: Worker) -> Iterator[AppTransport]:
    app = create_app(system)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's notice about httpx2
        from starlette.testclient import TestClient

        test_client = TestClient(app, base_url=BASE)
    with test_client:
        transport = AppTransport(test_client._transport, worker)
        transport.interop = interop_registered(app)  # type: ignore[attr-defined]
        yield transport


@pytest.fixture
def epm(app_transport: AppTransport) -> Iterator[EpmClient]:
    """A client of the in-process server, as admin, with instant polls."""
    with EpmClient(BASE, ("admin", "adminpw"), transport=app_transport, retry=NO_RETRY,
                   poll=FAST_POLL) as client:
        yield client


def need_files(transport: AppTransport) -> None:
    if not getattr(transport, "interop", False):
        pytest.skip("the interop file routes are not registered in api/app.py yet")


Reply = httpx.Response | Callable[[httpx.Request], httpx.Response] | BaseException


class Recorder(httpx.MockTransport):
    """Answers requests with ``replies`` in order; keeps every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply(request) if callable(reply) else reply

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def oracle_client(*replies: Reply, **options: Any) -> tuple[EpmClient, Recorder, list[float]]:
    """A client of a fake Oracle pod; the third value collects the sleeps it asked for."""
    recorder = Recorder(*replies)
    sleeps: list[float] = []
    options.setdefault("poll", PollPolicy())
    client = EpmClient(ORACLE, ("acme.jdoe", "secret"), transport=recorder,
                       sleep=sleeps.append, **options)
    return client, recorder, sleeps


def job_json(job_id: int, status: int, label: str, details: str | None = None,
             name: str | None = "ForecastData", app: str = "Vision") -> dict[str, Any]:
    """An Oracle job record, keys in the order a live pod sent them (reference §2.2)."""
    url = f"{ORACLE}/HyperionPlanning/rest/v3/applications/{app}/jobs/{job_id}"
    return {"status": status, "details": details, "jobId": job_id, "descriptiveStatus": label,
            "jobName": name,
            "links": [{"rel": "self", "href": url, "action": "GET"},
                      {"rel": "job-details", "href": f"{url}/details", "action": "GET"}]}


def reply(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)
