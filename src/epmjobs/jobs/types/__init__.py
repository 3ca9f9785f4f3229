"""The job types Oracle's Execute-a-Job endpoint knows, and which of them we implement.

``catalog`` lists every type in the reference with its spellings; each implemented
type lives in its own module and is attached here. A known but unimplemented type is
refused at submission with a clear message, never accepted and faked.
"""

from __future__ import annotations

from epmjobs.jobs.types.admin_mode import AdministrationMode
from epmjobs.jobs.types.catalog import CATALOG, JobImplementation, JobTypeSpec, lookup
from epmjobs.jobs.types.clear_cube import ClearCube
from epmjobs.jobs.types.cube_maintenance import (
    CompactCube,
    MergeDataSlices,
    OptimizeAggregation,
    RestructureCube,
)
from epmjobs.jobs.types.cube_refresh import CubeRefresh
from epmjobs.jobs.types.export_data import ExportData
from epmjobs.jobs.types.export_metadata import ExportMetadata
from epmjobs.jobs.types.import_data import ImportData
from epmjobs.jobs.types.import_metadata import ImportMetadata
from epmjobs.jobs.types.job_console import ExportJobConsole
from epmjobs.jobs.types.plan_type_map import PlanTypeMap
from epmjobs.jobs.types.rules import Rules
from epmjobs.jobs.types.ruleset import Ruleset
from epmjobs.jobs.types.sort_members import SortMembers

IMPLEMENTATIONS: dict[str, JobImplementation] = {
    "ADMINISTRATION_MODE": AdministrationMode(),
    "CLEAR_CUBE": ClearCube(),
    "COMPACT_CUBE": CompactCube(),
    "CUBE_REFRESH": CubeRefresh(),
    "EXPORT_JOB_CONSOLE": ExportJobConsole(),
    "EXPORT_DATA": ExportData(),
    "EXPORT_METADATA": ExportMetadata(),
    "IMPORT_DATA": ImportData(),
    "MERGE_DATA_SLICES": MergeDataSlices(),
    "OPTIMIZE_AGGREGATION": OptimizeAggregation(),
    "IMPORT_METADATA": ImportMetadata(),
    "PLAN_TYPE_MAP": PlanTypeMap(),
    "RESTRUCTURE_CUBE": RestructureCube(),
    "RULES": Rules(),
    "RULESET": Ruleset(),
    "SORT_MEMBERS": SortMembers(),
}


def implementation(spec: JobTypeSpec) -> JobImplementation | None:
    return IMPLEMENTATIONS.get(spec.name)


__all__ = ["CATALOG", "IMPLEMENTATIONS", "JobImplementation", "JobTypeSpec", "implementation",
           "lookup"]
