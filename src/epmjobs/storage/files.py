"""The file repository: Oracle's inbox/outbox, as a flat store of named files.

Names are what clients send (``data.csv``, ``inbox/data.csv``, ``inbox\\data.csv``,
``outbox/logs/x.log``): ``/`` and ``\\`` both separate folders; the top folder of a name
with folders is ``inbox`` or ``outbox``. Nothing a name says can reach outside the
repository: ``..``, absolute paths, drive letters, NUL and control characters, and
invisible or direction-changing Unicode are refused.

Uploads arrive in ordered chunks; a file becomes visible (to listings, downloads and
jobs) only when its last chunk has arrived complete, by an atomic link into place that
also refuses to overwrite. Job outputs are written to a temporary file and moved into
place with ``publish`` inside the job's final transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import orjson

from epmjobs.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from epmjobs.settings import Settings

TOP_FOLDERS = ("inbox", "outbox")
_MAX_NAME = 255
_FORBIDDEN_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_UPLOADS = ".uploads"
_STALE_UPLOAD_SECONDS = 24 * 3600
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileInfo:
    name: str  # with forward slashes: "inbox/data.csv"
    size: int
    modified: float


def normalise_name(raw: str) -> str:
    """The repository name for what a client sent, or InvalidRequest saying why not."""
    if not raw or len(raw) > _MAX_NAME:
        raise InvalidRequest(f"Invalid file name: it must have 1 to {_MAX_NAME} characters.")
    name = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if _FORBIDDEN_CHARS.search(name) or any(unicodedata.category(c) in _INVISIBLE
                                            for c in name):
        raise InvalidRequest(f"Invalid file name {raw!r}: it contains a forbidden character.")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise InvalidRequest(f"Invalid file name {raw!r}: absolute paths are not allowed.")
    parts = name.split("/")
    if any(p in ("", ".", "..") or p != p.strip() or p.endswith(".") for p in parts):
        raise InvalidRequest(f"Invalid file name {raw!r}: it must stay inside the repository.")
    if len(parts) > 1 and parts[0].lower() not in TOP_FOLDERS:
        raise InvalidRequest(
            f"Invalid file name {raw!r}: folders must be under inbox/ or outbox/.")
    if len(parts) > 1:
        parts[0] = parts[0].lower()
    if parts[0] == _UPLOADS or parts[-1].startswith(".epmjobs-"):
        raise InvalidRequest(f"Invalid file name {raw!r}: the name is reserved.")
    return "/".join(parts)


def folder_name(raw: str | None) -> str | None:
    """An ``extDirPath`` value (``inbox``, ``outbox/logs``…) as a repository folder."""
    if raw is None or not raw.strip():
        return None
    folder = normalise_name(raw.strip().strip("/\\"))
    if folder.split("/")[0].lower() not in TOP_FOLDERS:
        raise InvalidRequest(f"Invalid extDirPath {raw!r}: use inbox or outbox (or a folder "
                             "under them).")
    return folder


def extension_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


class ChunkUpload:
    """One chunk of an upload being received into its hidden part file."""

    def __init__(self, repo: LocalFileRepository, name: str, final: Path, part: Path,
                 meta_path: Path, handle: BinaryIO, already: int, expected: int | None,
                 is_last: bool, chunk_size: int | None, budget: int) -> None:
        self.repo, self.name, self.final = repo, name, final
        self.part, self.meta_path, self.handle = part, meta_path, handle
        self.already, self.received, self.expected = already, already, expected
        self.is_last, self.chunk_size, self.budget = is_last, chunk_size, budget

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.budget:
            self.abort()
            raise PayloadTooLarge("The upload exceeds the size limit of the file repository; "
                                  "it was abandoned.")
        if self.expected is not None and self.received > self.expected:
            self.abort()
            raise InvalidRequest(f"More bytes arrived for {self.name} than its fileSize "
                                 f"{self.expected}; the upload was abandoned.")
        self.handle.write(data)

    def abort(self) -> None:
        self.handle.close()
        self.repo.discard_upload(self.part, self.meta_path)

    def finish(self) -> FileInfo | None:
        """Close the chunk: None while more chunks are due, the file's info at the end."""
        self.handle.close()
        got = self.received - self.already
        if self.chunk_size is not None and got != self.chunk_size:
            self.abort()
            raise InvalidRequest(f"The chunk of {self.name} has {got} bytes, not the chunkSize "
                                 f"{self.chunk_size}; the upload was abandoned.")
        if not self.is_last:
            self.meta_path.write_bytes(orjson.dumps({"received": self.received,
                                                     "fileSize": self.expected}))
            return None
        if self.expected is not None and self.received != self.expected:
            self.abort()
            raise InvalidRequest(f"The upload of {self.name} ended with {self.received} "
                                 f"bytes, not the fileSize {self.expected}; the upload was "
                                 "abandoned.")
        return self.repo.complete_upload(self)


