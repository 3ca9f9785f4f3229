"""The file repository — a local folder, and an S3 bucket on a real S3-compatible server
(moto's server mode on loopback) — and the safe ZIP reader, on real files.

Every repository test runs on both implementations (the ``repo`` fixture); the S3 ones
at the end pin what only S3 has: parts and carries, chunks reaching different processes.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import make_settings
from epmjobs.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from epmjobs.storage.files import (
    FileRepository,
    LocalFileRepository,
    folder_name,
    make_file_repository,
    normalise_name,
)
from epmjobs.storage.s3files import PART_BYTES, S3FileRepository
from epmjobs.storage.safezip import UnsafeArchive, open_zip
from procs import MotoS3
from s3_support import new_bucket, s3_server

__all__ = ["s3_server"]  # a fixture, imported for pytest
MiB = 1 << 20


def _s3(server: MotoS3, tmp_path: Path, bucket: str | None = None, **limits: int,
        ) -> S3FileRepository:
    settings = make_settings(tmp_path / "data", files_url=f"s3://{bucket or new_bucket(server)}"
                             "/installs/one", s3_endpoint_url=server.endpoint,
                             s3_region="us-east-1", **limits)
    repo = make_file_repository(settings)
    assert isinstance(repo, S3FileRepository)
    return repo


@pytest.fixture(params=["local", "s3"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> FileRepository:
    if request.param == "local":
        return LocalFileRepository(tmp_path / "files", max_file_bytes=1000,
                                   max_total_bytes=5000)
    return _s3(request.getfixturevalue("s3_server"), tmp_path, max_file_bytes=1000,
               max_repository_bytes=5000)


@pytest.mark.parametrize(("raw", "expected"), [
    ("data.csv", "data.csv"),
    ("inbox/data.csv", "inbox/data.csv"),
    ("inbox\\data.csv", "inbox/data.csv"),
    ("Outbox/logs/x.log", "outbox/logs/x.log"),
    ("Übersicht März.csv", "Übersicht März.csv"),
])
def test_names_accept_both_separators_under_inbox_and_outbox(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "../etc/passwd", "inbox/../../x", "/etc/passwd", "C:\\x.csv", "c:x", "a\x00b",
    "inbox//x", "./x", "x/", "other/x.csv", "inbox/ x", "x.csv.", "a\u202eb.csv",
    "a\u200bb.csv", "tab\there", "x" * 300, ".uploads/abc.part", "inbox/.epmjobs-x",
])
def test_names_that_could_escape_or_hide_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        normalise_name(raw)


def test_ext_dir_path_must_be_inbox_or_outbox() -> None:
    assert folder_name("inbox") == "inbox"
    assert folder_name("/outbox/logs/") == "outbox/logs"
    assert folder_name(None) is None
    with pytest.raises(InvalidRequest):
        folder_name("etc")


def test_chunked_upload_appears_only_after_the_last_chunk(repo: Any) -> None:
    assert repo.receive_chunk("inbox/a.csv", b"abc", is_first=True, is_last=False,
                              chunk_size=3, file_size=6) is None
    assert repo.list() == []
    with pytest.raises(NotFound):
        repo.stat("inbox/a.csv")
    info = repo.receive_chunk("inbox/a.csv", [b"d", b"ef"], is_first=False, is_last=True,
                              chunk_size=3, file_size=6)
    assert info is not None and info.name == "inbox/a.csv" and info.size == 6
    assert b"".join(repo.read("inbox\\a.csv")) == b"abcdef"
    assert [f.name for f in repo.list()] == ["inbox/a.csv"]


def test_an_existing_name_is_refused_not_overwritten(repo: Any) -> None:
    repo.receive_chunk("a.csv", b"one", is_first=True, is_last=True, chunk_size=None,
                       file_size=None)
    with pytest.raises(Conflict):
        repo.receive_chunk("a.csv", b"two", is_first=True, is_last=True, chunk_size=None,
                           file_size=None)
    assert b"".join(repo.read("a.csv")) == b"one"


def test_a_chunk_without_a_started_upload_is_refused(repo: Any) -> None:
    with pytest.raises(InvalidRequest, match="isFirst"):
        repo.receive_chunk("a.csv", b"x", is_first=False, is_last=True, chunk_size=1,
                           file_size=None)


@pytest.mark.parametrize(("chunk_size", "file_size", "match"), [
    (5, None, "chunkSize"), (3, 4, "fileSize"), (3, 2, "fileSize"),
])
def test_inconsistent_sizes_abandon_the_upload_and_leave_nothing(
        repo: Any, chunk_size: int, file_size: int | None, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match):
        repo.receive_chunk("a.csv", b"abc", is_first=True, is_last=True,
                           chunk_size=chunk_size, file_size=file_size)
    assert repo.list() == []
    assert repo.pending_uploads() == 0


def test_an_interrupted_upload_is_invisible_and_restartable(repo: Any) -> None:
    repo.receive_chunk("a.csv", b"half", is_first=True, is_last=False, chunk_size=4,
                       file_size=None)
    assert repo.list() == []
    info = repo.receive_chunk("a.csv", b"whole", is_first=True, is_last=True, chunk_size=5,
                              file_size=5)
    assert info is not None and b"".join(repo.read("a.csv")) == b"whole"


def test_size_caps_per_file_and_per_repository(repo: Any) -> None:
    with pytest.raises(PayloadTooLarge):
        repo.receive_chunk("big.csv", b"x", is_first=True, is_last=True, chunk_size=None,
                           file_size=1001)
    with pytest.raises(PayloadTooLarge):
        repo.receive_chunk("big.csv", b"x" * 1001, is_first=True, is_last=True,
                           chunk_size=None, file_size=None)
    for i in range(5):
        repo.receive_chunk(f"f{i}.csv", b"x" * 1000, is_first=True, is_last=True,
                           chunk_size=None, file_size=None)
    with pytest.raises(PayloadTooLarge):
        repo.receive_chunk("one-more.csv", b"x", is_first=True, is_last=True,
                           chunk_size=None, file_size=None)
    assert len(repo.list()) == 5


def test_publish_replaces_an_output_and_delete_removes_it(repo: Any) -> None:
    for content in (b"first", b"second"):
        tmp = repo.temporary(".zip")
        tmp.write_bytes(content)
        repo.publish(tmp, "export.zip")
        assert not tmp.exists()
    assert b"".join(repo.read("export.zip")) == b"second"
    repo.delete("export.zip")
    with pytest.raises(NotFound):
        repo.delete("export.zip")


# -- S3 only: parts, carries, chunks through different processes -----------------------------

def test_s3_small_chunks_are_carried_into_whole_parts(s3_server: MotoS3, tmp_path: Path) -> None:
    repo = _s3(s3_server, tmp_path)
    chunks = [bytes([i]) * size for i, size in enumerate((5 * MiB, 5 * MiB, 3 * MiB, 1))]
    for i, chunk in enumerate(chunks):
        done = repo.receive_chunk("inbox/big.dat", chunk, is_first=i == 0,
                                  is_last=i == len(chunks) - 1, chunk_size=len(chunk),
                                  file_size=sum(map(len, chunks)))
        assert (done is None) == (i < len(chunks) - 1)
        assert [f.name for f in repo.list()] == ([] if done is None else ["inbox/big.dat"])
    assert b"".join(repo.read("inbox/big.dat")) == b"".join(chunks)
    assert repo.pending_uploads() == 0
    head = repo.client.head_object(Bucket=repo.bucket, Key="installs/one/inbox/big.dat")
    assert head["ETag"].strip('"').endswith("-2"), "two parts: 8 MiB, then the rest"


def test_s3_chunks_may_reach_different_processes(s3_server: MotoS3, tmp_path: Path) -> None:
    bucket = new_bucket(s3_server)
    first, second = (_s3(s3_server, tmp_path / n, bucket) for n in ("api-1", "api-2"))
    data = bytes(range(256)) * (40 * 1024)  # 10 MiB: one part is sent with the first chunk
    half = len(data) // 2 + 3 * MiB
    assert first.receive_chunk("x.bin", data[:half], is_first=True, is_last=False,
                               chunk_size=half, file_size=len(data)) is None
    info = second.receive_chunk("x.bin", data[half:], is_first=False, is_last=True,
                                chunk_size=len(data) - half, file_size=len(data))
    assert info is not None and info.size == len(data)
    assert b"".join(first.read("x.bin")) == data


def test_s3_an_upload_racing_another_never_overwrites(s3_server: MotoS3, tmp_path: Path) -> None:
    repo = _s3(s3_server, tmp_path)
    slow = repo.start_chunk("a.csv", is_first=True, is_last=True, chunk_size=None,
                            file_size=None)
    slow.write(b"slow")
    repo.receive_chunk("a.csv", b"fast", is_first=True, is_last=True, chunk_size=None,
                       file_size=None)
    with pytest.raises(Conflict):
        slow.finish()
    assert b"".join(repo.read("a.csv")) == b"fast"


def test_s3_large_outputs_are_published_in_parts_and_read_back(
        s3_server: MotoS3, tmp_path: Path) -> None:
    repo = _s3(s3_server, tmp_path)
    tmp = repo.temporary(".zip")
    payload = bytes(range(251)) * ((2 * PART_BYTES + 1000) // 251)
    tmp.write_bytes(payload)
    assert repo.publish(tmp, "outbox/export.zip").size == len(payload)
    with repo.open("outbox/export.zip") as handle:
        handle.seek(PART_BYTES)
        assert handle.read(10) == payload[PART_BYTES:PART_BYTES + 10]
    assert not tmp.exists() and not list(repo.spool.iterdir())


def _zip(entries: dict[str, bytes], **kwargs: int) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def test_safe_zip_reads_ordinary_entries() -> None:
    with open_zip(_zip({"a.csv": b"1,2", "dir/b.csv": b"3"})) as zf:
        assert zf.names() == ["a.csv", "dir/b.csv"]
        assert zf.read_bytes(zf.entries[1]) == b"3"


@pytest.mark.parametrize("name", ["../evil.csv", "/abs.csv", "a/../../b", "C:/x", "..\\x"])
def test_safe_zip_refuses_zip_slip_entries(name: str) -> None:
    with pytest.raises(UnsafeArchive, match="unsafe name"), open_zip(_zip({name: b"x"})):
        pass


def test_safe_zip_stops_a_zip_bomb_while_reading() -> None:
    bomb = _zip({"bomb.csv": b"0" * (20 << 20)})
    with open_zip(bomb, max_ratio=50) as zf, pytest.raises(UnsafeArchive, match="expands"):
        zf.read_bytes(zf.entries[0])


def test_safe_zip_caps_total_expansion_and_entry_count() -> None:
    with open_zip(_zip({"a": b"x" * 5000}), max_total=1000) as zf, \
            pytest.raises(UnsafeArchive):
        zf.read_bytes(zf.entries[0])
    with pytest.raises(UnsafeArchive, match="entries"), \
            open_zip(_zip({f"{i}": b"" for i in range(5)}), max_entries=4):
        pass


def test_safe_zip_refuses_symlinks_and_garbage() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    buf.seek(0)
    with pytest.raises(UnsafeArchive, match="symbolic link"), open_zip(buf):
        pass
    with pytest.raises(UnsafeArchive, match="not a valid ZIP"), \
            open_zip(io.BytesIO(b"not a zip")):
        pass
