"""Oracle's Migration file routes (reference §6): list, upload, download, delete."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from epmjobs.api import interop
from epmjobs.api.http import JSONResponse, base_url, caller, json_body, system_of
from epmjobs.api.query import parse_q
from epmjobs.errors import InvalidRequest, NotFound
from epmjobs.jobs import parameters as p
from epmjobs.security import policy
from epmjobs.storage.files import extension_of, folder_name, normalise_name


class AnyPathConvertor(Convertor[str]):
    """A file name as sent, separators and all; even characters ``path`` will not match
    (a newline) reach the name check, which refuses them with Oracle's envelope."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", AnyPathConvertor())

ROOT = interop.INTEROP_ROOT
SNAPSHOTS = ROOT + "/{version}/applicationsnapshots"


def _version(request: Request) -> str:
    version: str = request.path_params["version"]
    if version not in interop.INTEROP_VERSIONS:
        raise NotFound(f"The REST API version {version[:40]} is not valid.")
    return version


def _self(request: Request) -> str:
    return base_url(request) + request.url.path


async def _file_caller(request: Request) -> None:
    policy.require_file_access(await caller(request))


async def list_versions(request: Request) -> JSONResponse:
    await caller(request)
    return JSONResponse(interop.versions(base_url(request)))


async def get_version(request: Request) -> JSONResponse:
    await caller(request)
    return JSONResponse(interop.version_item(base_url(request), _version(request)))


async def list_files(request: Request) -> JSONResponse:
    await _file_caller(request)
    if "version" in request.path_params:
        _version(request)
    files = await run_in_threadpool(system_of(request).stores.files.list)
    return JSONResponse(interop.file_list(files, _self(request)))


def _upload_target(request: Request, q: dict[str, object]) -> str:
    name = request.path_params["file_name"]
    folder = folder_name(str(q.get("extDirPath") or request.query_params.get("extDirPath")
                             or "") or None)
    if folder is None:
        return normalise_name(name)
    return normalise_name(f"{folder}/{name.replace(chr(92), '/').rsplit('/', 1)[-1]}")


def _size(q: dict[str, object], key: str) -> int | None:
    value = q.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidRequest(f"Invalid {key} in q: {str(value)[:40]}.")
    return int(value)


async def upload(request: Request) -> JSONResponse:
    await _file_caller(request)
    _version(request)
    q = parse_q(request.query_params.get("q"))
    target = _upload_target(request, q)
    files = system_of(request).stores.files
    chunk = await run_in_threadpool(
        files.start_chunk, target, is_first=p.boolean(q, "isFirst", True),
        is_last=p.boolean(q, "isLast", True), chunk_size=_size(q, "chunkSize"),
        file_size=_size(q, "fileSize"))
    try:
        async for piece in request.stream():
            if piece:
                chunk.write(piece)
    except BaseException:
        chunk.abort()
        raise
    await run_in_threadpool(chunk.finish)
    return JSONResponse(interop.envelope(_self(request), "POST"))


async def download(request: Request) -> Response:
    await _file_caller(request)
    _version(request)
    name = normalise_name(request.path_params["file_name"])
    files = system_of(request).stores.files
    info = await run_in_threadpool(files.stat, name)
    base = info.name.rsplit("/", 1)[-1]
    headers = {"fileExtension": extension_of(info.name), "Content-Length": str(info.size),
               "Content-Disposition": f"attachment; filename*=UTF-8''{quote(base)}"}
    return StreamingResponse(files.read(name), media_type="application/octet-stream",
                             headers=headers)


async def delete(request: Request) -> JSONResponse:
    await _file_caller(request)
    _version(request)
    await run_in_threadpool(system_of(request).stores.files.delete,
                            request.path_params["file_name"])
    return JSONResponse(interop.envelope(_self(request), "DELETE"))


async def delete_by_body(request: Request) -> JSONResponse:
    """v2 ``DELETE .../files/delete`` and v3 ``POST .../files/delete`` with {"fileName"}."""
    await _file_caller(request)
    body = await json_body(request)
    name = body.get("fileName") if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise InvalidRequest('The body must be {"fileName": "<name>"}.')
    await run_in_threadpool(system_of(request).stores.files.delete, name)
    return JSONResponse(interop.envelope(_self(request), request.method))


routes = [
    Route(ROOT, list_versions, methods=["GET"]),
    Route(ROOT + "/", list_versions, methods=["GET"]),
    Route(ROOT + "/v2/files/list", list_files, methods=["GET"]),
    Route(ROOT + "/v2/files/delete", delete_by_body, methods=["DELETE"]),
    Route(ROOT + "/v3/files/delete", delete_by_body, methods=["POST"]),
    Route(ROOT + "/{version}", get_version, methods=["GET"]),
    Route(SNAPSHOTS, list_files, methods=["GET"]),
    Route(SNAPSHOTS + "/{file_name:anypath}/contents", upload, methods=["POST"]),
    Route(SNAPSHOTS + "/{file_name:anypath}/contents", download, methods=["GET"]),
    Route(SNAPSHOTS + "/{file_name:anypath}", delete, methods=["DELETE"]),
]
