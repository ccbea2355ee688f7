"""Lists printed by management commands: a header row, then one row per item. In a terminal the
columns are aligned for reading; piped or redirected they are tab-separated, for `cut` and scripts."""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def write_table(stream, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write `rows` under `headers` to a command's stdout (an OutputWrapper or any text stream)."""
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
        for row in [list(headers), *cells]:
            stream.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        return
    for row in [list(headers), *cells]:
        stream.write("\t".join(cell.replace("\t", " ") for cell in row))
