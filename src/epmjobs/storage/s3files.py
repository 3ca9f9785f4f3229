"""The file repository in an S3-compatible bucket (``EPMJOBS_FILES_URL=s3://bucket/prefix``).

Every API process and every worker machine of a scaled-out installation sees the same
files. Names are those of ``files.normalise_name``; a file ``inbox/a.csv`` is the object
``<prefix>/inbox/a.csv``. Hidden state lives under ``<prefix>/.uploads/``, which no
listing shows.

Uploads stream: a chunk is spooled to a local temporary file as it arrives (the API's
event loop only writes to disk), then sent in parts of ``PART_BYTES`` by the chunk's
``finish`` (in a thread). Clients' chunks may be any size, S3's parts (but the last) at
least 5 MiB: bytes that do not fill a part wait in a *carry* object for the next chunk.
The upload's state (multipart id, parts, bytes so far) is an object too, so consecutive
chunks may reach different API processes. A file appears only when its last chunk
completes the multipart upload, with ``If-None-Match: *``: it never replaces a file.
Job outputs are written to a local temporary file and uploaded by ``publish``, in the
job's final transaction, replacing a file of the same name (exports overwrite).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlparse

import orjson

from epmjobs.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from epmjobs.settings import Settings
from epmjobs.storage.files import FileInfo, normalise_name, write_chunk

PART_BYTES = 8 << 20  # parts of 8 MiB: S3 wants at least 5 MiB but for the last
_UPLOADS = ".uploads"
_READ_CHUNK = 1 << 20


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3FileRepository:
    """A bucket (and key prefix) of an S3-compatible store: AWS, MinIO, Ceph, moto..."""

    def __init__(self, client: Any, bucket: str, prefix: str, spool: Path,
                 max_file_bytes: int, max_total_bytes: int) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.spool = spool
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        spool.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3FileRepository:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        url = urlparse(settings.files_url or "")
        if url.scheme != "s3" or not url.netloc:
            raise ValueError(f"EPMJOBS_FILES_URL must be s3://bucket[/prefix], not "
                             f"{settings.files_url!r}")
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url,
                              region_name=settings.s3_region,
                              config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                            max_pool_connections=32))
        return cls(client, url.netloc, url.path, settings.data_dir / "spool",
                   settings.max_file_bytes, settings.max_repository_bytes)

    # -- keys --------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _name(self, key: str) -> str:
        return key[len(self.prefix) + 1:] if self.prefix else key

    def _state_key(self, name: str, what: str) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        return self._key(f"{_UPLOADS}/{digest}.{what}")

    # -- reading ---------------------------------------------------------------------

    def _objects(self, under: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(under) if under else
            (f"{self.prefix}/" if self.prefix else ""))
        for page in pages:
            yield from page.get("Contents", ())

    def list(self) -> list[FileInfo]:
        found = []
        for obj in self._objects(""):
            name = self._name(obj["Key"])
            if name.startswith(f"{_UPLOADS}/") or name.rsplit("/", 1)[-1].startswith(
                    ".epmjobs-"):
                continue
            found.append(FileInfo(name, int(obj["Size"]), obj["LastModified"].timestamp()))
        return sorted(found, key=lambda f: f.name.lower())

    def stat(self, name: str) -> FileInfo:
        name = normalise_name(name)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"Invalid file : {name}") from exc
            raise
        return FileInfo(name, int(head["ContentLength"]), head["LastModified"].timestamp())

    def open(self, name: str) -> BinaryIO:
        """A local, seekable copy (ZIP readers seek), deleted when closed."""
        self.stat(name)
        handle = tempfile.TemporaryFile(dir=self.spool)  # noqa: SIM115 - the caller closes
        self.client.download_fileobj(self.bucket, self._key(normalise_name(name)), handle)
        handle.seek(0)
        return handle

    def read(self, name: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket,
                                      Key=self._key(normalise_name(name)))["Body"]
        try:
            yield from body.iter_chunks(_READ_CHUNK)
        finally:
            body.close()

    def delete(self, name: str) -> None:
        info = self.stat(name)
        self.client.delete_object(Bucket=self.bucket, Key=self._key(info.name))

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def used_bytes(self) -> int:
        return sum(f.size for f in self.list())

    def pending_uploads(self) -> int:
        """Hidden upload state objects and unfinished multipart uploads (tests, ops)."""
        multipart = self.client.list_multipart_uploads(
            Bucket=self.bucket, Prefix=self._key(""))
        return sum(1 for _ in self._objects(_UPLOADS + "/")) + len(multipart.get("Uploads", []))

    # -- uploads ---------------------------------------------------------------------

    def start_chunk(self, name: str, *, is_first: bool, is_last: bool,
                    chunk_size: int | None, file_size: int | None) -> S3ChunkUpload:
        """Begin receiving one chunk of an upload: ``write`` its bytes, then ``finish``."""
        name = normalise_name(name)
        if file_size is not None and file_size > self.max_file_bytes:
            raise PayloadTooLarge(f"The file {name} is larger than the limit of "
                                  f"{self.max_file_bytes} bytes.")
        if is_first:
            if self._exists(name):
                raise Conflict(f"The file {name} already exists. Delete it before uploading.")
            self._abandon(name)  # a restarted upload starts clean
            budget = min(self.max_file_bytes, self.max_total_bytes - self.used_bytes())
            state: dict[str, Any] = {"received": 0, "fileSize": file_size, "parts": [],
                                     "uploadId": None, "budget": budget}
        else:
            state = self._load_state(name)
            if file_size is not None and state["fileSize"] not in (None, file_size):
                self._abandon(name)
                raise InvalidRequest(f"fileSize changed during the upload of {name}; the "
                                     "upload was abandoned.")
            if state["fileSize"] is None:
                state["fileSize"] = file_size
        return S3ChunkUpload(self, name, state, is_last, chunk_size)

    def receive_chunk(self, name: str, data: Iterable[bytes] | bytes, *, is_first: bool,
                      is_last: bool, chunk_size: int | None,
                      file_size: int | None) -> FileInfo | None:
        return write_chunk(self.start_chunk(name, is_first=is_first, is_last=is_last,
                                            chunk_size=chunk_size, file_size=file_size), data)

    def _exists(self, name: str) -> bool:
        try:
            self.stat(name)
            return True
        except NotFound:
            return False

    def _load_state(self, name: str) -> dict[str, Any]:
        try:
            body = self.client.get_object(Bucket=self.bucket,
                                          Key=self._state_key(name, "json"))["Body"]
        except self.client.exceptions.NoSuchKey as exc:
            raise InvalidRequest(f"No upload of {name} is in progress: the first chunk must "
                                 "have isFirst=true.") from exc
        with contextlib.closing(body):
            state: dict[str, Any] = orjson.loads(body.read())
        return state

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._state_key(name, "json"),
                               Body=orjson.dumps(state))

    def carry(self, name: str) -> bytes:
        with contextlib.suppress(self.client.exceptions.NoSuchKey):
            body = self.client.get_object(Bucket=self.bucket,
                                          Key=self._state_key(name, "carry"))["Body"]
            with contextlib.closing(body):
                return bytes(body.read())
        return b""

    def put_carry(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._state_key(name, "carry"),
                               Body=data)

    def _abandon(self, name: str, upload_id: str | None = None) -> None:
        """Forget an upload of ``name``: its multipart upload, carry and state."""
        if upload_id is None:
            with contextlib.suppress(InvalidRequest):
                upload_id = self._load_state(name).get("uploadId")
        if upload_id:
            with contextlib.suppress(self.client.exceptions.ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(name),
                                                   UploadId=upload_id)
        for what in ("json", "carry"):
            self.client.delete_object(Bucket=self.bucket, Key=self._state_key(name, what))

    def discard(self, name: str, state: dict[str, Any]) -> None:
        self._abandon(name, state.get("uploadId"))

    def complete(self, name: str, state: dict[str, Any], last: bytes | IO[bytes]) -> FileInfo:
        """Write the final part (or the whole small file) so the file appears, atomically
        and never over an existing one."""
        key = self._key(name)
        try:
            if state["uploadId"] is None:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=last, IfNoneMatch="*")
            else:
                self.upload_part(name, state, last)
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=state["uploadId"], IfNoneMatch="*",
                    MultipartUpload={"Parts": state["parts"]})
        except self.client.exceptions.ClientError as exc:
            self.discard(name, state)
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise Conflict(f"The file {name} already exists. Delete it before "
                               "uploading.") from exc
            raise
        for what in ("json", "carry"):
            self.client.delete_object(Bucket=self.bucket, Key=self._state_key(name, what))
        return self.stat(name)

    def upload_part(self, name: str, state: dict[str, Any], data: bytes | IO[bytes]) -> None:
        if state["uploadId"] is None:
            state["uploadId"] = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self._key(name))["UploadId"]
        number = len(state["parts"]) + 1
        etag = self.client.upload_part(Bucket=self.bucket, Key=self._key(name),
                                       UploadId=state["uploadId"], PartNumber=number,
                                       Body=data)["ETag"]
        state["parts"].append({"PartNumber": number, "ETag": etag})

    # -- job outputs -----------------------------------------------------------------

    def temporary(self, suffix: str = "") -> Path:
        """A fresh local path for a job to write an output into, before ``publish``."""
        return self.spool / f"out-{os.getpid()}-{time.time_ns()}{suffix}"

    def publish(self, temporary: Path, name: str) -> FileInfo:
        """Upload a finished output (multipart when large), replacing a file of that name."""
        from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

        name = normalise_name(name)
        config = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES)
        try:
            self.client.upload_file(str(temporary), self.bucket, self._key(name), Config=config)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        return self.stat(name)


class S3ChunkUpload:
    """One chunk of an upload: spooled to a local file, sent in parts at ``finish``."""

    def __init__(self, repo: S3FileRepository, name: str, state: dict[str, Any],
                 is_last: bool, chunk_size: int | None) -> None:
        self.repo, self.name, self.state = repo, name, state
        self.is_last, self.chunk_size = is_last, chunk_size
        self.already = int(state["received"])
        self.received = self.already
        self.spooled = tempfile.TemporaryFile(dir=repo.spool)  # noqa: SIM115 - closed below

    def write(self, data: bytes) -> None:
        self.received += len(data)
        expected = self.state["fileSize"]
        if self.received > self.state["budget"]:
            self.abort()
            raise PayloadTooLarge("The upload exceeds the size limit of the file repository; "
                                  "it was abandoned.")
        if expected is not None and self.received > expected:
            self.abort()
            raise InvalidRequest(f"More bytes arrived for {self.name} than its fileSize "
                                 f"{expected}; the upload was abandoned.")
        self.spooled.write(data)

    def abort(self) -> None:
        self.spooled.close()
        self.repo.discard(self.name, self.state)

    def finish(self) -> FileInfo | None:
        """Send the chunk: None while more chunks are due, the file's info at the end."""
        got = self.received - self.already
        if self.chunk_size is not None and got != self.chunk_size:
            self.abort()
            raise InvalidRequest(f"The chunk of {self.name} has {got} bytes, not the chunkSize "
                                 f"{self.chunk_size}; the upload was abandoned.")
        expected = self.state["fileSize"]
        if self.is_last and expected is not None and self.received != expected:
            self.abort()
            raise InvalidRequest(f"The upload of {self.name} ended with {self.received} "
                                 f"bytes, not the fileSize {expected}; the upload was "
                                 "abandoned.")
        try:
            return self._send()
        finally:
            self.spooled.close()

    def _send(self) -> FileInfo | None:
        """Carry + this chunk, cut into whole parts; the rest waits (or ends the file)."""
        self.spooled.seek(0)
        pending = self.repo.carry(self.name) if self.already else b""
        while True:
            piece = self.spooled.read(PART_BYTES - len(pending))
            pending += piece
            if len(pending) < PART_BYTES:
                break
            self.repo.upload_part(self.name, self.state, pending)
            pending = b""
        self.state["received"] = self.received
        if self.is_last:
            return self.repo.complete(self.name, self.state, pending)
        self.repo.put_carry(self.name, pending)
        self.repo.save_state(self.name, self.state)
        return None