class ChunkWriter(Protocol):
    """One chunk of an upload being received: ``write`` its bytes, then ``finish`` (the
    file's info once its last chunk is in) or ``abort``."""

    def write(self, data: bytes) -> None: ...
    def abort(self) -> None: ...
    def finish(self) -> FileInfo | None: ...


def write_chunk(upload: ChunkWriter, data: Iterable[bytes] | bytes) -> FileInfo | None:
    """Write one whole chunk through ``upload`` (aborting it on any failure); the
    FileInfo once the file is complete."""
    try:
        for piece in [data] if isinstance(data, bytes) else data:
            upload.write(piece)
    except BaseException:
        upload.abort()
        raise
    return upload.finish()


class FileRepository(Protocol):
    def list(self) -> list[FileInfo]: ...
    def stat(self, name: str) -> FileInfo: ...
    def read(self, name: str) -> Iterator[bytes]: ...
    def open(self, name: str) -> BinaryIO: ...
    def delete(self, name: str) -> None: ...
    def start_chunk(self, name: str, *, is_first: bool, is_last: bool,
                    chunk_size: int | None, file_size: int | None) -> ChunkWriter: ...
    def receive_chunk(self, name: str, data: Iterable[bytes] | bytes, *, is_first: bool,
                      is_last: bool, chunk_size: int | None,
                      file_size: int | None) -> FileInfo | None: ...
    def temporary(self, suffix: str = "") -> Path: ...
    def publish(self, temporary: Path, name: str) -> FileInfo: ...
    def check(self) -> None:
        """Raise unless the repository can be reached (readiness)."""


def make_file_repository(settings: Settings) -> FileRepository:
    """The repository the settings name: ``EPMJOBS_FILES_URL=s3://bucket/prefix`` (an
    S3-compatible bucket, shared by every process of a scaled-out installation), else the
    ``files`` folder of the data directory."""
    if settings.files_url:
        from epmjobs.storage.s3files import S3FileRepository

        return S3FileRepository.from_settings(settings)
    return LocalFileRepository(settings.data_dir / "files", settings.max_file_bytes,
                               settings.max_repository_bytes)


