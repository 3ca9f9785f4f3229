"""Every job type of the reference (oracle-jobs-api.md §4), with all its spellings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from epmjobs.jobs.context import JobContext


class JobImplementation(Protocol):
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise parameters at submission; raise InvalidJobParameter."""

    def run(self, ctx: JobContext) -> str | None:
        """Do the work; return the success details text. Raise JobFailed to fail."""


@dataclass(frozen=True)
class JobTypeSpec:
    name: str  # the canonical constant, stored with the job
    display: str
    aliases: tuple[str, ...]
    console_code: str
    needs_definition: bool
    default_job_name: str | None
    # Jobs of types with the same lock scope run one at a time per application (Oracle
    # serialises the jobs that change an application's outline): the queue's lock key is
    # "<scope>:<application id>".
    lock_scope: str | None = None

    def lock_key(self, application_id: int) -> str | None:
        return None if self.lock_scope is None else f"{self.lock_scope}:{application_id}"


def _spec(name: str, display: str, console: str, needs_definition: bool,
          default_name: str | None = None, *aliases: str,
          lock_scope: str | None = None) -> JobTypeSpec:
    return JobTypeSpec(name, display, aliases, console, needs_definition, default_name,
                       lock_scope)


OUTLINE = "outline"
DATA = "data"  # jobs that write cube data


CATALOG: tuple[JobTypeSpec, ...] = (
    _spec("RULES", "Rules", "RULES", True, None, "Rule", "Business Rule", lock_scope=DATA),
    _spec("RULESET", "Ruleset", "RULESET", True, None, "Rule Set", lock_scope=DATA),
    _spec("PLAN_TYPE_MAP", "Plan Type Map", "PLAN_TYPE_MAP", True, lock_scope=DATA),
    _spec("IMPORT_DATA", "Import Data", "IMPORT_DATA", False, "Import Data", lock_scope=DATA),
    _spec("EXPORT_DATA", "Export Data", "EXPORT_DATA", False, "Export Data"),
    _spec("IMPORT_METADATA", "Import Metadata", "IMPORT_METADATA", True, lock_scope=OUTLINE),
    _spec("EXPORT_METADATA", "Export Metadata", "EXPORT_METADATA", True),
    _spec("CUBE_REFRESH", "Cube Refresh", "CUBE_REFRESH", True, None, "Refresh Database",
          lock_scope=OUTLINE),
    _spec("CLEAR_CUBE", "Clear Cube", "CLEAR_CUBE", True, lock_scope=DATA),
    _spec("ADMINISTRATION_MODE", "Administration Mode", "ADMIN_MODE", False,
          "Administration Mode"),
    _spec("COMPACT_CUBE", "Compact Cube", "COMPACT_CUBE", False, "Compact Outline",
          lock_scope=DATA),
    _spec("RESTRUCTURE_CUBE", "Restructure Cube", "RESTRUCTURE_CUBE", False, "Restructure Cube",
          lock_scope=DATA),
    _spec("MERGE_DATA_SLICES", "Merge Data Slices", "MERGE_DATA_SLICES", False,
          "Merge Data Slices", lock_scope=DATA),
    _spec("OPTIMIZE_AGGREGATION", "Optimize Aggregation", "OPTIMIZE_AGGREGATION", False,
          "Optimize Aggregation", lock_scope=DATA),
    _spec("IMPORT_SECURITY", "Import Security", "SECURITY_IMPORT", False, "Import Security"),
    _spec("EXPORT_SECURITY", "Export Security", "SECURITY_EXPORT", False, "Export Security"),
    _spec("EXPORT_AUDIT", "Export Audit", "AUDIT_EXPORT", False, "Export Audit"),
    _spec("EXPORT_JOB_CONSOLE", "Export Job Console", "JOBCONSOLE_EXPORT", False,
          "Export Job Console"),
    _spec("SORT_MEMBERS", "Sort Members", "SORT_MEMBERS", False, "Sort Members",
          lock_scope=OUTLINE),
    _spec("IMPORT_EXCHANGE_RATES", "Import Exchange Rates", "IMPORT_EXCHANGE_RATES", True),
    _spec("AUTO_PREDICT", "Auto Predict", "AUTO_PREDICT", True),
)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text).upper()


_INDEX: dict[str, JobTypeSpec] = {}
for _s in CATALOG:
    for _spelling in (_s.name, _s.display, _s.console_code, *_s.aliases):
        _INDEX.setdefault(_norm(_spelling), _s)


def lookup(job_type: str) -> JobTypeSpec | None:
    """The spec for any accepted spelling: constant, display name, console code."""
    return _INDEX.get(_norm(job_type))


def by_name(name: str) -> JobTypeSpec:
    spec = lookup(name)
    assert spec is not None, name
    return spec
