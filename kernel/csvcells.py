"""Cells of CSV files people open in a spreadsheet.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, Sheets
and LibreOffice, so a trait key or value an SDK sent (`=HYPERLINK("https://evil", "x")`) would
run when an operator opens a report. Such cells are written with a leading apostrophe, which
spreadsheets show as text and do not display (OWASP's advice on CSV injection)."""
from __future__ import annotations

import csv

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` as it is safe to write into a CSV cell; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file csv.writer writes one line to and gets it back."""

    def write(self, value: str) -> str:
        return value


def line_writer():
    """A csv.writer whose `writerow` returns the line it wrote: for responses streamed line by line."""
    return csv.writer(_Echo())
