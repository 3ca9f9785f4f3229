"""Request-side helpers shared by the routes: base URL, caller, body, numbers, JSON out."""

from __future__ import annotations

import functools
import re
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from epmjobs.api.wire import VERSION_ALIASES
from epmjobs.errors import InvalidRequest, NotFound, PayloadTooLarge
from epmjobs.security.roles import Principal
from epmjobs.system import System

_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_PREFIX = re.compile(r"(/[A-Za-z0-9._~\-]+)*")
_JOB_ID = re.compile(r"[0-9]{1,18}")
_INT = re.compile(r"-?[0-9]{1,18}")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def system_of(request: Request) -> System:
    system: System = request.app.state.system
    return system


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",")[0].strip() or None


_BASE_HEADERS = (b"host", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port",
                 b"x-forwarded-prefix")


def base_url(request: Request) -> str:
    """Scheme://host[:port][prefix] as the client sees us, honouring X-Forwarded-*.

    Read straight from the ASGI scope and memoised on the header values: every response
    with links needs it, and the status poll is the most frequent request there is.
    """
    scope = request.scope
    found: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        if key in _BASE_HEADERS and key not in found:
            found[key] = value.decode("latin-1")
    server = scope.get("server") or ("localhost", None)
    return _base_url(scope.get("scheme", "http"), str(server[0]), server[1],
                     *(found.get(k) for k in _BASE_HEADERS))


@functools.lru_cache(maxsize=1024)
def _base_url(scheme: str, server_host: str, server_port: int | None, host: str | None,
              fwd_proto: str | None, fwd_host: str | None, fwd_port: str | None,
              fwd_prefix: str | None) -> str:
    proto = _first(fwd_proto)
    if proto not in ("http", "https"):
        proto = "https" if scheme == "https" else "http"
    netloc = _first(fwd_host) or host or ""
    if not _HOST.fullmatch(netloc):  # never trust an odd Host into a link: use our own
        netloc = f"[{server_host}]" if ":" in server_host else server_host
        if server_port is not None and (proto, server_port) not in (("http", 80),
                                                                     ("https", 443)):
            netloc = f"{netloc}:{server_port}"
    port = _first(fwd_port)
    if (port and re.fullmatch(r"[0-9]{1,5}", port) and int(port) <= 65535
            and not re.search(r":[0-9]+$", netloc)):
        netloc = f"{netloc}:{port}"
    prefix = (_first(fwd_prefix) or "").rstrip("/")
    if not _PREFIX.fullmatch(prefix):
        prefix = ""
    return f"{proto}://{netloc}{prefix}"


async def caller(request: Request) -> Principal:
    """The authenticated caller; argon2 verification runs off the event loop."""
    auth = system_of(request).authenticator
    header = request.headers.get("authorization")
    principal = auth.cached(header)
    if principal is None:
        principal = await run_in_threadpool(auth.authenticate, header)
    return principal


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON, refusing bodies over the configured size."""
    limit = system_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("Invalid JSON payload.") from exc


def job_id_param(request: Request, name: str = "job_id") -> int:
    raw = request.path_params[name]
    if not _JOB_ID.fullmatch(raw):
        raise InvalidRequest(f"Invalid job id: {raw[:100]}.")
    return int(raw)


def int_query(request: Request, name: str, default: int, minimum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _INT.fullmatch(raw):
        raise InvalidRequest(f"Invalid value for {name}: {raw[:100]}.")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise InvalidRequest(f"{name} must be at least {minimum}.")
    return value


def planning_version(request: Request) -> str:
    version: str = request.path_params["version"]
    if version not in VERSION_ALIASES:
        raise NotFound(f"The REST API version {version[:40]} is not valid.")
    return version
