"""The whole stored state of a test double: reset it, snapshot it, restore it.

*Reset* deletes every application (with its jobs, definitions and outline) and every
file, then creates the applications asked for; users and tokens stay, so the caller can
go on. Definition documents are tried on a scratch database first, so a bad one is
refused before anything is deleted. It works on SQLite and PostgreSQL alike.

*Snapshots* are of the embedded installation only: a consistent copy of the SQLite
database (SQLite's online backup) and of the file repository folder, kept under
``<data dir>/snapshots/<name>``. Restoring copies both back; jobs that were running when
the snapshot was taken are queued again (nothing of them had committed). Take snapshots
while no job runs: the two copies are not taken in one instant. Credentials verified
before a restore stay verified unless the snapshot's users or grants differ (bearer
tokens follow decision D10's few seconds).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from epmjobs.appfile import create_application, load_file
from epmjobs.demo import VISION_FILE
from epmjobs.errors import Conflict, InvalidRequest, NotFound
from epmjobs.jobs.parameters import shown
from epmjobs.settings import Settings
from epmjobs.storage import migrate
from epmjobs.storage.files import LocalFileRepository
from epmjobs.storage.userstore import UserRecord
from epmjobs.system import System

BUILT_IN = {"Vision": VISION_FILE}  # by the name users give, in any case
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DB_FILE = "epmjobs.sqlite3"
_FILES = "files"


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    created_at: float


def application_document(item: Any) -> tuple[dict[str, Any], bool]:
    """A built-in name (``Vision``), a definition file or a definition document:
    (document, whether it is built in)."""
    if isinstance(item, Path):
        return load_file(item), False
    if isinstance(item, str):
        path = next((p for n, p in BUILT_IN.items() if n.casefold() == item.strip().casefold()),
                    None)
        if path is None:
            raise InvalidRequest(f"No built-in application named {shown(item)}: name one of "
                                 f"{', '.join(sorted(BUILT_IN))} or send its definition "
                                 "document.")
        return load_file(path), True
    if isinstance(item, dict):
        return item, False
    raise InvalidRequest("Each application is a built-in name or a definition document.")


class StateKeeper:
    def __init__(self, system: System) -> None:
        self.system = system

    # -- reset -----------------------------------------------------------------------

    def reset(self, applications: list[Any]) -> list[str]:
        """Empty the installation (users stay), then create these applications: built-in
        names or definition documents."""
        resolved = [application_document(item) for item in applications]
        documents = [doc for doc, _ in resolved]
        _try_on_scratch([doc for doc, built_in in resolved if not built_in])
        apps = self.system.stores.apps
        with self.system.db.transaction() as conn:
            for app in apps.all():
                apps.delete(conn, app.application_id)
        self._clear_files()
        return [create_application(self.system, doc) for doc in documents]

    def _clear_files(self) -> None:
        root = self._files_root()
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        self._new_repository_folders(root)

    def _new_repository_folders(self, root: Path) -> None:
        settings = self.system.settings
        LocalFileRepository(root, settings.max_file_bytes, settings.max_repository_bytes)

    def _files_root(self) -> Path:
        files = self.system.stores.files
        if not isinstance(files, LocalFileRepository):
            raise Conflict("This server keeps its files in a store the test double cannot "
                           "reset or snapshot.")
        return files.root

    # -- snapshots -------------------------------------------------------------------

    def _snapshots_dir(self) -> Path:
        return self.system.settings.data_dir / "snapshots"

    def _database_file(self) -> Path:
        if not self.system.db.is_sqlite:
            raise Conflict("Snapshots need the embedded SQLite database; this server runs on "
                           f"{self.system.db.dialect}. Reset still works.")
        return Path(str(make_url(self.system.db.url).database))

    def snapshot(self, name: str) -> SnapshotInfo:
        """Copy the database and the files to the snapshot ``name`` (replacing it)."""
        _check_name(name)
        database, root = self._database_file(), self._files_root()
        self._snapshots_dir().mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".new-", dir=self._snapshots_dir()))
        try:
            _backup(database, work / _DB_FILE)
            shutil.copytree(root, work / _FILES, ignore=shutil.ignore_patterns(".uploads"))
            final = self._snapshots_dir() / name
            if final.exists():
                shutil.rmtree(final)
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return SnapshotInfo(name, final.stat().st_mtime)

    def restore(self, name: str) -> None:
        """Put the database and the files back as the snapshot ``name`` holds them."""
        _check_name(name)
        database, root = self._database_file(), self._files_root()
        source = self._snapshots_dir() / name
        if not (source / _DB_FILE).is_file():
            raise NotFound(f"No snapshot named {name}.")
        users_before = self._users()
        _backup(source / _DB_FILE, database)
        self._clear_files()
        shutil.copytree(source / _FILES, root, dirs_exist_ok=True)
        self._new_repository_folders(root)
        settings = self.system.settings
        now = time.time()  # jobs held in the snapshot have no worker here: queue them again
        self.system.stores.jobs.reap_stale(now + 1, settings.max_attempts, now)
        if self._users() != users_before:  # else keep the verified credentials (argon2)
            self.system.authenticator.forget_all()

    def _users(self) -> list[tuple[UserRecord, frozenset[str]]]:
        users = self.system.stores.users
        return [(user, users.grants(user.user_id)) for user in users.all()]

    def snapshots(self) -> list[SnapshotInfo]:
        folder = self._snapshots_dir()
        if not folder.is_dir():
            return []
        return sorted((SnapshotInfo(p.name, p.stat().st_mtime) for p in folder.iterdir()
                       if _NAME.fullmatch(p.name) and (p / _DB_FILE).is_file()),
                      key=lambda s: s.name)

    def delete_snapshot(self, name: str) -> None:
        _check_name(name)
        target = self._snapshots_dir() / name
        if not (target / _DB_FILE).is_file():
            raise NotFound(f"No snapshot named {name}.")
        shutil.rmtree(target)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidRequest(f"Invalid snapshot name {shown(name, 70)!r}: 1 to 64 letters, "
                             "digits, '.', '_' or '-', starting with a letter or digit.")


def _backup(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy, even while others read and write."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _try_on_scratch(documents: list[dict[str, Any]]) -> None:
    """Create the applications in a throwaway database: refuse bad ones before a reset."""
    if not documents:
        return
    with tempfile.TemporaryDirectory(prefix="epmjobs-check-") as folder:
        scratch = System(Settings(data_dir=Path(folder), seed_demo=False))
        try:
            migrate.upgrade(scratch.db)
            for doc in documents:
                create_application(scratch, doc)
        finally:
            scratch.close()
