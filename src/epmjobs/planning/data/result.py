"""What reading a data file yields, whatever its format: per cube the cells it writes
(sorted unique keys; NaN = clear the cell), the records read, and the rejected ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from epmjobs.planning.cube.layout import Keys


@dataclass
class Rejection:
    line: int
    reason: str
    fields: tuple[str, ...]  # the record as read (for the error file)


@dataclass
class DataLoad:
    columns: tuple[str, ...]  # the error file's header (before "Error")
    cells: dict[str, tuple[Keys, npt.NDArray[np.float64]]]
    records_read: int
    rejections: list[Rejection]

    @property
    def records_rejected(self) -> int:
        return len({r.line for r in self.rejections})

    @property
    def records_processed(self) -> int:
        return self.records_read - self.records_rejected

    def error_rows(self) -> Iterator[list[str]]:
        """The error file: the original header plus Error, then each rejected record."""
        yield [*self.columns, "Error"]
        for r in self.rejections:
            yield [*r.fields, f"Line {r.line}: {r.reason}"]
