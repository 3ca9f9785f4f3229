"""Loading an Essbase-format (free-form) data file into one cube: the records of
``essbase_format.read_essbase`` resolved to packed keys, with the same rejections and
duplicate rule as the Planning format (a record that loads a cell an earlier record of the
file loaded is rejected)."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

import numpy as np

from epmjobs.planning.cube.cells import Values
from epmjobs.planning.cube.layout import Keys
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.data.essbase_format import EssbaseRejection, read_essbase
from epmjobs.planning.data.result import DataLoad, Rejection
from epmjobs.planning.outline.vocabulary import DataStorage

_STORAGE = list(DataStorage)


def load_essbase(model: CubeModel, lines: Iterable[str], *, missing_tokens: Sequence[str] = (),
                 stop_on_error: bool = False) -> DataLoad:
    names = [d.name for d in model.dimensions]

    def dimension_of(member: str) -> str | None:
        where = model.find(member)
        return None if where is None else names[where[0]]

    parts: dict[str, int | str] = {}  # member -> its share of the key, or why not loadable
    keys, values, lines_of = array("q"), array("d"), array("q")
    rejections: list[Rejection] = []
    seen_lines: set[int] = set()
    for item in read_essbase(lines, dimensions=names, dimension_of=dimension_of,
                             missing_tokens=missing_tokens, stop_on_error=stop_on_error):
        seen_lines.add(item.line)
        if isinstance(item, EssbaseRejection):
            rejections.append(Rejection(item.line, item.reason, (item.text,)))
            continue
        key, problem = 0, None
        for position, member in enumerate(item.members):
            part = parts.get(member)
            if part is None:
                part = parts[member] = _part(model, position, member)
            if isinstance(part, str):
                problem = part
                break
            key += part
        if problem is not None:
            rejections.append(Rejection(item.line, problem, (" ".join(item.members),)))
            if stop_on_error:
                break
            continue
        keys.append(key)
        values.append(np.nan if item.value is None else item.value)
        lines_of.append(item.line)
    k, v, ln = (np.frombuffer(keys, dtype=np.int64), np.frombuffer(values, dtype=np.float64),
                np.frombuffer(lines_of, dtype=np.int64))
    k, v = _without_repeats(k, v, ln, rejections)
    return DataLoad(("Record",), {model.name: (k, v)}, len(seen_lines), sorted(
        rejections, key=lambda r: r.line))


def _part(model: CubeModel, position: int, member: str) -> int | str:
    where = model.find(member)
    assert where is not None  # read_essbase rejected unknown members
    node = where[1]
    dim = model.dimensions[position]
    if not model.hierarchies[dim.name].loadable[node]:
        return (f"The member {member} is {_STORAGE[int(dim.storage[node])].value}; data "
                "cannot be loaded to it.")
    return node * model.layout.strides[position]


def _without_repeats(keys: Keys, values: Values, lines: Keys,
                     rejections: list[Rejection]) -> tuple[Keys, Values]:
    order = np.argsort(keys, kind="stable")
    keys, values, lines = keys[order], values[order], lines[order]
    repeat = np.zeros(len(keys), dtype=np.bool_)
    repeat[1:] = keys[1:] == keys[:-1]
    if repeat.any():
        first = lines[np.maximum.accumulate(np.where(~repeat, np.arange(len(keys)), 0))]
        for line, earlier in sorted(set(zip(lines[repeat].tolist(), first[repeat].tolist(),
                                            strict=True))):
            if line != earlier:
                rejections.append(Rejection(line, f"This cell was already loaded by line "
                                                  f"{earlier}.", ()))
        keys, values = keys[~repeat], values[~repeat]
    return keys, values
