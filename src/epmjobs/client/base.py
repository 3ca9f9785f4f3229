"""What every part of the client shares: the connection, paths, versions, applications."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from epmjobs.client.errors import (
    AuthenticationFailed,
    ExtensionUnavailable,
    HTTPError,
    NotFound,
    ServerError,
    UnexpectedResponse,
)
from epmjobs.client.handle import PollPolicy
from epmjobs.client.http import DEFAULT_TIMEOUT, Credentials, Http, RetryPolicy
from epmjobs.client.models import ApiVersion, Application

PLANNING_ROOT = "/HyperionPlanning/rest"
INTEROP_FILES = "/interop/rest/11.1.2.3.600/applicationsnapshots"
EXTENSION_ROOT = "/epmjobs/v1"


def segment(name: str) -> str:
    """A name as one URL path segment: spaces, slashes, everything encoded."""
    return quote(name, safe="")


def items_of(data: Any, what: str) -> list[dict[str, Any]]:
    """The ``items`` of a collection; Oracle may send ``null`` for an empty one."""
    if not isinstance(data, dict):
        raise UnexpectedResponse(f"Expected {what}, got {data!r:.200}")
    items = data.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise UnexpectedResponse(f"The {what} has no list of items: {data!r:.200}")
    return [i for i in items if isinstance(i, dict)]


class ClientBase:
    """The connection and what does not belong to jobs or files (see :class:`EpmClient`)."""

    def __init__(self, base_url: str, auth: Credentials | None = None, *,
                 api_version: str | None = "v3",
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None,
                 retry: RetryPolicy | None = None, poll: PollPolicy | None = None,
                 verify: bool | str = True, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.http = Http(base_url, auth, timeout=timeout, transport=transport, retry=retry,
                         verify=verify, sleep=sleep)
        self._api_version = api_version
        self.poll_policy = poll or PollPolicy()
        self.sleep = sleep
        self.clock = clock
        self._extensions: bool | None = None

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- versions ------------------------------------------------------------------------

    @property
    def api_version(self) -> str:
        """The Planning API version in use; discovered on first use when given as None."""
        if self._api_version is None:
            self._api_version = self.latest_api_version()
        return self._api_version

    def api_versions(self) -> list[ApiVersion]:
        """``GET /HyperionPlanning/rest/``: the versions the server offers."""
        data = self.http.json("GET", f"{PLANNING_ROOT}/")
        return [ApiVersion.from_json(i) for i in items_of(data, "version list")]

    def latest_api_version(self) -> str:
        versions = self.api_versions()
        latest = [v.version for v in versions if v.is_latest]
        if latest:
            return latest[0]
        if not versions:
            raise UnexpectedResponse("The server lists no Planning API version.")
        return versions[-1].version

    def ping(self) -> ApiVersion:
        """``GET /HyperionPlanning/rest/{v}``: checks the URL and the credentials."""
        data = self.http.json("GET", f"{PLANNING_ROOT}/{self.api_version}")
        if not isinstance(data, dict) or "version" not in data:
            raise UnexpectedResponse(f"Not a Planning API version resource: {data!r:.200}")
        return ApiVersion.from_json(data)

    # -- applications --------------------------------------------------------------------

    def planning_url(self, path: str = "") -> str:
        return f"{PLANNING_ROOT}/{self.api_version}{path}"

    def app_url(self, app: str, path: str = "") -> str:
        return self.planning_url(f"/applications/{segment(app)}{path}")

    def applications(self) -> list[Application]:
        """The applications the user can see (one, on an Oracle pod)."""
        data = self.http.json("GET", self.planning_url("/applications"))
        return [Application.from_json(i) for i in items_of(data, "application list")]

    def application(self, name: str) -> Application:
        data = self.http.json("GET", self.app_url(name))
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"Expected an application, got {data!r:.200}")
        return Application.from_json(data)

    # -- epmjobs extensions ----------------------------------------------------------------

    def has_extensions(self) -> bool:
        """Whether the server has epmjobs' ``/epmjobs/v1`` extensions (Oracle's does not)."""
        if self._extensions is None:
            try:
                self.http.request("GET", f"{EXTENSION_ROOT}/jobs", params={"limit": "1"})
                self._extensions = True
            except AuthenticationFailed:
                raise
            except (HTTPError, UnexpectedResponse):
                self._extensions = False
        return self._extensions

    def extension(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """Call an extension; ExtensionUnavailable when the server does not have them."""
        try:
            return self.http.json(method, f"{EXTENSION_ROOT}{path}", **kwargs)
        except (NotFound, ServerError, UnexpectedResponse) as exc:  # 404, 405, HTML...
            if self.has_extensions():
                raise
            raise ExtensionUnavailable(
                f"{what} is an epmjobs extension; the server at {self.base_url} does not "
                "offer it (Oracle's REST API has no such endpoint).") from exc
