"""The files a rule's DATAEXPORT statements write, into the file repository with the
job's end (a failed or cancelled rule writes none).

Oracle's pods take DATAEXPORT file names under ``/u03/lcm/`` (the default location, where
``downloadFile`` finds them) and under ``/u03/inbox/`` and ``/u03/outbox/``; a bare name
goes to the default location too. Any other absolute path, and any name the repository
refuses (``..``, forbidden characters), fails the rule.
"""

from __future__ import annotations

import re

from epmjobs.errors import InvalidRequest, JobFailed, NotFound
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.data_files import new_temporary, publish_on_commit
from epmjobs.planning.calc.dataexport import DataExportFile
from epmjobs.storage.files import normalise_name

_POD_FOLDERS = re.compile(r"^/u03/(?:(lcm)|(inbox|outbox))/", re.IGNORECASE)


def repository_name(file_name: str) -> str:
    """The repository name for a DATAEXPORT file name, or InvalidRequest saying why not."""
    raw = file_name.replace("\\", "/")
    found = _POD_FOLDERS.match(raw)
    if found is not None:
        rest = raw[found.end():]
        raw = rest if found.group(1) else f"{found.group(2).lower()}/{rest}"
    return normalise_name(raw)


class RuleExports:
    """The DATAEXPORT files of one job, written now and published with its end."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.written: set[str] = set()

    def write(self, rule: str, export: DataExportFile) -> None:
        try:
            name = repository_name(export.file_name)
        except InvalidRequest as exc:
            raise JobFailed(f"The rule {rule} failed: DATAEXPORT: {exc.message}") from exc
        if not export.options.overwrite and (name in self.written or self._exists(name)):
            raise JobFailed(f"The rule {rule} failed: DATAEXPORT: the file {name} already "
                            "exists; set DataExportOverwriteFile ON to replace it.")
        temporary = new_temporary(self.ctx, ".txt")
        lines = export.write(temporary)
        publish_on_commit(self.ctx, temporary, name)
        self.written.add(name)
        self.ctx.info(f"Rule {rule}: DATAEXPORT wrote {lines} lines to {name}.", "Rules")

    def _exists(self, name: str) -> bool:
        try:
            self.ctx.stores.files.stat(name)
        except NotFound:
            return False
        return True
