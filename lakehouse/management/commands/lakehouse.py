"""`manage.py lakehouse migrate | status | sql "SELECT ..."` over the configured engine."""
from __future__ import annotations

import json

from lakehouse import get_engine
from lakehouse.commands import LakehouseCommand
from lakehouse.migrate import migrate, status
from lakehouse.readonly import ensure_read_only
from lakehouse.statements import Statement


class Command(LakehouseCommand):
    help = "Create and upgrade the lakehouse tables, show their state, or run a SQL statement."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("migrate", help="Create missing tables and add new columns (idempotent).")
        sub.add_parser("status", help="Engine, location, and each table's rows and schema version.")
        sql = sub.add_parser("sql", help="Run one statement; {table} placeholders are qualified for the engine.")
        sql.add_argument("statement", help="One SQL statement; write {events}, {traits}, ... for the tables.")
        sql.add_argument("--write", action="store_true", help="Allow statements that change data.")
        sql.add_argument("--json", dest="as_json", action="store_true", help="Print rows as JSON lines.")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(get_engine(), **options)

    def _migrate(self, engine, **options):
        self.stdout.write(f"Lakehouse: {engine.location()}")
        changes = migrate(engine, progress=lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(self.style.SUCCESS(f"{len(changes)} change(s); every table is current."))

    def _status(self, engine, **options):
        self.stdout.write(f"Engine:   {engine.vendor}\nLocation: {engine.location()}")
        rows = status(engine)
        width = max([len(r.name) for r in rows] + [5])
        self.stdout.write(f"{'table'.ljust(width)}  {'rows':>10}  version  state")
        for r in rows:
            count = "-" if r.rows is None else f"{r.rows:,}"
            self.stdout.write(f"{r.name.ljust(width)}  {count:>10}  {str(r.version or '-'):>7}  {r.state}")
        if any(not r.exists or r.version != r.latest for r in rows):
            self.stdout.write(self.style.WARNING("Run `manage.py lakehouse migrate` to bring the tables up to date."))

    def _sql(self, engine, *, statement, write, as_json=False, **options):
        text = engine.render(Statement(name="cli", sql=statement))
        if not write:
            ensure_read_only(text, engine.vendor)
        with engine.transaction():
            results = engine.execute(text)
        if as_json:
            for row in results.dicts():
                self.stdout.write(_json_line(row))
            return
        if not results.columns:
            self.stdout.write("OK")
            return
        self.stdout.write("\t".join(results.columns))
        for row in results.rows:
            self.stdout.write("\t".join("" if v is None else str(v) for v in row))
        self.stdout.write(f"({len(results)} row{'s' if len(results) != 1 else ''})")


def _json_line(row: dict) -> str:
    return json.dumps(row, default=str)
