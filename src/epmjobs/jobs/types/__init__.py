"""The job types Oracle's Execute-a-Job endpoint knows, and which of them we implement.

``catalog`` lists every type in the reference with its spellings; each implemented
type lives in its own module and is attached here. A known but unimplemented type is
refused at submission with a clear message, never accepted and faked.
"""

from __future__ import annotations

from epmjobs.jobs.types.admin_mode import AdministrationMode
from epmjobs.jobs.types.catalog import CATALOG, JobImplementation, JobTypeSpec, lookup
from epmjobs.jobs.types.job_console import ExportJobConsole

IMPLEMENTATIONS: dict[str, JobImplementation] = {
    "ADMINISTRATION_MODE": AdministrationMode(),
    "EXPORT_JOB_CONSOLE": ExportJobConsole(),
}


def implementation(spec: JobTypeSpec) -> JobImplementation | None:
    return IMPLEMENTATIONS.get(spec.name)


__all__ = ["CATALOG", "IMPLEMENTATIONS", "JobImplementation", "JobTypeSpec", "implementation",
           "lookup"]
