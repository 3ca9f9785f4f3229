"""IMPORT_METADATA for one file: records applied one at a time in file order, rejections
kept with their line and reason, the optional Clear Members pass, and all of it on a copy.

The caller gets a :class:`LoadOutcome`: the new outline (the input outline is never changed)
and a :class:`LoadResult` with the counts and messages of the file. A file that cannot be
loaded at all raises :class:`~epmjobs.errors.MetadataFileError` and changes nothing. To load
several files in one job, chain the calls (each takes the previous outcome's outline) and
commit the last outline only when the job succeeds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from epmjobs.errors import MetadataFileError
from epmjobs.planning.application import name_key
from epmjobs.planning.outline.csvfile import MetadataText, RawRecord, resolve_delimiter
from epmjobs.planning.outline.headers import Layout, Rejected, build_layout
from epmjobs.planning.outline.model import Dimension, Member, gc_paused
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.records import RecordApplier
from epmjobs.planning.outline.vocabulary import STRUCTURAL_TYPES, Severity


@dataclass(frozen=True)
class Message:
    severity: Severity
    text: str


@dataclass(frozen=True)
class Rejection:
    """A record that was not applied: its first line (1-based), its text and why."""

    line: int
    text: str
    reason: str

    @property
    def message(self) -> str:
        return f"Line {self.line}: {self.reason} Record: {self.text}"


@dataclass
class LoadResult:
    """Counts and messages of one metadata file (one child job in Oracle's terms)."""

    dimension: str
    header: str = ""
    delimiter: str = ","
    records_read: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    members_cleared: int = 0
    notes: list[Message] = field(default_factory=list)

    @property
    def records_rejected(self) -> int:
        return len(self.rejections)

    @property
    def records_processed(self) -> int:
        return self.records_read - len(self.rejections)

    @property
    def messages(self) -> list[Message]:
        """Rejections (ERROR), notes, then the counts (INFO)."""
        found = [Message(Severity.ERROR, r.message) for r in self.rejections]
        summary = (f"Dimension {self.dimension}: {self.records_read} records read, "
                   f"{self.records_processed} processed, {self.records_rejected} rejected.")
        return [*found, *self.notes, Message(Severity.INFO, summary)]

    def error_file(self) -> str:
        """The rejected records under the original header, each with an ``Error`` column."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\n")
        out.write(self.header + self.delimiter + "Error\n")
        for r in self.rejections:
            out.write(r.text + self.delimiter)
            writer.writerow([f"Line {r.line}: {r.reason}"])
        return out.getvalue()


@dataclass(frozen=True)
class LoadOutcome:
    outline: Outline
    result: LoadResult


def load_metadata(
    outline: Outline, data: bytes, *, file_name: str = "", delimiter: str | None = None,
    dimension: str | None = None, clear_members: bool = False,
) -> LoadOutcome:
    """Load one metadata file (bytes as stored) into a copy of ``outline``.

    ``delimiter`` is a character or a name (``comma``, ``tab``); by default comma, or tab for
    a ``.txt`` file. ``dimension``, when given, is the dimension the job expects the file to
    load. Raises MetadataFileError when the file cannot be loaded at all.
    """
    text = MetadataText(data, resolve_delimiter(delimiter, file_name), file_name)
    records = text.records()
    header = next(records, None)
    if header is None:
        raise MetadataFileError(f"The file {text.file_name} is empty: it has no header record.")
    if header.problem:
        raise MetadataFileError(f"The header record cannot be read: {header.problem}")
    with gc_paused():
        load = _Load(outline, header.fields, dimension, clear_members)
        load.result.header = text.text(header)
        load.result.delimiter = text.delimiter
        for record in records:
            load.record(record.line, record, text)
        return load.finish()


def load_records(
    outline: Outline, header: list[str], rows: Iterable[list[str]], *,
    clear_members: bool = False,
) -> LoadOutcome:
    """Load records given as lists of fields (line numbers count the header as line 1)."""
    with gc_paused():
        load = _Load(outline, header, None, clear_members)
        load.result.header = ",".join(header)
        for line, row in enumerate(rows, start=2):
            load.record(line, row, None)
        return load.finish()


class _Load:
    def __init__(self, outline: Outline, header: list[str], expected: str | None,
                 clear_members: bool) -> None:
        dim = build_layout(outline, header, expected).dimension  # validates before copying
        self.outline = outline.copy(only=[dim.name])
        self.layout: Layout = build_layout(self.outline, header, expected)
        self.applier = RecordApplier(self.outline, self.layout)
        self.result = LoadResult(self.layout.dimension.name)
        self.clear = clear_members
        self.in_file: set[str] = set()
        self.shared_in_file: set[tuple[str, str]] = set()

    def record(self, line: int, record: RawRecord | list[str], text: MetadataText | None) -> None:
        self.result.records_read += 1
        fields = record.fields if isinstance(record, RawRecord) else record
        try:
            if isinstance(record, RawRecord) and record.problem:
                raise Rejected(record.problem)
            if self.clear:
                self._remember(fields)
            self.applier.apply(fields)
        except Rejected as rejected:
            shown = text.text(record) if isinstance(record, RawRecord) and text else \
                ",".join(fields)
            self.result.rejections.append(Rejection(line, shown, rejected.reason))

    def _remember(self, fields: list[str]) -> None:
        if not fields:
            return
        key = name_key(fields[0])
        self.in_file.add(key)
        parent = self.applier.parser.field(fields, self.layout.parent)
        if parent:
            self.shared_in_file.add((key, name_key(parent)))

    def finish(self) -> LoadOutcome:
        if self.clear:
            self._clear_members()
        return LoadOutcome(self.outline, self.result)

    def _clear_members(self) -> None:
        dim = self.layout.dimension
        if dim.type in STRUCTURAL_TYPES:
            self.result.notes.append(Message(Severity.WARNING, (
                f"Clear Members is not available for the {dim.name} dimension ({dim.type}); "
                "no member was deleted.")))
            return
        parents = {parent for _, parent in self.shared_in_file}
        keep = _kept(dim, self.in_file | parents)
        doomed: list[Member] = []
        stack = [dim.root]
        while stack:
            node = stack.pop()
            for child in node.children:
                if child.id in keep or (child.base is not None and (
                        name_key(child.name), name_key(node.name)) in self.shared_in_file):
                    stack.append(child)
                else:
                    doomed.append(child)
        count = sum(dim.remove(m) for m in doomed if m.id in dim.by_id)
        self.result.members_cleared = count
        self.result.notes.append(Message(Severity.INFO, (
            f"Clear Members deleted {count} members of the {dim.name} dimension that were not "
            "in the file.")))


def _kept(dim: Dimension, names: set[str]) -> set[int]:
    """Ids of the base members named in the file (as members or parents of shared members)
    and of all their ancestors."""
    keep = {dim.root.id}
    for key in names:
        node = dim.by_name.get(key)
        while node is not None and node.id not in keep:
            keep.add(node.id)
            node = node.parent
    return keep
