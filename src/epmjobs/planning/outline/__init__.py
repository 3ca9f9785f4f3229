"""Outlines: dimensions, members and hierarchies, and the metadata jobs' domain logic.

Pure domain: no HTTP, jobs or database here. Outlines are treated as values: loads and sorts
return a new :class:`Outline` and never change the one they were given, so a job commits the
new outline (or nothing) as a whole.

The seams::

    load_metadata(outline, data, file_name=, delimiter=, dimension=, clear_members=)
        -> LoadOutcome(outline, result: LoadResult)          # IMPORT_METADATA, one file
        # result: records_read/processed/rejected, rejections, messages, error_file()
    export_metadata(outline, dimensions=None) -> {dimension: csv text}   # EXPORT_METADATA
        # in load_order(outline): attribute dimensions first
    validate(outline) -> [Problem]      # CUBE_REFRESH, step 1 (errors(problems) must be empty)
    compile_cubes(outline) -> [CompiledCube]; compile_cube(outline, cube)  # CUBE_REFRESH, 2
    sort_members(outline, member, order, sort_type) -> Outline           # SORT_MEMBERS
    to_rows(outline) -> OutlineRows;  from_rows(cubes, rows) -> Outline  # persistence
    outline_to_json(outline) -> dict; outline_from_json(cubes, doc) -> Outline  # app files
    vision_outline() -> Outline                                # the demo application
    Outline(cubes, alias_tables).add_dimension(...); outline.empty_like()  # new outlines
    synthetic_outline(members, seed) -> Outline                # generated, for benchmarks

Failures: a file that cannot be loaded at all raises ``MetadataFileError``; bad SORT_MEMBERS
parameters, bad definition documents and unknown cubes raise ``OutlineError`` (both are
``InvalidRequest``). A record that cannot be applied is a ``Rejection`` in the result.

The outline in the application definition file (``outline_to_json``)::

    {
      "aliasTables": ["Default", "English"],
      "dimensions": [
        {
          "name": "Account",
          "type": "Account",          # Account|Entity|Period|Years|Scenario|Version|
                                      # Currency|Custom|Attribute
          "cubes": {"Plan1": "Dense", "Vis1ASO": "Sparse"},   # cubes it is valid in
          "baseDimension": "Entity",  # attribute dimensions only
          "root": {...},              # properties of the dimension member, when not default
          "members": [                # hierarchy order: a parent before its children
            {"name": "Net Income", "parent": "Account", "dataStorage": "Dynamic Calc",
             "alias": {"Default": "Net Income"}, "accountType": "Revenue",
             "timeBalance": "Flow", "varianceReporting": "Non-Expense",
             "skipValue": "None", "exchangeRateType": "None", "aggregation": {"Plan1": "~"}},
            {"name": "4110", "parent": "Net Income", "shared": true}
          ]
        }
      ]
    }

Member properties are those of ``codec`` (camelCase, Oracle's spellings, only the values that
differ from a bare member: ``Never Share``, valid and ``+`` in every cube, nothing else set;
no inheritance). A shared instance carries only ``planType`` and ``aggregation``.
"""

from epmjobs.planning.outline.compiled import (
    CompiledCube,
    CompiledDimension,
    compile_cube,
    compile_cubes,
)
from epmjobs.planning.outline.export import export_dimension, export_metadata, load_order
from epmjobs.planning.outline.jsonform import outline_from_json, outline_to_json
from epmjobs.planning.outline.load import (
    LoadOutcome,
    LoadResult,
    Message,
    Rejection,
    load_metadata,
    load_records,
)
from epmjobs.planning.outline.model import Dimension, Member, Properties
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.rows import DimensionRow, MemberRow, OutlineRows, from_rows, to_rows
from epmjobs.planning.outline.sort import sort_members
from epmjobs.planning.outline.synthetic import synthetic_outline
from epmjobs.planning.outline.validate import Problem, errors, validate
from epmjobs.planning.outline.vision import vision_outline
from epmjobs.planning.outline.vocabulary import DimensionType, Severity

__all__ = [
    "CompiledCube", "CompiledDimension", "Dimension", "DimensionRow", "DimensionType",
    "LoadOutcome", "LoadResult", "Member", "MemberRow", "Message", "Outline", "OutlineRows",
    "Problem", "Properties", "Rejection", "Severity", "compile_cube", "compile_cubes", "errors",
    "export_dimension", "export_metadata", "from_rows", "load_metadata", "load_order",
    "load_records", "outline_from_json", "outline_to_json", "sort_members",
    "synthetic_outline", "to_rows", "validate", "vision_outline",
]
