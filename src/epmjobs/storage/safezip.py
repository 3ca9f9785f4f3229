"""Reading ZIP files that users uploaded, safely. Every job that takes a ZIP uses this.

Refused: entries with absolute paths, ``..``, drive letters or backslash tricks (zip
slip), symbolic links, encrypted entries, more entries than ``max_entries``, and
archives that expand past ``max_total_bytes`` or by more than ``max_ratio`` (zip bombs).
Sizes are counted while reading, never trusted from the headers. Nothing is ever
extracted to disk by name: callers get streams.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from epmjobs.errors import InvalidRequest

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_TOTAL = 8 << 30  # 8 GiB expanded
DEFAULT_MAX_RATIO = 200
_READ = 1 << 20


class UnsafeArchive(InvalidRequest):
    """The ZIP file is malformed, hostile, or larger than allowed."""


@dataclass(frozen=True)
class ZipEntry:
    name: str  # a safe relative name with forward slashes
    size: int  # as declared; reading enforces the real size against the limits
    info: zipfile.ZipInfo


def _safe_name(raw: str) -> str:
    name = raw.replace("\\", "/")
    path = PurePosixPath(name)
    if (not name or name.startswith("/") or (len(name) > 1 and name[1] == ":")
            or any(p in ("..", "") for p in path.parts) or "\x00" in name):
        raise UnsafeArchive(f"The ZIP file has an entry with an unsafe name: {raw!r}.")
    return path.as_posix()


class SafeZip:
    def __init__(self, zf: zipfile.ZipFile, max_entries: int, max_total: int,
                 max_ratio: int) -> None:
        self._zf = zf
        self.max_total = max_total
        self.max_ratio = max_ratio
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise UnsafeArchive(f"The ZIP file has {len(infos)} entries; at most {max_entries} "
                                "are allowed.")
        self.entries: list[ZipEntry] = []
        for info in infos:
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(f"The ZIP file has a symbolic link: {info.filename!r}.")
            if info.flag_bits & 0x1:
                raise UnsafeArchive(f"The ZIP entry {info.filename!r} is encrypted.")
            self.entries.append(ZipEntry(_safe_name(info.filename), info.file_size, info))
        self._expanded = 0

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def read_chunks(self, entry: ZipEntry) -> Iterator[bytes]:
        """The entry's bytes, stopping with UnsafeArchive the moment a limit is passed."""
        limit = max(entry.info.compress_size, 1) * self.max_ratio + (1 << 20)
        produced = 0
        try:
            with self._zf.open(entry.info) as stream:
                while chunk := stream.read(_READ):
                    produced += len(chunk)
                    self._expanded += len(chunk)
                    if produced > limit:
                        raise UnsafeArchive(f"The ZIP entry {entry.name} expands too much "
                                            "(a zip bomb?).")
                    if self._expanded > self.max_total:
                        raise UnsafeArchive("The ZIP file expands past the allowed size.")
                    yield chunk
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise UnsafeArchive(f"The ZIP entry {entry.name} is damaged: {exc}.") from exc

    def read_bytes(self, entry: ZipEntry) -> bytes:
        return b"".join(self.read_chunks(entry))


@contextmanager
def open_zip(source: BinaryIO, *, max_entries: int = DEFAULT_MAX_ENTRIES,
             max_total: int = DEFAULT_MAX_TOTAL,
             max_ratio: int = DEFAULT_MAX_RATIO) -> Iterator[SafeZip]:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise UnsafeArchive(f"The file is not a valid ZIP file: {exc}.") from exc
    with zf:
        yield SafeZip(zf, max_entries, max_total, max_ratio)