class LocalFileRepository:
    """A folder on disk. Partial uploads live in a hidden folder no listing shows."""

    def __init__(self, root: Path, max_file_bytes: int, max_total_bytes: int) -> None:
        self.root = root.resolve()
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        for sub in (*TOP_FOLDERS, _UPLOADS):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- reading ---------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        path = (self.root / normalise_name(name)).resolve()
        if self.root not in path.parents:
            raise InvalidRequest(f"Invalid file name {name!r}.")
        return path

    def list(self) -> list[FileInfo]:
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root)
            if rel_dir.parts[:1] == (_UPLOADS,):
                dirnames[:] = []
                continue
            dirnames[:] = [d for d in dirnames if d != _UPLOADS or rel_dir.parts]
            for filename in filenames:
                if filename.startswith(".epmjobs-"):
                    continue
                st = os.stat(os.path.join(dirpath, filename))
                found.append(FileInfo((rel_dir / filename).as_posix(), st.st_size, st.st_mtime))
        return sorted(found, key=lambda f: f.name.lower())

    def stat(self, name: str) -> FileInfo:
        path = self._path(name)
        if not path.is_file():
            raise NotFound(f"Invalid file : {name}")
        st = path.stat()
        return FileInfo(path.relative_to(self.root).as_posix(), st.st_size, st.st_mtime)

    def open(self, name: str) -> BinaryIO:
        self.stat(name)
        return self._path(name).open("rb")

    def read(self, name: str) -> Iterator[bytes]:
        with self.open(name) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    def delete(self, name: str) -> None:
        path = self._path(name)
        if not path.is_file():
            raise NotFound(f"Invalid file : {name}")
        path.unlink()

    def used_bytes(self) -> int:
        return sum(f.size for f in self.list())

    def pending_uploads(self) -> int:
        """Hidden part files of unfinished uploads (tests, operations)."""
        return sum(1 for _ in (self.root / _UPLOADS).iterdir())

    def check(self) -> None:
        if not os.access(self.root / _UPLOADS, os.W_OK):
            raise OSError(f"the file repository {self.root} is not writable")

    # -- uploads ---------------------------------------------------------------------

    def _upload_paths(self, name: str) -> tuple[Path, Path]:
        key = hashlib.sha256(name.encode()).hexdigest()[:32]
        base = self.root / _UPLOADS / key
        return base.with_suffix(".part"), base.with_suffix(".json")

    def start_chunk(self, name: str, *, is_first: bool, is_last: bool,
                    chunk_size: int | None, file_size: int | None) -> ChunkUpload:
        """Begin receiving one chunk of an upload: ``write`` its bytes, then ``finish``."""
        name = normalise_name(name)
        final = self._path(name)
        part, meta_path = self._upload_paths(name)
        if file_size is not None and file_size > self.max_file_bytes:
            raise PayloadTooLarge(f"The file {name} is larger than the limit of "
                                  f"{self.max_file_bytes} bytes.")
        if is_first:
            self._sweep_stale_uploads()
            if final.exists():
                raise Conflict(f"The file {name} already exists. Delete it before uploading.")
            already, expected = 0, file_size
        else:
            try:
                meta = orjson.loads(meta_path.read_bytes())
            except FileNotFoundError as exc:
                raise InvalidRequest(f"No upload of {name} is in progress: the first chunk "
                                     "must have isFirst=true.") from exc
            already, expected = int(meta["received"]), meta["fileSize"]
            if file_size is not None and expected not in (None, file_size):
                self.discard_upload(part, meta_path)
                raise InvalidRequest(f"fileSize changed during the upload of {name}; the "
                                     "upload was abandoned.")
            expected = expected if expected is not None else file_size
        handle = part.open("wb" if is_first else "r+b")
        handle.truncate(already)  # a chunk retried after a broken one starts clean
        handle.seek(already)
        budget = min(self.max_file_bytes, self.max_total_bytes - self.used_bytes())
        return ChunkUpload(self, name, final, part, meta_path, handle, already, expected,
                           is_last, chunk_size, budget)

    def receive_chunk(self, name: str, data: Iterable[bytes] | bytes, *, is_first: bool,
                      is_last: bool, chunk_size: int | None,
                      file_size: int | None) -> FileInfo | None:
        """Take one whole chunk of an upload; the FileInfo once the file is complete."""
        return write_chunk(self.start_chunk(name, is_first=is_first, is_last=is_last,
                                            chunk_size=chunk_size, file_size=file_size), data)

    def complete_upload(self, upload: ChunkUpload) -> FileInfo:
        upload.final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(upload.part, upload.final)  # atomic, and never replaces a file
        except FileExistsError as exc:
            raise Conflict(f"The file {upload.name} already exists. Delete it before "
                           "uploading.") from exc
        finally:
            self.discard_upload(upload.part, upload.meta_path)
        return self.stat(upload.name)

    @staticmethod
    def discard_upload(part: Path, meta_path: Path) -> None:
        for path in (part, meta_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _sweep_stale_uploads(self) -> None:
        cutoff = time.time() - _STALE_UPLOAD_SECONDS
        for path in (self.root / _UPLOADS).iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    # -- job outputs -----------------------------------------------------------------

    def temporary(self, suffix: str = "") -> Path:
        """A fresh path, invisible to listings, for a job to write an output into."""
        return self.root / _UPLOADS / f"out-{os.getpid()}-{time.time_ns()}{suffix}"

    def publish(self, temporary: Path, name: str) -> FileInfo:
        """Move a finished output into place, replacing a file of the same name."""
        final = self._path(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, final)
        return self.stat(name)
