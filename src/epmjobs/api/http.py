"""Request-side helpers shared by the routes: base URL, caller, body, numbers, JSON out."""

from __future__ import annotations

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


def _server_netloc(request: Request, proto: str) -> str:
    """Our own address, when the client's Host header cannot be trusted into a link."""
    server = request.scope.get("server") or ("localhost", None)
    host, port = str(server[0]), server[1]
    if ":" in host:
        host = f"[{host}]"
    if port is None or (proto, port) in (("http", 80), ("https", 443)):
        return host
    return f"{host}:{port}"


def base_url(request: Request) -> str:
    """Scheme://host[:port][prefix] as the client sees us, honouring X-Forwarded-*."""
    headers = request.headers
    proto = _first(headers.get("x-forwarded-proto"))
    if proto not in ("http", "https"):
        proto = "https" if request.url.scheme == "https" else "http"
    host = _first(headers.get("x-forwarded-host")) or headers.get("host") or ""
    if not _HOST.fullmatch(host):
        host = _server_netloc(request, proto)
    port = _first(headers.get("x-forwarded-port"))
    if (port and re.fullmatch(r"[0-9]{1,5}", port) and int(port) <= 65535
            and not re.search(r":[0-9]+$", host)):
        host = f"{host}:{port}"
    prefix = (_first(headers.get("x-forwarded-prefix")) or "").rstrip("/")
    if not _PREFIX.fullmatch(prefix):
        prefix = ""
    return f"{proto}://{host}{prefix}"


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
