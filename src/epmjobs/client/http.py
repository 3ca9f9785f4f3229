"""The HTTP layer: one httpx client, credentials, safe retries, and Oracle's error answers.

Retries happen on connection errors and on 503 only, with capped exponential backoff
(with jitter) and ``Retry-After`` honoured. A request that may have reached the server is
retried only when it is idempotent (GET): a POST that may have been accepted is never
sent twice, because a second job or a second chunk is worse than an error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from epmjobs import __version__
from epmjobs.client.errors import ConnectionFailed, UnexpectedResponse, error_for

Credentials = tuple[str, str] | httpx.Auth
Content = Callable[[], Iterable[bytes]] | bytes
USER_AGENT = f"epmjobs-client/{__version__} (+httpx)"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` (an OAuth 2 access token, or an epmjobs token)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def basic_auth(user: str, password: str, identity_domain: str | None = None) -> httpx.Auth:
    """HTTP Basic as Oracle takes it: ``user`` or ``identitydomain.user``."""
    return httpx.BasicAuth(f"{identity_domain}.{user}" if identity_domain else user, password)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry connection errors and 503 answers."""

    retries: int = 4
    backoff: float = 0.5  # the first delay, doubled each time
    cap: float = 30.0  # the longest delay between two attempts
    max_retry_after: float = 300.0  # the longest Retry-After honoured

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.backoff * 2 ** attempt) * random.uniform(0.5, 1.0))


def retry_after(response: httpx.Response) -> float | None:
    """Seconds asked by ``Retry-After`` (delta-seconds or an HTTP date), if any."""
    raw = response.headers.get("retry-after", "").strip()
    if raw.isdigit():
        return float(raw)
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def normalise_base_url(url: str) -> str:
    """``https://host[:port][/prefix]`` without the UI context or a trailing slash."""
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise ValueError(f"Not a URL: {url!r}")
    path = parts.path.rstrip("/")
    for suffix in ("/epmcloud", "/HyperionPlanning", "/interop"):
        if path.lower().endswith(suffix.lower()):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{parts.netloc}{path}"


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON, or UnexpectedResponse saying what came instead."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        snippet = " ".join(response.text.split())[:120]
        raise UnexpectedResponse(
            f"The server at {response.request.url} answered HTTP {response.status_code} with "
            f"{kind}, not JSON ({snippet!r}): is the URL right, or is a proxy in the way?",
            response.status_code) from None


class Http:
    """One connection pool to one server, with retries and error mapping."""

    def __init__(self, base_url: str, auth: Credentials | None, *,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None,
                 retry: RetryPolicy | None = None, verify: bool | str = True,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = normalise_base_url(base_url)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        if isinstance(auth, tuple):
            auth = httpx.BasicAuth(*auth)
        self.client = httpx.Client(
            base_url=self.base_url, auth=auth, timeout=timeout, transport=transport,
            verify=verify, follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self) -> None:
        self.client.close()

    def url(self, href: str) -> str:
        """A link from the server, re-rooted on our base URL when its origin differs."""
        parts, base = urlsplit(href), urlsplit(self.base_url)
        if not parts.scheme or (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            return href
        return f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        return decode_json(response)

    @contextmanager
    def stream(self, method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
        response = self.request(method, url, stream=True, **kwargs)
        try:
            yield response
        finally:
            response.close()

    def request(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                json: Any = None, content: Content | None = None,
                headers: Mapping[str, str] | None = None, stream: bool = False,
                ) -> httpx.Response:
        """Send with retries; the response if its status is below 400, else raise."""
        def build() -> httpx.Request:
            body = content() if callable(content) else content
            return self.client.build_request(method, url, params=params, json=json,
                                             content=body, headers=headers)

        response = self._send(build, method.upper() in _IDEMPOTENT, stream)
        if response.status_code < 300:
            return response
        try:
            response.read()
        finally:
            response.close()
        if response.status_code < 400:
            where = response.headers.get("location", "elsewhere")
            raise UnexpectedResponse(
                f"The server redirected {response.request.url} to {where}: use the service "
                "URL without a UI path (e.g. https://host, not https://host/epmcloud).",
                response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        raise error_for(response.status_code, body, str(response.request.url),
                        "" if body is not None else response.text)

    def _send(self, build: Callable[[], httpx.Request], idempotent: bool,
              stream: bool) -> httpx.Response:
        attempt = 0
        while True:
            request = build()
            try:
                response = self.client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                self._give_up_or_wait(attempt, exc, request, sent=False)
            except httpx.TransportError as exc:
                if not idempotent:
                    raise self._failure(exc, request, sent=True) from exc
                self._give_up_or_wait(attempt, exc, request, sent=True)
            else:
                if response.status_code != 503 or attempt >= self.retry.retries:
                    return response
                wait = retry_after(response)
                response.close()
                self.sleep(min(wait, self.retry.max_retry_after) if wait is not None
                           else self.retry.delay(attempt))
            attempt += 1

    def _give_up_or_wait(self, attempt: int, exc: httpx.TransportError,
                         request: httpx.Request, sent: bool) -> None:
        if attempt >= self.retry.retries:
            raise self._failure(exc, request, sent) from exc
        self.sleep(self.retry.delay(attempt))

    def _failure(self, exc: httpx.TransportError, request: httpx.Request,
                 sent: bool) -> ConnectionFailed:
        what = "did not answer in time" if isinstance(exc, httpx.TimeoutException) else \
            f"could not be reached ({type(exc).__name__}: {exc})"
        message = f"{request.method} {request.url}: the server {what}."
        if sent and request.method.upper() not in _IDEMPOTENT:
            message += (" The request may have been carried out; it was not repeated "
                        "(check before retrying).")
        return ConnectionFailed(message)
