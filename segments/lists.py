"""Manual lists from a file: a CSV whose header names what each column holds.

A column named `cdp_id` holds customer ids; any other column names an identifier type (`email`,
`user_id`, `phone`, a custom type). Each row names one customer: its first non-empty column.
Rows that name nobody are skipped and reported by the edit (they are not an error: lists are
often exported from elsewhere, with people this tenant has never seen).
"""
from __future__ import annotations

import csv
import io
import re

from kernel.errors import InvalidInput
from segments.types import MemberRef

MAX_BYTES = 20 * 1024 * 1024
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def refs_from_csv(text: str) -> list[MemberRef]:
    if len(text.encode()) > MAX_BYTES:
        raise InvalidInput("The file is larger than 20 MB; split it.", errors=[{"field": "file", "message": "at most 20 MB"}])
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None)
    columns = [h.strip().lower() for h in header or []]
    if not columns or not all(_TYPE.match(c) for c in columns):
        raise InvalidInput("The first line names the columns: cdp_id, or identifier types such as email or user_id.",
                           errors=[{"field": "file", "message": "a header line of column names (cdp_id, email, user_id, ...)"}])
    refs = []
    for row in rows:
        for column, cell in zip(columns, row):
            cell = cell.strip()
            if cell:
                refs.append(MemberRef(cdp_id=cell) if column == "cdp_id" else MemberRef(id_type=column, value=cell))
                break
    return refs
