"""The assembled installation: settings, database, stores and services, built once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from epmjobs.jobs.wakeup import WakeupBell
from epmjobs.security.authentication import Authenticator
from epmjobs.settings import Settings
from epmjobs.storage.appstore import AppStore
from epmjobs.storage.cellstore import CellStore
from epmjobs.storage.database import Database
from epmjobs.storage.files import FileRepository, make_file_repository
from epmjobs.storage.jobstore import JobStore
from epmjobs.storage.outlinestore import OutlineStore
from epmjobs.storage.userstore import UserStore
from epmjobs.storage.variables import VariableStore

if TYPE_CHECKING:
    from epmjobs.jobs.dispatch import Dispatcher
    from epmjobs.jobs.service import JobService


@dataclass(frozen=True)
class Stores:
    jobs: JobStore
    apps: AppStore
    users: UserStore
    files: FileRepository
    outlines: OutlineStore
    cells: CellStore
    variables: VariableStore


class System:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        files = make_file_repository(settings)
        self.stores = Stores(JobStore(self.db), AppStore(self.db), UserStore(self.db), files,
                             OutlineStore(self.db), CellStore(self.db),
                             VariableStore(self.db))

    @property
    def run_dir(self) -> Path:
        """Where workers keep their wake-up sockets."""
        return self.settings.data_dir / "run"

    @cached_property
    def bell(self) -> WakeupBell:
        return WakeupBell(self.run_dir)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        from epmjobs.jobs.dispatch import make_dispatcher

        return make_dispatcher(self)

    @cached_property
    def authenticator(self) -> Authenticator:
        return Authenticator(self.stores.users, self.settings.auth_cache_seconds)

    @cached_property
    def job_service(self) -> JobService:
        from epmjobs.jobs.service import JobService

        return JobService(self)

    def close(self) -> None:
        self.db.dispose()
