"""Cells of CSV files people open in a spreadsheet.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, Sheets
and LibreOffice, so a trait key or value an SDK sent (`=HYPERLINK("https://evil", "x")`) would
run when an operator opens a report. Such cells are written with a leading apostrophe, which
spreadsheets show as text and do not display (OWASP's advice on CSV injection)."""
from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` as it is safe to write into a CSV cell; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
