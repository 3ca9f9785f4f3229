"""The files part of the client: Oracle's Migration ("interop") file API (reference §6).

Uploads go in chunks of at most 50 MB read from disk as they are sent; downloads stream
to a hidden temporary file next to the destination, renamed into place only once every
byte has arrived. An interrupted transfer leaves nothing behind: no partial local file,
and no half-uploaded file in the repository (the client deletes what it may have made).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from epmjobs.client.base import INTEROP_FILES, ClientBase, items_of, segment
from epmjobs.client.errors import EpmError, FileOperationFailed, UnexpectedResponse
from epmjobs.client.http import decode_json
from epmjobs.client.models import RemoteFile

CHUNK_BYTES = 50 * 1024 * 1024  # Oracle's limit per upload request
_READ_BYTES = 1024 * 1024
_LCM_WAIT_SECONDS = 600.0

OnBytes = Callable[[int, int], None]
"""Called with (bytes transferred so far, total bytes or 0 when unknown)."""


def _checked(data: Any, what: str) -> dict[str, Any]:
    """An interop envelope with status 0, or FileOperationFailed with Oracle's details."""
    if not isinstance(data, dict) or not isinstance(data.get("status"), int):
        raise UnexpectedResponse(f"Expected the file API's answer to {what}, got "
                                 f"{data!r:.200}")
    if data["status"] > 0:
        details = data.get("details") or f"{what} failed (status {data['status']})."
        raise FileOperationFailed(str(details).strip(), data["status"])
    return data


def _read_range(path: Path, offset: int, size: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(offset)
        left = size
        while left > 0:
            piece = handle.read(min(_READ_BYTES, left))
            if not piece:
                raise EpmError(f"{path} shrank while it was being uploaded.")
            left -= len(piece)
            yield piece


class FilesMixin(ClientBase):
    """Files: the methods of :class:`EpmClient` for the Inbox/Outbox repository."""

    def list_files(self) -> list[RemoteFile]:
        """Every file of the repository (``GET …/applicationsnapshots``)."""
        data = _checked(self.http.json("GET", INTEROP_FILES), "list files")
        return [RemoteFile.from_json(i) for i in items_of(data, "file list")]

    def delete_file(self, name: str) -> None:
        """Delete one file (``inbox/x.csv`` for a file in a folder)."""
        _checked(self.http.json("DELETE", f"{INTEROP_FILES}/{segment(name)}"),
                 f"delete {name}")

    def upload(self, path: str | os.PathLike[str], name: str | None = None,
               folder: str | None = None, *, chunk_size: int = CHUNK_BYTES,
               overwrite: bool = False, on_progress: OnBytes | None = None) -> str:
        """Upload a local file in chunks; returns the name it has in the repository.

        ``name`` defaults to the file's own name; ``folder`` (``inbox``, ``outbox`` or a
        Data Management folder) is sent as ``extDirPath``. The API never replaces a file:
        with ``overwrite`` an existing one is deleted first.
        """
        source = Path(path)
        total = source.stat().st_size
        name = name or source.name
        target = f"{folder.strip('/')}/{name}" if folder else name
        if overwrite:
            with contextlib.suppress(FileOperationFailed):
                self.delete_file(target)
        url = f"{INTEROP_FILES}/{segment(name)}/contents"
        sent, first = 0, True
        try:
            while first or sent < total:
                size = min(chunk_size, total - sent)
                q = {"isFirst": first, "isLast": sent + size >= total, "chunkSize": size,
                     "fileSize": total}
                params = {"q": json.dumps(q, separators=(",", ":"))}
                if folder:
                    params["extDirPath"] = folder
                start = sent
                data = self.http.json(
                    "POST", url, params=params,
                    content=lambda start=start, size=size: _read_range(source, start, size),
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Length": str(size)})
                data = _checked(data, f"upload {name}")
                first, sent = False, sent + size
                if on_progress is not None:
                    on_progress(sent, total)
            if data["status"] == -1:
                self._wait_extraction(data, name)
        except BaseException:
            if not first:  # a chunk was accepted: remove whatever the server may keep
                with contextlib.suppress(EpmError):
                    self.delete_file(target)
            raise
        return target

    def _wait_extraction(self, data: dict[str, Any], name: str) -> None:
        """A snapshot ZIP is extracted after its last chunk: follow ``Job Status``."""
        href = next((x.get("href") for x in data.get("links") or ()
                     if isinstance(x, dict) and x.get("rel") == "Job Status"), None)
        if not isinstance(href, str):
            return
        start = self.clock()
        delays = self.poll_policy.delays()
        while data["status"] == -1:
            if self.clock() - start > _LCM_WAIT_SECONDS:
                raise FileOperationFailed(f"The upload of {name} was still being processed "
                                          f"after {_LCM_WAIT_SECONDS:g} s.", -1)
            self.sleep(next(delays))
            data = _checked(self.http.json("GET", self.http.url(href)), f"upload {name}")

    def download(self, name: str, dest: str | os.PathLike[str] = ".", *,
                 on_progress: OnBytes | None = None) -> Path:
        """Download a file, streaming it to disk; returns the local path written.

        ``dest`` is a directory (the file keeps its base name, plus the extension the
        server reports in ``fileExtension`` when the name has none, as for snapshots) or a
        file path. An existing local file is replaced only once the download is complete.
        """
        target = Path(dest)
        with self.http.stream("GET", f"{INTEROP_FILES}/{segment(name)}/contents") as response:
            if "json" in response.headers.get("content-type", ""):
                response.read()  # Oracle's way of saying no: HTTP 200 and a JSON status
                _checked(decode_json(response), f"download {name}")
                raise UnexpectedResponse(f"The download of {name} sent JSON, not the file.")
            if target.is_dir():
                base = name.replace("\\", "/").rsplit("/", 1)[-1]
                ext = response.headers.get("fileExtension", "").strip(".")
                if ext and "." not in base:
                    base = f"{base}.{ext}"
                target = target / base
            expected = int(response.headers.get("content-length", "0") or 0)
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                        dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    got = 0
                    for piece in response.iter_bytes():
                        out.write(piece)
                        got += len(piece)
                        if on_progress is not None:
                            on_progress(got, expected)
                if expected and got != expected and "content-encoding" not in response.headers:
                    raise UnexpectedResponse(f"The download of {name} ended after {got} of "
                                             f"{expected} bytes.")
                os.replace(temp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        return target
